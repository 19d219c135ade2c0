"""Sparse probability mappings: sparsemax, 1.5-entmax and α-entmax, exact and without a full sort.

α-entmax maps scores ``z`` to ``p_i = [(α - 1) z_i - τ]_+ ^ (1 / (α - 1))`` with the threshold ``τ``
chosen so that ``Σ p_i = 1`` (Peters, Niculae & Martins 2019). α = 2 is sparsemax, α → 1 is softmax.

Every function here

* works along ``dim`` on tensors of any shape,
* gives exactly zero probability to ``-inf`` entries and an all-zero row (with zero gradient) to a
  row whose entries are all ``-inf``,
* computes in float32 for float16/bfloat16 inputs and returns the input dtype,
* has a closed-form backward pass (sparsemax: Jacobian on the support; entmax: the ``p^(2-α)``
  weighting; plus the gradient with respect to α),
* compiles with ``torch.compile(fullgraph=True)``.

How τ is found, per row, on the scores ``y = (α - 1)(z - max z)`` (so ``max y = 0`` and ``τ ∈ [-1, 0)``):

1. **Lower bound from the chunk maxima.** The maxima of ``_CHUNKS`` chunks of the row are a subset of
   it; their threshold (found by step 2 on ``(rows, _CHUNKS)`` values) is a lower bound of the row's,
   since removing entries can only lower τ, and equals it when no other entry lies above it.
2. **Newton from below** on ``h(τ) = ‖[y - τ]_+‖_{1/(α-1)} - 1``, which is convex and decreasing, so
   the iterates increase monotonically towards τ, with an exact certificate:

   * sparsemax: Newton's step lands on the closed-form threshold of the current support, so τ is
     exact once its support is as large as the previous one (supports only shrink as τ grows); the
     same test certifies the subset's τ for a row whose support there is the subset's;
   * 1.5-entmax: the closed-form threshold of the current support (a quadratic's root) is exact when
     no support entry lies at or below it;
   * other α: the step is below ``10^_NEWTON_TOL_LOG10``; rows with α > 1.5 then take one float64 step.
3. **Fallback** for rows still uncertified after ``_NEWTON_STEPS`` steps (adversarial rows only): the
   full sort (α ∈ {2, 1.5}) or bisection.

In eager mode the rows are processed in blocks of about ``_BLOCK_ELEMENTS`` entries so that the
temporaries stay in cache; a block stops iterating once all its rows are certified, and fallbacks run
on the rows that need them only. Sparsemax with small supports computes its output at the subset's τ
straight away and redoes only the rows whose support size shows that τ was not theirs. Under
``torch.compile`` all rows form one block, the iterations are a ``torch.while_loop`` and the fallbacks
sit behind ``torch.cond``: no data-dependent Python branching, no ``.item()``.

Numerical note: every entry below ``-1`` (in units of ``y``) has zero probability because
``τ ≥ max y - 1 = -1``. Clamping ``y`` at ``-2`` therefore leaves the result unchanged while bounding
every intermediate value, which also turns ``-inf`` (masked) entries into ordinary finite numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["sparsemax", "entmax15", "entmax_bisect"]

# Integers (not floats) so that torch.compile(dynamic=True) specialises them inside loop bodies.
_FLOOR = -2  # shifted scores below -1 never enter the support; -2 keeps a safe margin
_BLOCK_ELEMENTS = 1 << 19  # eager mode: rows per block chosen so that a block of float32 is ~2 MiB
_CHUNKS = 32  # the first lower bound uses the maxima of this many chunks of each row
_ATTEMPT_MAX_SUPPORT = 4  # sparsemax certifies at the chunk-maxima threshold when their mean support is at most this
_NEWTON_STEPS = 12  # then the exact fallback
_EXACT_STEP_LOG2 = -6  # 1.5-entmax: the closed form is final only after a step ≤ 2^this (float32 cancellation)
_NEWTON_TOL_LOG10 = -5  # α-entmax: a row has converged once |Newton step| ≤ 10^this


def _compute_dtype(x: Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _compiling() -> bool:
    return torch.compiler.is_compiling()


# --------------------------------------------------------------------------------------------- τ


def _scores(x: Tensor, row_max: Tensor, u: float | Tensor) -> Tensor:
    """``y = clamp(u · (x - max), min=-2)``: scores in units of τ, ``max y = 0``."""
    y = torch.sub(x, row_max)
    if not isinstance(u, float) or u != 1.0:
        y = y.mul_(u)
    return y.clamp_(min=_FLOOR)


def _residual(out: Tensor, x: Tensor, row_max: Tensor, u: float | Tensor, tau: Tensor) -> Tensor:
    """``out ← [u · (x - max) - τ]_+`` (``= p^(α-1)``); ``-inf`` entries give 0."""
    torch.sub(x, row_max, out=out)
    if not isinstance(u, float) or u != 1.0:
        out.mul_(u)
    return out.sub_(tau).clamp_(min=0.0)


def _chunk_maxima(x: Tensor) -> Tensor:
    """``(c, d) → (c, ≤ _CHUNKS)``: the maximum of each chunk of consecutive entries of a row."""
    width = -(-x.shape[-1] // _CHUNKS)
    if width == 1:
        return x
    return F.max_pool1d(x.unsqueeze(1), width, width, ceil_mode=True).squeeze(1)


def _count(r: Tensor) -> Tensor:
    """Number of positive entries of each row of ``r ≥ 0``, ``(c, 1)`` (``sign`` + ``sum`` is the fastest way on CPU)."""
    return r.sign().sum(dim=-1, keepdim=True)


def _sort_threshold(y: Tensor, alpha: float) -> Tensor:
    """Fallback for α ∈ {2, 1.5}: the exact threshold ``(c, 1)`` from a full sort of ``y (c, d)``.

    The running sums are taken in float64: in float32 they lose ~d ulps (a few 1e-7 on tied rows)."""
    top = y.sort(dim=-1, descending=True).values.double()
    j = torch.arange(1, top.shape[-1] + 1, device=top.device, dtype=top.dtype)
    if alpha == 2.0:
        cumsum = top.cumsum(dim=-1) - 1.0
        support = (j * top > cumsum).sum(dim=-1, keepdim=True).clamp(min=1)
        return (cumsum.gather(-1, support - 1) / support.to(top.dtype)).to(y.dtype)
    mean = top.cumsum(dim=-1) / j
    mean_sq = (top * top).cumsum(dim=-1) / j
    taus = mean - ((1.0 - j * (mean_sq - mean * mean)) / j).clamp(min=0.0).sqrt()
    support = (taus <= top).sum(dim=-1, keepdim=True).clamp(min=1)
    return taus.gather(-1, support - 1).to(y.dtype)


def _bisect_threshold(y: Tensor, tau: Tensor, alpha: Tensor, n_iter: int) -> Tensor:
    """Fallback for general α: ``n_iter`` bisection steps on ``[τ, -d^(1-α)]`` (``τ`` is a lower bound)."""
    inv_u = 1.0 / (alpha - 1.0)

    def step(lo: Tensor, width: Tensor) -> tuple[Tensor, Tensor]:
        width = width / 2
        mass = (y - (lo + width)).clamp(min=0.0).pow(inv_u).sum(dim=-1, keepdim=True)
        return torch.where(mass >= 1.0, lo + width, lo), width

    hi = -((1.0 / y.shape[-1]) ** (alpha - 1.0))
    return _iterate(step, (tau, hi - tau), n_iter)[0]


def _newton_step(y: Tensor, tau: Tensor, alpha: float | Tensor, previous: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One step from the lower bound ``tau`` of Newton's method on ``h(τ) = ‖[y - τ]_+‖_{1/(α-1)} - 1``.

    ``previous`` is the support size at the previous τ (sparsemax only; ``-1`` if none). Returns the next τ, whether it
    is certified and the support size at ``tau``. Certificates:

    * sparsemax: the step goes to the closed-form threshold of the current support, so ``tau`` is exact
      when its support has the size of the previous one (supports only shrink as τ grows);
    * 1.5-entmax: the closed-form threshold of the current support is exact when every support score
      lies above it (and, against float32 cancellation, it is close to ``tau``); else Newton's step;
    * other α: the step is below ``10^_NEWTON_TOL_LOG10``.
    """
    r = (y - tau).clamp_(min=0.0)
    count = _count(r)
    if isinstance(alpha, float) and alpha == 2.0:
        certified = count == previous
        step = ((r.sum(dim=-1, keepdim=True) - 1.0) / count.clamp(min=1.0)).clamp_(min=0.0)
        return torch.where(certified, tau, tau + step), certified, count
    if isinstance(alpha, float) and alpha == 1.5:  # smaller root of Σ_S (r - s)² = 1, written without cancellation
        s1 = r.sum(dim=-1, keepdim=True)
        s2 = torch.linalg.vector_norm(r, dim=-1, keepdim=True).square()
        closed = ((s2 - 1.0) / (s1 + (s1 * s1 - count * (s2 - 1.0)).clamp(min=0.0).sqrt())).clamp(min=0.0)
        certified = (_count((r - closed).clamp_(min=0.0)) == count) & closed.le(2.0**_EXACT_STEP_LOG2)
        newton = (s2 - s2.sqrt()) / s1.clamp(min=torch.finfo(r.dtype).tiny)
        return tau + torch.where(certified, closed, newton), certified, count
    inv_u = 1.0 / (alpha - 1.0)
    p = r.pow(inv_u)
    mass = p.sum(dim=-1, keepdim=True)
    slope = (p / r.clamp(min=torch.finfo(r.dtype).tiny)).sum(dim=-1, keepdim=True)  # Σ r^(1/u - 1)
    u = alpha - 1.0
    step = (mass.pow(u) - 1.0) / (mass.pow(u - 1.0) * slope).clamp(min=torch.finfo(r.dtype).tiny)
    return tau + step, step.abs() <= 10.0**_NEWTON_TOL_LOG10, count


def _iterate(step: Callable[..., tuple[Tensor, ...]], state: tuple[Tensor, ...], steps: int, stop: Callable[..., Tensor] | None = None) -> tuple[Tensor, ...]:
    """``state ← step(*state)`` at most ``steps`` times, stopping early once ``stop(*state)`` holds.

    Under ``torch.compile`` this is a ``torch.while_loop``, so the graph holds one step."""
    if _compiling():

        def go_on(i: Tensor, *state: Tensor) -> Tensor:
            return (i < steps) if stop is None else (i < steps) & ~stop(*state)

        _, *state = torch.while_loop(go_on, lambda i, *state: (i + 1, *step(*state)), (torch.zeros((), dtype=torch.int64, device=state[0].device), *state))
        return tuple(state)
    for _ in range(steps):
        state = step(*state)
        if stop is not None and bool(stop(*state)):
            break
    return state


def _newton_threshold(y: Tensor, tau: Tensor, alpha: float | Tensor, done: Tensor, count: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Newton from the lower bound ``tau``, at most ``_NEWTON_STEPS`` steps, until every row is certified;
    rows where ``done`` holds stay. ``count``: support sizes at an earlier τ (see :func:`_newton_step`).

    Returns (τ, certified, support size at τ for the certified rows)."""

    def step(tau: Tensor, done: Tensor, count: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        proposal, certified, count_here = _newton_step(y, tau, alpha, count)
        return torch.where(done, tau, proposal), done | certified, torch.where(done, count, count_here)

    count = torch.full_like(tau, -1.0) if count is None else count
    return _iterate(step, (tau, done, count), _NEWTON_STEPS, lambda tau, done, count: done.all())


def _on_rows(todo: Tensor, fn: Callable[..., tuple[Tensor, ...]], current: tuple[Tensor, ...], *rows: Tensor) -> tuple[Tensor, ...]:
    """``current`` with its rows where ``todo (R, 1)`` holds replaced by ``fn(*rows)`` evaluated on those rows.

    Eager mode evaluates ``fn`` on those rows only (none: no work) and updates ``current`` in place;
    under ``torch.compile`` it runs on every row behind ``torch.cond``, so nothing runs when no row
    needs it.
    """
    if _compiling():
        n = len(current)

        def run(todo: Tensor, *args: Tensor) -> tuple[Tensor, ...]:
            return tuple(torch.where(todo, new, old) for new, old in zip(fn(*args[n:]), args[:n]))

        def keep(todo: Tensor, *args: Tensor) -> tuple[Tensor, ...]:
            return tuple(t.clone() for t in args[:n])

        return tuple(torch.cond(todo.any(), run, keep, (todo, *current, *rows)))
    index = todo.flatten().nonzero().flatten()
    if index.numel():
        for old, new in zip(current, fn(*(t[index] for t in rows))):
            old.index_copy_(0, index, new)
    return current


def _lower_bound(x: Tensor, alpha: float | Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Row maxima, empty rows and Newton from ``τ = -1`` on the chunk maxima of ``x (R, d)``.

    The chunk maxima are a subset of the row, so their threshold is a lower bound of the row's (dropping
    entries can only lower τ), and equal to it when the row has no more entries above it than the
    subset. Returns (row max, empty rows, τ, certified for the subset, support size in the subset),
    each ``(R, 1)``.
    """
    maxima = _chunk_maxima(x).to(_compute_dtype(x))
    row_max = maxima.amax(dim=-1, keepdim=True)
    empty = torch.isneginf(row_max)
    row_max = row_max.masked_fill(empty, 0.0)
    tau, done, count = _newton_threshold(_scores(maxima, row_max, alpha - 1.0), torch.full_like(row_max, -1.0), alpha, empty)
    return row_max, empty, tau, done, count


def _exact(x: Tensor, alpha: float) -> Tensor:
    """α-entmax of ``x (R, d)`` along the last dim for α ∈ {2, 1.5}, exact; ``(R, d)`` in the compute dtype.

    1. Lower bound τ from the chunk maxima (:func:`_lower_bound`).
    2. Sparsemax with small supports (mean subset support ≤ ``_ATTEMPT_MAX_SUPPORT``, eager mode): the
       output is computed at that τ; it is the answer for every row with no more positive entries than
       its subset had (then no other entry lies above τ: an exact certificate).
    3. The other rows (all rows otherwise: with larger supports, entries of the support often share a
       chunk, so the subset rarely certifies) run Newton on the whole row from that τ (exact with its
       certificate), then, if still uncertified, the sort fallback.
    """
    u = alpha - 1.0
    row_max, empty, tau, done, subset_count = _lower_bound(x, alpha)
    out = torch.empty(x.shape, dtype=_compute_dtype(x), device=x.device)

    def output(r: Tensor) -> Tensor:  # p = r^(1/(α-1))
        return r.square_() if alpha == 1.5 else r

    def whole_rows(out: Tensor, x: Tensor, row_max: Tensor, tau: Tensor, done: Tensor, count: Tensor) -> None:
        y = _scores(x.to(out.dtype), row_max, u)
        tau, certified, _ = _newton_threshold(y, tau, alpha, done, count)
        (tau,) = _on_rows(~certified, lambda y: (_sort_threshold(y, alpha),), (tau,), y)
        output(torch.sub(y, tau, out=out).clamp_(min=0.0))

    # the subset's τ is the row's if the row's support at τ has the subset's size (sparsemax's certificate)
    subset_count = torch.where(done, subset_count, -1.0)
    if alpha == 1.5 or _compiling() or not bool(subset_count.mean() <= _ATTEMPT_MAX_SUPPORT):
        _blockwise(whole_rows, out, x, row_max, tau, empty, subset_count)
        return out
    count = torch.empty_like(tau)
    _blockwise(lambda out, x, row_max, tau, count: count.copy_(_count(output(_residual(out, x.to(out.dtype), row_max, u, tau)))), out, x, row_max, tau, count)

    def redo(x: Tensor, row_max: Tensor, tau: Tensor) -> tuple[Tensor]:
        rows = torch.empty(x.shape, dtype=out.dtype, device=x.device)
        _blockwise(whole_rows, rows, x, row_max, tau, torch.zeros_like(tau, dtype=torch.bool), torch.full_like(tau, -1.0))
        return (rows,)

    return _on_rows(~(empty | (count == subset_count)), redo, (out,), x, row_max, tau)[0]


def _general(x: Tensor, alpha: Tensor, n_iter: int) -> Tensor:
    """α-entmax of ``x (R, d)`` for one α per row, ``alpha (R, 1)`` in float64 or the compute dtype.

    Newton from the lower bound of :func:`_lower_bound`, bisection for the rows it leaves unconverged;
    rows with α > 1.5 then take one more Newton step on float64 scores: their near-threshold
    probabilities are ill-conditioned in float32 and, through the p^(2-α) weights, dominate the gradient.
    """
    alpha_c = alpha.to(_compute_dtype(x))
    row_max, empty, tau, _, _ = _lower_bound(x, alpha_c)
    out = torch.empty(x.shape, dtype=alpha_c.dtype, device=x.device)

    def output(out: Tensor, y: Tensor, tau: Tensor, alpha: Tensor) -> None:
        p = torch.sub(y, tau).clamp_(min=0.0).pow_(1.0 / (alpha - 1.0))
        out.copy_(p.div_(p.sum(dim=-1, keepdim=True).clamp_(min=torch.finfo(p.dtype).tiny)))

    def rows(out: Tensor, x: Tensor, alpha: Tensor, row_max: Tensor, tau: Tensor, empty: Tensor) -> None:
        y = _scores(x.to(out.dtype), row_max, alpha - 1.0)
        new, done, _ = _newton_threshold(y, tau, alpha, empty)
        (new,) = _on_rows(~done, lambda y, tau, alpha: (_bisect_threshold(y, tau, alpha, n_iter),), (new,), y, new, alpha)
        tau.copy_(new.masked_fill(empty, 0.0))
        output(out, y, tau, alpha)

    _blockwise(rows, out, x, alpha_c, row_max, tau, empty)

    def polish(x: Tensor, alpha: Tensor, row_max: Tensor, tau: Tensor) -> tuple[Tensor]:
        def block(out: Tensor, x: Tensor, alpha: Tensor, row_max: Tensor, tau: Tensor) -> None:
            alpha = alpha.double()
            y = _scores(x.double(), row_max.double(), alpha - 1.0)
            output(out, y, _newton_step(y, tau.double(), alpha)[0], alpha)

        rows = torch.empty(x.shape, dtype=out.dtype, device=x.device)
        _blockwise(block, rows, x, alpha, row_max, tau)
        return (rows,)

    precise = alpha > (1.5 if out.dtype != torch.float64 else 1.0)
    return _on_rows(precise & ~empty, polish, (out,), x, alpha, row_max, tau)[0]


# ------------------------------------------------------------------------------------ plumbing


def _blockwise(fn: Callable[..., None], out: Tensor, *inputs: Tensor) -> None:
    """``fn(out_block, *input_blocks)`` on row blocks of about ``_BLOCK_ELEMENTS`` entries (eager mode,
    so that temporaries stay in cache), or once on all rows under ``torch.compile``."""
    if _compiling():
        fn(out, *inputs)
        return
    rows = max(1, _BLOCK_ELEMENTS // max(1, out.shape[-1]))
    for start in range(0, out.shape[0], rows):
        fn(out[start : start + rows], *(t[start : start + rows] for t in inputs))


def _as_rows(t: Tensor, dim: int) -> Tensor:
    """Move ``dim`` last and flatten the rest: ``(..., d) → (rows, d)``."""
    t = t.movedim(dim, -1)
    return t.reshape(-1, t.shape[-1])


def _from_rows(rows: Tensor, like: Tensor, dim: int) -> Tensor:
    """Inverse of :func:`_as_rows` for a tensor shaped like ``like``."""
    return rows.reshape(like.movedim(dim, -1).shape).movedim(-1, dim)


def _support_projection(out: Tensor, grad: Tensor, weight: Tensor) -> None:
    """``out ← w ⊙ (g - Σ(w g) / Σ w)`` along the last dim: the shared form of every entmax backward."""
    weighted = torch.mul(grad, weight, out=out)
    total = weight.sum(dim=-1, keepdim=True).clamp_(min=torch.finfo(weight.dtype).tiny)
    out.addcmul_(weight, weighted.sum(dim=-1, keepdim=True) / total, value=-1.0)


def _sqrt(p: Tensor) -> Tensor:
    """``sqrt(p)`` for ``p ≥ 0``; ``torch.sqrt`` is ~10x slower on CPU when most entries are 0, as here."""
    return p.rsqrt().mul_(p).nan_to_num_(0.0)


def _reduce_to_shape(grad: Tensor, shape: torch.Size) -> Tensor:
    """Sum a broadcast gradient back to ``shape``."""
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(dim=axis, keepdim=True)
    return grad


def _exact_forward(ctx, x: Tensor, dim: int, alpha: float) -> Tensor:
    p = _exact(_as_rows(x, dim), alpha)
    ctx.dim = dim
    ctx.save_for_backward(p)
    return _from_rows(p, x, dim).to(x.dtype)


def _exact_backward(ctx, grad: Tensor, weight: Callable[[Tensor], Tensor]) -> Tensor:
    (p,) = ctx.saved_tensors
    g = _as_rows(grad, ctx.dim)
    dx = torch.empty_like(p)
    _blockwise(lambda out, gb, pb: _support_projection(out, gb.to(pb.dtype), weight(pb)), dx, g, p)
    return _from_rows(dx, grad, ctx.dim).to(grad.dtype)


class _Sparsemax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> Tensor:
        return _exact_forward(ctx, x, dim, 2.0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return _exact_backward(ctx, grad, torch.sign), None


class _Entmax15(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> Tensor:
        return _exact_forward(ctx, x, dim, 1.5)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return _exact_backward(ctx, grad, _sqrt), None


def _alpha_gradient(g: Tensor, p: Tensor, alpha: Tensor) -> Tensor:
    """``Σ_i g_i ∂p_i/∂α`` per row ``(c, 1)`` for ``p = α-entmax``, ``g, p (c, d)``."""
    u = alpha - 1.0
    positive = p > 0
    skew = torch.where(positive, p.pow(2.0 - alpha), torch.zeros_like(p))
    tiny = torch.finfo(p.dtype).tiny
    p_log_p = torch.where(positive, p * p.clamp(min=tiny).log(), torch.zeros_like(p))
    skew_hat = skew / skew.sum(dim=-1, keepdim=True).clamp(min=tiny)
    dp_dalpha = (p - skew_hat) / u**2 - (p_log_p - skew_hat * p_log_p.sum(dim=-1, keepdim=True)) / u
    return (g * dp_dalpha).sum(dim=-1, keepdim=True)


class _EntmaxBisect(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, alpha: Tensor, dim: int, n_iter: int) -> Tensor:
        alpha_rows = _as_rows(alpha.expand_as(x).narrow(dim, 0, 1), dim)
        p = _general(_as_rows(x, dim), alpha_rows, n_iter)
        ctx.dim = dim
        ctx.alpha_shape = alpha.shape
        ctx.save_for_backward(p, alpha_rows)
        return _from_rows(p, x, dim).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor | None, None, None]:
        p, alpha = ctx.saved_tensors
        g = _as_rows(grad, ctx.dim).to(p.dtype)
        dx = torch.empty_like(p)

        def weight(pb: Tensor, ab: Tensor) -> Tensor:
            return pb.pow(2.0 - ab.to(pb.dtype)).mul_(pb.sign())  # sign: 0^0 = 1 at α = 2

        _blockwise(lambda out, gb, pb, ab: _support_projection(out, gb, weight(pb, ab)), dx, g, p, alpha)
        d_alpha = None
        if ctx.needs_input_grad[1]:
            d_alpha = torch.empty_like(alpha)
            _blockwise(lambda out, gb, pb, ab: out.copy_(_alpha_gradient(gb, pb, ab)), d_alpha, g, p, alpha)
            shape = list(grad.movedim(ctx.dim, -1).shape)
            shape[-1] = 1
            d_alpha = _reduce_to_shape(d_alpha.reshape(shape).movedim(-1, ctx.dim), ctx.alpha_shape)
        return _from_rows(dx, grad, ctx.dim).to(grad.dtype), d_alpha, None, None


def sparsemax(x: Tensor, dim: int = -1) -> Tensor:
    """Sparsemax (Martins & Astudillo 2016): Euclidean projection of ``x`` onto the simplex along ``dim``."""
    return _Sparsemax.apply(x, dim)


def entmax15(x: Tensor, dim: int = -1) -> Tensor:
    """1.5-entmax along ``dim`` (exact)."""
    return _Entmax15.apply(x, dim)


def entmax_bisect(x: Tensor, alpha: float | Tensor = 1.5, dim: int = -1, n_iter: int = 50) -> Tensor:
    """α-entmax along ``dim``; ``alpha`` is a float in (1, 2] or a tensor broadcastable to ``x`` with
    size 1 along ``dim`` (e.g. one α per head), which receives a gradient.

    τ is found by Newton's method (see the module docstring); ``n_iter`` is the number of bisection
    steps for the rare rows where Newton has not converged.
    """
    if not isinstance(alpha, Tensor):
        alpha = torch.tensor(float(alpha), dtype=torch.float64, device=x.device)
    if alpha.dim() < x.dim():
        alpha = alpha.reshape((1,) * (x.dim() - alpha.dim()) + tuple(alpha.shape))
    if alpha.shape[dim] != 1:
        raise ValueError(f"alpha must have size 1 along dim={dim}; got alpha.shape={tuple(alpha.shape)}")
    return _EntmaxBisect.apply(x, alpha, dim, n_iter)
