"""separation="gibbs": retrieve() delegation, the discrete limit, masks, update steps, modules, errors."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers import DensitySeparation, GibbsDensity, Hopfield, HopfieldLayer, HopfieldPooling, get_separation, retrieve
from hopfield_layers.energy import energy
from hopfield_layers.memory import ContinuousMemory
from hopfield_layers.memory.continuous import trapezoid

D64 = torch.float64


def _qkv(b=2, h=3, length=4, s=12, e=5, ev=3, dtype=torch.float32):
    return torch.randn(b, h, length, e, dtype=dtype), torch.randn(b, h, s, e, dtype=dtype), torch.randn(b, h, s, ev, dtype=dtype)


def test_registered_and_built_from_specs() -> None:
    assert isinstance(get_separation("gibbs"), GibbsDensity)
    sep = get_separation({"name": "gibbs_density", "num_basis": 7, "basis": "gaussian", "ridge": 0.1, "num_points": 50})
    assert (sep.num_basis, sep.ridge, sep.num_points, type(sep.basis).__name__) == (7, 0.1, 50, "GaussianBasis")
    with pytest.raises(TypeError, match="not a function of the scores"):
        sep(torch.randn(3, 4))


def test_approaches_discrete_softmax_with_one_bin_per_pattern() -> None:
    """N = S, rectangular basis, λ → 0: the trapezoidal error at the N bin edges is O(N / num_points).

    Measured (float64): max |Δ| ≈ 1.0e-2, 2.5e-3, 6.2e-4 at 257, 1025, 4097 nodes — a factor ≈ 4 per 4× nodes.
    """
    q, k, v = _qkv(s=8, dtype=D64)
    discrete = retrieve(q, k, v, scaling=1.0)
    errors = []
    for num_points in (257, 1025, 4097):
        sep = GibbsDensity(num_basis=8, ridge=1e-8, num_points=num_points)
        errors.append((retrieve(q, k, v, scaling=1.0, separation=sep) - discrete).abs().max().item())
    assert errors[-1] < 1e-3
    assert all(later < earlier / 3 for earlier, later in zip(errors, errors[1:]))
    # the ridge shrinks every coefficient by 1 / (1 + λ): a second, O(λ) error source
    shrunk = retrieve(q, k, v, scaling=1.0, separation=GibbsDensity(8, ridge=1e-2, num_points=4097))
    assert (shrunk - discrete).abs().max().item() > 5 * errors[-1]


def test_equals_the_standalone_continuous_memory() -> None:
    q, k, _ = _qkv(b=1, h=1, s=30, e=4, dtype=D64)
    sep = GibbsDensity(num_basis=6, basis="gaussian", ridge=0.2, num_points=64)
    memory = ContinuousMemory(6, basis="gaussian", ridge=0.2, num_points=64, beta=0.9).fit(k[0, 0])
    out, density = retrieve(q, k, k, separation=sep, scaling=0.9, update_steps_max=2, update_steps_eps=1e-30, return_association=True)
    torch.testing.assert_close(out[0, 0], memory.retrieve(q[0, 0], num_iters=3))
    single, density = retrieve(q, k, k, separation=sep, scaling=0.9, return_association=True)
    torch.testing.assert_close(density[0, 0], memory.density(q[0, 0]))
    torch.testing.assert_close(energy(q[0, 0], k[0, 0], separation=sep, scaling=0.9), memory.energy(q[0, 0]))


def test_association_is_the_density_on_the_nodes() -> None:
    q, k, v = _qkv()
    out, density = retrieve(q, k, v, separation=GibbsDensity(4, num_points=65), return_association=True)
    assert out.shape == (2, 3, 4, 3) and density.shape == (2, 3, 4, 65)
    torch.testing.assert_close(torch.trapezoid(density, dx=1 / 64, dim=-1), torch.ones(2, 3, 4))
    # the fast path (scaled_dot_product_attention over the nodes) agrees with the explicit one
    torch.testing.assert_close(retrieve(q, k, v, separation=GibbsDensity(4, num_points=65)), out, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("float_mask", [False, True])
def test_padding_is_excluded_per_batch_element(float_mask: bool) -> None:
    q, k, v = _qkv(b=3, s=12, dtype=D64)
    lengths = [12, 9, 5]
    padding = torch.arange(12)[None, :] >= torch.tensor(lengths)[:, None]
    mask = torch.zeros(3, 12, dtype=D64).masked_fill(padding, float("-inf")) if float_mask else padding
    sep = GibbsDensity(4, ridge=0.1, num_points=50)
    out = retrieve(q, k, v, separation=sep, key_padding_mask=mask, update_steps_max=1)
    for i, n in enumerate(lengths):
        alone = retrieve(q[i : i + 1], k[i : i + 1, :, :n], v[i : i + 1, :, :n], separation=sep, update_steps_max=1)
        torch.testing.assert_close(out[i : i + 1], alone)


def test_fully_padded_element_gives_zeros_and_finite_gradients() -> None:
    q, k, v = (t.requires_grad_() for t in _qkv())
    padding = torch.zeros(2, 12, dtype=torch.bool)
    padding[1] = True
    out, density = retrieve(q, k, v, separation=GibbsDensity(4, ridge=0.0), key_padding_mask=padding, return_association=True)
    assert out[1].abs().max() == 0 and density[1].abs().max() == 0 and density[0].abs().max() > 0
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_update_steps_move_to_the_expected_compressed_key_and_lower_the_energy() -> None:
    q, k, _ = _qkv(b=1, h=2, s=40, e=3, dtype=D64)
    sep = GibbsDensity(8, ridge=0.1, num_points=100)
    state = q
    energies = [energy(state, k, separation=sep, scaling=2.0)]
    for _ in range(4):
        state = retrieve(state, k, k, separation=sep, scaling=2.0)  # q ← E_p[x̄(t)]
        energies.append(energy(state, k, separation=sep, scaling=2.0))
    assert all(bool((b <= a + 1e-10).all()) for a, b in zip(energies, energies[1:]))
    iterated = retrieve(q, k, k, separation=sep, scaling=2.0, update_steps_max=3, update_steps_eps=1e-30)
    torch.testing.assert_close(iterated, state)


def test_other_similarities_are_evaluated_on_the_compressed_keys() -> None:
    """p(t) ∝ exp(−β‖q − x̄(t)‖²) with the negative Euclidean similarity."""
    q, k, v = _qkv(dtype=D64)
    out, density = retrieve(q, k, v, separation=GibbsDensity(5, ridge=0.1, num_points=40), similarity="euclidean", scaling=0.5, return_association=True)
    grid = ContinuousMemory(5, ridge=0.1, num_points=40).fit(k[0, 0]).signal()
    _, weights = trapezoid(40, dtype=D64)
    expected = torch.softmax(-0.5 * torch.cdist(q[0, 0], grid) ** 2 + weights.log(), dim=-1)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(density[0, 0] * weights, expected)


def test_dropout_acts_only_in_training() -> None:
    q, k, v = _qkv()
    sep = GibbsDensity(4)
    eval_out = retrieve(q, k, v, separation=sep, dropout_p=0.5, training=False)
    torch.testing.assert_close(eval_out, retrieve(q, k, v, separation=sep))
    assert not torch.allclose(retrieve(q, k, v, separation=sep, dropout_p=0.5, training=True), eval_out)


def test_gradients() -> None:
    q, k, v = (t.requires_grad_() for t in _qkv(b=1, h=1, length=2, s=6, e=2, ev=2, dtype=D64))
    torch.autograd.gradcheck(lambda a, b, c: retrieve(a, b, c, separation=GibbsDensity(3, basis="gaussian", num_points=16), update_steps_max=1), (q, k, v))


def test_errors() -> None:
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="GibbsDensity cannot apply attn_mask"):
        retrieve(q, k, v, separation="gibbs", attn_mask=torch.zeros(4, 12, dtype=torch.bool))
    with pytest.raises(ValueError, match="float key_padding_mask only with entries 0"):
        retrieve(q, k, v, separation="gibbs", key_padding_mask=torch.randn(2, 12))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):  # retrieve()'s validation runs first
        retrieve(q, k, v, separation="gibbs", key_padding_mask=torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="ridge must be a non-negative float"):
        GibbsDensity(4, ridge=-0.1)
    with pytest.raises(ValueError, match="num_points must be an int ≥ 2"):
        GibbsDensity(4, num_points=1)
    with pytest.raises(ValueError, match="num_basis must be a positive int"):
        GibbsDensity(0)
    with pytest.raises(ValueError, match=r"state \(\.\.\., L, E\) and stored \(\.\.\., S, E\) must share E"):
        energy(torch.randn(3, 4), torch.randn(5, 2), separation="gibbs")
    with pytest.raises(ValueError, match="include_constant is defined for the discrete softmax energy only"):
        energy(torch.randn(3, 4), torch.randn(5, 4), separation="gibbs", include_constant=True)


def test_a_density_separation_subclass_receives_the_whole_retrieval() -> None:
    calls = {}

    class Recorder(DensitySeparation):
        def retrieve(self, query, key, value, **kwargs):
            calls.update(kwargs)
            return value[:, :, :1].expand(-1, -1, query.shape[2], -1)

    q, k, v = _qkv()
    out = retrieve(q, k, v, separation=Recorder(), scaling=0.3, update_steps_max=2, dropout_p=0.1, training=False)
    torch.testing.assert_close(out, v[:, :, :1].expand(-1, -1, 4, -1))
    assert calls["scaling"] == 0.3 and calls["update_steps_max"] == 2 and calls["dropout_p"] == 0.0 and calls["return_association"] is False


@pytest.mark.parametrize(
    "make, inputs",
    [
        (lambda sep: Hopfield(16, num_heads=2, separation=sep), lambda: torch.randn(3, 10, 16)),
        (lambda sep: HopfieldPooling(16, num_heads=2, quantity=2, separation=sep), lambda: torch.randn(3, 10, 16)),
        (lambda sep: HopfieldLayer(16, num_heads=2, quantity=12, separation=sep), lambda: torch.randn(3, 10, 16)),
    ],
)
@pytest.mark.parametrize("sep", ["gibbs", {"name": "gibbs", "num_basis": 4, "num_points": 64}])
def test_modules(make, inputs, sep) -> None:
    module = make(sep)
    x = inputs()
    out = module(x)
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters() if p.requires_grad)
    association = module.get_association_matrix(x)
    assert association.shape[:2] == (3, 2) and association.shape[-1] == module_separation(module).num_points


def module_separation(module) -> GibbsDensity:
    return (module.hopfield if hasattr(module, "hopfield") else module).separation


def test_module_padding_and_association_mask() -> None:
    hopfield = Hopfield(8, num_heads=2, separation={"name": "gibbs", "num_basis": 3, "num_points": 40})
    x = torch.randn(2, 9, 8)
    padding = torch.zeros(2, 9, dtype=torch.bool)
    padding[1, 6:] = True
    stored, state = x, torch.randn(2, 4, 8)
    out = hopfield((stored, state, stored), stored_pattern_padding_mask=padding)
    alone = hopfield((stored[1:, :6], state[1:], stored[1:, :6]))
    torch.testing.assert_close(out[1:], alone, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="GibbsDensity cannot apply attn_mask/association_mask"):
        hopfield(x, association_mask=torch.zeros(9, 9, dtype=torch.bool))


def test_footprint_similarity_on_the_compressed_keys() -> None:
    """A similarity with per-head parameters works on the nodes; one with per-stored-pattern parameters cannot."""
    x = torch.randn(2, 10, 16)
    hopfield = Hopfield(16, num_heads=2, separation={"name": "gibbs", "num_basis": 4, "num_points": 32}, similarity="footprint")
    out = hopfield(x)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(hopfield.association_core.similarity.weight.grad).all()
    per_pattern = Hopfield(16, num_heads=2, separation="gibbs", similarity={"name": "footprint", "per_pattern": True, "num_patterns": 10})
    with pytest.raises(ValueError, match=r"num_patterns=10 needs key \(B, H, 10, E\)"):
        per_pattern(x)
