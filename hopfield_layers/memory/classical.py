"""Binary associative memories: the classical Hopfield network and dense associative memories.

States and patterns are ±1 vectors of N neurons; P patterns ``ξ^μ`` are stored.

* :class:`ClassicalHopfield` (Hopfield 1982): Hebbian weights ``W = (1/N) Σ_μ ξ^μ ξ^μᵀ`` with zero
  diagonal, energy ``E(σ) = −½ σᵀWσ`` and the sign update ``σ_i ← sgn(Σ_j W_ij σ_j)``. Capacity
  ≈ 0.138 N random patterns (Amit, Gutfreund & Sompolinsky 1985).
* :class:`DenseAssociativeMemory` (Krotov & Hopfield 2016; Demircigil et al. 2017): energy
  ``E(σ) = −Σ_μ F(ξ^μ·σ)`` with the rectified polynomial ``F(x) = max(x, 0)^n`` or ``F(x) = exp(x)``,
  and the update ``σ_i ← sgn Σ_μ [F(ξ_i^μ + Σ_{j≠i} ξ_j^μ σ_j) − F(−ξ_i^μ + Σ_{j≠i} ξ_j^μ σ_j)]``.
  Capacity ∝ N^{n−1} (polynomial) and exponential in N (exp).

Both updates set neuron i to the sign with the lower energy given the other neurons, so
asynchronous updates (one neuron at a time) never increase the energy; a tie keeps the current
value. Synchronous updates change all neurons at once and may oscillate between two states.

Shapes: patterns ``(P, N)``, states ``(B, N)`` (or ``(N,)``), energies ``(B,)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["hebbian_weights", "ClassicalHopfield", "DenseAssociativeMemory"]

_MODES = ("async", "sync")


def hebbian_weights(patterns: Tensor) -> Tensor:
    """``W = (1/N) Σ_μ ξ^μ ξ^μᵀ`` with zero diagonal: ``(P, N) -> (N, N)``."""
    weights = patterns.T @ patterns / patterns.shape[-1]
    return weights.fill_diagonal_(0.0)


def _check_binary(x: Tensor, name: str, expected: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if not bool(((x == 1) | (x == -1)).all()):
        raise ValueError(f"{name} {expected} must contain only +1 and -1")


class _BinaryMemory(nn.Module):
    """Shared ``fit`` / ``retrieve`` / ``energy`` for memories updated one neuron at a time.

    Subclasses define the per-neuron gain ``Δ_i = E(σ_i = −1) − E(σ_i = +1)`` given the other
    neurons, both for all neurons at once (synchronous) and for one neuron per state (asynchronous,
    from an incrementally maintained cache).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("patterns", None, persistent=False)

    def fit(self, patterns: Tensor) -> _BinaryMemory:
        """Store ±1 patterns ``(P, N)``."""
        _check_binary(patterns, "patterns", "(P, N)")
        if patterns.dim() != 2:
            raise ValueError(f"patterns must be (P, N); got shape {tuple(patterns.shape)}")
        self.patterns = patterns.to(torch.get_default_dtype() if not patterns.is_floating_point() else patterns.dtype)
        self._store()
        return self

    def _stored(self) -> Tensor:
        if self.patterns is None:
            raise RuntimeError(f"{type(self).__name__} has no patterns yet: call fit(patterns) first")
        return self.patterns

    def _as_states(self, state: Tensor) -> tuple[Tensor, bool]:
        num_neurons = self._stored().shape[1]
        _check_binary(state, "state", "(B, N)")
        if state.dim() not in (1, 2) or state.shape[-1] != num_neurons:
            raise ValueError(f"state must be (B, N) or (N,) with N = {num_neurons}; got shape {tuple(state.shape)}")
        return (state[None] if state.dim() == 1 else state).to(self.patterns.dtype), state.dim() == 1

    def energy(self, state: Tensor) -> Tensor:
        """Energies ``(B,)`` of states ``(B, N)`` (a scalar for ``(N,)``)."""
        states, single = self._as_states(state)
        energies = self._energy(states)
        return energies[0] if single else energies

    @torch.no_grad()
    def retrieve(self, state: Tensor, mode: str = "async", max_sweeps: int = 100, generator: torch.Generator | None = None) -> Tensor:
        """Update states ``(B, N)`` until no neuron changes (or ``max_sweeps`` sweeps over all neurons).

        Args:
            state: ±1 initial states ``(B, N)`` or ``(N,)``.
            mode: ``"async"``: one neuron at a time, in a fresh random order per sweep and state
                (energy never increases); ``"sync"``: all neurons at once.
            max_sweeps: most sweeps (one sweep updates every neuron once).
            generator: random source for the asynchronous order.
        """
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}; got {mode!r}")
        states, single = self._as_states(state)
        states = states.clone()
        for _ in range(max_sweeps):
            changed = self._sweep_sync(states) if mode == "sync" else self._sweep_async(states, generator)
            if not changed:
                break
        return states[0] if single else states

    def _sweep_sync(self, states: Tensor) -> bool:
        gain = self._gains(states)
        new = torch.where(gain > 0, 1.0, torch.where(gain < 0, -1.0, states)).to(states.dtype)
        changed = bool((new != states).any())
        states.copy_(new)
        return changed

    def _sweep_async(self, states: Tensor, generator: torch.Generator | None) -> bool:
        batch, num_neurons = states.shape
        order = torch.rand(batch, num_neurons, generator=generator).argsort(dim=-1).to(states.device)
        rows = torch.arange(batch, device=states.device)
        cache = self._cache(states)
        changed = False
        for t in range(num_neurons):
            neuron = order[:, t]
            old = states[rows, neuron]
            gain = self._gain(cache, states, neuron)
            new = torch.where(gain > 0, 1.0, torch.where(gain < 0, -1.0, old)).to(states.dtype)
            flip = new != old
            if bool(flip.any()):
                changed = True
                states[rows, neuron] = new
                self._update_cache(cache, neuron, new - old)
        return changed

    # Subclass hooks -------------------------------------------------------------------------------
    def _store(self) -> None:
        pass

    def _energy(self, states: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _gains(self, states: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cache(self, states: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _gain(self, cache: Tensor, states: Tensor, neuron: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _update_cache(self, cache: Tensor, neuron: Tensor, delta: Tensor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ClassicalHopfield(_BinaryMemory):
    """Classical Hopfield network with Hebbian weights (zero diagonal) and sign updates.

    ``fit(patterns (P, N))``, ``retrieve(state (B, N), mode="async"|"sync")``, ``energy(state) -> (B,)``;
    the weights ``(N, N)`` are in ``weights``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weights", None, persistent=False)

    def _store(self) -> None:
        self.weights = hebbian_weights(self.patterns)

    def _energy(self, states: Tensor) -> Tensor:
        return -0.5 * ((states @ self.weights) * states).sum(-1)

    def _gains(self, states: Tensor) -> Tensor:
        return 2.0 * states @ self.weights  # E(−1) − E(+1) = 2 h_i (zero diagonal)

    def _cache(self, states: Tensor) -> Tensor:
        return states @ self.weights  # local fields h (B, N)

    def _gain(self, cache: Tensor, states: Tensor, neuron: Tensor) -> Tensor:
        return 2.0 * cache.gather(1, neuron[:, None]).squeeze(1)

    def _update_cache(self, cache: Tensor, neuron: Tensor, delta: Tensor) -> None:
        cache += delta[:, None] * self.weights[neuron]


class DenseAssociativeMemory(_BinaryMemory):
    """Dense associative memory ``E(σ) = −Σ_μ F(ξ^μ·σ)`` with the Krotov–Hopfield update.

    Args:
        interaction: ``"polynomial"`` for ``F(x) = max(x, 0)^n`` or ``"exp"`` for ``F(x) = exp(x)``.
        degree: n of the polynomial (≥ 2).

    The update compares ``Σ_μ F(a_μ)`` with ``Σ_μ F(b_μ)`` (``a, b = ±ξ_i^μ + Σ_{j≠i} ξ_j^μ σ_j``);
    for ``exp`` it compares their logarithms (log-sum-exp), so it never overflows. Energies are
    computed in float64; for ``exp`` they overflow to ``-inf`` beyond about 700 neurons.
    """

    def __init__(self, interaction: str = "polynomial", degree: int = 3) -> None:
        super().__init__()
        if interaction not in ("polynomial", "exp"):
            raise ValueError(f"interaction must be 'polynomial' or 'exp'; got {interaction!r}")
        if interaction == "polynomial" and (isinstance(degree, bool) or not isinstance(degree, int) or degree < 2):
            raise ValueError(f"degree must be an int ≥ 2; got {degree!r}")
        self.interaction, self.degree = interaction, degree

    def extra_repr(self) -> str:
        return f"interaction={self.interaction!r}" + (f", degree={self.degree}" if self.interaction == "polynomial" else "")

    def _total(self, overlaps: Tensor) -> Tensor:
        """``Σ_μ F(x_μ)`` over the last dim (its log for ``exp``), in float64."""
        overlaps = overlaps.double()
        if self.interaction == "exp":
            return torch.logsumexp(overlaps, dim=-1)
        return overlaps.clamp_min(0.0).pow(self.degree).sum(-1)

    def _energy(self, states: Tensor) -> Tensor:
        total = self._total(states @ self.patterns.T)
        return -(total.exp() if self.interaction == "exp" else total)

    def _gains(self, states: Tensor) -> Tensor:
        cache = self._cache(states)
        neurons = torch.arange(states.shape[1], device=states.device)
        return torch.stack([self._gain(cache, states, i.expand(states.shape[0])) for i in neurons], dim=1)

    def _cache(self, states: Tensor) -> Tensor:
        return states @ self.patterns.T  # overlaps m_μ = ξ^μ·σ (B, P)

    def _gain(self, cache: Tensor, states: Tensor, neuron: Tensor) -> Tensor:
        xi = self.patterns.T[neuron]  # (B, P): ξ_i^μ
        rest = cache - xi * states.gather(1, neuron[:, None])
        return self._total(rest + xi) - self._total(rest - xi)

    def _update_cache(self, cache: Tensor, neuron: Tensor, delta: Tensor) -> None:
        cache += delta[:, None] * self.patterns.T[neuron]
