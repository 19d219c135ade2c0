"""ContinuousMemory / DiscreteMemory: regression, Gibbs update, energy, batching, padding, errors."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_layers import retrieve
from hopfield_layers.energy import energy
from hopfield_layers.memory import ContinuousMemory, DiscreteMemory, GaussianBasis, RectangularBasis, get_basis
from hopfield_layers.memory.continuous import fit_coefficients, sample_times, trapezoid

D64 = torch.float64


def _reference_update(x: torch.Tensor, q: torch.Tensor, basis, ridge: float, beta: float, num_points: int) -> torch.Tensor:
    """The paper's formulas written out with an explicit inverse and torch.trapezoid (float64)."""
    length = x.shape[0]
    t_samples = (torch.arange(length, dtype=D64) + 0.5) / length
    f = basis(t_samples).T  # (N, L)
    b_t = x.T @ f.T @ torch.linalg.inv(f @ f.T + ridge * torch.eye(f.shape[0], dtype=D64))  # Bᵀ (D, N)
    t = torch.linspace(0, 1, num_points, dtype=D64)
    psi = basis(t)  # (T, N)
    scores = beta * q @ b_t @ psi.T  # (M, T)
    unnormalised = torch.exp(scores)
    p = unnormalised / torch.trapezoid(unnormalised, t, dim=-1).unsqueeze(-1)
    integral = torch.trapezoid(p.unsqueeze(-1) * psi, t, dim=-2)  # (M, N)
    energy = -torch.log(torch.trapezoid(unnormalised, t, dim=-1)) / beta + 0.5 * (q * q).sum(-1)
    return integral @ b_t.T, energy


@pytest.mark.parametrize("basis", ["rectangular", {"name": "gaussian", "width": 0.08}])
def test_matches_the_papers_formulas(basis) -> None:
    x, q = torch.randn(30, 5, dtype=D64), torch.randn(7, 5, dtype=D64)
    memory = ContinuousMemory(6, basis=basis, ridge=0.3, num_points=101, beta=0.8).fit(x)
    expected, expected_energy = _reference_update(x, q, memory.basis, 0.3, 0.8, 101)
    torch.testing.assert_close(memory.retrieve(q), expected)
    torch.testing.assert_close(memory.energy(q), expected_energy)
    density = memory.density(q)
    assert density.shape == (7, 101)
    torch.testing.assert_close(torch.trapezoid(density, dx=1 / 100, dim=-1), torch.ones(7, dtype=D64))


def test_rectangular_ridge_averages_each_bin() -> None:
    """With N bins and m patterns per bin, B_k = (sum of the bin's patterns) / (m + λ)."""
    x = torch.randn(12, 3, dtype=D64)
    coefficients = fit_coefficients(x, RectangularBasis(4), ridge=0.5)
    torch.testing.assert_close(coefficients, x.reshape(4, 3, 3).sum(1) / 3.5)


def test_update_never_increases_the_energy() -> None:
    x, q = torch.randn(40, 3, dtype=D64) * 2, torch.randn(10, 3, dtype=D64) * 2
    memory = ContinuousMemory(8, ridge=0.1, beta=2.0).fit(x)
    energies = [memory.energy(q)]
    for _ in range(6):
        q = memory.retrieve(q)
        energies.append(memory.energy(q))
    steps = torch.stack(energies)
    assert bool((steps[1:] <= steps[:-1] + 1e-10).all())
    assert bool((steps[-1] < steps[0] - 1e-3).all())


def test_num_iters_iterates_the_update() -> None:
    x, q = torch.randn(40, 3, dtype=D64), torch.randn(6, 3, dtype=D64)
    for memory in (ContinuousMemory(8), DiscreteMemory(beta=0.7)):
        memory.fit(x)
        torch.testing.assert_close(memory.retrieve(q, num_iters=3), memory.retrieve(memory.retrieve(memory.retrieve(q))))


def test_discrete_memory_is_the_modern_hopfield_network() -> None:
    x, q = torch.randn(25, 6), torch.randn(4, 6)
    memory = DiscreteMemory(beta=0.5).fit(x)
    torch.testing.assert_close(memory.retrieve(q), torch.softmax(0.5 * q @ x.T, -1) @ x)
    torch.testing.assert_close(memory.energy(q), energy(q, x, scaling=0.5))
    torch.testing.assert_close(memory.weights(q), torch.softmax(0.5 * q @ x.T, -1))


def test_batched_memories_and_queries_equal_single_ones() -> None:
    x, q = torch.randn(3, 20, 4), torch.randn(3, 5, 4)
    for make in (lambda: ContinuousMemory(5, num_points=64), lambda: DiscreteMemory()):
        batched = make().fit(x)
        out, e = batched.retrieve(q, num_iters=2), batched.energy(q)
        assert out.shape == (3, 5, 4) and e.shape == (3, 5)
        for i in range(3):
            single = make().fit(x[i])
            torch.testing.assert_close(out[i], single.retrieve(q[i], num_iters=2), atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(e[i], single.energy(q[i]), atol=1e-5, rtol=1e-5)
        # one memory, a batch of queries; a batch of memories, one set of queries
        assert make().fit(x[0]).retrieve(q).shape == (3, 5, 4)
        assert batched.retrieve(q[0]).shape == (3, 5, 4)
        assert make().fit(x[0]).retrieve(q[0]).shape == (5, 4)


def test_padding_gives_the_memory_of_the_unpadded_sequence() -> None:
    """Elements with different numbers of kept patterns get their own regression."""
    x, q = torch.randn(3, 24, 4, dtype=D64), torch.randn(3, 5, 4, dtype=D64)
    lengths = [24, 17, 9]
    padding = torch.arange(24)[None, :] >= torch.tensor(lengths)[:, None]
    for make in (lambda: ContinuousMemory(6, basis="gaussian", num_points=80), lambda: DiscreteMemory()):
        out = make().fit(x, padding_mask=padding).retrieve(q, num_iters=2)
        for i, n in enumerate(lengths):
            torch.testing.assert_close(out[i], make().fit(x[i, :n]).retrieve(q[i], num_iters=2))


def test_sample_times_spread_the_kept_patterns() -> None:
    valid = torch.tensor([[True, False, True, True], [True, True, True, True]])
    times = sample_times(4, valid)
    torch.testing.assert_close(times[0][valid[0]], torch.tensor([1 / 6, 3 / 6, 5 / 6]))
    torch.testing.assert_close(times[1], sample_times(4))


def test_empty_memory_retrieves_zero() -> None:
    x, q = torch.randn(2, 10, 3), torch.randn(2, 4, 3)
    padding = torch.zeros(2, 10, dtype=torch.bool)
    padding[1] = True
    out = ContinuousMemory(4, ridge=0.0).fit(x, padding_mask=padding).retrieve(q)
    assert torch.isfinite(out).all() and out[1].abs().max() == 0
    assert DiscreteMemory().fit(x, padding_mask=padding).retrieve(q)[1].abs().max() == 0


def test_gradients_flow_to_patterns_and_queries() -> None:
    x, q = torch.randn(12, 3, dtype=D64, requires_grad=True), torch.randn(4, 3, dtype=D64, requires_grad=True)
    torch.autograd.gradcheck(lambda a, b: ContinuousMemory(4, basis="gaussian", num_points=20).fit(a).retrieve(b, num_iters=2), (x, q))


def test_trapezoid_and_signal() -> None:
    nodes, weights = trapezoid(5, dtype=D64)
    torch.testing.assert_close(nodes, torch.linspace(0, 1, 5, dtype=D64))
    torch.testing.assert_close(weights, torch.tensor([0.125, 0.25, 0.25, 0.25, 0.125], dtype=D64))
    x = torch.randn(8, 2, dtype=D64)
    memory = ContinuousMemory(8, ridge=0.0).fit(x)  # one pattern per bin: x̄ is exact at the sample times
    torch.testing.assert_close(memory.signal(sample_times(8, dtype=D64)), x)
    assert memory.signal().shape == (500, 2)


def test_bases() -> None:
    t = torch.linspace(0, 1, 101)
    rect = get_basis("rectangular", 7)(t)
    assert rect.shape == (101, 7) and bool((rect.sum(-1) == 1).all())
    assert get_basis("box", 3)(torch.tensor([-0.1, 1.1])).abs().sum() == 0
    gauss = GaussianBasis(4, centers=torch.tensor([0.0, 0.2, 0.5, 1.0]), width=0.1)
    values = gauss(torch.tensor([0.2, 0.3]))
    torch.testing.assert_close(values[0, 1], torch.tensor(1.0))
    torch.testing.assert_close(values[1, 1], torch.tensor(math.exp(-0.5)))
    assert get_basis({"name": "rbf", "width": 0.3}, 5).width.shape == (5,)
    assert get_basis(gauss) is gauss


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ContinuousMemory(0), "num_basis must be a positive int"),
        (lambda: ContinuousMemory(4, ridge=-1.0), "ridge must be a non-negative float"),
        (lambda: ContinuousMemory(4, num_points=1), "num_points must be an int ≥ 2"),
        (lambda: ContinuousMemory(4, beta=0.0), "beta must be a positive float"),
        (lambda: ContinuousMemory(4, basis="fourier"), "unknown basis 'fourier'"),
        (lambda: ContinuousMemory(None), "num_basis is required"),
        (lambda: ContinuousMemory(5, basis=GaussianBasis(4)), "num_basis=5 disagrees"),
        (lambda: GaussianBasis(3, centers=torch.zeros(2)), r"centers must have shape \(num_basis,\) = \(3,\)"),
        (lambda: GaussianBasis(3, width=torch.ones(2)), "width must be a float or have shape"),
        (lambda: GaussianBasis(3, width=-1.0), "width must be positive"),
    ],
)
def test_constructor_errors(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_usage_errors() -> None:
    memory = ContinuousMemory(4)
    with pytest.raises(RuntimeError, match="call fit"):
        memory.retrieve(torch.randn(3, 2))
    with pytest.raises(RuntimeError, match="call fit"):
        DiscreteMemory().energy(torch.randn(3, 2))
    with pytest.raises(ValueError, match=r"patterns must be \(L, D\) or \(B, L, D\); got shape \(5,\)"):
        memory.fit(torch.randn(5))
    with pytest.raises(TypeError, match="patterns must be a floating tensor"):
        memory.fit(torch.ones(5, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="patterns must be a torch.Tensor"):
        memory.fit([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"padding_mask must have shape \(2, 5\); got \(5,\)"):
        memory.fit(torch.randn(2, 5, 3), padding_mask=torch.zeros(5, dtype=torch.bool))
    with pytest.raises(TypeError, match="padding_mask must be a bool or uint8 tensor"):
        memory.fit(torch.randn(5, 3), padding_mask=torch.zeros(5))
    memory.fit(torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="queries must have D = 3 features"):
        memory.retrieve(torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"same batch size B \(or 1\); got 3 and 2"):
        memory.retrieve(torch.randn(3, 4, 3))
    with pytest.raises(ValueError, match="num_iters must be a positive int"):
        memory.retrieve(torch.randn(4, 3), num_iters=0)


def test_continuous_memory_calls_retrieve_with_quadrature_log_weights() -> None:
    """The Gibbs expectation is retrieve() over the nodes with log trapezoid weights as an additive mask."""
    x, q = torch.randn(16, 4), torch.randn(3, 4)
    memory = ContinuousMemory(4, num_points=33, beta=1.5).fit(x)
    nodes, weights = trapezoid(33)
    grid = memory.signal(nodes)
    expected = retrieve(q[None, None], grid[None, None], grid[None, None], scaling=1.5, attn_mask=weights.log())[0, 0]
    torch.testing.assert_close(memory.retrieve(q), expected)
