"""Lightning recipes: the ``hopfield-layers`` command, a generic task module and data-module plumbing.

Importing :mod:`hopfield_layers` does not import Lightning; this subpackage does.
"""

from .checkpoints import LastCheckpoint, find_checkpoint
from .cli import HopfieldCLI, default_loggers, keep_checkpointing_into, main
from .datamodule import SplitDataModule
from .metrics import METRICS, TASKS, build_metrics
from .pattern_init import InitPatterns
from .random_state import RandomStateCheckpoint
from .task import TaskModule
from .tie_break import TieBreakMetric

__all__ = [
    "HopfieldCLI",
    "main",
    "default_loggers",
    "keep_checkpointing_into",
    "find_checkpoint",
    "LastCheckpoint",
    "TaskModule",
    "SplitDataModule",
    "InitPatterns",
    "RandomStateCheckpoint",
    "TieBreakMetric",
    "METRICS",
    "TASKS",
    "build_metrics",
]
