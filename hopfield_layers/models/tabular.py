"""The associative-memory classifier for tabular data (A-Hop paper, Section 4.2).

``y = MLP(LayerNorm(s(Ξ, x)))``: the scores of a sample ``x`` against ``S`` stored patterns Ξ
(case representatives of the training set: K-means centroids, ``"cluster"``, or sampled training
instances, ``"sample"``) feed a LayerNorm and an MLP. The similarity ``s`` is any registered
similarity: ``"footprint"`` gives A-Hop, ``"dot"`` M-Hop, a learnable linear kernel K2-Hop. It is
trained end to end by the classification loss (:func:`classification_loss`: squared error on the
one-hot label, as in the paper, or binary cross-entropy), Ξ optionally with it.

    model = MemoryClassifier(input_size=108, num_patterns=128, similarity="footprint")
    model.init_patterns(x_train, method="cluster")   # x_train (N, 108)
    loss = classification_loss(model(x), y)          # model(x): (B, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ..similarity import Similarity, get_similarity

__all__ = ["MemoryClassifier", "OneHotLoss", "classification_loss", "positive_score", "INIT_METHODS", "LOSSES"]

#: Ways to choose the stored patterns: K-means centroids or a random sample of training instances.
INIT_METHODS = ("cluster", "sample")
#: Losses on the one-hot label: squared error (the paper's) or binary cross-entropy per output.
LOSSES = ("mse", "bce")


class MemoryClassifier(nn.Module):
    """Classify by similarities to stored patterns: ``y = MLP(LayerNorm(s(Ξ, x)))``.

    Args:
        input_size: number of features ``E`` of a sample.
        num_classes: number of outputs ``C`` (2 for the binary tables: one output per class).
        num_patterns: number of stored patterns ``S``.
        similarity: a registered name (``"footprint"``, ``"dot"``, …), a ``{"name": ..., **kwargs}``
            dict or a :class:`~hopfield_layers.similarity.Similarity`; built with ``num_heads=1``,
            ``head_dim=input_size`` and ``num_patterns`` when its constructor takes them.
        hidden_sizes: widths of the MLP's hidden layers (ReLU); ``()`` gives a linear read-out.
        dropout: dropout before each hidden layer of the MLP.
        trainable_patterns: whether Ξ is trained with the rest (else a buffer-like frozen parameter).
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int = 2,
        num_patterns: int = 128,
        similarity: str | Similarity | dict[str, Any] = "footprint",
        hidden_sizes: Sequence[int] = (128,),
        dropout: float = 0.0,
        trainable_patterns: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("num_classes", num_classes), ("num_patterns", num_patterns)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        self.patterns = nn.Parameter(torch.randn(num_patterns, input_size), requires_grad=trainable_patterns)
        self.similarity = get_similarity(similarity, num_heads=1, head_dim=input_size, num_patterns=num_patterns)
        self.norm = nn.LayerNorm(num_patterns)
        layers: list[nn.Module] = []
        width = num_patterns
        for hidden in hidden_sizes:
            layers += [nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.mlp = nn.Sequential(*layers)

    @property
    def input_size(self) -> int:
        return self.patterns.shape[1]

    @property
    def num_patterns(self) -> int:
        return self.patterns.shape[0]

    def scores(self, x: Tensor) -> Tensor:
        """Similarities ``s(Ξ, x)`` of samples ``x (B, E)`` to the stored patterns: ``(B, S)``."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (B, E) = (B, {self.input_size}); got {tuple(x.shape)}")
        query = rearrange(x, "b e -> 1 1 b e")  # one memory, one head: (B, H, L, E) = (1, 1, B, E)
        key = rearrange(self.patterns.to(x.dtype), "s e -> 1 1 s e")
        return rearrange(self.similarity(query, key), "1 1 b s -> b s")

    def forward(self, x: Tensor) -> Tensor:
        """Outputs ``(B, C)`` for samples ``x (B, E)`` (regressed onto the one-hot label)."""
        return self.mlp(self.norm(self.scores(x)))

    @torch.no_grad()
    def init_patterns(self, x: Tensor, method: str = "cluster", seed: int = 0) -> None:
        """Set Ξ from training samples ``x (N, E)``: K-means centroids (``"cluster"``) or a random sample (``"sample"``)."""
        if method not in INIT_METHODS:
            raise ValueError(f"method must be one of {INIT_METHODS}; got {method!r}")
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"x must be a tensor of shape (N, E) = (N, {self.input_size}); got {tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        if x.shape[1] != self.input_size:
            raise ValueError(
                f"x must be a tensor of shape (N, E) = (N, {self.input_size}); got {tuple(x.shape)}: {type(self).__name__} expects (N, {self.input_size}) "
                f"but the data has {x.shape[1]} features, so build it with input_size={x.shape[1]} (in a config: --model.network.init_args.input_size={x.shape[1]})"
            )
        if x.shape[0] < self.num_patterns:
            raise ValueError(f"x must have at least num_patterns = {self.num_patterns} rows; got {x.shape[0]}")
        if method == "sample":
            generator = torch.Generator().manual_seed(seed)
            rows = torch.randperm(x.shape[0], generator=generator)[: self.num_patterns]
            patterns = x[rows.to(x.device)]
        else:
            patterns = _kmeans_centroids(x, self.num_patterns, seed)
        self.patterns.copy_(patterns.to(self.patterns))


def _kmeans_centroids(x: Tensor, num_clusters: int, seed: int) -> Tensor:
    try:
        from sklearn.cluster import KMeans
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("init_patterns(method='cluster') needs scikit-learn: pip install 'hopfield-layers[tabular]'") from error
    kmeans = KMeans(n_clusters=num_clusters, n_init=1, random_state=seed).fit(x.detach().cpu().double().numpy())
    return torch.from_numpy(kmeans.cluster_centers_)


def classification_loss(outputs: Tensor, labels: Tensor, loss: str = "mse") -> Tensor:
    """Loss of outputs ``(B, C)`` against integer labels ``(B,)`` through their one-hot code.

    ``"mse"``: mean squared error between the outputs and the one-hot label (the paper's loss);
    ``"bce"``: binary cross-entropy of each output (as a logit) against its one-hot entry.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if outputs.dim() != 2 or labels.shape != outputs.shape[:1]:
        raise ValueError(f"outputs must be (B, C) and labels (B,); got outputs {tuple(outputs.shape)}, labels {tuple(labels.shape)}")
    target = F.one_hot(labels.long(), outputs.shape[1]).to(outputs.dtype)
    if loss == "mse":
        return F.mse_loss(outputs, target)
    return F.binary_cross_entropy_with_logits(outputs, target)


class OneHotLoss(nn.Module):
    """:func:`classification_loss` as a module: ``forward(outputs (B, C), labels (B,)) -> scalar``."""

    def __init__(self, loss: str = "mse") -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
        self.loss = loss

    def forward(self, outputs: Tensor, labels: Tensor) -> Tensor:
        return classification_loss(outputs, labels, self.loss)

    def extra_repr(self) -> str:
        return repr(self.loss)


def positive_score(outputs: Tensor) -> Tensor:
    """A score ``(B,)`` that ranks samples by how strongly the outputs ``(B, 2)`` favour class 1 (for ROC-AUC)."""
    if outputs.dim() != 2 or outputs.shape[1] != 2:
        raise ValueError(f"outputs must be (B, 2); got {tuple(outputs.shape)}")
    return outputs[:, 1] - outputs[:, 0]
