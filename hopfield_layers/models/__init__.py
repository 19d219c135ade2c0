"""Task models built from the library's layers."""

from .crossformer import Crossformer

__all__ = ["Crossformer"]
