"""Standalone associative-memory models (fit patterns, then retrieve from queries)."""

from .basis import BASES, Basis, GaussianBasis, RectangularBasis, get_basis, register_basis
from .continuous import ContinuousMemory
from .discrete import DiscreteMemory
from .gibbs import GibbsMemory
from .gibbs_density import GibbsDensity
from .retrieval import MODELS, HopfieldRetrieval, MLPRetrieval, RetrievalModel, build_model

__all__ = [
    "Basis",
    "RectangularBasis",
    "GaussianBasis",
    "BASES",
    "get_basis",
    "register_basis",
    "GibbsMemory",
    "ContinuousMemory",
    "DiscreteMemory",
    "GibbsDensity",
    "MODELS",
    "HopfieldRetrieval",
    "MLPRetrieval",
    "RetrievalModel",
    "build_model",
]
