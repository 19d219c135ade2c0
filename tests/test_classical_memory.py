"""Classical Hopfield network and dense associative memories: weights, energies, updates, capacity."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers.memory import ClassicalHopfield, DenseAssociativeMemory, hebbian_weights

MODELS = {
    "classical": ClassicalHopfield,
    "poly2": lambda: DenseAssociativeMemory("polynomial", 2),
    "poly3": lambda: DenseAssociativeMemory("polynomial", 3),
    "poly5": lambda: DenseAssociativeMemory("polynomial", 5),
    "exp": lambda: DenseAssociativeMemory("exp"),
}


def random_patterns(num: int, neurons: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (num, neurons), generator=g).float() * 2 - 1


def flip(patterns: torch.Tensor, count: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.rand(patterns.shape, generator=g).argsort(-1)[:, :count]
    return patterns.clone().scatter_(1, idx, -patterns.gather(1, idx))


def test_hebbian_weights() -> None:
    patterns = random_patterns(5, 12)
    weights = hebbian_weights(patterns)
    expected = sum(torch.outer(p, p) for p in patterns) / 12
    expected.fill_diagonal_(0.0)
    torch.testing.assert_close(weights, expected)
    assert torch.equal(weights, weights.T)


def test_classical_energy_is_the_quadratic_form() -> None:
    patterns = random_patterns(4, 10)
    memory = ClassicalHopfield().fit(patterns)
    state = random_patterns(3, 10, seed=5)
    expected = torch.stack([-0.5 * s @ memory.weights @ s for s in state])
    torch.testing.assert_close(memory.energy(state), expected)
    torch.testing.assert_close(memory.energy(state[0]), expected[0])


@pytest.mark.parametrize("model", ["poly3", "exp"])
def test_dense_energy_is_minus_sum_of_f(model: str) -> None:
    patterns = random_patterns(6, 9)
    memory = MODELS[model]().fit(patterns)
    state = random_patterns(2, 9, seed=3)
    overlaps = (state @ patterns.T).double()
    expected = -(overlaps.exp().sum(-1) if model == "exp" else overlaps.clamp_min(0).pow(3).sum(-1))
    torch.testing.assert_close(memory.energy(state), expected)


@pytest.mark.parametrize("model", list(MODELS))
def test_update_picks_the_lower_energy_sign(model: str) -> None:
    """The gain of neuron i equals E(σ_i = −1) − E(σ_i = +1) up to a positive factor (exp: its log-difference sign)."""
    memory = MODELS[model]().fit(random_patterns(7, 8))
    state = random_patterns(3, 8, seed=9)
    gains = memory._gains(state)
    for i in range(8):
        up, down = state.clone(), state.clone()
        up[:, i], down[:, i] = 1.0, -1.0
        difference = memory.energy(down) - memory.energy(up)
        assert torch.equal(torch.sign(gains[:, i]).double(), torch.sign(difference).double())


@pytest.mark.parametrize("model", list(MODELS))
def test_energy_never_increases_under_asynchronous_updates(model: str) -> None:
    memory = MODELS[model]().fit(random_patterns(40, 24))
    state = random_patterns(16, 24, seed=11)
    g = torch.Generator().manual_seed(0)
    energies = [memory.energy(state)]
    for _ in range(6):
        state = memory.retrieve(state, mode="async", max_sweeps=1, generator=g)
        energies.append(memory.energy(state))
    steps = torch.stack(energies).diff(dim=0)
    assert (steps <= 1e-9 * torch.stack(energies).abs().amax()).all()
    assert (steps < 0).any()


def test_synchronous_classical_update_can_oscillate() -> None:
    """Two neurons coupled positively, started anti-aligned: the synchronous update flips both forever."""
    memory = ClassicalHopfield().fit(torch.tensor([[1.0, 1.0]]))
    state = torch.tensor([1.0, -1.0])
    assert torch.equal(memory.retrieve(state, mode="sync", max_sweeps=1), torch.tensor([-1.0, 1.0]))
    assert torch.equal(memory.retrieve(state, mode="sync", max_sweeps=2), state)
    assert memory.retrieve(state, mode="async").abs().sum() == 2 and memory.retrieve(state, mode="async").prod() == 1


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("mode", ["async", "sync"])
def test_low_load_patterns_are_retrieved(model: str, mode: str) -> None:
    patterns = random_patterns(3, 64)
    memory = MODELS[model]().fit(patterns)
    assert torch.equal(memory.retrieve(patterns, mode=mode), patterns)  # stored patterns are fixed points
    assert torch.equal(memory.retrieve(flip(patterns, 6), mode=mode, generator=torch.Generator().manual_seed(0)), patterns)


def test_dense_memory_stores_beyond_classical_capacity() -> None:
    patterns = random_patterns(30, 64)  # 0.47 N, far above 0.138 N
    queries = flip(patterns, 4)
    g = torch.Generator().manual_seed(0)
    classical = ClassicalHopfield().fit(patterns).retrieve(queries, generator=g)
    dense = DenseAssociativeMemory("polynomial", 3).fit(patterns).retrieve(queries, generator=g)
    exp = DenseAssociativeMemory("exp").fit(patterns).retrieve(queries, generator=g)
    assert (classical == patterns).all(-1).float().mean() < 0.2
    assert torch.equal(dense, patterns) and torch.equal(exp, patterns)


def test_exp_update_does_not_overflow() -> None:
    patterns = random_patterns(5, 2000)
    out = DenseAssociativeMemory("exp").fit(patterns).retrieve(flip(patterns, 500), max_sweeps=2)
    assert torch.equal(out, patterns)


def test_non_binary_patterns_raise() -> None:
    with pytest.raises(ValueError, match=r"patterns \(P, N\) must contain only \+1 and -1"):
        ClassicalHopfield().fit(torch.tensor([[1.0, 0.0]]))


def test_wrong_state_shape_raises() -> None:
    memory = ClassicalHopfield().fit(random_patterns(2, 6))
    with pytest.raises(ValueError, match=r"state must be \(B, N\) or \(N,\) with N = 6; got shape \(2, 5\)"):
        memory.retrieve(random_patterns(2, 5))


def test_unknown_mode_raises() -> None:
    memory = ClassicalHopfield().fit(random_patterns(2, 6))
    with pytest.raises(ValueError, match="mode must be one of"):
        memory.retrieve(random_patterns(1, 6), mode="parallel")


def test_bad_dense_arguments_raise() -> None:
    with pytest.raises(ValueError, match="interaction must be 'polynomial' or 'exp'"):
        DenseAssociativeMemory("tanh")
    with pytest.raises(ValueError, match="degree must be an int ≥ 2"):
        DenseAssociativeMemory("polynomial", 1)


def test_retrieve_before_fit_raises() -> None:
    with pytest.raises(RuntimeError, match="call fit"):
        DenseAssociativeMemory().energy(torch.ones(3))
