"""Batched L-BFGS: independent problems, SciPy-like stopping, robustness to overflow."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers.ops.lbfgs import lbfgs


def quadratic(batch: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.randn(batch, dim, dim, dtype=torch.float64)
    hessian = a @ a.transpose(1, 2) + torch.logspace(-1, 3, batch, dtype=torch.float64)[:, None, None] * torch.eye(dim, dtype=torch.float64)
    return hessian, torch.randn(batch, dim, dtype=torch.float64)


def test_solves_a_batch_of_quadratics() -> None:
    hessian, b = quadratic(5, 12)

    def fn(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hx = (hessian[rows] @ x[..., None]).squeeze(-1)
        return 0.5 * (x * hx).sum(-1) - (b[rows] * x).sum(-1), hx - b[rows]

    result = lbfgs(fn, torch.zeros(5, 12, dtype=torch.float64), tol=1e-12, max_iter=1000)
    assert result.converged.all()
    torch.testing.assert_close(result.x, torch.linalg.solve(hessian, b), atol=1e-5, rtol=1e-5)


def test_rows_are_independent_problems() -> None:
    def rosenbrock(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.detach().requires_grad_(True)
        f = (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(-1)
        (g,) = torch.autograd.grad(f.sum(), x)
        return f.detach(), g

    starts = torch.randn(4, 6, dtype=torch.float64)
    together = lbfgs(rosenbrock, starts, tol=1e-12, max_iter=2000)
    torch.testing.assert_close(together.x, torch.ones(4, 6, dtype=torch.float64), atol=1e-4, rtol=0)
    alone = lbfgs(rosenbrock, starts[2:3], tol=1e-12, max_iter=2000)
    torch.testing.assert_close(alone.x[0], together.x[2])
    assert alone.iterations[0] == together.iterations[2]


def test_non_finite_trial_values_are_rejected() -> None:
    """The first (unit-length) trial step overflows float32; the line search backs off instead of failing."""

    def fn(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        up, down = torch.exp(200 * x), torch.exp(-200 * x)
        return (up + down).sum(-1), 200 * (up - down)

    start = torch.full((2, 1), 0.2)
    first_trial = start - 1.0  # unit step along -g
    assert torch.isinf(fn(first_trial, torch.arange(2))[0]).all()
    result = lbfgs(fn, start, tol=1e-6)
    assert torch.isfinite(result.f).all() and (result.x.abs() < 1e-3).all()


def test_starting_at_the_minimum_takes_no_step() -> None:
    result = lbfgs(lambda x, rows: ((x * x).sum(-1), 2 * x), torch.zeros(3, 4))
    assert result.converged.all() and (result.iterations == 0).all()


def test_bad_start_shape_raises() -> None:
    with pytest.raises(ValueError, match=r"x0 must be \(B, d\)"):
        lbfgs(lambda x, rows: ((x * x).sum(-1), 2 * x), torch.zeros(4))
