"""Sort-free sparsemax / entmax: every stage exact on adversarial rows, blocks, dtypes, torch.compile."""

from __future__ import annotations

import entmax
import pytest
import torch

import hopfield_layers.ops.entmax as ops
from hopfield_layers import Hopfield

NEG_INF = float("-inf")

FUNCTIONS = {
    "sparsemax": (ops.sparsemax, lambda t: entmax.sparsemax(t, dim=-1), 2.0),
    "entmax15": (ops.entmax15, lambda t: entmax.entmax15(t, dim=-1), 1.5),
    "entmax(1.3)": (lambda t: ops.entmax_bisect(t, 1.3), lambda t: entmax.entmax_bisect(t, alpha=1.3, dim=-1, n_iter=100), 1.3),
    "entmax(1.8)": (lambda t: ops.entmax_bisect(t, 1.8), lambda t: entmax.entmax_bisect(t, alpha=1.8, dim=-1, n_iter=100), 1.8),
}


def _adversarial(alpha: float) -> dict[str, torch.Tensor]:
    """Rows that stress the certificate, the Newton iteration count and the fallbacks."""
    g = torch.Generator().manual_seed(3)
    wide = torch.randn(3, 4096, generator=g)
    ties = torch.zeros(4, 300)
    ties[:, 0] = 1.0 / (alpha - 1.0)  # τ lands exactly on the 299 tied entries (p = 0 there)
    ties[1, 1:150] = 0.5 / (alpha - 1.0)  # and on a second group inside the support
    steps = torch.linspace(0.0, 1.0, 512).expand(2, 512) ** torch.tensor([[3.0], [0.3]])  # long Newton runs
    return {
        "d=1": torch.randn(5, 1, generator=g),
        "d=2 ties": torch.tensor([[0.0, 0.0], [1.0, 1.0 - 1.0 / (alpha - 1.0)]]),
        "d=4096": wide,
        "d=4096 whole row in support": wide * 1e-4,
        "d=4096 peaked": wide * 1e3,
        "all equal": torch.zeros(2, 1000),
        "ties at threshold": ties,
        "power-law rows": steps * 20.0,
        "large magnitude": wide[:, :300] * 1e4 + 1e6,
        "half masked": wide[:, :64].masked_fill(torch.rand(3, 64, generator=g) < 0.5, NEG_INF).index_fill(1, torch.tensor([5]), 0.0),
    }


def _assert_matches_reference(name: str, x: torch.Tensor) -> None:
    ours, reference, _ = FUNCTIONS[name]
    x1, x2 = x.clone().requires_grad_(), x.double().requires_grad_()
    y1, y2 = ours(x1), reference(x2)
    grad = torch.randn(y1.shape, generator=torch.Generator().manual_seed(0))
    (y1 * grad).sum().backward()
    (y2 * grad.double()).sum().backward()
    torch.testing.assert_close(y1, y2.float(), atol=1e-6, rtol=0)
    torch.testing.assert_close(x1.grad, x2.grad.float(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_adversarial_rows_match_entmax_package(name: str) -> None:
    for case, x in _adversarial(FUNCTIONS[name][2]).items():
        try:
            _assert_matches_reference(name, x)
        except AssertionError as error:
            raise AssertionError(f"{name} on '{case}' rows: {error}") from None


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param({}, id="default"),
        pytest.param({"_ATTEMPT_MAX_SUPPORT": 1e9}, id="sparsemax: output at the subset threshold, redo uncertified rows"),
        pytest.param({"_ATTEMPT_MAX_SUPPORT": -1.0}, id="sparsemax: Newton on whole rows"),
        pytest.param({"_CHUNKS": 1}, id="lower bound = row max - 1: Newton on every whole row"),
        pytest.param({"_CHUNKS": 1, "_NEWTON_STEPS": 1}, id="Newton cut short: fallback"),
        pytest.param({"_NEWTON_STEPS": 0}, id="no Newton: fallback for every row"),
    ],
)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_stage_is_exact(monkeypatch, name: str, stage: dict) -> None:
    for attribute, value in stage.items():
        monkeypatch.setattr(ops, attribute, value)
    g = torch.Generator().manual_seed(4)
    x = torch.cat([torch.randn(8, 200, generator=g) * s for s in (0.05, 1.0, 5.0)])
    _assert_matches_reference(name, x)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_row_blocks_do_not_change_results(monkeypatch, name: str) -> None:
    ours = FUNCTIONS[name][0]
    x = torch.randn(7, 3, 50).requires_grad_()
    y_one_block = ours(x)
    (grad_one_block,) = torch.autograd.grad((y_one_block * x.detach()).sum(), x)
    monkeypatch.setattr(ops, "_BLOCK_ELEMENTS", 120)  # blocks of 2 rows, the last one shorter
    y_blocks = ours(x)
    (grad_blocks,) = torch.autograd.grad((y_blocks * x.detach()).sum(), x)
    torch.testing.assert_close(y_blocks, y_one_block, atol=1e-7, rtol=0)
    torch.testing.assert_close(grad_blocks, grad_one_block, atol=1e-7, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_half_precision_is_float32_rounded(name: str, dtype: torch.dtype) -> None:
    ours = FUNCTIONS[name][0]
    x = (torch.randn(6, 40) * 3).to(dtype)
    assert torch.equal(ours(x), ours(x.float()).to(dtype))


@pytest.mark.parametrize("name", ["sparsemax", "entmax(1.3)"])
def test_compiled_fallbacks_are_exact(monkeypatch, name: str) -> None:
    """Under torch.compile the Newton loop is fixed-length and the fallbacks sit behind torch.cond."""
    monkeypatch.setattr(ops, "_NEWTON_STEPS", 1)
    ours = FUNCTIONS[name][0]
    x = torch.randn(4, 6, 300) * torch.tensor([0.01, 1.0, 10.0, 1.0]).reshape(4, 1, 1)
    x[3, 2] = NEG_INF
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), ours(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("separation", "backend"), [("sparsemax", "inductor"), ("entmax15", "aot_eager")])
def test_hopfield_compiles_fullgraph(separation: str, backend: str) -> None:
    """A Hopfield module with a sparse separation compiles as one graph; outputs and input gradients match eager.

    (Inductor for one separation only: its C++ compilation costs ~15 s per graph on this CPU.)"""
    torch._dynamo.reset()
    hopfield = Hopfield(16, num_heads=2, separation=separation)
    x = torch.randn(2, 9, 16)
    x_eager, x_compiled = x.clone().requires_grad_(), x.clone().requires_grad_()
    eager = hopfield(x_eager)
    compiled = torch.compile(hopfield, fullgraph=True, backend=backend)(x_compiled)
    torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=1e-5)
    compiled.square().sum().backward()
    eager.square().sum().backward()
    torch.testing.assert_close(x_compiled.grad, x_eager.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["sparsemax", "entmax15", "entmax(1.3)"])
def test_compiles_with_dynamic_shapes(name: str) -> None:
    ours = FUNCTIONS[name][0]
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, dynamic=True, backend="eager")  # dynamo's tracing is what dynamic shapes test
    for shape in [(3, 40), (2, 5, 77)]:
        x = torch.randn(shape)
        torch.testing.assert_close(compiled(x), ours(x), atol=1e-6, rtol=0)
