"""Temporal-kernel sequence memory: energy, analytic gradient, retrieval guarantee and sequential recall."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_layers.memory import TemporalKernelMemory
from hopfield_layers.memory.sequence import (
    INTERACTIONS,
    global_minimum_condition,
    normalize_frames,
    sequence_energy,
    stationary_error_bound,
    temporal_log_weights,
)
from hopfield_layers.ops.lbfgs import lbfgs


def frames(batch: int = 2, num: int = 7, dim: int = 5) -> torch.Tensor:
    return normalize_frames(torch.rand(batch, num, dim, dtype=torch.float64) + 0.1)[0]


@pytest.mark.parametrize("interaction", INTERACTIONS)
def test_analytic_gradient_matches_autograd(interaction: str) -> None:
    stored = frames()
    state = (stored[:, 3] + 0.3 * torch.randn(2, 5, dtype=torch.float64)).requires_grad_(True)
    params = dict(beta=2.0, sigma=1.5, lam=0.3, lam_f=0.7, mu=0.2, interaction=interaction)
    step = torch.tensor([3, 0])  # m = 0 has no μ term
    _, grad = sequence_energy(state.detach(), stored, step, return_grad=True, **params)
    (expected,) = torch.autograd.grad(sequence_energy(state, stored, step, **params).sum(), state)
    torch.testing.assert_close(grad, expected)


def test_energy_matches_its_definition() -> None:
    stored = frames(1, 6, 4)
    s = torch.randn(1, 4, dtype=torch.float64)
    m, beta, sigma, lam, lam_f, mu = 2, 0.7, 1.3, 0.2, 0.9, 0.4
    k = torch.arange(6, dtype=torch.float64)
    w = torch.exp(-((k - m) ** 2) / (2 * sigma**2))
    w = w / w.sum()
    x = stored[0] @ s[0]
    quadratic = lam / 2 * s.pow(2).sum() + lam_f * (s[0] - stored[0, m]).pow(2).sum() + mu * (s[0] - stored[0, m - 1]).pow(2).sum()
    expected = {
        "lse_max": quadratic - torch.log((w * torch.exp(beta * x)).sum()) / beta - x.max(),
        "lse": quadratic - torch.log((w * torch.exp(beta * x)).sum()) / beta,
        "exp": quadratic - (w * torch.exp(beta * (x - 4))).sum() / beta,
    }
    for interaction, value in expected.items():
        got = sequence_energy(s, stored, m, beta=beta, sigma=sigma, lam=lam, lam_f=lam_f, mu=mu, interaction=interaction)
        torch.testing.assert_close(got[0], value)


def test_temporal_weights_are_a_normalised_gaussian() -> None:
    log_w = temporal_log_weights(9, torch.tensor([0, 4]), sigma=2.0)
    torch.testing.assert_close(log_w.exp().sum(-1), torch.ones(2))
    assert int(log_w[1].argmax()) == 4 and torch.allclose(log_w[1], log_w[1].flip(0))
    torch.testing.assert_close(temporal_log_weights(5, torch.tensor([2]), math.inf).exp(), torch.full((1, 5), 0.2))


def test_normalize_frames() -> None:
    clips = torch.rand(2, 3, 3, 4, 4)
    normed, norms = normalize_frames(clips)
    assert normed.shape == (2, 3, 48) and norms.shape == (2, 3)
    torch.testing.assert_close(normed.norm(dim=-1), torch.full((2, 3), math.sqrt(48.0)))
    with pytest.raises(ValueError, match="all-zero"):
        normalize_frames(torch.zeros(1, 2, 3))


@pytest.mark.parametrize("interaction", ["lse_max", "lse"])
@pytest.mark.parametrize("lam_f", [0.05, 1.0, 30.0])
def test_every_stationary_point_obeys_the_bound(interaction: str, lam_f: float) -> None:
    stored = frames(3, 9, 6)
    params = dict(beta=3.0, sigma=1.0, lam=0.5, lam_f=lam_f, mu=0.2, interaction=interaction)
    step = torch.tensor([0, 4, 8])

    def objective(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return sequence_energy(x, stored[rows], step[rows], return_grad=True, **params)

    for start in (torch.zeros(3, 6, dtype=torch.float64), 10 * torch.randn(3, 6, dtype=torch.float64)):
        result = lbfgs(objective, start, tol=1e-10, max_iter=500)
        error = (result.x - stored[torch.arange(3), step]).pow(2).mean(-1)
        assert (error <= stationary_error_bound(lam_f, 0.5, 0.2, interaction) ** 2 + 1e-9).all()


def test_global_minimum_condition_is_the_bound_below_threshold() -> None:
    lam_f = torch.linspace(0, 30, 301, dtype=torch.float64)
    for lam in (0.0, 2.5, 5.0):
        g = global_minimum_condition(lam_f, lam, 0.001, 0.05)
        assert torch.equal(g > 0, stationary_error_bound(lam_f, lam, 0.001) ** 2 < 0.05)
    assert global_minimum_condition(500.0, 0.01) > 0 > global_minimum_condition(1.0, 0.01)
    with pytest.raises(ValueError, match="unbounded gradient"):
        stationary_error_bound(1.0, 0.1, interaction="exp")


def test_sequential_retrieval_recovers_a_clip() -> None:
    clip = torch.rand(12, 3, 5, 5, dtype=torch.float64)
    memory = TemporalKernelMemory().fit(clip)
    out = memory.retrieve()
    assert out.frames.shape == clip.shape and out.states.shape == (1, 12, 75)
    mse = memory.frame_mse(out.states)
    assert out.converged.all() and (mse <= stationary_error_bound(500.0, 0.01, 0.001) ** 2 + 1e-12).all()
    torch.testing.assert_close(out.frames, clip, atol=5e-3, rtol=0)
    nearest = (out.states[0] @ memory.patterns[0].T).argmax(-1)
    assert torch.equal(nearest, torch.arange(12))


def test_without_anchor_retrieval_gets_stuck() -> None:
    """λ_f = 0 and a uniform kernel: nothing tells the energy which frame is due (G < 0)."""
    clip = torch.rand(10, 20, dtype=torch.float64)
    memory = TemporalKernelMemory(lam=2.0, lam_f=0.0, sigma=math.inf).fit(clip)
    states = memory.retrieve().states[0]
    nearest = (states @ memory.patterns[0].T).argmax(-1)
    assert (nearest != torch.arange(10)).sum() >= 5


def test_batched_retrieval_equals_one_clip_at_a_time() -> None:
    clips = torch.rand(3, 6, 2, 4, 4, dtype=torch.float64)
    memory = TemporalKernelMemory(lam_f=2.0, sigma=1.0)
    together = memory.fit(clips, batched=True).retrieve()
    assert together.frames.shape == clips.shape
    for b in range(3):
        alone = memory.fit(clips[b]).retrieve()
        torch.testing.assert_close(alone.states[0], together.states[b], atol=1e-8, rtol=0)


def test_retrieval_keeps_dtype_and_device_of_the_frames() -> None:
    clip = torch.rand(4, 6, dtype=torch.float64)
    out = TemporalKernelMemory().fit(clip).retrieve(start=torch.ones(1, 6, dtype=torch.float32))
    assert out.states.dtype == torch.float64 and out.states.device == clip.device


def test_unknown_interaction_raises() -> None:
    with pytest.raises(ValueError, match="interaction must be one of"):
        TemporalKernelMemory(interaction="softmax")


def test_bad_hyperparameters_raise() -> None:
    with pytest.raises(ValueError, match="sigma must be positive"):
        TemporalKernelMemory(sigma=0.0)
    with pytest.raises(ValueError, match="lam_f must be non-negative"):
        TemporalKernelMemory(lam_f=-1.0)


def test_retrieve_before_fit_raises() -> None:
    with pytest.raises(RuntimeError, match="call fit"):
        TemporalKernelMemory().retrieve()


def test_fit_rejects_bad_frames() -> None:
    with pytest.raises(TypeError, match="floating tensor"):
        TemporalKernelMemory().fit(torch.ones(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, N, \*frame_shape\)"):
        TemporalKernelMemory().fit(torch.rand(3, 4), batched=True)


def test_energy_rejects_bad_shapes_and_steps() -> None:
    stored = frames(2, 5, 3)
    with pytest.raises(ValueError, match=r"state must be \(B, d\)"):
        sequence_energy(torch.zeros(2, 4, dtype=torch.float64), stored, 0)
    with pytest.raises(ValueError, match=r"step must lie in \[0, 5\)"):
        sequence_energy(torch.zeros(2, 3, dtype=torch.float64), stored, 5)
