"""``SplitDataModule``: the data-loader plumbing every recipe's data module shares.

A subclass builds its datasets in :meth:`build` (called from ``setup``) and returns them by split
name (``"train"``, ``"val"``, ``"test"``; ``"predict"`` defaults to ``"test"``); this base turns them
into data loaders with the configured batch sizes, workers and the subclass's ``collate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

__all__ = ["SplitDataModule"]


class SplitDataModule(LightningDataModule):
    """Base data module: named dataset splits → data loaders.

    Args:
        batch_size: training batch size.
        eval_batch_size: batch size for validation/test/predict (default ``batch_size``).
        num_workers: data-loader worker processes (0 = load in the main process).
    """

    #: collate function of the loaders (``None`` = PyTorch's default).
    collate: Callable[[list[Any]], Any] | None = None

    def __init__(self, batch_size: int = 32, eval_batch_size: int | None = None, num_workers: int = 0) -> None:
        super().__init__()
        for name, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative int; got {num_workers!r}")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.splits: dict[str, Dataset] = {}

    def build(self, stage: str | None) -> dict[str, Dataset]:  # pragma: no cover - abstract
        """Return the datasets by split name; called once by :meth:`setup`."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = dict(self.build(stage))

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if not self.splits:
            self.setup()
        if split not in self.splits:
            raise ValueError(f"{type(self).__name__} has no {split!r} split; it provides {sorted(self.splits)}")
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size if shuffle else self.eval_batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=self.collate,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict" if "predict" in self.splits else "test", shuffle=False)
