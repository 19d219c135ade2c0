"""``DiscreteMemory``: the modern Hopfield network on the L stored patterns, with ``ContinuousMemory``'s interface.

``q ← Xᵀ softmax(β X q)``, energy ``E(q) = −(1/β) log Σ_ℓ exp(β x_ℓᵀq) + ½‖q‖²`` (Ramsauer et al. 2021),
for side-by-side comparisons with :class:`~.continuous.ContinuousMemory`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .gibbs import GibbsMemory, as_batch, valid_patterns

__all__ = ["DiscreteMemory"]


class DiscreteMemory(GibbsMemory):
    """Modern (dense) Hopfield network storing the patterns themselves.

    Args:
        beta: inverse temperature β > 0.

    ``fit(patterns (L, D) | (B, L, D), padding_mask=None)``, ``retrieve(queries (M, D) | (B, M, D), num_iters=1)``,
    ``energy(queries)``, ``weights(queries)`` as :class:`~.gibbs.GibbsMemory`.
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__(beta)
        self.register_buffer("patterns", None, persistent=False)
        self.register_buffer("log_weights", None, persistent=False)

    def fit(self, patterns: Tensor, padding_mask: Tensor | None = None) -> DiscreteMemory:
        x, unbatched = as_batch(patterns, "patterns", "L")
        valid = valid_patterns(padding_mask, x.shape[0], x.shape[1], unbatched)
        self.patterns = x
        self.log_weights = None if valid is None else torch.zeros(valid.shape, dtype=x.dtype, device=x.device).masked_fill(~valid, float("-inf"))
        self._unbatched = unbatched
        return self

    def support(self) -> tuple[Tensor, Tensor | None]:
        if self.patterns is None:
            raise RuntimeError("DiscreteMemory has no patterns yet: call fit(patterns) first")
        return self.patterns, self.log_weights
