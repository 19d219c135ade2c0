"""Standalone associative-memory models, each with an energy and an update rule."""

from .basis import BASES, Basis, GaussianBasis, RectangularBasis, get_basis, register_basis
from .classical import ClassicalHopfield, DenseAssociativeMemory, hebbian_weights
from .continuous import ContinuousMemory
from .discrete import DiscreteMemory
from .gibbs import GibbsMemory
from .gibbs_density import GibbsDensity
from .retrieval import MODELS, HopfieldRetrieval, MLPRetrieval, RetrievalModel, build_model
from .sequence import TemporalKernelMemory, sequence_energy

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
    "ClassicalHopfield",
    "DenseAssociativeMemory",
    "hebbian_weights",
    "TemporalKernelMemory",
    "sequence_energy",
]
