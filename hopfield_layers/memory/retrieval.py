"""Memory-retrieval models compared on variants of stored patterns (the A-Hop benchmark).

Every model stores patterns ``Ξ (N, d)`` and retrieves ``T(x) = Ξᵀ p(x)`` from a query ``x (d,)``,
where ``p(x)`` are weights over the stored patterns:

| name | weights ``p(x)`` | trained on |
|---|---|---|
| ``"M-Hop"`` | ``softmax(β ⟨ξ, x⟩)`` (Ramsauer et al. 2021) | — |
| ``"S-Hop"`` | ``sparsemax(β ⟨ξ, x⟩)`` (Hu et al. 2023) | — |
| ``"U-Hop"`` | ``argmax(-‖ξ - x‖₁)`` (Millidge et al. 2022) | — |
| ``"K-Hop"`` | ``softmax(β ⟨Φξ, Φx⟩)``, linear ``Φ`` (Wu et al. 2024) | the uniformity (separation) loss on ``Ξ`` |
| ``"K2-Hop"`` | as K-Hop | the likelihood loss on variants |
| ``"MLP"`` | ``softmax(f(x))``, ``f`` a 4-layer MLP ``d → N`` | the likelihood loss on variants |
| ``"A-Hop"`` | ``softmax(β s(Ξ, x))``, footprint similarity (Wang et al. 2025) | the likelihood loss on variants |

The likelihood loss is ``E[-log p(x)_k]`` over variants ``x`` of the stored pattern ``ξ_k``
(cross-entropy of the scores), drawn fresh every epoch or from a fixed training set. The metrics
are the retrieval accuracy ``P[argmin_ξ' ‖T(x) - ξ'‖ = ξ]`` and the error ``E‖T(x) - ξ‖² / d``.

Usage::

    model = build_model("A-Hop", patterns)
    train(model, (0.4, 0.4, 0.4), epochs=200)
    accuracy, error = evaluate(model, *make_variants(patterns, 1000, mask=0.4, noise=0.4, bias=0.4))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ..data.variants import make_variants
from ..functional import retrieve
from ..ops.footprint import dimensionwise
from ..separation import Separation
from ..similarity import Footprint, LinearKernel, NegativeManhattan, Similarity, get_similarity

__all__ = [
    "MODELS",
    "RetrievalModel",
    "HopfieldRetrieval",
    "MLPRetrieval",
    "Argmax",
    "build_model",
    "uniformity_loss",
    "likelihood_loss",
    "train",
    "fit_uniformity",
    "fit_footprint_optimum",
    "evaluate",
]

#: The model names of the benchmark, in table order.
MODELS = ("M-Hop", "S-Hop", "U-Hop", "K-Hop", "K2-Hop", "MLP", "A-Hop")

Difficulty = tuple[float, float, float]


class Argmax(Separation):
    """Hard maximum: a one-hot row at the best score (the "max" separation of Millidge et al. 2022); no gradient."""

    alpha = float("inf")

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        return F.one_hot(scores.argmax(dim=dim), scores.shape[dim]).to(scores.dtype).movedim(-1, dim)


def _check_patterns(patterns: Tensor) -> None:
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or not patterns.is_floating_point():
        raise ValueError(f"patterns must be a floating tensor of shape (N, d); got {getattr(patterns, 'shape', type(patterns).__name__)}")


class RetrievalModel(nn.Module):
    """Base class: stored patterns ``Ξ (N, d)`` (a buffer) and ``forward(queries (M, d)) -> T(x) (M, d)``."""

    def __init__(self, patterns: Tensor) -> None:
        super().__init__()
        _check_patterns(patterns)
        self.register_buffer("patterns", patterns)

    def _check(self, queries: Tensor) -> None:
        if queries.dim() != 2 or queries.shape[1] != self.patterns.shape[1]:
            raise ValueError(f"queries must have shape (M, d) with d = {self.patterns.shape[1]}; got {tuple(queries.shape)}")

    def scores(self, queries: Tensor) -> Tensor:
        """Logits whose separation gives the weights: ``(M, d)`` → ``(M, N)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def forward(self, queries: Tensor) -> Tensor:
        """The retrieved patterns ``T(x)``: ``(M, d)`` → ``(M, d)``."""
        raise NotImplementedError  # pragma: no cover - abstract


class HopfieldRetrieval(RetrievalModel):
    """One-step Hopfield retrieval ``T(x) = Ξᵀ separation(β s(Ξ, x))`` through :func:`~hopfield_layers.retrieve`.

    Args:
        patterns: stored patterns ``(N, d)``.
        similarity: a :class:`~hopfield_layers.similarity.Similarity` (name, dict or instance) on
            one head of size ``d``; its parameters are the model's parameters.
        separation: name or instance.
        scaling: the inverse temperature β.
    """

    def __init__(self, patterns: Tensor, similarity: str | Similarity | dict[str, Any] = "dot", separation: str | Separation = "softmax", scaling: float = 1.0) -> None:
        super().__init__(patterns)
        self.similarity = get_similarity(similarity, num_heads=1, head_dim=patterns.shape[1])
        self.separation = separation
        self.scaling = float(scaling)

    def _heads(self, queries: Tensor) -> tuple[Tensor, Tensor]:
        self._check(queries)
        return rearrange(queries, "m d -> 1 1 m d"), rearrange(self.patterns, "n d -> 1 1 n d").to(queries.dtype)

    def scores(self, queries: Tensor) -> Tensor:
        query, key = self._heads(queries)
        return self.scaling * self.similarity(query, key)[0, 0]

    def forward(self, queries: Tensor) -> Tensor:
        query, key = self._heads(queries)
        out = retrieve(query, key, key, similarity=self.similarity, separation=self.separation, scaling=self.scaling)
        return out[0, 0]


class MLPRetrieval(RetrievalModel):
    """``T(x) = Ξᵀ softmax(f(x))`` with ``f`` an MLP ``d → hidden → hidden → hidden → N`` (ReLU)."""

    def __init__(self, patterns: Tensor, hidden: int = 512, layers: int = 4) -> None:
        super().__init__(patterns)
        sizes = [patterns.shape[1]] + [hidden] * (layers - 1) + [patterns.shape[0]]
        blocks: list[nn.Module] = []
        for i, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            blocks.append(nn.Linear(size_in, size_out))
            if i < layers - 1:
                blocks.append(nn.ReLU())
        self.net = nn.Sequential(*blocks)

    def scores(self, queries: Tensor) -> Tensor:
        self._check(queries)
        return self.net(queries)

    def forward(self, queries: Tensor) -> Tensor:
        return self.scores(queries).softmax(dim=-1) @ self.patterns.to(queries.dtype)


def build_model(name: str, patterns: Tensor, *, scaling: float = 1.0, hidden: int = 512, **footprint: Any) -> RetrievalModel:
    """A model of :data:`MODELS` on ``patterns (N, d)``; ``footprint`` options go to A-Hop's :class:`Footprint`."""
    _check_patterns(patterns)
    dim = patterns.shape[1]
    if footprint and name != "A-Hop":
        raise ValueError(f"footprint options are only for 'A-Hop'; got {sorted(footprint)} for {name!r}")
    if name == "M-Hop":
        return HopfieldRetrieval(patterns, "dot", "softmax", scaling)
    if name == "S-Hop":
        return HopfieldRetrieval(patterns, "dot", "sparsemax", scaling)
    if name == "U-Hop":
        return HopfieldRetrieval(patterns, NegativeManhattan(), Argmax(), scaling)
    if name in ("K-Hop", "K2-Hop"):
        return HopfieldRetrieval(patterns, LinearKernel(dim), "softmax", scaling)
    if name == "MLP":
        return MLPRetrieval(patterns, hidden)
    if name == "A-Hop":
        if footprint.get("per_pattern") or footprint.get("prior_bias"):
            footprint.setdefault("num_patterns", patterns.shape[0])
        return HopfieldRetrieval(patterns, Footprint(dim, 1, **footprint), "softmax", scaling)
    raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")


def uniformity_loss(features: Tensor, t: float = 2.0) -> Tensor:
    """Separation (uniformity) loss of Wu et al. 2024: ``log mean_{i<j} exp(-t ‖φ̂_i - φ̂_j‖²)``, ``φ̂ = φ / ‖φ‖``.

    ``features (N, F)`` are the mapped stored patterns ``Φξ``; minimising the loss spreads them
    uniformly on the sphere, which separates the memories in kernel space.
    """
    unit = F.normalize(features, dim=-1)
    count = len(unit)
    # ‖φ̂_i - φ̂_j‖² = 2 - 2⟨φ̂_i, φ̂_j⟩: one matrix product instead of torch.pdist (slow backward on the CPU);
    # the pairs i < j are half of the off-diagonal entries of the symmetric kernel matrix.
    kernel = (2 - 2 * unit @ unit.T).clamp_min(0).mul(-t).exp()
    pairs = (kernel.sum() - kernel.diagonal().sum()) / 2
    return (pairs / (count * (count - 1) / 2)).log()


def likelihood_loss(scores: Tensor, index: Tensor) -> Tensor:
    """``E[-log softmax(scores)_k]``: ``scores (M, N)`` and the stored-pattern index ``k`` of each query ``(M,)``."""
    return F.cross_entropy(scores, index)


def fit_uniformity(model: HopfieldRetrieval, epochs: int = 200, lr: float = 0.01) -> list[float]:
    """Stage I of K-Hop: fit the kernel ``Φ`` to the stored patterns with :func:`uniformity_loss` (Adam)."""
    similarity = model.similarity
    if not isinstance(similarity, LinearKernel):
        raise TypeError(f"fit_uniformity needs a model with a LinearKernel similarity; got {type(similarity).__name__}")
    optimizer = torch.optim.Adam(similarity.parameters(), lr=lr)
    key = rearrange(model.patterns, "n d -> 1 1 n d")
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = uniformity_loss(similarity.features(key)[0, 0])
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history


def train(
    model: RetrievalModel,
    difficulty: Difficulty,
    *,
    epochs: int = 200,
    lr: float = 0.1,
    batch_size: int = 64,
    epoch_size: int = 512,
    train_samples: int | None = None,
    generator: torch.Generator | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Minimise the likelihood loss on variants of the model's stored patterns with Adam.

    Args:
        model: a trainable model (K2-Hop, MLP, A-Hop).
        difficulty: ``(d_mask, d_noise, d_bias)`` of the training variants.
        epochs: passes over ``epoch_size`` variants, in shuffled batches of ``batch_size``.
        lr: Adam learning rate. For A-Hop it should shrink with the dimension: the footprint's
            effective weights are reverse cumulative sums of ``w`` (``u_j = Σ_{k ≥ j} w_k``), so a step
            of ``lr`` on every ``w_k`` moves ``u_1`` by up to ``lr · d``; the paper's 0.1 trains to
            within 0.01 of the loss optimum at d = 64, and ``0.1 · 64 / d`` keeps that step at larger
            d (MNIST, d = 784: ``results/retrieval_variants.md``).
        batch_size: variants per step.
        epoch_size: variants per epoch: fresh ones every epoch ("unlimited" training samples) unless
            ``train_samples`` is given.
        train_samples: the size of a fixed training set of variants (drawn once) that every epoch
            passes over instead.
        generator: random source for the variants and the shuffling. The variants are drawn on the
            generator's device and moved to the model's, so a CPU generator gives the same variants
            (the same training data) whether the model is on the CPU or a GPU.
        callback: called with ``(epoch, mean loss)`` after every epoch.

    Returns:
        The mean loss of every epoch.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    mask, noise, bias = difficulty
    optimizer = torch.optim.Adam(params, lr=lr)
    device = model.patterns.device
    source = model.patterns if generator is None else model.patterns.to(generator.device)

    def draw(num: int) -> tuple[Tensor, Tensor]:
        index, queries = make_variants(source, num, mask=mask, noise=noise, bias=bias, generator=generator)
        return index.to(device), queries.to(device)

    fixed = None if train_samples is None else draw(train_samples)
    history = []
    for epoch in range(epochs):
        index, queries = fixed if fixed is not None else draw(epoch_size)
        total = 0.0
        for part in torch.randperm(len(index), generator=generator, device=source.device).split(batch_size):
            part = part.to(device)
            optimizer.zero_grad()
            loss = likelihood_loss(model.scores(queries[part]), index[part])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(part)
        history.append(total / len(index))
        if callback is not None:
            callback(epoch, history[-1])
    return history


def fit_footprint_optimum(
    model: HopfieldRetrieval,
    index: Tensor,
    queries: Tensor,
    *,
    max_iter: int = 500,
    max_memory: int = 2**32,
) -> float:
    """Set A-Hop's footprint weights ``w_b`` to the global minimum of the likelihood loss on fixed variants.

    Once ``q_b`` is sorted, the score ``s(ξ, x) = Σ_b u_bᵀ q̃_b`` is linear in ``u_b = β_b Uᵀ w_b``
    (with ``β_b`` and ``U`` held fixed), so the likelihood loss :func:`likelihood_loss` is convex in
    ``w``: full-batch L-BFGS on the precomputed sorted similarities finds its global minimum, the
    best the footprint family (with these bases) can do under the loss that :func:`train`
    minimises by Adam. Used as a reference for how far training is from the optimum.

    Args:
        model: an A-Hop model (:func:`build_model`) whose Footprint has one weight vector per base
            (no ``per_pattern``, ``prior_bias`` or ``learnable_U``).
        index: the stored-pattern index of every training variant, ``(M,)`` int64.
        queries: the training variants ``(M, d)``.
        max_iter: L-BFGS iterations (it stops earlier when converged).
        max_memory: bytes allowed for the precomputed similarities ``(M, N, len(bases) · d)``
            (float32); a larger problem raises ``ValueError``.

    Returns:
        The final training loss.
    """
    similarity = getattr(model, "similarity", None)
    if not isinstance(similarity, Footprint):
        raise TypeError(f"fit_footprint_optimum needs an A-Hop model (a Footprint similarity); got {type(similarity).__name__}")
    if similarity.per_pattern or similarity.prior is not None or isinstance(similarity.U, nn.Parameter):
        raise ValueError("fit_footprint_optimum needs one weight vector per base: no per_pattern, prior_bias or learnable_U")
    model._check(queries)
    if index.shape != queries.shape[:1] or index.dtype != torch.long:
        raise ValueError(f"index must be an int64 tensor of shape ({queries.shape[0]},); got {index.dtype} {tuple(index.shape)}")
    patterns = model.patterns.float()
    count, dim, bases = patterns.shape[0], patterns.shape[1], similarity.bases
    needed = queries.shape[0] * count * len(bases) * dim * 4
    if needed > max_memory:
        raise ValueError(f"the sorted similarities of {queries.shape[0]} variants × {count} patterns need {needed / 2**30:.1f} GiB > max_memory = {max_memory / 2**30:.1f} GiB")
    features = torch.empty(queries.shape[0], count, len(bases), dim, device=patterns.device)  # q̃_b for every (variant, pattern)
    with torch.no_grad():
        for start in range(0, queries.shape[0], 64):
            x = queries[start : start + 64].float().unsqueeze(1)
            for i, base in enumerate(bases):
                q = dimensionwise(base, x, patterns)  # (64, N, d)
                features[start : start + 64, :, i] = q.sort(dim=-1, descending=True).values if similarity.sort else q
    features = rearrange(features, "m n b e -> (m n) (b e)")
    u = rearrange(similarity.effective_weight()[:, 0, 0].detach().float(), "b e -> (b e)").clone().requires_grad_()
    optimizer = torch.optim.LBFGS([u], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-12)

    def objective() -> Tensor:
        return likelihood_loss(rearrange(features @ u, "(m n) -> m n", n=count), index)

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        loss = objective().item()
    similarity.set_effective_weight(rearrange(u.detach(), "(b e) -> b 1 e", b=len(bases)))
    return loss


@torch.no_grad()
def evaluate(model: RetrievalModel, index: Tensor, queries: Tensor, batch_size: int = 256) -> tuple[float, float]:
    """Retrieval accuracy ``P[argmin_ξ' ‖T(x) - ξ'‖ = ξ]`` and error ``E‖T(x) - ξ‖² / d`` on ``queries (M, d)`` of patterns ``index (M,)``."""
    patterns = model.patterns
    correct, error = 0, 0.0
    for part_index, part in zip(index.split(batch_size), queries.split(batch_size)):
        retrieved = model(part)
        nearest = torch.cdist(retrieved, patterns).argmin(dim=1)
        correct += int((nearest == part_index).sum())
        error += float((retrieved - patterns[part_index]).square().mean(dim=1).sum())
    return correct / len(index), error / len(index)
