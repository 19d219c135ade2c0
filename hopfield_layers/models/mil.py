"""Multiple-instance learning networks: embed the instances, pool the bag, classify.

``MILNetwork`` = instance embedding (Linear+ReLU layers) → pooling → flatten → linear head, where the
pooling is any of

* :class:`~hopfield_layers.HopfieldPooling` — learned state patterns query the bag (Ramsauer et al.
  2021; Hu et al. 2023); its ``dropout`` is the *bag dropout* on the association weights;
* :class:`~hopfield_layers.Hopfield` — self-association of the instances; the per-instance outputs
  ``(N, S, D)`` are flattened, so the bag size S must be fixed (``bag_size``);
* :class:`AttentionPooling` — the attention and gated-attention MIL pooling of Ilse et al. (2018);

each with any separation and similarity. The pooling is given as a factory of the embedding width
(in a config: a ``class_path`` whose ``input_size`` is filled in by the network).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from ..functional import retrieve
from ..modules import Hopfield, HopfieldLayer, HopfieldPooling
from ..separation import Separation, get_separation

__all__ = ["AttentionPooling", "MILNetwork"]


class AttentionPooling(nn.Module):
    """Attention MIL pooling (Ilse et al. 2018): ``z = Σ_k a_k h_k`` with ``a = separation(wᵀ g(h_k))``.

    ``g(h) = tanh(V h)`` (attention) or ``tanh(V h) ⊙ sigmoid(U h)`` (``gated=True``). The weights are
    one retrieval (:func:`~hopfield_layers.functional.retrieve`) of the learned query ``w`` from the
    keys ``g(h_k)`` with β = 1, so any separation (softmax as in the paper, sparsemax, entmax, …)
    and the padding mask work as in the Hopfield layers.

    Args:
        input_size: instance size E.
        hidden_size: size L of the attention space (``V``, ``U``: E → L).
        gated: use the gated attention.
        dropout: dropout on the attention weights (bag dropout).
        separation: name, dict or :class:`~hopfield_layers.separation.Separation`.

    Forward: ``instances (N, S, E)``, ``padding_mask (N, S)`` (``True`` = padding) → ``(N, E)``.
    """

    def __init__(self, input_size: int, hidden_size: int = 128, gated: bool = False, dropout: float = 0.0, separation: str | Separation | dict[str, Any] = "softmax") -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}")
        self.attention = nn.Linear(input_size, hidden_size)
        self.gate = nn.Linear(input_size, hidden_size) if gated else None
        self.query = nn.Parameter(torch.empty(hidden_size))
        nn.init.normal_(self.query, std=hidden_size**-0.5)
        self.separation = get_separation(separation)
        self.dropout = float(dropout)
        self.output_size = input_size

    def _retrieve(self, instances: Tensor, padding_mask: Tensor | None, **kwargs: Any) -> Any:
        """One retrieval of the learned query ``(N, 1, 1, L)`` from the keys ``g(h) (N, 1, S, L)``, values ``h (N, 1, S, E)``."""
        keys = torch.tanh(self.attention(instances))
        if self.gate is not None:
            keys = keys * torch.sigmoid(self.gate(instances))
        query = self.query.expand(instances.shape[0], 1, 1, -1)
        return retrieve(query, keys[:, None], instances[:, None], separation=self.separation, scaling=1.0, key_padding_mask=padding_mask, **kwargs)

    def forward(self, instances: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        return self._retrieve(instances, padding_mask, dropout_p=self.dropout, training=self.training)[:, 0, 0]

    def attention_weights(self, instances: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """Attention weights ``(N, S)`` over the instances (no gradient, no dropout)."""
        with torch.no_grad():
            return self._retrieve(instances, padding_mask, return_association=True)[1][:, 0, 0]


def _pooled_width(pooling: nn.Module, bag_size: int | None) -> int:
    """Width of the flattened pooling output for one bag."""
    if isinstance(pooling, HopfieldPooling):
        return pooling.quantity * pooling.output_size
    if isinstance(pooling, (Hopfield, HopfieldLayer)):
        if bag_size is None:
            raise ValueError(f"a {type(pooling).__name__} pooling keeps one output per instance, which are flattened: give bag_size (the fixed number of instances per bag)")
        return bag_size * pooling.output_size
    width = getattr(pooling, "output_size", None)
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError(f"the pooling module {type(pooling).__name__} must expose its output width as an int attribute output_size")
    return width


class MILNetwork(nn.Module):
    """Bag classifier: instance embedding → pooling → flatten → linear head.

    Args:
        input_size: instance features F.
        pooling: factory ``embedding width → pooling module``, e.g.
            ``functools.partial(HopfieldPooling, num_heads=8, separation="sparsemax")``, or a
            ``class_path`` in a config (``input_size`` is filled in).
        embedding_sizes: widths of the Linear+ReLU embedding layers (empty: the raw instances are pooled).
        bag_size: fixed instances per bag, required by poolings that keep one output per instance
            (``Hopfield``), whose outputs ``(N, S, D)`` are flattened to ``(N, S·D)``.
        num_outputs: outputs of the head (1 = one logit per bag).

    Forward: ``bags (N, S, F)``, ``padding_mask (N, S)`` (``True`` = padded instance) → logits
    ``(N,)`` (``(N, num_outputs)`` when ``num_outputs > 1``).
    """

    def __init__(
        self,
        input_size: int,
        pooling: Callable[[int], nn.Module],
        embedding_sizes: Sequence[int] = (64,),
        bag_size: int | None = None,
        num_outputs: int = 1,
    ) -> None:
        super().__init__()
        sizes = [input_size, *embedding_sizes]
        for name, value in [("input_size", input_size), ("num_outputs", num_outputs), *(("embedding_sizes", s) for s in embedding_sizes)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must hold positive ints; got {value!r}")
        if bag_size is not None and (isinstance(bag_size, bool) or not isinstance(bag_size, int) or bag_size < 1):
            raise ValueError(f"bag_size must be a positive int or None; got {bag_size!r}")
        layers: list[nn.Module] = []
        for width_in, width_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        self.embedding = nn.Sequential(*layers)
        self.pooling = pooling(sizes[-1])
        if not isinstance(self.pooling, nn.Module):
            raise TypeError(f"pooling must build an nn.Module from the embedding width; got {type(self.pooling).__name__}")
        self.per_instance = isinstance(self.pooling, (Hopfield, HopfieldLayer))
        self.head = nn.Linear(_pooled_width(self.pooling, bag_size), num_outputs)
        self.input_size, self.bag_size, self.num_outputs = input_size, bag_size, num_outputs

    def pool(self, bags: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """Embedded and pooled bags ``(N, D)`` before the head."""
        if not isinstance(bags, Tensor) or bags.dim() != 3:
            raise ValueError(f"bags must be (N, S, F={self.input_size}); got {tuple(bags.shape) if isinstance(bags, Tensor) else type(bags).__name__}")
        if bags.shape[-1] != self.input_size:
            raise ValueError(
                f"bags must be (N, S, F={self.input_size}); got {tuple(bags.shape)}: the data has {bags.shape[-1]} features per instance, "
                f"so build the network with input_size={bags.shape[-1]} (in a config: --model.network.init_args.input_size={bags.shape[-1]})"
            )
        if padding_mask is not None and tuple(padding_mask.shape) != tuple(bags.shape[:2]):
            raise ValueError(f"padding_mask must be (N, S) = {tuple(bags.shape[:2])}; got {tuple(padding_mask.shape)}")
        pooled = self.pooling(self.embedding(bags), padding_mask)
        if self.per_instance:
            if bags.shape[1] != self.bag_size:
                raise ValueError(
                    f"a {type(self.pooling).__name__} pooling flattens its per-instance outputs: bags must hold bag_size = {self.bag_size} instances; got {bags.shape[1]}"
                )
            if padding_mask is not None:
                pooled = pooled.masked_fill(padding_mask[..., None], 0.0)
            pooled = rearrange(pooled, "n s d -> n (s d)")
        return pooled

    def forward(self, bags: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        logits = self.head(self.pool(bags, padding_mask))
        return logits.squeeze(-1) if self.num_outputs == 1 else logits
