"""Energy functions of modern Hopfield networks with dot-product similarity.

For stored patterns Ξ (rows ξ_μ) and a state x, the energy of the separation with Tsallis index α is

    E(x) = -(1/β) Ψ*_α(β Ξ x) + ½ xᵀx (+ const),

where Ψ*_α is the convex conjugate of the Tsallis negentropy
``Ψ_α(p) = (Σ p_i^α - 1) / (α (α - 1))`` (α → 1: ``Σ p_i log p_i``, whose conjugate is log-sum-exp).
Then ``∇Ψ*_α(z) = α-entmax(z)``, and the retrieval update ``x ← Ξᵀ α-entmax(β Ξ x)`` is the
concave-convex procedure for E, so E never increases along updates (Ramsauer et al. 2021 for
softmax; Hu et al. 2023 for sparsemax; Wu et al. 2024 for α-entmax).

For softmax the constant of Ramsauer et al. is included on request:
``E(x) = -lse(β, Ξx) + ½ xᵀx + β⁻¹ log N + ½ M²`` with ``M = max_μ ‖ξ_μ‖``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .ops.entmax import entmax15, entmax_bisect, sparsemax
from .separation import DensitySeparation, Separation, get_separation

__all__ = ["tsallis_conjugate", "energy"]


def tsallis_conjugate(scores: Tensor, alpha: float | Tensor = 1.0) -> Tensor:
    """``Ψ*_α(z) = max_{p ∈ Δ} ⟨p, z⟩ - Ψ_α(p)`` over the last dim: ``(..., S) -> (...)``.

    ``alpha`` is a float in [1, 2] or a tensor broadcastable to ``scores[..., :1]`` (e.g. per head).
    """
    if not isinstance(alpha, Tensor) and alpha == 1.0:
        return torch.logsumexp(scores, dim=-1)
    if isinstance(alpha, Tensor):
        p = entmax_bisect(scores, alpha.to(scores.dtype), dim=-1, n_iter=60)
        a = alpha.to(scores.dtype)
    else:
        p = sparsemax(scores) if alpha == 2.0 else entmax15(scores) if alpha == 1.5 else entmax_bisect(scores, alpha, dim=-1, n_iter=60)
        a = torch.tensor(alpha, dtype=scores.dtype, device=scores.device)
    negentropy = ((p.pow(a) * (p > 0)).sum(dim=-1, keepdim=True) - 1.0) / (a * (a - 1.0))
    linear = (p * scores.masked_fill(p == 0, 0.0)).sum(dim=-1, keepdim=True)
    return (linear - negentropy).squeeze(-1)


def energy(
    state: Tensor,
    stored: Tensor,
    *,
    separation: str | Separation | dict[str, Any] = "softmax",
    scaling: float | Tensor = 1.0,
    include_constant: bool = False,
) -> Tensor:
    """Hopfield energy of ``state`` ``(..., E)`` (or ``(..., L, E)``) w.r.t. ``stored`` ``(..., S, E)``.

    Args:
        state: state patterns x, ``(..., L, E)``; a trailing ``L`` axis evaluates L states at once.
        stored: stored patterns Ξ, ``(..., S, E)``, broadcastable against ``state``'s leading dims.
        separation: name or instance; its ``alpha`` (Tsallis index) selects the energy. A
            :class:`~hopfield_layers.separation.DensitySeparation` (e.g. ``"gibbs"``) computes its own.
        scaling: β, a float or a tensor broadcastable to ``(..., L, 1)`` (e.g. ``(H, 1, 1)`` per head).
        include_constant: add Ramsauer et al.'s constant ``β⁻¹ log N + ½ M²`` (softmax only) so that E ≥ 0.

    Returns:
        ``(..., L)`` energies.
    """
    if state.dim() < 2 or stored.dim() < 2 or state.shape[-1] != stored.shape[-1]:
        raise ValueError(f"state (..., L, E) and stored (..., S, E) must share E; got {tuple(state.shape)} and {tuple(stored.shape)}")
    sep = get_separation(separation)
    if isinstance(sep, DensitySeparation):
        if include_constant:
            raise ValueError("include_constant is defined for the discrete softmax energy only")
        return sep.energy(state, stored, scaling)
    alpha = sep.alpha
    if isinstance(alpha, Tensor):
        alpha = alpha.reshape(alpha.shape + (1, 1)) if alpha.dim() == 1 else alpha
    scores = scaling * (state @ stored.transpose(-2, -1))
    value = -tsallis_conjugate(scores, alpha if isinstance(alpha, Tensor) else float(alpha))
    beta = scaling.squeeze(-1) if isinstance(scaling, Tensor) else scaling
    result = value / beta + 0.5 * (state * state).sum(dim=-1)
    if include_constant:
        if isinstance(alpha, Tensor) or alpha != 1.0:
            raise ValueError("include_constant is defined for the softmax energy only")
        num_stored = stored.shape[-2]
        max_norm = stored.norm(dim=-1).amax(dim=-1, keepdim=True)
        result = result + math.log(num_stored) / beta + 0.5 * max_norm**2
    return result
