"""Continuous-time memories (Santos, Farinhas, McNamee & Martins, "Modern Hopfield Networks with Continuous-Time Memories").

A sequence of L patterns ``X ∈ R^{L×D}`` is read as samples of a signal x(t) at the evenly spaced
times ``t_ℓ = (ℓ + ½) / L`` in [0, 1] and compressed onto N basis functions ψ(t) ∈ R^N:

    x̄(t) = Bᵀψ(t),    Bᵀ = XᵀFᵀ(FFᵀ + λI)⁻¹,    F = [ψ(t_1) … ψ(t_L)] ∈ R^{N×L}

(multivariate ridge regression, solved as a linear system). Retrieval replaces the softmax over the
L patterns by the Gibbs density over time,

    p(t) = exp(β qᵀx̄(t)) / ∫₀¹ exp(β qᵀx̄(t')) dt',    q ← Bᵀ ∫₀¹ p(t) ψ(t) dt = E_p[x̄(t)],

with the integrals taken by the trapezoidal rule on ``num_points`` evenly spaced nodes. The energy

    E(q) = −(1/β) log ∫₀¹ exp(β qᵀx̄(t)) dt + ½‖q‖²

(log-sum-exp over the nodes) never increases along the update (it is the concave-convex procedure,
as for the discrete network). Once fitted, M queries cost O(M · num_points · D) instead of O(M · L · D).

Padding: a padded pattern is left out of the regression and the kept patterns of each memory are
spread evenly over [0, 1] by their order, so a padded sequence gives the same memory as the sequence
without its padding (each batch element gets its own regression).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .basis import Basis, get_basis
from .gibbs import GibbsMemory, as_batch, valid_patterns

__all__ = ["ContinuousMemory", "sample_times", "trapezoid", "fit_coefficients", "check_continuous_arguments"]


def check_continuous_arguments(ridge: Any, num_points: Any) -> tuple[float, int]:
    """Validate the ridge penalty λ ≥ 0 and the number of quadrature nodes (≥ 2)."""
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or ridge < 0:
        raise ValueError(f"ridge must be a non-negative float; got {ridge!r}")
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 2:
        raise ValueError(f"num_points must be an int ≥ 2 (trapezoidal rule); got {num_points!r}")
    return float(ridge), num_points


def sample_times(length: int, valid: Tensor | None = None, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> Tensor:
    """Times of the stored patterns: ``(ℓ + ½) / L`` ``(L,)``, or with a mask of kept patterns ``(..., L)``
    the same spacing among the kept ones (padded entries get arbitrary times)."""
    if valid is None:
        return (torch.arange(length, dtype=dtype, device=device) + 0.5) / length
    count = valid.sum(dim=-1, keepdim=True).clamp(min=1).to(dtype)
    return (valid.cumsum(dim=-1).to(dtype) - 0.5) / count


def trapezoid(num_points: int, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Nodes ``(T,)`` evenly spaced on [0, 1] and trapezoidal weights ``(T,)`` (h, ends h/2; they sum to 1)."""
    nodes = torch.linspace(0.0, 1.0, num_points, dtype=dtype, device=device)
    weights = torch.full((num_points,), 1.0 / (num_points - 1), dtype=dtype, device=device)
    weights[0] = weights[-1] = 0.5 / (num_points - 1)
    return nodes, weights


def fit_coefficients(patterns: Tensor, basis: Basis, ridge: float, valid: Tensor | None = None) -> Tensor:
    """Ridge-regression coefficients B ``(..., N, D)`` of patterns ``(..., L, D)``: ``(FFᵀ + λI) B = F X``.

    ``valid`` ``(..., L)`` (broadcastable to the patterns' leading dims) marks the kept patterns; a
    memory without any gets B = 0. Float16/bfloat16 inputs are solved in float32.
    """
    dtype = patterns.dtype
    work = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    x = patterns.to(work)
    design = basis(sample_times(x.shape[-2], valid, dtype=work, device=x.device))  # (..., L, N) = Fᵀ
    eye = torch.eye(basis.num_basis, dtype=work, device=x.device)
    if valid is not None:
        design = design * valid.unsqueeze(-1).to(work)
    gram = design.transpose(-2, -1) @ design + ridge * eye
    if valid is not None:  # an empty memory: solve I B = 0 instead of a singular system when λ = 0
        gram = gram + (~valid.any(dim=-1)).to(work)[..., None, None] * eye
    return torch.linalg.solve(gram, design.transpose(-2, -1) @ x).to(dtype)


class ContinuousMemory(GibbsMemory):
    """Hopfield network with a continuous-time memory: L patterns compressed onto N basis functions.

    Args:
        num_basis: number of basis functions N (``None`` when ``basis`` is an instance).
        basis: ``"rectangular"`` (N equal bins, the paper's default), ``"gaussian"``, a
            ``{"name": "gaussian", "centers": ..., "width": ...}`` dict or a :class:`~.basis.Basis`.
        ridge: ridge penalty λ ≥ 0 (0.5 is the value in the authors' continuous-attention code).
        num_points: quadrature nodes of the trapezoidal rule on [0, 1].
        beta: inverse temperature β > 0.

    ``fit(patterns (L, D) | (B, L, D), padding_mask=None)`` stores the coefficients ``(B, N, D)``;
    ``retrieve(queries (M, D) | (B, M, D), num_iters=1)``, ``energy(queries) -> (…, M)``,
    ``density(queries) -> (…, M, num_points)`` (p(t) on the nodes) and ``signal(t) -> (…, T, D)`` (x̄(t)).
    """

    def __init__(self, num_basis: int | None = None, basis: str | Basis | dict[str, Any] = "rectangular", ridge: float = 0.5, num_points: int = 500, beta: float = 1.0) -> None:
        super().__init__(beta)
        self.basis = get_basis(basis, num_basis)
        self.ridge, self.num_points = check_continuous_arguments(ridge, num_points)
        self.register_buffer("coefficients", None, persistent=False)

    @property
    def num_basis(self) -> int:
        return self.basis.num_basis

    def fit(self, patterns: Tensor, padding_mask: Tensor | None = None) -> ContinuousMemory:
        x, unbatched = as_batch(patterns, "patterns", "L")
        valid = valid_patterns(padding_mask, x.shape[0], x.shape[1], unbatched)
        self.coefficients = fit_coefficients(x, self.basis, self.ridge, valid)
        self._unbatched = unbatched
        return self

    def _fitted(self) -> Tensor:
        if self.coefficients is None:
            raise RuntimeError("ContinuousMemory has no memory yet: call fit(patterns) first")
        return self.coefficients

    def signal(self, t: Tensor | None = None) -> Tensor:
        """The compressed signal x̄(t) at times ``t (T,)`` (default: the quadrature nodes): ``(…, T, D)``."""
        coefficients = self._fitted()
        if t is None:
            t = trapezoid(self.num_points, dtype=coefficients.dtype, device=coefficients.device)[0]
        points = self.basis(t.to(coefficients)) @ coefficients
        return points.squeeze(0) if self._unbatched else points

    def support(self) -> tuple[Tensor, Tensor]:
        coefficients = self._fitted()
        nodes, weights = trapezoid(self.num_points, dtype=coefficients.dtype, device=coefficients.device)
        return self.basis(nodes) @ coefficients, weights.log().unsqueeze(0)

    def density(self, queries: Tensor) -> Tensor:
        """The Gibbs density p(t) on the quadrature nodes for one update: ``(…, M, num_points)``."""
        _, weights = trapezoid(self.num_points)
        pi = self.weights(queries)
        return pi / weights.to(pi)
