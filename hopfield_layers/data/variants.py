"""Variants of stored patterns: noisy, masked and biased queries (Wang et al. 2025, "Adaptive Hopfield Network").

A variant of a stored pattern ``ξ ∈ R^d`` for the difficulty triplet ``(d_mask, d_noise, d_bias) ∈ [0, 1]³``:

1. noise: ``x ← ξ + d_noise · ε`` with ``ε ~ N(0, I)`` (standard deviation ``d_noise``);
2. mask: ``round(d · d_mask)`` distinct random dimensions are replaced by ``U[-1, 1]`` values;
3. bias: ``x ← x + d_bias · s`` with ``s`` a random sign vector (each entry ±1 with probability ½).

The noise level is a standard deviation. Read as a variance (``ε ~ N(0, d_noise · I)``), the
variants become so hard that the accuracies the paper reports for A-Hop on random patterns exceed
the Bayes-optimal accuracy (see ``results/retrieval_variants.md``); as a standard deviation they stay
at or below it. The variance reading is ``noise=d_noise ** 0.5`` here.

Usage::

    patterns = torch.rand(2048, 64) * 2 - 1
    index, queries = make_variants(patterns, 512, mask=0.4, noise=0.4, bias=0.4, generator=g)
    # queries[i] is a variant of patterns[index[i]]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["make_variants", "variant_log_likelihood", "difficulty_label"]


def _fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}")
    return float(value)


def difficulty_label(mask: float, noise: float, bias: float) -> str:
    """``(0.8, 0, 0)`` → ``"(.8,0,0)"``, the paper's notation for a difficulty triplet."""

    def short(v: float) -> str:
        return "0" if v == 0 else f"{v:g}".lstrip("0")

    return f"({short(mask)},{short(noise)},{short(bias)})"


def make_variants(
    patterns: Tensor,
    num: int | None = None,
    *,
    mask: float = 0.0,
    noise: float = 0.0,
    bias: float = 0.0,
    index: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw variants of stored patterns.

    Args:
        patterns: stored patterns ``(N, d)``.
        num: number of variants, each of a uniformly drawn stored pattern; ``None`` (with no
            ``index``) makes one variant of every pattern, in order.
        mask: ``d_mask``, the fraction of dimensions replaced by ``U[-1, 1]``.
        noise: ``d_noise``, the standard deviation of the added Gaussian noise.
        bias: ``d_bias``, the magnitude of the random-sign shift of every dimension.
        index: which patterns to vary, ``(M,)`` int64 (instead of ``num``).
        generator: random source (default: the global one).

    Returns:
        ``(index (M,), variants (M, d))``: ``variants[i]`` is a variant of ``patterns[index[i]]``.
    """
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or not patterns.is_floating_point():
        raise ValueError(f"patterns must be a floating tensor of shape (N, d); got {getattr(patterns, 'shape', type(patterns).__name__)}")
    mask, noise, bias = _fraction("mask", mask), _fraction("noise", noise), _fraction("bias", bias)
    count, dim = patterns.shape
    device, dtype = patterns.device, patterns.dtype
    if index is not None:
        if num is not None:
            raise ValueError("give either num or index, not both")
        if not isinstance(index, Tensor) or index.dim() != 1 or index.dtype != torch.long:
            raise ValueError(f"index must be an int64 tensor of shape (M,); got {getattr(index, 'shape', type(index).__name__)}")
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= count):
            raise ValueError(f"index entries must be in [0, {count}); got range [{int(index.min())}, {int(index.max())}]")
    elif num is None:
        index = torch.arange(count, device=device)
    elif isinstance(num, bool) or not isinstance(num, int) or num < 0:
        raise ValueError(f"num must be a non-negative int or None; got {num!r}")
    else:
        index = torch.randint(count, (num,), generator=generator, device=device)
    x = patterns[index].clone()
    rows = x.shape[0]
    if noise > 0:
        x += noise * torch.randn(rows, dim, generator=generator, device=device, dtype=dtype)
    masked = round(dim * mask)
    if masked > 0:
        where = torch.rand(rows, dim, generator=generator, device=device).argsort(dim=1)[:, :masked]
        x.scatter_(1, where, torch.rand(rows, masked, generator=generator, device=device, dtype=dtype) * 2 - 1)
    if bias > 0:
        signs = torch.randint(2, (rows, dim), generator=generator, device=device).to(dtype) * 2 - 1
        x += bias * signs
    return index, x


def variant_log_likelihood(patterns: Tensor, queries: Tensor, *, mask: float = 0.0, noise: float = 0.0, bias: float = 0.0, chunk_size: int = 256) -> Tensor:
    """``log p(x | ξ)`` of every query under every pattern's variant distribution (the Bayes-optimal similarity).

    Treats each dimension as masked independently with probability ``d_mask`` (the generator masks
    exactly ``round(d · d_mask)``): ``p(x_i | ξ_i) = (1 - d_mask) · ½ [φ(x_i - ξ_i - b) + φ(x_i - ξ_i + b)]
    + d_mask · ¼ [1(|x_i - b| ≤ 1) + 1(|x_i + b| ≤ 1)]`` with ``φ`` the ``N(0, d_noise²)`` density
    (``d_noise = 0`` is taken as a standard deviation of 1e-3). Computed in float64.

    Args:
        patterns: ``(N, d)``.
        queries: ``(M, d)``.
        chunk_size: stored patterns per chunk (memory ``M · chunk_size · d`` float64 values).

    Returns:
        ``(M, N)`` log-likelihoods; the arg-max over N is the maximum a posteriori pattern.
    """
    mask, noise, bias = _fraction("mask", mask), _fraction("noise", noise), _fraction("bias", bias)
    if patterns.dim() != 2 or queries.dim() != 2 or patterns.shape[1] != queries.shape[1]:
        raise ValueError(f"patterns (N, d) and queries (M, d) must agree in d; got {tuple(patterns.shape)} and {tuple(queries.shape)}")
    sigma = max(noise, 1e-3)
    x = queries.double()
    log_masked = (0.25 * (((x - bias).abs() <= 1).double() + ((x + bias).abs() <= 1).double())).log() + math.log(mask) if mask > 0 else None
    out = x.new_empty(x.shape[0], patterns.shape[0])
    for start in range(0, patterns.shape[0], chunk_size):
        delta = x.unsqueeze(1) - patterns[start : start + chunk_size].double().unsqueeze(0)  # (M, c, d)
        shifted = torch.stack([delta - bias, delta + bias]) if bias > 0 else delta.unsqueeze(0)
        log_kept = torch.logsumexp(-0.5 * (shifted / sigma) ** 2, dim=0) - math.log(shifted.shape[0] * sigma * math.sqrt(2 * math.pi))
        if mask < 1:
            log_kept = log_kept + math.log1p(-mask)
            per_dim = log_kept if log_masked is None else torch.logaddexp(log_kept, log_masked.unsqueeze(1))
        else:
            per_dim = log_masked.unsqueeze(1).expand_as(delta)
        out[:, start : start + chunk_size] = per_dim.sum(dim=-1)
    return out
