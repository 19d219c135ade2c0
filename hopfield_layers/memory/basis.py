"""Basis functions ψ(t) ∈ R^N on t ∈ [0, 1] that compress a sequence into a continuous-time signal.

A basis is a small ``nn.Module`` mapping times ``t (...)`` to ``ψ(t) (..., N)``. A continuous memory
writes a sequence of stored patterns as ``x̄(t) = Bᵀψ(t)`` (see :mod:`.continuous`).

Look-up by name (the same registry mechanism as separations and similarities)::

    get_basis("rectangular", num_basis=16)                         # RectangularBasis(16)
    get_basis({"name": "gaussian", "width": 0.02}, num_basis=16)   # GaussianBasis(16, width=0.02)
    get_basis(GaussianBasis(8))                                     # the instance itself
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import Registry

__all__ = ["Basis", "RectangularBasis", "GaussianBasis", "BASES", "register_basis", "get_basis"]


def _check_num_basis(num_basis: Any) -> int:
    if isinstance(num_basis, bool) or not isinstance(num_basis, int) or num_basis < 1:
        raise ValueError(f"num_basis must be a positive int; got {num_basis!r}")
    return num_basis


class Basis(nn.Module):
    """Base class: ``forward(t (...)) -> ψ(t) (..., N)`` with ``N = num_basis``."""

    num_basis: int

    def forward(self, t: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"num_basis={self.num_basis}"


BASES: Registry[Basis] = Registry("basis", Basis)
register_basis = BASES.register


def get_basis(spec: str | Basis | dict[str, Any], num_basis: int | None = None) -> Basis:
    """Build a basis from a registered name, a ``{"name": ..., **kwargs}`` dict or an instance.

    ``num_basis`` is required for names and dicts; for an instance it must be ``None`` or match.
    """
    if isinstance(spec, Basis):
        if num_basis is not None and num_basis != spec.num_basis:
            raise ValueError(f"num_basis={num_basis} disagrees with the given basis, which has {spec.num_basis} functions")
        return spec
    if num_basis is None and not (isinstance(spec, dict) and "num_basis" in spec):
        raise ValueError(f"num_basis is required to build the basis {spec!r}")
    return BASES.create(spec, **({} if num_basis is None else {"num_basis": num_basis}))


@register_basis("rectangular", "rect", "box")
class RectangularBasis(Basis):
    """N equal bins: ``ψ_k(t) = 1`` on ``[k/N, (k+1)/N)`` (the last bin also holds t = 1), else 0.

    With it, ridge regression averages the patterns falling in each bin (shrunk by the ridge), so
    ``x̄(t)`` is piecewise constant. This is the paper's default basis.
    """

    def __init__(self, num_basis: int) -> None:
        super().__init__()
        self.num_basis = _check_num_basis(num_basis)

    def forward(self, t: Tensor) -> Tensor:
        inside = (t >= 0) & (t <= 1)
        index = (t * self.num_basis).floor().long().clamp(0, self.num_basis - 1)
        return F.one_hot(index, self.num_basis).to(t.dtype) * inside.unsqueeze(-1).to(t.dtype)


@register_basis("gaussian", "rbf")
class GaussianBasis(Basis):
    """Gaussian radial basis functions ``ψ_k(t) = exp(-(t - μ_k)² / (2 σ_k²))``.

    Args:
        num_basis: number of functions N.
        centers: ``(N,)`` centres μ; default the bin midpoints ``(k + ½) / N``.
        width: σ, a float or an ``(N,)`` tensor; default ``1 / N`` (the spacing of the centres).
    """

    def __init__(self, num_basis: int, centers: Tensor | None = None, width: float | Tensor | None = None) -> None:
        super().__init__()
        self.num_basis = _check_num_basis(num_basis)
        if centers is None:
            centers = (torch.arange(num_basis, dtype=torch.float32) + 0.5) / num_basis
        centers = torch.as_tensor(centers, dtype=torch.float32)
        if centers.shape != (num_basis,):
            raise ValueError(f"centers must have shape (num_basis,) = ({num_basis},); got {tuple(centers.shape)}")
        width = torch.as_tensor(1.0 / num_basis if width is None else width, dtype=torch.float32)
        if width.dim() == 0:
            width = width.expand(num_basis).clone()
        if width.shape != (num_basis,):
            raise ValueError(f"width must be a float or have shape (num_basis,) = ({num_basis},); got {tuple(width.shape)}")
        if bool((width <= 0).any()):
            raise ValueError(f"width must be positive; got {width.tolist()}")
        self.register_buffer("centers", centers)
        self.register_buffer("width", width)

    def forward(self, t: Tensor) -> Tensor:
        z = (t.unsqueeze(-1) - self.centers.to(t)) / self.width.to(t)
        return torch.exp(-0.5 * z * z)
