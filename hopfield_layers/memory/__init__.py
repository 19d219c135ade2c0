"""Standalone associative-memory models, each with an energy and an update rule."""

from .classical import ClassicalHopfield as ClassicalHopfield
from .classical import DenseAssociativeMemory as DenseAssociativeMemory
from .classical import hebbian_weights as hebbian_weights
from .retrieval import MODELS as MODELS
from .retrieval import HopfieldRetrieval as HopfieldRetrieval
from .retrieval import MLPRetrieval as MLPRetrieval
from .retrieval import RetrievalModel as RetrievalModel
from .retrieval import build_model as build_model
from .sequence import TemporalKernelMemory as TemporalKernelMemory
from .sequence import sequence_energy as sequence_energy
