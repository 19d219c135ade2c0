"""Footprint-adaptive similarity (A-Hop) and the linear kernel: values, chunking, gradients, modules, errors."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from hopfield_layers import Hopfield, HopfieldLayer, HopfieldPooling, get_similarity, retrieve
from hopfield_layers.ops import footprint as footprint_ops
from hopfield_layers.ops.footprint import chunk_size_for, dimensionwise, footprint_scores
from hopfield_layers.similarity import Footprint, LinearKernel

OPTIONS = [
    {},
    {"per_pattern": True, "num_patterns": 6, "prior_bias": True},
    {"sort": False},
    {"sort": False, "per_pattern": True, "num_patterns": 6},
    {"U": "random"},
    {"U": "identity", "learnable_U": True},
    {"bases": ("dot",)},
    {"bases": ("dis",), "init": "random"},
]


def _brute(sim: Footprint, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """The definition: Σ_b β_b w_bᵀ U sort↓(q_b) (+ prior), with the full (B, H, L, S, E) tensor and U."""
    x, y = query.unsqueeze(3), key.unsqueeze(2)
    tril = torch.ones(sim.head_dim, sim.head_dim, dtype=query.dtype).tril().expand(sim.num_heads, -1, -1)
    w = sim.weight if sim.per_pattern else sim.weight.unsqueeze(2)  # (nb, H, S or 1, E)
    total = torch.zeros(())
    for i, base in enumerate(sim.bases):
        q = -((x - y) ** 2) if base == "dis" else x * y
        if sim.sort:
            q = q.sort(dim=-1, descending=True).values
        footprint = torch.einsum("hkj,bhlsj->bhlsk", tril if sim.U is None else sim.U[i], q)  # (U q̃)_k
        total = total + sim.base_weight[i][None, :, None, None] * (footprint * w[i].unsqueeze(1)).sum(-1)
    if sim.prior is not None:
        total = total + sim.prior[None, :, None, :]
    return total


def _randomised(**options) -> Footprint:
    sim = Footprint(7, 3, **options).double()
    with torch.no_grad():
        for p in sim.parameters():
            p.normal_()
    return sim


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_values_match_the_definition(options: dict) -> None:
    sim = _randomised(**options)
    query, key = torch.randn(2, 3, 5, 7, dtype=torch.float64), torch.randn(2, 3, 6, 7, dtype=torch.float64)
    torch.testing.assert_close(sim(query, key), _brute(sim, query, key))


def test_init_equals_the_base_similarity() -> None:
    query, key = torch.randn(2, 3, 5, 7, dtype=torch.float64), torch.randn(2, 3, 6, 7, dtype=torch.float64)
    dot, dis = get_similarity("dot")(query, key), -((query.unsqueeze(3) - key.unsqueeze(2)) ** 2).sum(-1)
    torch.testing.assert_close(Footprint(7, 3).double()(query, key), dis + dot)
    torch.testing.assert_close(Footprint(7, 3, bases=("dot",)).double()(query, key), dot)
    for U in ("triangular", "identity", "random"):
        torch.testing.assert_close(Footprint(7, 3, bases=("dis",), U=U).double()(query, key), dis)
    assert torch.equal(Footprint(7, 1).weight[0, 0], torch.eye(7)[-1])  # w = e_E


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_set_effective_weight_inverts_effective_weight(options: dict) -> None:
    sim = _randomised(**options)
    with torch.no_grad():
        sim.base_weight.uniform_(0.5, 2.0)  # invertible: β_b ≠ 0
        if sim.U is not None:
            sim.U.add_(3 * torch.eye(7, dtype=sim.U.dtype))  # a well-conditioned U
    target = torch.randn_like(sim.weight)
    sim.set_effective_weight(target)
    got = sim.effective_weight()
    torch.testing.assert_close(got if sim.per_pattern else got.squeeze(2), target)
    with pytest.raises(ValueError, match=r"u must have shape \(\d+, 3"):
        sim.set_effective_weight(target[..., :3])


def test_dimensionwise_sums_to_the_base() -> None:
    x, y = torch.randn(2, 1, 4, 1, 5), torch.randn(2, 1, 1, 3, 5)
    torch.testing.assert_close(dimensionwise("dot", x, y).sum(-1), (x * y).sum(-1))
    torch.testing.assert_close(dimensionwise("dis", x, y).sum(-1), -((x - y) ** 2).sum(-1))


@pytest.mark.parametrize("per_pattern", [False, True])
def test_chunked_equals_unchunked(per_pattern: bool) -> None:
    query, key = torch.randn(2, 2, 33, 16, requires_grad=True), torch.randn(2, 2, 50, 16, requires_grad=True)
    weight = torch.randn(2, 2, 50 if per_pattern else 1, 16, requires_grad=True)
    full = footprint_scores(query, key, weight, chunk_size=50)
    grads = torch.autograd.grad((full * full.detach().cos()).sum(), (query, key, weight))
    for chunk in (1, 7, 17, 49):
        chunked = footprint_scores(query, key, weight, chunk_size=chunk)
        assert torch.equal(chunked, full)
        for got, expected in zip(torch.autograd.grad((chunked * full.detach().cos()).sum(), (query, key, weight)), grads):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)


def test_chunk_size_follows_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    query, key = torch.randn(1, 2, 10, 8), torch.randn(1, 2, 100, 8)
    per_pattern = 2 * 10 * 8 * footprint_ops._BYTES_PER_ELEMENT
    assert chunk_size_for(query, key, 7 * per_pattern) == 7
    assert chunk_size_for(query, key, 0) == 1
    assert chunk_size_for(query, key, 10**12) == 100
    seen: list[int] = []
    real = footprint_ops._chunks
    monkeypatch.setattr(footprint_ops, "_chunks", lambda n, c: seen.append(c) or real(n, c))
    sim = Footprint(8, 2, max_memory=7 * per_pattern)
    sim(query, key).sum().backward()
    assert seen == [7, 7]  # forward and backward both in chunks of 7 stored patterns


@pytest.mark.parametrize(
    "options",
    [{}, {"per_pattern": True, "num_patterns": 5, "prior_bias": True}, {"learnable_U": True}, {"chunk_size": 2, "max_memory": 0}, {"sort": False}],
    ids=["default", "per-pattern+prior", "learnable-U", "chunked-recomputed", "unsorted"],
)
def test_gradcheck_weights_scales_queries_keys(options: dict) -> None:
    sim = Footprint(4, 2, **options).double()
    with torch.no_grad():
        sim.weight.normal_()
        sim.base_weight.normal_()
    names = [name for name, _ in sim.named_parameters()]
    query = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    key = torch.randn(1, 2, 5, 4, dtype=torch.float64, requires_grad=True)

    def scores(q, k, *params):
        return functional_call(sim, dict(zip(names, params)), (q, k))

    assert torch.autograd.gradcheck(scores, (query, key, *sim.parameters()))
    # parameters only (the inputs need no gradient): the values-only sort path
    assert torch.autograd.gradcheck(lambda *params: scores(query.detach(), key.detach(), *params), tuple(sim.parameters()))


def test_values_only_sort_matches_torch_sort() -> None:
    x = torch.randn(4, 6, 9)
    expected = x.sort(dim=-1).values
    assert torch.equal(footprint_ops._sorted_up(x.clone()), expected)
    assert torch.equal(footprint_ops._sorted_up(x.transpose(0, 1)), x.transpose(0, 1).sort(dim=-1).values)  # non-contiguous: torch path


def test_footprint_in_the_modules_and_retrieve() -> None:
    x = torch.randn(2, 6, 8)
    for module in (
        Hopfield(8, num_heads=2, similarity="footprint"),
        HopfieldPooling(8, num_heads=2, quantity=3, similarity={"name": "footprint", "bases": ("dis",)}),
        HopfieldLayer(8, num_heads=2, quantity=5, similarity="footprint"),
    ):
        sim = module.similarity if isinstance(module, Hopfield) else module.hopfield.similarity
        assert isinstance(sim, Footprint) and sim.weight.shape[1:] == (2, 4)  # per head, on the projected head size
        out = module(x)
        out.square().sum().backward()
        assert sim.weight.grad is not None and sim.weight.grad.abs().sum() > 0
        assert sim.base_weight.grad is not None
        assert any(name.endswith("similarity.weight") for name in module.state_dict())
    query, key, value = torch.randn(3, 1, 2, 4, 6).unbind(0)
    out = retrieve(query, key, value, similarity=Footprint(6, 2, bases=("dis",)), scaling=1.0)
    expected = retrieve(query, key, value, similarity="euclidean", scaling=1.0)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    assert retrieve(query, key, value, similarity="footprint").shape == (1, 2, 4, 6)


def test_per_pattern_in_a_layer() -> None:
    layer = HopfieldLayer(8, num_heads=2, quantity=5, similarity={"name": "footprint", "per_pattern": True, "prior_bias": True, "num_patterns": 5})
    layer(torch.randn(2, 3, 8)).sum().backward()
    sim = layer.hopfield.similarity
    assert sim.weight.shape == (2, 2, 5, 4) and sim.prior.shape == (2, 5) and sim.prior.grad is not None


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"head_dim": None}, "needs head_dim"),
        ({"head_dim": 0}, "head_dim must be a positive int"),
        ({"num_heads": 0}, "num_heads must be a positive int"),
        ({"bases": ("cos",)}, "bases must be distinct names"),
        ({"bases": ("dot", "dot")}, "bases must be distinct names"),
        ({"U": "ones"}, "U must be"),
        ({"init": "zeros"}, "init must be"),
        ({"per_pattern": True}, "need num_patterns"),
        ({"prior_bias": True}, "need num_patterns"),
        ({"num_patterns": 0}, "num_patterns must be a positive int"),
        ({"chunk_size": 0}, "chunk_size must be a positive int"),
    ],
)
def test_constructor_errors(kwargs: dict, match: str) -> None:
    args = {"head_dim": 4, "num_heads": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        Footprint(**args)


_SIM = Footprint(4, 2, per_pattern=True, num_patterns=5)
_Q, _K = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: _SIM(torch.randn(1, 3, 3, 4), _K), r"num_heads=2 needs query \(B, 2, L, E\)"),
        (lambda: _SIM(torch.randn(1, 2, 3, 5), torch.randn(1, 2, 5, 5)), "head_dim=4 needs E = 4"),
        (lambda: _SIM(_Q, torch.randn(1, 2, 6, 4)), r"num_patterns=5 needs key \(B, H, 5, E\)"),
        (lambda: footprint_scores(_Q, _K, torch.randn(2, 2, 3, 4)), r"weight must have shape \(len\(bases\), H, 1 or S, E\)"),
        (lambda: footprint_scores(_Q, _K, torch.randn(1, 2, 1, 4), bases=("cos",)), "base similarity must be one of"),
        (lambda: footprint_scores(_Q, _K, torch.randn(2, 2, 1, 4), chunk_size=0), "chunk_size must be a positive int"),
        (
            lambda: Hopfield(
                input_size=None,
                num_heads=2,
                similarity="footprint",
                stored_pattern_as_static=True,
                state_pattern_as_static=True,
                pattern_projection_as_static=True,
                disable_out_projection=True,
                normalize_stored_pattern=False,
                normalize_state_pattern=False,
                normalize_pattern_projection=False,
            ),
            "needs head_dim",
        ),
    ],
    ids=["heads", "head-dim", "num-patterns", "weight-shape", "base-name", "chunk-size", "static-module"],
)
def test_forward_errors(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_linear_kernel() -> None:
    query, key = torch.randn(2, 3, 5, 7, dtype=torch.float64), torch.randn(2, 3, 6, 7, dtype=torch.float64)
    kernel = get_similarity("kernel", num_heads=3, head_dim=7).double()
    assert isinstance(kernel, LinearKernel)
    torch.testing.assert_close(kernel(query, key), query @ key.transpose(-2, -1))  # identity Φ: the dot product
    with torch.no_grad():
        kernel.feature_map.normal_()
    phi = kernel.feature_map
    expected = torch.einsum("hfe,bhle,hfd,bhsd->bhls", phi, query, phi, key)
    torch.testing.assert_close(kernel(query, key), expected)
    wide = LinearKernel(7, 3, feature_dim=9)
    assert wide.features(torch.randn(1, 3, 2, 7)).shape == (1, 3, 2, 9)
    q = query[:1, :, :2].requires_grad_()
    assert torch.autograd.gradcheck(lambda q, p: functional_call(kernel, {"feature_map": p}, (q, key[:1])), (q, phi.detach().clone().requires_grad_()))
    hopfield = Hopfield(8, num_heads=2, similarity="kernel")
    hopfield(torch.randn(2, 4, 8)).sum().backward()
    assert hopfield.similarity.feature_map.shape == (2, 4, 4) and hopfield.similarity.feature_map.grad is not None
    with pytest.raises(ValueError, match=r"needs \(B, 3, L, 7\)"):
        kernel(torch.randn(1, 3, 2, 6), key)
    with pytest.raises(ValueError, match="feature_dim must be a positive int"):
        LinearKernel(7, 3, feature_dim=0)
    with pytest.raises(ValueError, match="needs head_dim"):
        LinearKernel(None)


def test_strided_inputs_match_contiguous_ones() -> None:
    """Projected heads arrive permuted ((B, L, H, E) viewed as (B, H, L, E)): scores and gradients must not depend on the layout."""
    torch.manual_seed(0)
    query = torch.randn(2, 5, 3, 8).transpose(1, 2)  # (B, H, L, E), not contiguous
    key = torch.randn(2, 7, 3, 8).transpose(1, 2)
    weight = torch.randn(2, 3, 1, 8)
    results = []
    for q, k in ((query, key), (query.contiguous(), key.contiguous())):
        q, k, w = q.detach().requires_grad_(), k.detach().requires_grad_(), weight.clone().requires_grad_()
        scores = footprint_scores(q, k, w, ("dis", "dot"))
        (scores * torch.linspace(-1, 1, scores.numel()).view_as(scores)).sum().backward()
        results.append((scores, q.grad, k.grad, w.grad))
    for strided, contiguous in zip(*results):
        torch.testing.assert_close(strided, contiguous)
