"""Sequence memory with a temporal kernel (Farooq 2025, "Long-Sequence Memory with Temporal Kernels
and Dense Hopfield Functionals").

N frames ``s⁽ᵏ⁾`` (flattened, normalised to ``‖s⁽ᵏ⁾‖ = √d``) are stored. Frame ``m`` is recalled by
minimising, over the state ``s ∈ ℝᵈ``,

    E(s, m) = λ/2 ‖s‖² + λ_f ‖s − s⁽ᵐ⁾‖² + μ ‖s − s⁽ᵐ⁻¹⁾‖² − Φ_m(s)

with ``x_k = ⟨s, s⁽ᵏ⁾⟩``, normalised Gaussian temporal weights ``w_k(m) ∝ exp(−(k − m)² / 2σ²)`` and
one of three dense Hopfield functionals Φ (``interaction``):

* ``"lse_max"`` (the paper's functional): ``Φ = (1/β) log Σ_k w_k(m) exp(β x_k) + max_k x_k``;
* ``"lse"`` (plain log-sum-exp): ``Φ = (1/β) log Σ_k w_k(m) exp(β x_k)``;
* ``"exp"`` (exponential F of dense associative memories): ``Φ = (1/β) Σ_k w_k(m) exp(β (x_k − d))``.
  The shift by the dimension ``d`` (= ``‖s⁽ᵏ⁾‖²`` for normalised frames) only rescales F by ``e^{−βd}``
  and keeps it finite for image-sized d.
  Φ grows faster than the quadratic terms, so this energy is unbounded below: retrieval can only find
  a local minimum. Along ``s = (1 + ε) s⁽ᵐ⁾`` the outward pull ``≈ W e^{βdε}`` (W ≤ 1: the weight
  of the frames close to ``s⁽ᵐ⁾``) must meet the anchor's ``(λ + 2λ_f) ε``, so a minimum near the
  frame needs ``β d W ≲ (λ + 2λ_f)/e``, safely ``β ≲ (λ + 2λ_f)/(e d)``; for larger β L-BFGS runs
  off until the energy overflows.

``s⁽ᵐ⁻¹⁾`` is the stored frame m − 1; the μ term is absent for ``m = 0``. The gradient is analytic: ``∇Φ = Σ_k p_k(m) s⁽ᵏ⁾ + s⁽ᵏ*⁾`` with
the weighted softmax ``p_k(m) ∝ w_k(m) exp(β x_k)`` and the arg-max frame ``k*`` (``lse_max``).

**Retrieval guarantee** (derived here: the paper states its own global-minimum condition G(λ_f), whose
text could not be consulted for this implementation, so this is not claimed to be its formula). The
bound holds for every stationary point, so for the global minimum and for whatever local minimum
L-BFGS returns. Setting ``∇E = 0`` gives
``A (s − s⁽ᵐ⁾) = 2μ (s⁽ᵐ⁻¹⁾ − s⁽ᵐ⁾) − λ s⁽ᵐ⁾ + ∇Φ`` with ``A = λ + 2λ_f + 2μ`` and ``‖∇Φ‖ ≤ c√d``
(``c = 2`` for ``lse_max``, 1 for ``lse``), hence the per-component error

    MSE = ‖s − s⁽ᵐ⁾‖² / d ≤ ε² ,   ε(λ_f) = (λ + c + 4μ) / (λ + 2λ_f + 2μ),

whatever the frames, N, β and σ. :func:`global_minimum_condition` returns
``G(λ_f) = √τ (λ + 2λ_f + 2μ) − (λ + c + 4μ)``: ``G > 0`` guarantees ``MSE < τ`` for every frame.

Frames are recalled in order: for ``m = 0 … N−1`` the batched :func:`~hopfield_layers.ops.lbfgs.lbfgs`
minimises ``E(·, m)`` starting from the state retrieved for ``m − 1`` (tolerance ``1e-5`` as SciPy's
``minimize(..., tol=1e-5)``). B independent clips are recalled together, one batched evaluation per
iteration, on whatever device the frames are on.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from einops import rearrange
from torch import Tensor, nn

from ..ops.lbfgs import lbfgs

__all__ = [
    "INTERACTIONS",
    "normalize_frames",
    "temporal_log_weights",
    "sequence_energy",
    "stationary_error_bound",
    "global_minimum_condition",
    "SequenceRetrieval",
    "TemporalKernelMemory",
]

INTERACTIONS = ("lse_max", "lse", "exp")


def _check_interaction(interaction: str) -> None:
    if interaction not in INTERACTIONS:
        raise ValueError(f"interaction must be one of {INTERACTIONS}; got {interaction!r}")


def normalize_frames(frames: Tensor) -> tuple[Tensor, Tensor]:
    """Flatten and rescale frames to norm ``√d``: ``(B, N, *frame_shape) -> ((B, N, d), norms (B, N))``."""
    flat = rearrange(frames, "b n ... -> b n (...)")
    norms = flat.norm(dim=-1)
    if bool((norms == 0).any()):
        raise ValueError("frames must not be all-zero (they are normalised to norm √d)")
    return flat * (math.sqrt(flat.shape[-1]) / norms)[..., None], norms


def temporal_log_weights(num_frames: int, step: Tensor, sigma: float, dtype: torch.dtype | None = None) -> Tensor:
    """``log w_k(m)``, the normalised Gaussian kernel around ``m``: ``step (B,) -> (B, N)``.

    ``sigma = inf`` gives uniform weights (no temporal kernel).
    """
    dtype = dtype or torch.get_default_dtype()
    k = torch.arange(num_frames, device=step.device, dtype=dtype)
    if math.isinf(sigma):
        return torch.full((step.shape[0], num_frames), -math.log(num_frames), device=step.device, dtype=dtype)
    logits = -((k[None, :] - step[:, None].to(k.dtype)) ** 2) / (2.0 * sigma**2)
    return logits - torch.logsumexp(logits, dim=-1, keepdim=True)


def sequence_energy(
    state: Tensor,
    frames: Tensor,
    step: int | Tensor,
    *,
    beta: float = 1.0,
    sigma: float = 2.0,
    lam: float = 0.01,
    lam_f: float = 500.0,
    mu: float = 0.001,
    interaction: str = "lse_max",
    return_grad: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """``E(s, m)`` of the temporal-kernel sequence memory, optionally with its analytic gradient.

    Args:
        state: states s, ``(B, d)``.
        frames: stored normalised frames, ``(B, N, d)`` or ``(1, N, d)`` (shared by all B states).
        step: frame index m, an int or a long tensor ``(B,)``.
        beta, sigma, lam, lam_f, mu: β, σ, λ, λ_f and μ of the energy.
        interaction: ``"lse_max"``, ``"lse"`` or ``"exp"`` (see the module docstring).
        return_grad: also return ``∇_s E`` ``(B, d)``.

    Returns:
        ``(B,)`` energies, or ``((B,), (B, d))`` with ``return_grad``.
    """
    _check_interaction(interaction)
    if state.dim() != 2 or frames.dim() != 3 or frames.shape[-1] != state.shape[-1] or frames.shape[0] not in (1, state.shape[0]):
        raise ValueError(f"state must be (B, d) and frames (B, N, d) or (1, N, d); got state {tuple(state.shape)}, frames {tuple(frames.shape)}")
    batch, dim = state.shape
    num_frames = frames.shape[1]
    step = torch.as_tensor(step, device=state.device).long().expand(batch)
    if bool(((step < 0) | (step >= num_frames)).any()):
        raise ValueError(f"step must lie in [0, {num_frames}); got {step.tolist()}")
    rows = torch.arange(batch, device=state.device) if frames.shape[0] > 1 else torch.zeros(batch, dtype=torch.long, device=state.device)
    anchor = frames[rows, step]
    previous = frames[rows, (step - 1).clamp_min(0)]
    mu_m = torch.where(step > 0, mu, 0.0).to(state.dtype)

    # (B, N): x_k = <s, s_k>, as row vector @ frames^T (a batched matrix @ column vector is ~10x slower on CPU)
    overlaps = (state[:, None, :] @ frames.transpose(1, 2)).squeeze(1)
    logits = beta * overlaps + temporal_log_weights(num_frames, step, sigma, state.dtype)
    lse = torch.logsumexp(logits, dim=-1) / beta
    p = torch.softmax(logits, dim=-1)
    if interaction == "exp":
        scale = torch.exp(beta * (lse - dim))  # Σ_k w_k exp(β(x_k − d))
        phi, weights = scale / beta, p * scale[:, None]
    else:
        phi, weights = lse, p
        if interaction == "lse_max":
            top, arg = overlaps.max(dim=-1)
            phi = phi + top
            weights = weights + nn.functional.one_hot(arg, num_frames).to(state.dtype)

    to_anchor, to_previous = state - anchor, state - previous
    energy = 0.5 * lam * (state * state).sum(-1) + lam_f * (to_anchor * to_anchor).sum(-1) + mu_m * (to_previous * to_previous).sum(-1) - phi
    if not return_grad:
        return energy
    grad_phi = (weights[:, None, :] @ frames).squeeze(1)
    grad = lam * state + 2.0 * lam_f * to_anchor + 2.0 * mu_m[:, None] * to_previous - grad_phi
    return energy, grad


def stationary_error_bound(lam_f: float | Tensor, lam: float | Tensor, mu: float = 0.001, interaction: str = "lse_max") -> float | Tensor:
    """``ε(λ_f) = (λ + c + 4μ) / (λ + 2λ_f + 2μ)``: every stationary point of ``E(·, m)`` has ``‖s − s⁽ᵐ⁾‖ ≤ ε√d``."""
    _check_interaction(interaction)
    if interaction == "exp":
        raise ValueError("the exp interaction has an unbounded gradient, so no frame-independent bound exists")
    c = 2.0 if interaction == "lse_max" else 1.0
    return (lam + c + 4.0 * mu) / (lam + 2.0 * lam_f + 2.0 * mu)


def global_minimum_condition(lam_f: float | Tensor, lam: float | Tensor, mu: float = 0.001, threshold: float = 0.05, interaction: str = "lse_max") -> float | Tensor:
    """``G(λ_f) = √τ (λ + 2λ_f + 2μ) − (λ + c + 4μ)``; ``G > 0`` ⇒ every stationary point has ``MSE < τ``."""
    bound = stationary_error_bound(lam_f, lam, mu, interaction)
    return (math.sqrt(threshold) - bound) * (lam + 2.0 * lam_f + 2.0 * mu)


class SequenceRetrieval(NamedTuple):
    states: Tensor  #: (B, N, d) retrieved normalised states
    frames: Tensor  #: (B, N, *frame_shape) retrieved frames rescaled to the stored frames' norms
    iterations: Tensor  #: (B, N) L-BFGS steps per frame
    evaluations: Tensor  #: (B, N) energy evaluations per frame
    converged: Tensor  #: (B, N) bool: L-BFGS met the tolerance


class TemporalKernelMemory(nn.Module):
    """Temporal-kernel sequence memory: ``fit(frames)``, then ``retrieve()`` the frames in order.

    Args:
        beta: β, inverse temperature of the Hopfield functional.
        sigma: σ of the Gaussian temporal kernel (``inf``: uniform weights).
        lam: λ, weight of ``½‖s‖²``.
        lam_f: λ_f, weight of ``‖s − s⁽ᵐ⁾‖²``.
        mu: μ, weight of ``‖s − s⁽ᵐ⁻¹⁾‖²``.
        interaction: ``"lse_max"`` (default), ``"lse"`` or ``"exp"``.
        tol: L-BFGS tolerance (gradient max-norm and relative decrease).
        max_iter: most L-BFGS steps per frame.
        history: L-BFGS memory.

    Example::

        memory = TemporalKernelMemory().fit(clip)          # clip (N, C, H, W); B clips: fit(clips, batched=True)
        out = memory.retrieve()                            # out.frames like clip
        mse = memory.frame_mse(out.states)                 # (B, N)
    """

    def __init__(
        self,
        beta: float = 1.0,
        sigma: float = 2.0,
        lam: float = 0.01,
        lam_f: float = 500.0,
        mu: float = 0.001,
        interaction: str = "lse_max",
        tol: float = 1e-5,
        max_iter: int = 200,
        history: int = 10,
    ) -> None:
        super().__init__()
        _check_interaction(interaction)
        for name, value in (("beta", beta), ("sigma", sigma), ("tol", tol)):
            if not value > 0:
                raise ValueError(f"{name} must be positive; got {value}")
        for name, value in (("lam", lam), ("lam_f", lam_f), ("mu", mu)):
            if not value >= 0:
                raise ValueError(f"{name} must be non-negative; got {value}")
        self.beta, self.sigma, self.lam, self.lam_f, self.mu = float(beta), float(sigma), float(lam), float(lam_f), float(mu)
        self.interaction, self.tol, self.max_iter, self.history = interaction, float(tol), int(max_iter), int(history)
        self.register_buffer("patterns", None, persistent=False)
        self.register_buffer("norms", None, persistent=False)
        self.frame_shape: tuple[int, ...] = ()
        self._unbatched = False

    def extra_repr(self) -> str:
        return f"beta={self.beta}, sigma={self.sigma}, lam={self.lam}, lam_f={self.lam_f}, mu={self.mu}, interaction={self.interaction!r}"

    def fit(self, frames: Tensor, batched: bool = False) -> TemporalKernelMemory:
        """Store a clip ``(N, *frame_shape)``, or B clips ``(B, N, *frame_shape)`` with ``batched=True``."""
        if not isinstance(frames, Tensor) or not frames.is_floating_point():
            raise TypeError(f"frames must be a floating tensor; got {type(frames).__name__ if not isinstance(frames, Tensor) else frames.dtype}")
        if frames.dim() < 2 + batched:
            expected = "(B, N, *frame_shape)" if batched else "(N, *frame_shape)"
            raise ValueError(f"frames must be {expected} with a frame of at least one dimension; got shape {tuple(frames.shape)}")
        self._unbatched = not batched
        batched = frames[None] if self._unbatched else frames
        self.frame_shape = tuple(batched.shape[2:])
        self.patterns, self.norms = normalize_frames(batched)
        return self

    def _stored(self) -> Tensor:
        if self.patterns is None:
            raise RuntimeError("TemporalKernelMemory has no frames yet: call fit(frames) first")
        return self.patterns

    def _energy_kwargs(self) -> dict[str, float | str]:
        return dict(beta=self.beta, sigma=self.sigma, lam=self.lam, lam_f=self.lam_f, mu=self.mu, interaction=self.interaction)

    def energy(self, state: Tensor, step: int | Tensor, return_grad: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """``E(s, m)`` for states ``(B, d)`` against the stored clips (see :func:`sequence_energy`)."""
        return sequence_energy(state, self._stored(), step, return_grad=return_grad, **self._energy_kwargs())

    @torch.no_grad()
    def retrieve(self, start: Tensor | None = None) -> SequenceRetrieval:
        """Recall all frames in order, each L-BFGS run starting from the previous frame's result.

        Args:
            start: starting state for frame 0, ``(B, d)``; default zeros (no cue).
        """
        patterns = self._stored()
        batch, num_frames, dim = patterns.shape
        state = patterns.new_zeros(batch, dim) if start is None else start.reshape(batch, dim).to(patterns)
        states = torch.empty_like(patterns)
        iterations = torch.empty(batch, num_frames, dtype=torch.long, device=patterns.device)
        evaluations, converged = torch.empty_like(iterations), torch.empty(batch, num_frames, dtype=torch.bool, device=patterns.device)
        for m in range(num_frames):
            step = torch.full((batch,), m, dtype=torch.long, device=patterns.device)

            def objective(x: Tensor, rows: Tensor, step: Tensor = step, padded: Tensor = state) -> tuple[Tensor, Tensor]:
                # Evaluate all B clips (rows that are not asked for keep their current state): gathering
                # a subset of (N, d) frame stacks would copy as many bytes as the evaluation reads.
                if rows.shape[0] < batch:
                    x = padded.index_copy(0, rows, x)
                energy, grad = sequence_energy(x, patterns, step, return_grad=True, **self._energy_kwargs())
                return energy[rows], grad[rows]

            result = lbfgs(objective, state, tol=self.tol, max_iter=self.max_iter, history=self.history)
            state = result.x
            states[:, m], iterations[:, m], evaluations[:, m], converged[:, m] = state, result.iterations, result.evaluations, result.converged
        frames = states * (self.norms / math.sqrt(dim))[..., None]
        frames = frames.reshape(batch, num_frames, *self.frame_shape)
        if self._unbatched:
            frames = frames[0]
        return SequenceRetrieval(states, frames, iterations, evaluations, converged)

    def frame_mse(self, states: Tensor) -> Tensor:
        """Per-frame error ``MSE_k = ‖ŝ_k − s⁽ᵏ⁾‖² / d`` of retrieved states ``(B, N, d)`` in normalised units: ``(B, N)``."""
        patterns = self._stored()
        return (states - patterns).pow(2).mean(-1)
