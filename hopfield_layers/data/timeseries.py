"""Multivariate forecasting benchmarks (ETT, WTH, ILI, ECL, Traffic) as windowed datasets.

The CSVs live under ``timeseries/`` in the data root (first column the date, then one column per
series). The splits follow Crossformer (Zhang & Yan 2023) and Informer (Zhou et al. 2021):

============  =======================  ========  ====================================
name          file                     series    train / val / test rows
============  =======================  ========  ====================================
``ETTh1/2``   ``ETTh1.csv``/``ETTh2``  7         12/4/4 months hourly: 8640/2880/2880
``ETTm1/2``   ``ETTm1.csv``/``ETTm2``  7         same months, 15 min: 34560/11520/11520
``WTH``       ``WTH.csv``              12        28/10/10 months: 20160/7200/7200
``ILI``       ``national_illness.csv`` 7         0.7/0.1/0.2 of the rows (966: 676/97/193)
``ECL``       ``ECL.csv``              321       15/3/4 months: 10800/2160/2880
``Traffic``   ``traffic.csv``          862       0.7/0.1/0.2 of the rows
============  =======================  ========  ====================================

A :class:`StandardScaler` fitted on the training rows only normalises every split. Validation and
test windows start ``in_len`` rows before their border, so the first forecast of each split
starts at its border; a split of ``rows`` rows (counted from its window start) holds
``rows − in_len − out_len + 1`` samples ``(x (in_len, D), y (out_len, D))``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..lit.datamodule import SplitDataModule
from .paths import require_file

__all__ = [
    "SPLITS",
    "TimeSeriesSpec",
    "TIMESERIES",
    "split_borders",
    "load_timeseries",
    "StandardScaler",
    "WindowDataset",
    "TimeSeriesDataModule",
]

#: Names of the three splits, in order.
SPLITS = ("train", "val", "test")

_HOURS_PER_MONTH = 30 * 24


@dataclass(frozen=True)
class TimeSeriesSpec:
    """A forecasting benchmark: its file under the data root, number of series and split.

    ``split`` holds three row counts (train, val, test) or three fractions of the file's rows
    (``int(n·train)`` training and ``int(n·test)`` test rows, the rest validation, as the original).
    """

    file: str
    num_series: int
    split: tuple[float, float, float] | tuple[int, int, int]
    source: str


_ETT = "ETT (Zhou et al. 2021), github.com/zhouhaoyi/ETDataset, ETT-small/"
TIMESERIES: dict[str, TimeSeriesSpec] = {
    "ETTh1": TimeSeriesSpec("timeseries/ETTh1.csv", 7, (12 * _HOURS_PER_MONTH, 4 * _HOURS_PER_MONTH, 4 * _HOURS_PER_MONTH), _ETT),
    "ETTh2": TimeSeriesSpec("timeseries/ETTh2.csv", 7, (12 * _HOURS_PER_MONTH, 4 * _HOURS_PER_MONTH, 4 * _HOURS_PER_MONTH), _ETT),
    "ETTm1": TimeSeriesSpec("timeseries/ETTm1.csv", 7, (48 * _HOURS_PER_MONTH, 16 * _HOURS_PER_MONTH, 16 * _HOURS_PER_MONTH), _ETT),
    "ETTm2": TimeSeriesSpec("timeseries/ETTm2.csv", 7, (48 * _HOURS_PER_MONTH, 16 * _HOURS_PER_MONTH, 16 * _HOURS_PER_MONTH), _ETT),
    "WTH": TimeSeriesSpec(
        "timeseries/WTH.csv", 12, (28 * _HOURS_PER_MONTH, 10 * _HOURS_PER_MONTH, 10 * _HOURS_PER_MONTH), "Informer's 12-variable weather set, github.com/zhouhaoyi/Informer2020"
    ),
    "ILI": TimeSeriesSpec("timeseries/national_illness.csv", 7, (0.7, 0.1, 0.2), "Autoformer's illness set, github.com/thuml/Autoformer"),
    "ECL": TimeSeriesSpec(
        "timeseries/ECL.csv", 321, (15 * _HOURS_PER_MONTH, 3 * _HOURS_PER_MONTH, 4 * _HOURS_PER_MONTH), "Informer's ECL.csv (321 clients), github.com/zhouhaoyi/Informer2020"
    ),
    "Traffic": TimeSeriesSpec("timeseries/traffic.csv", 862, (0.7, 0.1, 0.2), "Autoformer's traffic.csv (862 sensors), github.com/thuml/Autoformer"),
}


def _spec(dataset: str) -> TimeSeriesSpec:
    if dataset not in TIMESERIES:
        raise ValueError(f"dataset must be one of {sorted(TIMESERIES)}; got {dataset!r}")
    return TIMESERIES[dataset]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return value


def split_borders(num_rows: int, split: tuple[float, float, float] | tuple[int, int, int], in_len: int) -> dict[str, tuple[int, int]]:
    """Row ranges ``[start, end)`` of the train, val and test windows.

    Args:
        num_rows: rows in the file.
        split: three row counts, or three fractions of ``num_rows``.
        in_len: input length; val and test start ``in_len`` rows before their border.
    """
    if len(split) != 3:
        raise ValueError(f"split must hold three values (train, val, test); got {split!r}")
    if all(isinstance(s, int) and not isinstance(s, bool) for s in split):
        train, val, test = split
    elif all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s < 1 for s in split):
        train, test = int(num_rows * split[0]), int(num_rows * split[2])
        val = num_rows - train - test
    else:
        raise ValueError(f"split must be three positive row counts (ints) or three fractions in (0, 1); got {split!r}")
    if min(train, val, test) < 1 or train + val + test > num_rows:
        raise ValueError(f"split {split!r} needs {train} + {val} + {test} = {train + val + test} rows; the file has {num_rows}")
    if in_len > train:
        raise ValueError(f"in_len ({in_len}) must not exceed the training rows ({train})")
    return {"train": (0, train), "val": (train - in_len, train + val), "test": (train + val - in_len, train + val + test)}


def load_timeseries(dataset: str, root: str | os.PathLike[str] | None = None) -> np.ndarray:
    """The values ``(rows, D)`` (float64) of a benchmark CSV, without its date column."""
    spec = _spec(dataset)
    path = require_file(spec.file, root, f"{dataset} is {spec.source}; put it in {Path(spec.file).parent}/")
    with path.open() as handle:
        header = handle.readline().rstrip("\r\n").split(",")
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(header)), dtype=np.float64, ndmin=2)
    if values.shape[1] != spec.num_series:
        raise ValueError(f"{str(path)!r} has {values.shape[1]} series after the date column; {dataset} has {spec.num_series}")
    return values


class StandardScaler:
    """Per-series standardisation ``(x − mean) / std`` with statistics of the training rows.

    ``std`` is the population standard deviation (``ddof=0``), as the original code.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)

    @classmethod
    def fit(cls, values: np.ndarray) -> StandardScaler:
        """Statistics of ``values (rows, D)``."""
        return cls(values.mean(axis=0), values.std(axis=0))

    def transform(self, values: np.ndarray | Tensor) -> np.ndarray | Tensor:
        mean, std = self._like(values)
        return (values - mean) / std

    def inverse_transform(self, values: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Back to the original units: ``values · std + mean`` (any ``(..., D)`` array or tensor)."""
        mean, std = self._like(values)
        return values * std + mean

    def _like(self, values: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        if isinstance(values, Tensor):
            return torch.as_tensor(self.mean, dtype=values.dtype, device=values.device), torch.as_tensor(self.std, dtype=values.dtype, device=values.device)
        return self.mean, self.std


class WindowDataset(Dataset):
    """Sliding windows over a series ``(rows, D)``: sample ``i`` is ``(x[i : i+in_len], x[i+in_len : i+in_len+out_len])``."""

    def __init__(self, values: np.ndarray | Tensor, in_len: int, out_len: int) -> None:
        self.values = torch.as_tensor(values, dtype=torch.float32)
        if self.values.dim() != 2:
            raise ValueError(f"values must be 2-D (rows, D); got shape {tuple(self.values.shape)}")
        self.in_len, self.out_len = _positive("in_len", in_len), _positive("out_len", out_len)
        if self.values.shape[0] - in_len - out_len + 1 < 1:
            raise ValueError(f"{self.values.shape[0]} rows hold no window of in_len + out_len = {in_len + out_len} rows")

    def __len__(self) -> int:
        return self.values.shape[0] - self.in_len - self.out_len + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} windows")
        middle = index + self.in_len
        return self.values[index:middle], self.values[middle : middle + self.out_len]


class TimeSeriesDataModule(SplitDataModule):
    """Train/val/test windows of a benchmark, normalised with training-row statistics.

    Args:
        dataset: a name in :data:`TIMESERIES` (``"ETTh1"``, ``"ILI"``, …).
        in_len: input length T.
        out_len: forecast length τ.
        data_root: data root (default ``$HOPFIELD_DATA``).
        batch_size, eval_batch_size, num_workers: see :class:`~hopfield_layers.lit.datamodule.SplitDataModule`.

    Batches are ``(x (B, in_len, D), y (B, out_len, D))``. After :meth:`setup`, ``scaler`` holds
    the training statistics and ``splits`` the three :class:`WindowDataset`\\ s.
    """

    def __init__(
        self,
        dataset: str,
        in_len: int,
        out_len: int,
        batch_size: int = 32,
        data_root: str | None = None,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, num_workers=num_workers)
        self.spec = _spec(dataset)
        self.dataset = dataset
        self.in_len, self.out_len = _positive("in_len", in_len), _positive("out_len", out_len)
        self.data_root = data_root
        self.scaler: StandardScaler | None = None

    @property
    def num_series(self) -> int:
        """Number of series D of the benchmark."""
        return self.spec.num_series

    def build(self, stage: str | None) -> dict[str, WindowDataset]:
        values = load_timeseries(self.dataset, self.data_root)
        borders = split_borders(values.shape[0], self.spec.split, self.in_len)
        self.scaler = StandardScaler.fit(values[slice(*borders["train"])])
        scaled = self.scaler.transform(values)
        return {name: WindowDataset(scaled[start:end], self.in_len, self.out_len) for name, (start, end) in borders.items()}
