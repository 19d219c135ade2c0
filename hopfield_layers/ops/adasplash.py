"""Optional GPU path: sparse flash attention with AdaSplash (Gonçalves, Treviso & Martins 2025).

When CUDA is available and the optional package ``adasplash`` (Triton kernels; ``pip install adasplash``)
imports, :func:`~hopfield_layers.functional.retrieve` hands the one-step sparse retrievals it can do to
``adasplash.adasplash``, which never materialises the ``(L, S)`` association matrix. It is used only when
*every* condition below holds; otherwise nothing changes and the explicit path runs:

* query on a CUDA device, not under ``torch.compile`` (the explicit path keeps ``fullgraph=True``);
* dot similarity, separation exactly ``Sparsemax``, ``Entmax15`` or ``Entmax`` with a fixed (not
  learnable) α — AdaSplash takes one float α in (1, 2];
* no update steps, no association requested, no dropout, no ``key_padding_mask``/``attn_mask``
  (AdaSplash knows only causal and right-padding masks, whose padded *queries* it zeroes);
* self-attention shapes: ``L == S``, ``Ev == E`` and ``E ∈ {16, 32, 64, 128, 256}``.

AdaSplash computes τ with a fixed number of Halley–bisection steps (``niter``) rather than exactly.
This path is untested on a GPU in this repository's CI (there is none); the dispatch decision is
tested on CPU.
"""

from __future__ import annotations

import functools
import importlib
import math
from types import ModuleType

import torch
from torch import Tensor

from ..masks import MergedMask
from ..separation import Entmax, Entmax15, Separation, Sparsemax
from ..similarity import Dot, Similarity

__all__ = ["adasplash_alpha", "sparse_flash_attention"]

_HEAD_DIMS = (16, 32, 64, 128, 256)
#: Halley–bisection iterations AdaSplash uses for τ (its default).
NITER = 10


@functools.cache
def _load() -> ModuleType | None:
    try:
        return importlib.import_module("adasplash")
    except ImportError:
        return None


def _is_cuda(t: Tensor) -> bool:
    return t.is_cuda


def adasplash_alpha(separation: Separation) -> float | None:
    """The fixed α of a separation AdaSplash can compute, else ``None``."""
    if type(separation) is Sparsemax:
        return 2.0
    if type(separation) is Entmax15:
        return 1.5
    if type(separation) is Entmax and not separation.learnable:
        return float(separation.alpha)
    return None


def sparse_flash_attention(
    query: Tensor, key: Tensor, value: Tensor, similarity: Similarity, separation: Separation, scale: float | Tensor, mask: MergedMask, dropout_p: float
) -> Tensor | None:
    """``separation(scale · query @ keyᵀ) @ value`` with AdaSplash when possible (see the module docstring), else ``None``.

    Shapes: ``query (B, H, L, E)``, ``key (B, H, S, E)``, ``value (B, H, S, Ev)`` → ``(B, H, L, Ev)``.
    """
    alpha = adasplash_alpha(separation)
    if alpha is None or type(similarity) is not Dot or dropout_p > 0 or mask.blocked is not None or mask.bias is not None:
        return None
    if not _is_cuda(query) or torch.compiler.is_compiling():
        return None
    length, dim = query.shape[-2:]
    if key.shape[-2] != length or value.shape[-1] != dim or dim not in _HEAD_DIMS:
        return None
    module = _load()
    if module is None:
        return None
    # AdaSplash scales scores by 1/sqrt(E); fold our β (a float or a (1, H, 1, 1) tensor) into the query.
    query = query * (scale * math.sqrt(dim) if isinstance(scale, float) else scale.to(query.dtype) * math.sqrt(dim))
    kwargs = {}
    if length & (length - 1):  # AdaSplash needs a power-of-two length unless lengths are given
        kwargs["varlen"] = torch.full((query.shape[0],), length, dtype=torch.int32, device=query.device)
    return module.adasplash(query.contiguous(), key.contiguous(), value.contiguous(), alpha=alpha, is_causal=False, niter=NITER, **kwargs)
