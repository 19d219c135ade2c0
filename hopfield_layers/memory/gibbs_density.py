"""``GibbsDensity`` (``separation="gibbs"``): the continuous-time memory as a separation inside the layers.

Per batch element and head, the projected stored patterns (keys ``(S, E)``) and pattern projections
(values ``(S, Ev)``) are compressed onto N basis functions by the same ridge regression
(:func:`~.continuous.fit_coefficients`), scores ``β · similarity(q, x̄(t_j))`` are evaluated on the
``num_points`` quadrature nodes, the Gibbs density over t ∈ [0, 1] replaces the softmax over S, and
the output is the expected projected value ``∫ p(t) v̄(t) dt``. Update steps move the state to the
expectation of the compressed keys, ``q ← ∫ p(t) x̄(t) dt``. Once fitted, a retrieval costs
O(L · num_points) instead of O(L · S).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..functional import retrieve
from ..separation import DensitySeparation, register_separation
from .basis import Basis, get_basis
from .continuous import check_continuous_arguments, fit_coefficients, trapezoid
from .gibbs import gibbs_energy

__all__ = ["GibbsDensity"]


@register_separation("gibbs", "gibbs_density")
class GibbsDensity(DensitySeparation):
    """Gibbs density over a continuous-time memory of the stored patterns.

    Args:
        num_basis: number of basis functions N. Keep N ≤ the number of (unpadded) stored patterns:
            with a rectangular basis, a bin without any pattern is fitted to 0 and still takes part
            in the density (with the score of a zero pattern).
        basis: ``"rectangular"`` (default), ``"gaussian"``, a dict spec or a :class:`~.basis.Basis`.
        ridge: ridge penalty λ ≥ 0.
        num_points: quadrature nodes on [0, 1] (trapezoidal rule).

    In :func:`~hopfield_layers.functional.retrieve` and the modules:

    * ``key_padding_mask`` / ``stored_pattern_padding_mask`` (bool or uint8, or a float mask of 0 and
      −inf): padded patterns are left out of the regression and each batch element's kept patterns
      are spread evenly over [0, 1], so padding does not change the result. A batch element without
      any kept pattern gives a zero output and zero density.
    * ``attn_mask`` / ``association_mask`` must be ``None``: one continuous memory is shared by all
      queries, so there is no (query, stored pattern) pair to block.
    * any similarity works: it is evaluated between the queries and the compressed keys x̄(t_j) on the
      nodes (the dot product gives the paper's score ``qᵀx̄(t)``); one with parameters per stored
      pattern (``footprint`` with ``per_pattern``/``prior_bias``) does not apply, as the keys are the nodes.
    * dropout acts on the quadrature weights ``w_j p(t_j)`` as it does on attention weights.
    * patterns appended by the modules (``concat_bias_pattern``, ``add_zero_association``) are the last
      samples of the sequence.
    * the association (``return_association=True``, ``get_association_matrix``) is the density
      p(t_j) on the nodes ``t_j = j / (num_points − 1)``: ``(B, H, L, num_points)``, integrating to 1
      under the trapezoidal rule.
    """

    alpha = 1.0

    def __init__(self, num_basis: int = 64, basis: str | Basis | dict[str, Any] = "rectangular", ridge: float = 0.5, num_points: int = 500) -> None:
        super().__init__()
        self.basis = get_basis(basis, num_basis)
        self.ridge, self.num_points = check_continuous_arguments(ridge, num_points)

    @property
    def num_basis(self) -> int:
        return self.basis.num_basis

    def extra_repr(self) -> str:
        return f"ridge={self.ridge}, num_points={self.num_points}"

    def _kept(self, key_padding_mask: Tensor | None) -> Tensor | None:
        """``(B, S)`` mask of the stored patterns that take part (``None``: all)."""
        if key_padding_mask is None:
            return None
        if key_padding_mask.dtype in (torch.bool, torch.uint8):
            return ~key_padding_mask.bool()
        blocked = torch.isneginf(key_padding_mask)
        if bool(((key_padding_mask != 0) & ~blocked).any()):
            raise ValueError("GibbsDensity takes a float key_padding_mask only with entries 0 (keep) and -inf (ignore): a stored pattern is either in the regression or not")
        return ~blocked

    def _grid(self, patterns: Tensor, kept: Tensor | None) -> tuple[Tensor, Tensor]:
        """The compressed signal on the nodes ``(B, H, T, ·)`` and the log quadrature weights ``(T,)``."""
        coefficients = fit_coefficients(patterns, self.basis, self.ridge, None if kept is None else kept[:, None, :])
        nodes, weights = trapezoid(self.num_points, dtype=coefficients.dtype, device=coefficients.device)
        return self.basis(nodes) @ coefficients, weights.log()

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
    ) -> Tensor | tuple[Tensor, Tensor]:
        if attn_mask is not None:
            raise ValueError(
                "GibbsDensity cannot apply attn_mask/association_mask: all queries share one continuous memory of the stored patterns; "
                "leave stored patterns out with key_padding_mask/stored_pattern_padding_mask instead"
            )
        kept = self._kept(key_padding_mask)
        grid, log_weights = self._grid(torch.cat([key, value], dim=-1), kept)
        grid_key, grid_value = grid.split([key.shape[-1], value.shape[-1]], dim=-1)
        result = retrieve(
            query,
            grid_key,
            grid_value,
            similarity=similarity,
            separation="softmax",
            scaling=scaling,
            update_steps_max=update_steps_max,
            update_steps_eps=update_steps_eps,
            attn_mask=log_weights.to(query.dtype),
            dropout_p=dropout_p,
            training=dropout_p > 0,
            return_association=return_association,
        )
        if not return_association:
            return result
        output, weights = result
        density = weights / log_weights.exp().to(weights.dtype)
        if kept is not None:  # no kept pattern: zero output (already, x̄ = v̄ = 0) and zero density
            density = density.masked_fill(~kept.any(dim=-1)[:, None, None, None], 0.0)
        return output, density

    def energy(self, state: Tensor, stored: Tensor, scaling: float | Tensor) -> Tensor:
        """``E(q) = −(1/β) log ∫₀¹ exp(β qᵀx̄(t)) dt + ½‖q‖²`` of states ``(..., L, E)`` for stored ``(..., S, E)``."""
        if state.dim() < 2 or stored.dim() < 2 or state.shape[-1] != stored.shape[-1]:
            raise ValueError(f"state (..., L, E) and stored (..., S, E) must share E; got {tuple(state.shape)} and {tuple(stored.shape)}")
        grid, log_weights = self._grid(stored, None)
        return gibbs_energy(state, grid, log_weights, scaling)
