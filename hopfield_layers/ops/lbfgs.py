"""Batched L-BFGS: minimise B independent smooth functions of ``(d,)`` vectors at once.

``torch.optim.LBFGS`` minimises one function of all parameters; here every row of ``x (B, d)`` is its
own problem with its own curvature history, step length and stopping test, so B problems cost one
batched function evaluation per iteration instead of B separate optimiser loops. The function is
evaluated only on the rows that are still running.

Stopping follows SciPy's L-BFGS-B with ``tol``: a row stops when ``max_i |g_i| ≤ tol`` or when its
relative decrease ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ tol``. Steps use a backtracking
(Armijo) line search; non-finite trial values count as failed trials, so energies that overflow far
from the start are handled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["LBFGSResult", "lbfgs"]

#: ``fn(x (b, d), rows (b,)) -> (f (b,), grad (b, d))`` for the problems ``rows`` of the batch.
Objective = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]


class LBFGSResult(NamedTuple):
    x: Tensor  #: (B, d) minimisers
    f: Tensor  #: (B,) function values at ``x``
    iterations: Tensor  #: (B,) accepted steps per problem
    evaluations: Tensor  #: (B,) function evaluations per problem
    converged: Tensor  #: (B,) bool: stopped by the tolerance (not by ``max_iter`` or a failed line search)


def _direction(grad: Tensor, s: Tensor, y: Tensor, rho: Tensor, valid: Tensor) -> Tensor:
    """Two-loop recursion ``-H g`` for every row; history ``(B, m, d)`` ordered oldest → newest."""
    q = grad.clone()
    alphas = []
    for i in range(s.shape[1] - 1, -1, -1):
        alpha = torch.where(valid[:, i], rho[:, i] * (s[:, i] * q).sum(-1), 0.0)
        q = q - alpha[:, None] * y[:, i]
        alphas.append(alpha)
    newest_s, newest_y = s[:, -1], y[:, -1]
    gamma = (newest_s * newest_y).sum(-1) / (newest_y * newest_y).sum(-1).clamp_min(torch.finfo(grad.dtype).tiny)
    r = q * torch.where(valid[:, -1], gamma, 1.0)[:, None]
    for i, alpha in zip(range(s.shape[1]), reversed(alphas)):
        beta = torch.where(valid[:, i], rho[:, i] * (y[:, i] * r).sum(-1), 0.0)
        r = r + (alpha - beta)[:, None] * s[:, i]
    return -r


def lbfgs(
    fn: Objective,
    x0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 200,
    history: int = 10,
    max_line_search: int = 30,
    armijo: float = 1e-4,
) -> LBFGSResult:
    """Minimise B independent functions with L-BFGS, all rows in one batched evaluation.

    Args:
        fn: ``fn(x (b, d), rows (b,) long) -> (f (b,), grad (b, d))``; ``rows`` says which of the B
            problems the b rows of ``x`` belong to (only running problems are evaluated).
        x0: starting points ``(B, d)``.
        tol: gradient (max-norm) and relative-decrease tolerance, as SciPy's ``minimize(..., tol=tol)``.
        max_iter: most accepted steps per problem.
        history: number of curvature pairs kept.
        max_line_search: most step halvings per iteration before a problem stops.
        armijo: sufficient-decrease constant of the line search.

    Returns:
        :class:`LBFGSResult` with the minimisers ``(B, d)``, values, counts and convergence flags.
    """
    if x0.dim() != 2:
        raise ValueError(f"x0 must be (B, d); got shape {tuple(x0.shape)}")
    if not tol > 0 or max_iter < 0 or history < 1 or max_line_search < 1:
        raise ValueError(f"need tol > 0, max_iter >= 0, history >= 1, max_line_search >= 1; got {tol}, {max_iter}, {history}, {max_line_search}")
    batch, dim = x0.shape
    device = x0.device
    x = x0.detach().clone()
    rows = torch.arange(batch, device=device)
    f, g = fn(x, rows)
    f, g = f.detach(), g.detach()
    s_hist = x.new_zeros(batch, history, dim)
    y_hist = x.new_zeros(batch, history, dim)
    rho = x.new_zeros(batch, history)
    valid = torch.zeros(batch, history, dtype=torch.bool, device=device)
    iterations = torch.zeros(batch, dtype=torch.long, device=device)
    evaluations = torch.ones(batch, dtype=torch.long, device=device)
    converged = g.abs().amax(-1) <= tol
    running = ~converged & torch.isfinite(f)

    for _ in range(max_iter):
        if not bool(running.any()):
            break
        idx = running.nonzero().squeeze(-1)
        xr, fr, gr = x[idx], f[idx], g[idx]
        direction = _direction(gr, s_hist[idx], y_hist[idx], rho[idx], valid[idx])
        # Directional derivative in float64: with float32 energies |g|² can overflow.
        slope = (direction.double() * gr.double()).sum(-1)
        # Not a descent direction (or no history yet): restart from steepest descent.
        restart = ~(slope < 0) | ~valid[idx, -1]
        direction = torch.where(restart[:, None], -gr, direction)
        slope = torch.where(restart, -(gr.double() * gr.double()).sum(-1), slope)
        # Steepest-descent steps start at unit length (no curvature known yet); L-BFGS steps at 1.
        step = torch.where(restart, 1.0 / gr.double().norm(dim=-1).clamp_min(1e-300), torch.ones_like(slope))
        valid[idx[restart]] = False

        # Backtracking line search, vectorised over the running rows.
        pending = torch.ones_like(fr, dtype=torch.bool)
        new_x, new_f, new_g = xr.clone(), fr.clone(), gr.clone()
        for _ in range(max_line_search):
            p = pending.nonzero().squeeze(-1)
            trial = xr[p] + step[p, None].to(xr.dtype) * direction[p]
            ft, gt = fn(trial, idx[p])
            evaluations[idx[p]] += 1
            ok = torch.isfinite(ft) & (ft.double() <= fr[p].double() + armijo * step[p] * slope[p]) & torch.isfinite(gt).all(-1)
            accepted = p[ok]
            new_x[accepted], new_f[accepted], new_g[accepted] = trial[ok], ft[ok].detach(), gt[ok].detach()
            pending[accepted] = False
            step[p[~ok]] *= 0.5
            if not bool(pending.any()):
                break
        moved = ~pending

        # Curvature pairs for the rows that moved (skipped when sᵀy is not safely positive).
        s_new, y_new = new_x - xr, new_g - gr
        sy = (s_new * y_new).sum(-1)
        keep = moved & (sy > 1e-10 * (y_new * y_new).sum(-1))
        upd = idx[keep]
        s_hist[upd] = torch.cat([s_hist[upd, 1:], s_new[keep, None]], dim=1)
        y_hist[upd] = torch.cat([y_hist[upd, 1:], y_new[keep, None]], dim=1)
        rho[upd] = torch.cat([rho[upd, 1:], 1.0 / sy[keep, None]], dim=1)
        valid[upd] = torch.cat([valid[upd, 1:], torch.ones_like(valid[upd, :1])], dim=1)

        decrease = (fr - new_f) / torch.maximum(torch.maximum(fr.abs(), new_f.abs()), torch.ones_like(fr))
        done = moved & ((new_g.abs().amax(-1) <= tol) | (decrease <= tol))
        x[idx], f[idx], g[idx] = new_x, new_f, new_g
        iterations[idx[moved]] += 1
        converged[idx[done]] = True
        running[idx[done | pending]] = False  # a failed line search stops the row (not converged)

    return LBFGSResult(x, f, iterations, evaluations, converged)
