"""hopfield_layers: modern Hopfield networks (associative memories) as PyTorch layers.

Drop-in replacement for the reference ``hflayers`` package (``Hopfield``, ``HopfieldPooling``,
``HopfieldLayer``) with pluggable separations and similarities.
"""

from .functional import retrieve
from .memory import ContinuousMemory, DiscreteMemory, GibbsDensity  # registers separation="gibbs"
from .modules import Hopfield, HopfieldLayer, HopfieldPooling
from .separation import SEPARATIONS, DensitySeparation, Entmax, Entmax15, Separation, Softmax, Sparsemax, get_separation, register_separation
from .similarity import SIMILARITIES, Dot, NegativeEuclidean, NegativeManhattan, Similarity, get_similarity, register_similarity

__version__ = "0.1.0"

__all__ = [
    "Hopfield",
    "HopfieldPooling",
    "HopfieldLayer",
    "retrieve",
    "Separation",
    "DensitySeparation",
    "Softmax",
    "Sparsemax",
    "Entmax15",
    "Entmax",
    "SEPARATIONS",
    "get_separation",
    "register_separation",
    "Similarity",
    "Dot",
    "NegativeEuclidean",
    "NegativeManhattan",
    "SIMILARITIES",
    "get_similarity",
    "register_similarity",
    "ContinuousMemory",
    "DiscreteMemory",
    "GibbsDensity",
]
