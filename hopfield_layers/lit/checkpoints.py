"""Checkpoints of a run: ``last.ckpt`` after every epoch, and finding ``last`` / ``best`` on disk.

Lightning's ``ModelCheckpoint(save_last=True)`` refreshes ``last.ckpt`` only when it also saves a
top-k checkpoint, so with a monitored metric an interrupted run may leave a stale ``last.ckpt``.
:class:`LastCheckpoint` writes it after every epoch, independent of any monitored metric.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["LastCheckpoint", "find_checkpoint"]


class LastCheckpoint(ModelCheckpoint):
    """Overwrite ``<dirpath>/last.ckpt`` after every epoch (default dirpath: the logger's ``checkpoints/``)."""

    def __init__(self, dirpath: str | os.PathLike[str] | None = None) -> None:
        super().__init__(dirpath=dirpath, filename=self.CHECKPOINT_NAME_LAST, monitor=None, save_top_k=1, save_last=False, enable_version_counter=False)


def find_checkpoint(which: str, root: str | os.PathLike[str]) -> str:
    """The newest ``last*.ckpt`` under ``root`` (``which="last"``), or the best checkpoint recorded in it (``"best"``).

    The best one is the ``best_model_path`` of the monitoring ``ModelCheckpoint`` stored in that last
    checkpoint (of an unmonitored one if none monitors a metric).

    Raises:
        FileNotFoundError: no last checkpoint under ``root``, or the recorded best file is gone.
        ValueError: ``which`` is neither ``"last"`` nor ``"best"``, or the last checkpoint records no best one.
    """
    if which not in ("last", "best"):
        raise ValueError(f"which must be 'last' or 'best'; got {which!r}")
    candidates = [p for p in Path(root).rglob("last*.ckpt") if p.is_file()]
    if not candidates:
        raise FileNotFoundError(
            f"ckpt_path={which!r}: no last*.ckpt under {str(root)!r} (fit saves them in <default_root_dir>/version_<n>/checkpoints/); pass a checkpoint file instead"
        )
    last = max(candidates, key=lambda p: p.stat().st_mtime)
    if which == "last":
        return str(last)
    states = [
        s for key, s in torch.load(last, map_location="cpu", weights_only=True).get("callbacks", {}).items() if key.startswith("ModelCheckpoint") and s.get("best_model_path")
    ]
    states.sort(key=lambda s: s.get("monitor") is None)  # monitoring callbacks first
    if not states:
        raise ValueError(f"ckpt_path='best': the last checkpoint {str(last)!r} records no best checkpoint")
    best = states[0]["best_model_path"]
    if not Path(best).is_file():
        raise FileNotFoundError(f"ckpt_path='best': {str(last)!r} records the best checkpoint {best!r}, which no longer exists")
    return best
