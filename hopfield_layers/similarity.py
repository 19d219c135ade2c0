"""Similarity functions between state (query) patterns and stored (key) patterns.

A similarity is a small ``nn.Module`` with ``forward(query, key) -> scores`` where ``query`` is
``(B, H, L, E)``, ``key`` is ``(B, H, S, E)`` and the scores are ``(B, H, L, S)``. It may own
parameters (the footprint-adaptive similarity does). The retrieval multiplies the scores by the
inverse temperature ``scaling`` (β) before the separation.

Look-up by name::

    get_similarity("dot")                       # Dot()
    get_similarity("euclidean")                 # NegativeEuclidean()
    get_similarity(NegativeManhattan())         # the instance itself
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .ops.footprint import BASE_SIMILARITIES, footprint_scores
from .registry import Registry

__all__ = [
    "Similarity",
    "Dot",
    "NegativeEuclidean",
    "NegativeManhattan",
    "Footprint",
    "LinearKernel",
    "SIMILARITIES",
    "register_similarity",
    "get_similarity",
]


class Similarity(nn.Module):
    """Base class: ``forward(query (B, H, L, E), key (B, H, S, E)) -> scores (B, H, L, S)``."""

    def forward(self, query: Tensor, key: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


SIMILARITIES: Registry[Similarity] = Registry("similarity", Similarity)
register_similarity = SIMILARITIES.register


def get_similarity(spec: str | Similarity | dict[str, Any], **context: Any) -> Similarity:
    """Build a similarity from a registered name, a ``{"name": ..., **kwargs}`` dict or an instance.

    ``context`` (``num_heads``, ``head_dim``) is forwarded to constructors that declare it.
    """
    return SIMILARITIES.create(spec, **context)


@register_similarity("dot")
class Dot(Similarity):
    """Dot product ``⟨ξ, x⟩``: the similarity of the modern Hopfield network and of attention."""

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        return query @ key.transpose(-2, -1)


@register_similarity("euclidean", "negative_euclidean", "neg_euclidean")
class NegativeEuclidean(Similarity):
    """Negative squared Euclidean distance ``-‖ξ - x‖²`` (computed without an (L, S, E) tensor)."""

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        q_sq = (query * query).sum(dim=-1, keepdim=True)
        k_sq = (key * key).sum(dim=-1).unsqueeze(-2)
        return (2.0 * (query @ key.transpose(-2, -1)) - q_sq - k_sq).clamp(max=0.0)


@register_similarity("manhattan", "negative_manhattan", "neg_manhattan")
class NegativeManhattan(Similarity):
    """Negative Manhattan distance ``-‖ξ - x‖₁``."""

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        return -torch.cdist(query, key, p=1.0)


def _per_head_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return value


@register_similarity("footprint", "adaptive")
class Footprint(Similarity):
    """Footprint-adaptive similarity of the adaptive Hopfield network (A-Hop; Wang et al. 2025).

    For each base similarity ``b`` (``"dis"``: ``-(ξ_i - x_i)²``, ``"dot"``: ``ξ_i x_i``) the
    dimension-wise similarities ``q_b`` are sorted in decreasing order (``q̃_b``); the footprint
    ``U q̃_b`` (``U`` lower-triangular ones) holds the similarity of the best ``k``-dimensional
    subspace for every ``k``. The score is ``s(ξ, x) = Σ_b β_b w_bᵀ U q̃_b + prior_ξ``, computed as
    ``Σ_b β_b u_bᵀ q̃_b`` with ``u_b = Uᵀ w_b`` (for the triangular ``U`` the reverse cumulative sum
    of ``w_b``), so no footprint is ever formed. Parameters are per head.

    Args:
        head_dim: size E of the (projected) patterns; the modules pass it.
        num_heads: number of heads H; the modules pass it.
        bases: base similarities, any of ``("dis", "dot")``.
        sort: sort ``q`` (the footprint); ``False`` weights the unsorted dimensions (an ablation,
            computed with matrix products).
        U: ``"triangular"`` (the footprint), ``"identity"`` (weights on the sorted similarities)
            or ``"random"`` (fixed U[0, 1) entries).
        learnable_U: make ``U`` a parameter (initialised as ``U``).
        init: ``"base"``: ``Uᵀ w_b = 1`` (for the triangular ``U``: ``w_b = e_E``), so each ``s_b``
            starts as its base similarity; ``"random"``: ``w_b ~ N(0, 1/E)``.
        num_patterns: number S of stored patterns; needed by ``per_pattern`` and ``prior_bias``.
        per_pattern: one weight vector per stored pattern and base ("isolated variants").
        prior_bias: a learnable prior ``b ∈ R^S`` (per head) added to the scores.
        chunk_size: stored patterns per chunk; ``None`` derives it from ``max_memory``.
        max_memory: bytes allowed for one chunk's temporaries (see
            :func:`~hopfield_layers.ops.footprint.footprint_scores`).

    Parameters: ``weight`` ``(len(bases), H, E)`` or ``(len(bases), H, S, E)`` (``w``),
    ``base_weight`` ``(len(bases), H)`` (``β_b``, initialised to 1), ``U`` ``(len(bases), H, E, E)``
    (parameter or buffer, absent for the fixed triangular ``U``) and ``prior`` ``(H, S)``.
    """

    def __init__(
        self,
        head_dim: int,
        num_heads: int = 1,
        bases: tuple[str, ...] | list[str] = ("dis", "dot"),
        *,
        sort: bool = True,
        U: str = "triangular",
        learnable_U: bool = False,
        init: str = "base",
        num_patterns: int | None = None,
        per_pattern: bool = False,
        prior_bias: bool = False,
        chunk_size: int | None = None,
        max_memory: int = 2**28,
    ) -> None:
        super().__init__()
        if head_dim is None:
            raise ValueError("the footprint similarity needs head_dim (the projected pattern size E); got None")
        self.head_dim = _per_head_size("head_dim", head_dim)
        self.num_heads = _per_head_size("num_heads", num_heads)
        bases = (bases,) if isinstance(bases, str) else tuple(bases)
        if not bases or len(set(bases)) != len(bases) or any(b not in BASE_SIMILARITIES for b in bases):
            raise ValueError(f"bases must be distinct names from {BASE_SIMILARITIES}; got {bases!r}")
        if U not in ("triangular", "identity", "random"):
            raise ValueError(f"U must be 'triangular', 'identity' or 'random'; got {U!r}")
        if init not in ("base", "random"):
            raise ValueError(f"init must be 'base' or 'random'; got {init!r}")
        if (per_pattern or prior_bias) and num_patterns is None:
            raise ValueError("per_pattern and prior_bias need num_patterns (the number S of stored patterns)")
        if num_patterns is not None:
            _per_head_size("num_patterns", num_patterns)
        if chunk_size is not None:
            _per_head_size("chunk_size", chunk_size)
        self.bases, self.sort, self.U_init, self.init = bases, bool(sort), U, init
        self.num_patterns, self.per_pattern = num_patterns, bool(per_pattern)
        self.chunk_size, self.max_memory = chunk_size, int(max_memory)
        nb, heads, dim = len(bases), self.num_heads, self.head_dim
        weight_shape = (nb, heads, num_patterns, dim) if per_pattern else (nb, heads, dim)
        self.weight = nn.Parameter(torch.empty(weight_shape))
        self.base_weight = nn.Parameter(torch.empty(nb, heads))
        if learnable_U:
            self.U = nn.Parameter(torch.empty(nb, heads, dim, dim))
        elif U != "triangular":
            self.register_buffer("U", torch.empty(nb, heads, dim, dim))
        else:
            self.U = None
        self.prior = nn.Parameter(torch.empty(heads, num_patterns)) if prior_bias else None
        self.reset_parameters()

    def _initial_U(self) -> Tensor:
        dim = self.head_dim
        if self.U_init == "triangular":
            return torch.ones(dim, dim).tril()
        if self.U_init == "identity":
            return torch.eye(dim)
        return torch.rand(dim, dim)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        nb, heads, dim = len(self.bases), self.num_heads, self.head_dim
        U = self._initial_U()
        if self.U is not None:
            self.U.copy_(U.expand(nb, heads, dim, dim))
        self.base_weight.fill_(1.0)
        if self.init == "base":  # β Uᵀ w = 1: every dimension counts once, as in the base similarity
            self.set_effective_weight(torch.ones_like(self.weight))
        else:
            self.weight.copy_((torch.randn(dim) / dim**0.5).expand_as(self.weight))
        if self.prior is not None:
            self.prior.zero_()

    def effective_weight(self) -> Tensor:
        """``β_b Uᵀ w_b``: ``(len(bases), H, 1, E)``, or ``(len(bases), H, S, E)`` per pattern."""
        w = self.weight if self.per_pattern else self.weight.unsqueeze(2)
        if self.U is None:  # triangular: u_j = Σ_{k ≥ j} w_k
            u = w.flip(-1).cumsum(-1).flip(-1)
        else:
            u = torch.einsum("bhkj,bhsk->bhsj", self.U, w)
        return u * self.base_weight[:, :, None, None]

    @torch.no_grad()
    def set_effective_weight(self, u: Tensor) -> None:
        """Set ``w_b`` so that :meth:`effective_weight` is ``u``: ``w_b = (Uᵀ)⁻¹ u_b / β_b``.

        ``u``: ``(len(bases), H, E)``, or ``(len(bases), H, S, E)`` for ``per_pattern``.
        """
        expected = tuple(self.weight.shape)
        if tuple(u.shape) != expected:
            raise ValueError(f"u must have shape {expected} (bases, heads{', patterns' if self.per_pattern else ''}, head_dim); got {tuple(u.shape)}")
        nb, heads, dim = len(self.bases), self.num_heads, self.head_dim
        U = (self._initial_U() if self.U is None else self.U).double().expand(nb, heads, dim, dim)
        target = u.double() if self.per_pattern else u.double().unsqueeze(2)  # (nb, H, 1 or S, E)
        target = target / self.base_weight.double()[:, :, None, None]
        # u_j = Σ_k U_kj w_k  ⇔  Uᵀ w = u, for every pattern row
        w = torch.linalg.solve(U.transpose(-2, -1).unsqueeze(2), target.unsqueeze(-1)).squeeze(-1)
        self.weight.copy_((w if self.per_pattern else w.squeeze(2)).to(self.weight.dtype))

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        """``query (B, H, L, E)``, ``key (B, H, S, E)`` → scores ``(B, H, L, S)``."""
        if query.dim() != 4 or key.dim() != 4 or query.shape[1] != self.num_heads or key.shape[1] != self.num_heads:
            raise ValueError(
                f"footprint similarity with num_heads={self.num_heads} needs query (B, {self.num_heads}, L, E) and key (B, {self.num_heads}, S, E); got {tuple(query.shape)} and {tuple(key.shape)}"
            )
        if query.shape[-1] != self.head_dim or key.shape[-1] != self.head_dim:
            raise ValueError(f"footprint similarity with head_dim={self.head_dim} needs E = {self.head_dim}; got query {tuple(query.shape)}, key {tuple(key.shape)}")
        if self.num_patterns is not None and (self.per_pattern or self.prior is not None) and key.shape[2] != self.num_patterns:
            raise ValueError(f"footprint similarity with num_patterns={self.num_patterns} needs key (B, H, {self.num_patterns}, E); got {tuple(key.shape)}")
        u = self.effective_weight()
        if self.sort:
            scores = footprint_scores(query, key, u, self.bases, chunk_size=self.chunk_size, max_memory=self.max_memory)
        else:
            scores = _weighted_unsorted(query, key, u.to(query.dtype), self.bases)
        if self.prior is not None:
            scores = scores + self.prior.to(scores.dtype)[None, :, None, :]
        return scores

    def extra_repr(self) -> str:
        extra = f", per_pattern, num_patterns={self.num_patterns}" if self.per_pattern else ""
        extra += ", prior_bias" if self.prior is not None else ""
        return (
            f"head_dim={self.head_dim}, num_heads={self.num_heads}, bases={self.bases}, sort={self.sort}, U={self.U_init!r}, learnable_U={isinstance(self.U, nn.Parameter)}{extra}"
        )


def _weighted_unsorted(query: Tensor, key: Tensor, u: Tensor, bases: tuple[str, ...]) -> Tensor:
    """``Σ_b Σ_i u_b,i q_b,i`` with matrix products (no sort, so no ``(L, S, E)`` tensor); ``u (nb, H, 1 or S, E)``."""
    scores = None
    for i, base in enumerate(bases):
        w = u[i].unsqueeze(0)  # (1, H, 1 or S, E)
        cross = query @ (w * key).transpose(-2, -1)  # Σ_i u_i ξ_i x_i
        if base == "dis":  # -Σ u_i (ξ_i - x_i)² = 2 Σ u_i ξ_i x_i - Σ u_i x_i² - Σ u_i ξ_i²
            key_sq = (w * key * key).sum(-1).unsqueeze(-2)
            query_sq = (query * query) @ w.transpose(-2, -1)
            part = 2.0 * cross - query_sq - key_sq
        else:
            part = cross
        scores = part if scores is None else scores + part
    return scores


@register_similarity("kernel", "linear_kernel")
class LinearKernel(Similarity):
    """Learnable linear kernel ``⟨Φξ, Φx⟩`` per head (K-Hop / U-Hop of Wu et al. 2024).

    Args:
        head_dim: size E of the patterns; the modules pass it.
        num_heads: number of heads H; the modules pass it.
        feature_dim: output size F of ``Φ`` (default E).

    Parameter ``feature_map`` ``(H, F, E)``, initialised to the identity (the kernel starts as the dot
    product; with ``F ≠ E`` the rectangular identity).
    """

    def __init__(self, head_dim: int, num_heads: int = 1, feature_dim: int | None = None) -> None:
        super().__init__()
        if head_dim is None:
            raise ValueError("the kernel similarity needs head_dim (the projected pattern size E); got None")
        self.head_dim = _per_head_size("head_dim", head_dim)
        self.num_heads = _per_head_size("num_heads", num_heads)
        self.feature_dim = self.head_dim if feature_dim is None else _per_head_size("feature_dim", feature_dim)
        self.feature_map = nn.Parameter(torch.empty(self.num_heads, self.feature_dim, self.head_dim))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.feature_map.copy_(torch.eye(self.feature_dim, self.head_dim).expand_as(self.feature_map))

    def features(self, x: Tensor) -> Tensor:
        """``Φx``: ``(B, H, L, E)`` → ``(B, H, L, F)``."""
        if x.dim() != 4 or x.shape[1] != self.num_heads or x.shape[-1] != self.head_dim:
            raise ValueError(f"kernel similarity with num_heads={self.num_heads}, head_dim={self.head_dim} needs (B, {self.num_heads}, L, {self.head_dim}); got {tuple(x.shape)}")
        return x @ self.feature_map.to(x.dtype).transpose(-2, -1)

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        """``query (B, H, L, E)``, ``key (B, H, S, E)`` → ``⟨Φξ, Φx⟩`` ``(B, H, L, S)``."""
        return self.features(query) @ self.features(key).transpose(-2, -1)

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, num_heads={self.num_heads}, feature_dim={self.feature_dim}"
