"""Forecasting benchmarks: borders, sample counts and scaling on the real files and on generated CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hopfield_layers.data import DataNotFoundError
from hopfield_layers.data.timeseries import TIMESERIES, StandardScaler, TimeSeriesDataModule, WindowDataset, load_timeseries, split_borders


def _write_csv(root: Path, file: str, rows: int, series: int, seed: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=(rows, series)).round(4) * 10 + np.arange(series)
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["date," + ",".join(f"s{j}" for j in range(series))]
    lines += [f"2020-01-01 {i:05d}," + ",".join(f"{v:.4f}" for v in row) for i, row in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return values


# ---------------------------------------------------------------------------------------------- real files
@pytest.mark.parametrize(
    "dataset,in_len,out_len,rows,samples",
    [
        ("ETTh1", 168, 24, (8640, 2880, 2880), (8449, 2857, 2857)),
        ("ETTh2", 720, 720, (8640, 2880, 2880), (7201, 2161, 2161)),
        ("ETTm1", 288, 24, (34560, 11520, 11520), (34249, 11497, 11497)),
        ("ETTm2", 672, 672, (34560, 11520, 11520), (33217, 10849, 10849)),
        ("WTH", 48, 24, (20160, 7200, 7200), (20089, 7177, 7177)),
        ("ILI", 48, 24, (676, 97, 193), (605, 74, 170)),
        ("ILI", 60, 60, (676, 97, 193), (557, 38, 134)),
    ],
)
def test_real_borders_and_sample_counts(data_root: Path, dataset: str, in_len: int, out_len: int, rows: tuple, samples: tuple) -> None:
    values = load_timeseries(dataset, data_root)
    borders = split_borders(values.shape[0], TIMESERIES[dataset].split, in_len)
    train, val, test = rows
    assert borders == {"train": (0, train), "val": (train - in_len, train + val), "test": (train + val - in_len, train + val + test)}
    module = TimeSeriesDataModule(dataset, in_len, out_len, data_root=str(data_root))
    module.setup()
    assert tuple(len(module.splits[s]) for s in ("train", "val", "test")) == samples
    assert module.num_series == values.shape[1] == TIMESERIES[dataset].num_series


def test_real_scaler_uses_training_rows_and_windows_start_at_borders(data_root: Path) -> None:
    module = TimeSeriesDataModule("ETTh1", 168, 24, data_root=str(data_root))
    module.setup()
    raw = load_timeseries("ETTh1", data_root)
    np.testing.assert_allclose(module.scaler.mean, raw[:8640].mean(0))
    np.testing.assert_allclose(module.scaler.std, raw[:8640].std(0))
    train = module.splits["train"].values
    torch.testing.assert_close(train.mean(0), torch.zeros(7), atol=1e-4, rtol=0)
    torch.testing.assert_close(train.std(0, unbiased=False), torch.ones(7), atol=1e-4, rtol=0)
    expected = torch.as_tensor((raw - raw[:8640].mean(0)) / raw[:8640].std(0), dtype=torch.float32)
    x, y = module.splits["val"][0]
    torch.testing.assert_close(x, expected[8640 - 168 : 8640])  # history ends at the border
    torch.testing.assert_close(y, expected[8640 : 8640 + 24])  # first forecast starts at the border
    x, y = module.splits["test"][len(module.splits["test"]) - 1]
    torch.testing.assert_close(y[-1], expected[14400 - 1])  # last test target is the last test row


# ---------------------------------------------------------------------------------------------- generated files
def test_generated_fraction_split(tmp_path: Path) -> None:
    raw = _write_csv(tmp_path, "timeseries/national_illness.csv", rows=100, series=7)
    module = TimeSeriesDataModule("ILI", in_len=8, out_len=4, batch_size=16, data_root=str(tmp_path))
    module.setup()
    # int(0.7·100) = 70 train, int(0.2·100) = 20 test, 10 val; val/test start in_len rows early
    assert {s: len(d) for s, d in module.splits.items()} == {"train": 70 - 12 + 1, "val": 18 - 12 + 1, "test": 28 - 12 + 1}
    np.testing.assert_allclose(module.scaler.mean, raw[:70].mean(0), rtol=1e-12)
    x, y = next(iter(module.train_dataloader()))
    assert x.shape == (16, 8, 7) and y.shape == (16, 4, 7) and x.dtype == torch.float32
    assert sum(len(b[0]) for b in module.test_dataloader()) == 17
    torch.testing.assert_close(module.scaler.inverse_transform(module.splits["test"][0][1]), torch.as_tensor(raw[80:84], dtype=torch.float32), atol=1e-3, rtol=1e-5)


def test_generated_row_split(tmp_path: Path) -> None:
    _write_csv(tmp_path, "timeseries/ETTh1.csv", rows=14500, series=7)
    module = TimeSeriesDataModule("ETTh1", in_len=24, out_len=12, data_root=str(tmp_path))
    module.setup()
    assert {s: len(d) for s, d in module.splits.items()} == {"train": 8640 - 35, "val": 2880 - 11, "test": 2880 - 11}


def test_traffic_loads_when_supplied(tmp_path: Path) -> None:
    _write_csv(tmp_path, "timeseries/traffic.csv", rows=60, series=862)
    module = TimeSeriesDataModule("Traffic", in_len=4, out_len=2, data_root=str(tmp_path))
    module.setup()
    assert module.splits["train"].values.shape == (42, 862) and len(module.splits["test"]) == 12 + 4 - 6 + 1


@pytest.mark.parametrize("dataset,file", [("ECL", "timeseries/ECL.csv"), ("Traffic", "timeseries/traffic.csv")])
def test_missing_file_names_it(tmp_path: Path, dataset: str, file: str) -> None:
    with pytest.raises(DataNotFoundError, match=f"missing data file .*expected '{file}' under the data root"):
        TimeSeriesDataModule(dataset, 96, 24, data_root=str(tmp_path)).setup()


def test_window_dataset_counts_and_contents() -> None:
    values = torch.arange(20.0).reshape(10, 2)
    windows = WindowDataset(values, in_len=3, out_len=2)
    assert len(windows) == 10 - 3 - 2 + 1
    x, y = windows[5]
    torch.testing.assert_close(x, values[5:8])
    torch.testing.assert_close(y, values[8:10])


def test_standard_scaler_round_trip() -> None:
    data = np.random.default_rng(1).normal(3.0, 2.0, size=(50, 4))
    scaler = StandardScaler.fit(data)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(data)), data)
    tensor = torch.as_tensor(data, dtype=torch.float32)
    torch.testing.assert_close(scaler.inverse_transform(scaler.transform(tensor)), tensor, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------- errors
def test_error_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="dataset must be one of .*'ETTh1'.*got 'ETTh3'"):
        TimeSeriesDataModule("ETTh3", 96, 24)


def test_error_split_larger_than_file() -> None:
    with pytest.raises(ValueError, match=r"needs 8640 \+ 2880 \+ 2880 = 14400 rows; the file has 1000"):
        split_borders(1000, TIMESERIES["ETTh1"].split, 96)


def test_error_split_values() -> None:
    with pytest.raises(ValueError, match="split must be three positive row counts"):
        split_borders(1000, (0.7, 0.1, 2), 96)


def test_error_in_len_longer_than_training_rows() -> None:
    with pytest.raises(ValueError, match=r"in_len \(800\) must not exceed the training rows \(676\)"):
        split_borders(966, (0.7, 0.1, 0.2), 800)


def test_error_wrong_number_of_series(tmp_path: Path) -> None:
    _write_csv(tmp_path, "timeseries/WTH.csv", rows=10, series=5)
    with pytest.raises(ValueError, match="has 5 series after the date column; WTH has 12"):
        load_timeseries("WTH", tmp_path)


def test_error_too_few_rows_for_a_window() -> None:
    with pytest.raises(ValueError, match=r"4 rows hold no window of in_len \+ out_len = 5 rows"):
        WindowDataset(torch.zeros(4, 2), in_len=3, out_len=2)


def test_error_window_values_shape() -> None:
    with pytest.raises(ValueError, match=r"values must be 2-D \(rows, D\); got shape \(4,\)"):
        WindowDataset(torch.zeros(4), in_len=1, out_len=1)


def test_error_window_index() -> None:
    with pytest.raises(IndexError, match="index 6 out of range for 6 windows"):
        WindowDataset(torch.zeros(10, 2), in_len=3, out_len=2)[6]


def test_error_non_positive_length() -> None:
    with pytest.raises(ValueError, match="out_len must be a positive int; got 0"):
        TimeSeriesDataModule("ILI", 48, 0)
