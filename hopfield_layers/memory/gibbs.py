"""``GibbsMemory``: an associative memory read out by a Gibbs expectation over weighted support points.

The discrete and the continuous memories retrieve the same way. For support points ``x_1 … x_K`` with
log-weights ``log w_k`` a query q is updated to

    q ← Σ_k π_k x_k,    π = softmax_k(β qᵀx_k + log w_k),

with energy ``E(q) = −(1/β) log Σ_k w_k exp(β qᵀx_k) + ½‖q‖²``, which the update never increases.

* :class:`~.discrete.DiscreteMemory`: the support is the L stored patterns, ``w_k = 1``: the modern
  Hopfield network (Ramsauer et al. 2021).
* :class:`~.continuous.ContinuousMemory`: the support is the compressed signal ``x̄(t_j)`` on the
  quadrature nodes and ``w_j`` the trapezoidal weights, so the sums are the integrals of the Gibbs
  density ``p(t) ∝ exp(β qᵀx̄(t))`` over ``t ∈ [0, 1]``.

Both call :func:`hopfield_layers.functional.retrieve` with the log-weights as an additive mask.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..functional import retrieve
from ..masks import as_mask

__all__ = ["GibbsMemory", "gibbs_energy"]


def gibbs_energy(state: Tensor, points: Tensor, log_weights: Tensor | None, beta: float | Tensor) -> Tensor:
    """``E(q) = −(1/β) log Σ_k w_k exp(β qᵀx_k) + ½‖q‖²`` for states ``(..., M, D)`` and points ``(..., K, D)``.

    ``log_weights`` broadcasts to ``(..., 1, K)`` (``None``: all weights 1); ``beta`` is a float or a tensor
    broadcastable to ``(..., M, 1)``. Returns ``(..., M)``; +inf where every weight is 0.
    """
    scores = beta * (state @ points.transpose(-2, -1))
    if log_weights is not None:
        scores = scores + log_weights
    beta = beta.squeeze(-1) if isinstance(beta, Tensor) else beta
    return -torch.logsumexp(scores, dim=-1) / beta + 0.5 * (state * state).sum(dim=-1)


def as_batch(x: Tensor, name: str, length: str) -> tuple[Tensor, bool]:
    """``(K, D)`` or ``(B, K, D)`` as ``(B, K, D)``, and whether it came without a batch axis."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise ValueError(f"{name} must be ({length}, D) or (B, {length}, D); got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor; got dtype {x.dtype}")
    return (x.unsqueeze(0), True) if x.dim() == 2 else (x, False)


def valid_patterns(padding_mask: Tensor | None, batch: int, length: int, unbatched: bool) -> Tensor | None:
    """A bool/uint8 padding mask (``True`` = ignore) ``(L,)`` or ``(B, L)`` as a ``(B, L)`` mask of kept patterns."""
    padding_mask = as_mask(padding_mask, "padding_mask")
    if padding_mask is None:
        return None
    if padding_mask.dtype != torch.bool:
        raise TypeError(f"padding_mask must be a bool or uint8 tensor (True = ignore the pattern); got dtype {padding_mask.dtype}")
    expected = (length,) if unbatched else (batch, length)
    if tuple(padding_mask.shape) != expected:
        raise ValueError(f"padding_mask must have shape {expected}; got {tuple(padding_mask.shape)}")
    return ~padding_mask.reshape(batch, length)


class GibbsMemory(nn.Module):
    """Base class: ``fit(patterns)`` then ``retrieve(queries)`` / ``energy(queries)``.

    Patterns are ``(L, D)`` or a batch of memories ``(B, L, D)``; queries ``(M, D)`` or ``(B, M, D)``
    (a batch of 1 on either side broadcasts). Outputs have no batch axis only when neither input had one.

    Args:
        beta: inverse temperature β > 0.
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"beta must be a positive float; got {beta!r}")
        self.beta = float(beta)
        self._unbatched = True

    def fit(self, patterns: Tensor, padding_mask: Tensor | None = None) -> GibbsMemory:  # pragma: no cover - abstract
        """Store ``patterns (L, D)`` or ``(B, L, D)``; ``padding_mask (L,)`` / ``(B, L)``, ``True`` = ignore."""
        raise NotImplementedError

    def support(self) -> tuple[Tensor, Tensor | None]:  # pragma: no cover - abstract
        """Support points ``(B, K, D)`` and their log-weights ``(B or 1, K)`` (``None``: all 0)."""
        raise NotImplementedError

    def _prepare(self, queries: Tensor) -> tuple[Tensor, Tensor, Tensor | None, bool]:
        points, log_weights = self.support()
        q, unbatched = as_batch(queries, "queries", "M")
        if q.shape[-1] != points.shape[-1]:
            raise ValueError(f"queries must have D = {points.shape[-1]} features like the stored patterns; got shape {tuple(queries.shape)}")
        if q.shape[0] != points.shape[0] and 1 not in (q.shape[0], points.shape[0]):
            raise ValueError(f"queries (B, M, D) and the memory must have the same batch size B (or 1); got {q.shape[0]} and {points.shape[0]}")
        batch = max(q.shape[0], points.shape[0])
        points = points.to(q.dtype)
        log_weights = None if log_weights is None else log_weights.to(q.dtype)
        return q.expand(batch, -1, -1), points.expand(batch, -1, -1), log_weights, unbatched and self._unbatched

    def retrieve(self, queries: Tensor, num_iters: int = 1) -> Tensor:
        """Apply the update ``num_iters`` times (fewer only once the weights stop changing): ``(…, M, D)``."""
        if isinstance(num_iters, bool) or not isinstance(num_iters, int) or num_iters < 1:
            raise ValueError(f"num_iters must be a positive int; got {num_iters!r}")
        q, points, log_weights, unbatched = self._prepare(queries)
        out = retrieve(
            q.unsqueeze(1),
            points.unsqueeze(1),
            points.unsqueeze(1),
            scaling=self.beta,
            update_steps_max=num_iters - 1,
            update_steps_eps=torch.finfo(q.dtype).tiny,
            attn_mask=None if log_weights is None else log_weights[:, None, None, :],
        ).squeeze(1)
        return out.squeeze(0) if unbatched else out

    def weights(self, queries: Tensor) -> Tensor:
        """The Gibbs weights π over the K support points for one update: ``(…, M, K)``, rows sum to 1."""
        q, points, log_weights, unbatched = self._prepare(queries)
        mask = None if log_weights is None else log_weights[:, None, None, :]
        _, weights = retrieve(q.unsqueeze(1), points.unsqueeze(1), points.unsqueeze(1), scaling=self.beta, attn_mask=mask, return_association=True)
        weights = weights.squeeze(1)
        return weights.squeeze(0) if unbatched else weights

    def energy(self, queries: Tensor) -> Tensor:
        """``E(q)`` of each query: ``(…, M)``."""
        q, points, log_weights, unbatched = self._prepare(queries)
        value = gibbs_energy(q, points, None if log_weights is None else log_weights.unsqueeze(-2), self.beta)
        return value.squeeze(0) if unbatched else value
