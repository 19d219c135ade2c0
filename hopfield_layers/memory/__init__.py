"""Standalone associative-memory models, each with an energy and an update rule."""

from .classical import ClassicalHopfield as ClassicalHopfield
from .classical import DenseAssociativeMemory as DenseAssociativeMemory
from .classical import hebbian_weights as hebbian_weights
from .sequence import TemporalKernelMemory as TemporalKernelMemory
from .sequence import sequence_energy as sequence_energy
