"""Separation functions: map association scores to weights over the stored patterns.

A separation is a small ``nn.Module`` with ``forward(scores, dim=-1) -> weights`` where the weights
along ``dim`` lie on the probability simplex. Softmax gives the dense modern Hopfield network
(Ramsauer et al. 2021), sparsemax and α-entmax the sparse ones (Hu et al. 2023; Wu et al. 2024).

Every separation here

* returns an all-zero row (with zero, finite gradient) when every score in the row is ``-inf``;
* computes in float32 for float16/bfloat16 scores;
* exposes ``alpha``, its Tsallis index (1 = Shannon/softmax, 2 = Gini/sparsemax), which
  :mod:`hopfield_layers.energy` uses to build the matching energy.

Look-up by name::

    get_separation("sparsemax")                                 # Sparsemax()
    get_separation("entmax", num_heads=8)                       # Entmax(alpha=1.5)
    get_separation({"name": "entmax", "alpha": 1.3})            # Entmax(alpha=1.3)
    get_separation(Entmax(learnable=True, num_heads=8))         # the instance itself
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .ops.entmax import _compute_dtype, entmax15, entmax_bisect, sparsemax
from .registry import Registry

__all__ = [
    "Separation",
    "DensitySeparation",
    "Softmax",
    "Sparsemax",
    "Entmax15",
    "Entmax",
    "Polynomial",
    "SEPARATIONS",
    "register_separation",
    "get_separation",
]


class Separation(nn.Module):
    """Base class: ``forward(scores (..., S), dim=-1) -> weights (..., S)`` on the simplex."""

    #: Tsallis index of the separation's entropy regulariser (1 = Shannon, 2 = Gini).
    alpha: float | Tensor = 1.0

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_nonempty(self, scores: Tensor, dim: int = -1) -> Tensor:
        """``forward`` for scores whose every row along ``dim`` holds a value above ``-inf``.

        :func:`~hopfield_layers.functional.retrieve` guarantees this (a fully blocked row is unblocked
        and zeroed afterwards, see :mod:`hopfield_layers.masks`), so a subclass may skip its
        empty-row handling here. Defaults to ``forward``.
        """
        return self(scores, dim=dim)


class DensitySeparation(Separation):
    """Base class of separations that put a density over a continuous memory built from the stored patterns.

    Such weights are not a function of the ``(L, S)`` score matrix, so :func:`~hopfield_layers.functional.retrieve`
    hands the whole retrieval to :meth:`retrieve` right after validating its arguments, and
    :func:`~hopfield_layers.energy.energy` hands the energy to :meth:`energy`.
    Example: :class:`~hopfield_layers.memory.gibbs_density.GibbsDensity` (``"gibbs"``).
    """

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        raise TypeError(f"{type(self).__name__} is a density over a continuous memory, not a function of the scores; use it through retrieve() or the Hopfield modules")

    def retrieve(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        *,
        similarity: nn.Module,
        scaling: float | Tensor | None,
        update_steps_max: int | Tensor | None,
        update_steps_eps: float | Tensor,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        dropout_p: float,
        return_association: bool,
    ) -> Tensor | tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        """The retrieval with ``retrieve()``'s validated arguments (``dropout_p`` is 0 outside training).

        Shapes: ``query (B, H, L, E)``, ``key (B, H, S, E)``, ``value (B, H, S, Ev)`` → ``(B, H, L, Ev)``,
        plus the association (its shape is the subclass's to document) with ``return_association``.
        """
        raise NotImplementedError

    def energy(self, state: Tensor, stored: Tensor, scaling: float | Tensor) -> Tensor:  # pragma: no cover - abstract
        """Energy ``(..., L)`` of states ``(..., L, E)`` w.r.t. stored patterns ``(..., S, E)`` (dot similarity)."""
        raise NotImplementedError


SEPARATIONS: Registry[Separation] = Registry("separation", Separation)
register_separation = SEPARATIONS.register


def get_separation(spec: str | Separation | dict[str, Any], **context: Any) -> Separation:
    """Build a separation from a registered name, a ``{"name": ..., **kwargs}`` dict or an instance.

    ``context`` (``num_heads``) is forwarded to constructors that declare it.
    """
    return SEPARATIONS.create(spec, **context)


@register_separation("softmax")
class Softmax(Separation):
    """Softmax: the dense modern Hopfield separation (α = 1)."""

    alpha = 1.0

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        empty = torch.isneginf(scores).all(dim=dim, keepdim=True)
        return self.forward_nonempty(scores.masked_fill(empty, 0.0), dim=dim).masked_fill(empty, 0.0)

    def forward_nonempty(self, scores: Tensor, dim: int = -1) -> Tensor:
        # no empty-row guard: it costs two full copies of the scores forward and backward
        return torch.softmax(scores, dim=dim, dtype=_compute_dtype(scores)).to(scores.dtype)


@register_separation("sparsemax")
class Sparsemax(Separation):
    """Sparsemax: Euclidean projection onto the simplex (α = 2)."""

    alpha = 2.0

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        return sparsemax(scores, dim=dim)


@register_separation("entmax15", "entmax_15", "entmax1.5")
class Entmax15(Separation):
    """1.5-entmax, computed exactly (α = 1.5)."""

    alpha = 1.5

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        return entmax15(scores, dim=dim)


@register_separation("entmax", "alpha_entmax")
class Entmax(Separation):
    """α-entmax with a fixed or learnable α.

    Args:
        alpha: initial α in (1, 2]. α = 1.5 and α = 2 use the exact algorithms when α is not
            learnable; other values use Newton's method (see ``hopfield_layers/ops/entmax.py``).
        learnable: learn α, one value per head when ``num_heads`` is given, else one shared value.
            A learnable α is parametrised as ``1 + sigmoid(alpha_logit)`` and stays in (1, 2).
        num_heads: number of heads H; with a learnable α the scores must be ``(..., H, L, S)``.
        n_iter: bisection steps for the rare rows where Newton's method has not converged.
    """

    def __init__(self, alpha: float = 1.5, learnable: bool = False, num_heads: int | None = None, n_iter: int = 50) -> None:
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(f"alpha must be a float in (1, 2]; got {type(alpha).__name__}")
        if not 1.0 < alpha <= 2.0:
            raise ValueError(f"alpha must lie in (1, 2]; got {alpha}")
        if num_heads is not None and (isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1):
            raise ValueError(f"num_heads must be a positive int or None; got {num_heads!r}")
        self.learnable = bool(learnable)
        self.num_heads = num_heads
        self.n_iter = int(n_iter)
        if self.learnable:
            a = min(max(float(alpha), 1.0 + 1e-3), 2.0 - 1e-3)
            logit = math.log((a - 1.0) / (2.0 - a))
            shape = (num_heads,) if num_heads is not None else ()
            self.alpha_logit = nn.Parameter(torch.full(shape, logit))
        else:
            self._alpha = float(alpha)

    @property
    def alpha(self) -> float | Tensor:  # type: ignore[override]
        if self.learnable:
            return 1.0 + torch.sigmoid(self.alpha_logit)
        return self._alpha

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        if not self.learnable:
            if self._alpha == 2.0:
                return sparsemax(scores, dim=dim)
            if self._alpha == 1.5:
                return entmax15(scores, dim=dim)
            return entmax_bisect(scores, self._alpha, dim=dim, n_iter=self.n_iter)
        alpha = self.alpha
        if self.num_heads is not None:
            dim = dim % scores.dim()
            if scores.dim() < 3 or scores.shape[-3] != self.num_heads or dim < scores.dim() - 2:
                raise ValueError(
                    f"Entmax with one alpha per head expects scores (..., H={self.num_heads}, L, S) with dim being L or S; got scores of shape {tuple(scores.shape)} and dim={dim}"
                )
            alpha = alpha.reshape(self.num_heads, 1, 1)
        shape = [1] * scores.dim()
        alpha = alpha.reshape(tuple(shape[: scores.dim() - alpha.dim()]) + tuple(alpha.shape))
        return entmax_bisect(scores, alpha.to(scores.dtype), dim=dim, n_iter=self.n_iter)

    def extra_repr(self) -> str:
        alpha = self.alpha
        shown = [round(a, 4) for a in alpha.detach().flatten().tolist()] if isinstance(alpha, Tensor) else alpha
        return f"alpha={shown}, learnable={self.learnable}, num_heads={self.num_heads}"


@register_separation("polynomial", "poly")
class Polynomial(Separation):
    """Polynomial separation ``p_i = max(z_i, 0)^n / Σ_j max(z_j, 0)^n`` (n = ``degree``).

    The one-step retrieval of a continuous dense associative memory with interaction function
    ``F(x) = max(x, 0)^(n+1) / (n+1)`` (Krotov & Hopfield 2016), normalised: ``ξ ← Σ_μ p_μ x_μ``.
    Computed as ``softmax(n · log max(z, 0))``. It is invariant to the scale β > 0; a row without any
    positive score gets zero weights. There is no Tsallis entropy behind it, so it has no ``alpha`` and
    :func:`hopfield_layers.energy.energy` does not apply.
    """

    def __init__(self, degree: int = 10) -> None:
        super().__init__()
        if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
            raise ValueError(f"degree must be a positive int; got {degree!r}")
        self.degree = degree

    @property
    def alpha(self) -> float:  # type: ignore[override]
        raise ValueError("the polynomial separation has no Tsallis index alpha (its energy is -sum_mu F(x_mu), not an entmax energy)")

    def forward(self, scores: Tensor, dim: int = -1) -> Tensor:
        positive = scores > 0
        logits = torch.where(positive, self.degree * torch.log(torch.where(positive, scores, torch.ones_like(scores))), float("-inf"))
        return Softmax()(logits, dim=dim)

    def extra_repr(self) -> str:
        return f"degree={self.degree}"
