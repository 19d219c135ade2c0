"""``RandomStateCheckpoint``: keep the random number generators' states in checkpoints.

Lightning restores weights, optimiser, scheduler, loops and callbacks on resume but not the global
random state, so the data order and dropout masks after a resume differ from an uninterrupted run.
With this callback (always on in the ``hopfield-layers`` CLI) the Python, NumPy, torch (and CUDA)
generators continue where the checkpointed run left them, and a run resumed from its last
checkpoint ends with the same metrics as one that was never interrupted (single process; under DDP
every process resumes from the saving process's state).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback

__all__ = ["RandomStateCheckpoint"]


class RandomStateCheckpoint(Callback):
    """Save the global random states with every checkpoint and restore them when one is loaded."""

    def state_dict(self) -> dict[str, Any]:
        name, keys, position, has_gauss, cached = np.random.get_state()
        # plain types and tensors only, so the checkpoint loads with torch.load(weights_only=True)
        numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached))
        state: dict[str, Any] = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        name, keys, position, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
