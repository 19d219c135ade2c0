"""Separations: agreement with the `entmax` package, masking, dtypes, gradients, registry."""

from __future__ import annotations

import entmax
import pytest
import torch

from hopfield_layers import Entmax, Entmax15, Separation, Softmax, Sparsemax, get_separation, register_separation
from hopfield_layers.ops.entmax import entmax_bisect

NEG_INF = float("-inf")


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 9, 33, generator=g)
    tied = torch.randint(0, 3, (6, 9, 33), generator=g).float()
    peaked = x.clone()
    peaked[..., 3] += 40.0
    masked = x.masked_fill(torch.rand(x.shape, generator=g) < 0.4, NEG_INF)
    masked[..., 0] = x[..., 0]  # keep one entry per row
    return {"random": x, "tied": tied, "peaked": peaked, "flat": x * 1e-3, "large": x * 50, "masked": masked}


REFERENCES = {
    "softmax": (Softmax(), lambda t: torch.softmax(t, dim=-1)),
    "sparsemax": (Sparsemax(), lambda t: entmax.sparsemax(t, dim=-1)),
    "entmax15": (Entmax15(), lambda t: entmax.entmax15(t, dim=-1)),
    "entmax(1.5)": (Entmax(alpha=1.5), lambda t: entmax.entmax15(t, dim=-1)),
    "entmax(2.0)": (Entmax(alpha=2.0), lambda t: entmax.sparsemax(t, dim=-1)),
    "entmax(1.3)": (Entmax(alpha=1.3), lambda t: entmax.entmax_bisect(t, alpha=1.3, dim=-1, n_iter=100)),
    "entmax(1.7)": (Entmax(alpha=1.7), lambda t: entmax.entmax_bisect(t, alpha=1.7, dim=-1, n_iter=100)),
}


@pytest.mark.parametrize("case", list(_inputs()))
@pytest.mark.parametrize("name", list(REFERENCES))
def test_matches_entmax_package(name: str, case: str) -> None:
    """Our float32 results agree to 1e-6 with the `entmax` package evaluated in float64.

    (The package's own float32 bisection is less accurate than that on large scores: it bisects on
    unshifted values, e.g. 2.7e-6 off for 1.7-entmax of scores ~100, where ours is 3e-8 off.)
    """
    ours, reference = REFERENCES[name]
    x = _inputs()[case]
    x1, x2 = x.clone().requires_grad_(), x.double().requires_grad_()
    y1, y2 = ours(x1), reference(x2)
    grad = torch.randn_like(y1)
    (y1 * grad).sum().backward()
    (y2 * grad.double()).sum().backward()
    assert y1.dtype == torch.float32
    torch.testing.assert_close(y1, y2.float(), atol=1e-6, rtol=0)
    torch.testing.assert_close(x1.grad, x2.grad.float(), atol=1e-6, rtol=0)
    torch.testing.assert_close(y1.sum(-1), torch.ones_like(y1[..., 0]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_along_other_dims(name: str) -> None:
    ours, _ = REFERENCES[name]
    x = torch.randn(4, 7, 5)
    torch.testing.assert_close(ours(x, dim=1), ours(x.transpose(1, 2), dim=-1).transpose(1, 2))


@pytest.mark.parametrize("name", list(REFERENCES))
def test_fully_masked_rows_give_zero_weights_and_zero_gradient(name: str) -> None:
    ours, _ = REFERENCES[name]
    x = torch.randn(3, 6)
    x[1] = NEG_INF
    x[2, :4] = NEG_INF
    x.requires_grad_()
    y = ours(x)
    assert torch.equal(y[1], torch.zeros(6))
    assert torch.all(y[2, :4] == 0) and torch.isclose(y[2].sum(), torch.tensor(1.0))
    (y * torch.randn_like(y)).sum().backward()
    assert torch.isfinite(x.grad).all() and torch.equal(x.grad[1], torch.zeros(6))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("case", ["random", "masked", "large"])
@pytest.mark.parametrize("name", list(REFERENCES))
def test_forward_nonempty_equals_forward_when_every_row_has_a_finite_score(name: str, case: str, dtype: torch.dtype) -> None:
    ours, _ = REFERENCES[name]
    x = _inputs()[case].to(dtype).requires_grad_()
    fast = ours.forward_nonempty(x, dim=-1)
    assert fast.dtype == dtype
    torch.testing.assert_close(fast, ours(x, dim=-1), atol=0, rtol=0)
    grad = torch.randn_like(fast)
    (fast_grad,) = torch.autograd.grad(fast, x, grad)
    (grad_ref,) = torch.autograd.grad(ours(x, dim=-1), x, grad)
    torch.testing.assert_close(fast_grad, grad_ref)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", list(REFERENCES))
def test_half_precision_computed_in_float32(name: str, dtype: torch.dtype) -> None:
    ours, _ = REFERENCES[name]
    x = torch.randn(4, 20)
    y = ours(x.to(dtype))
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), ours(x.to(dtype).float()), atol=1e-2, rtol=0)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_gradcheck_float64(name: str) -> None:
    ours, _ = REFERENCES[name]
    # distinct, well separated values so the support is stable under the finite-difference step
    x = (torch.randperm(12, dtype=torch.float64) * 0.37 - 2.0).reshape(2, 6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: ours(t), (x,), eps=1e-6, atol=1e-5)


def test_learnable_alpha_per_head_gradient_matches_finite_differences() -> None:
    sep = Entmax(alpha=1.4, learnable=True, num_heads=3).double()
    scores = torch.randn(2, 3, 4, 10, dtype=torch.float64)
    weight = torch.randn(2, 3, 4, 10, dtype=torch.float64)
    (sep(scores) * weight).sum().backward()
    analytic = sep.alpha_logit.grad.clone()
    eps = 1e-6
    numeric = torch.zeros(3, dtype=torch.float64)
    for h in range(3):
        with torch.no_grad():
            sep.alpha_logit[h] += eps
            plus = (sep(scores) * weight).sum()
            sep.alpha_logit[h] -= 2 * eps
            minus = (sep(scores) * weight).sum()
            sep.alpha_logit[h] += eps
        numeric[h] = (plus - minus) / (2 * eps)
    torch.testing.assert_close(analytic, numeric, atol=1e-6, rtol=1e-5)
    alpha = sep.alpha
    assert alpha.shape == (3,) and torch.all((alpha > 1) & (alpha < 2))


def test_entmax_bisect_alpha_gradcheck() -> None:
    x = torch.randn(3, 7, dtype=torch.float64)
    alpha = torch.full((3, 1), 1.6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: entmax_bisect(x, a, n_iter=100), (alpha,), eps=1e-6, atol=1e-5)


def test_learnable_alpha_requires_head_layout() -> None:
    sep = Entmax(learnable=True, num_heads=4)
    with pytest.raises(ValueError, match=r"\(\.\.\., H=4, L, S\)"):
        sep(torch.randn(2, 3, 5, 6))


@pytest.mark.parametrize("alpha", [1.0, 2.5, 0.0])
def test_entmax_alpha_out_of_range(alpha: float) -> None:
    with pytest.raises(ValueError, match=r"alpha must lie in \(1, 2\]"):
        Entmax(alpha=alpha)


def test_entmax_alpha_type_error() -> None:
    with pytest.raises(TypeError, match="alpha must be a float"):
        Entmax(alpha="1.5")  # type: ignore[arg-type]


def test_registry_resolves_names_dicts_and_instances() -> None:
    assert type(get_separation("softmax")) is Softmax
    assert type(get_separation("SPARSEMAX")) is Sparsemax
    assert type(get_separation("entmax15")) is Entmax15
    assert get_separation({"name": "entmax", "alpha": 1.3}).alpha == 1.3
    learnable = get_separation({"name": "entmax", "learnable": True}, num_heads=5)
    assert learnable.alpha.shape == (5,)
    instance = Sparsemax()
    assert get_separation(instance) is instance


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="unknown separation 'nope'"):
        get_separation("nope")
    with pytest.raises(TypeError, match="separation must be a name"):
        get_separation(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a 'name' key"):
        get_separation({"alpha": 1.5})
    with pytest.raises(TypeError, match="only subclasses of Separation"):
        register_separation("bad")(int)  # type: ignore[arg-type]


def test_register_custom_separation() -> None:
    @register_separation("test_hardmax")
    class Hardmax(Separation):
        def forward(self, scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
            return torch.nn.functional.one_hot(scores.argmax(dim), scores.shape[dim]).to(scores.dtype)

    assert isinstance(get_separation("test_hardmax"), Hardmax)
