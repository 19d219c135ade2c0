"""MIL data: bit-pattern generator, benchmark loaders (real files and malformed ones), padding, splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import torch

from hopfield_layers.data import DataNotFoundError
from hopfield_layers.data.mil import (
    BagDataset,
    BitPatternDataModule,
    MILBenchmarkDataModule,
    bit_pattern_bags,
    bit_pattern_signals,
    collate_bags,
    load_mil_benchmark,
)
from hopfield_layers.data.splits import stratified_folds, stratified_holdout


def _codes(bits: torch.Tensor) -> torch.Tensor:
    return (bits.long() << torch.arange(bits.shape[-1])).sum(-1)


# ---------------------------------------------------------------------- bit patterns
def test_bit_pattern_bags_hold_signals_exactly_in_positive_bags() -> None:
    generator = torch.Generator().manual_seed(1)
    signals = bit_pattern_signals(5, 6, generator)
    assert signals.shape == (5, 6) and _codes(signals).unique().numel() == 5 and bool((_codes(signals) > 0).all())
    bags, labels = bit_pattern_bags(40, 30, signals, num_positive=3, generator=generator)
    assert bags.shape == (40, 30, 6) and labels.shape == (40,) and labels.sum() == 20
    is_signal = torch.isin(_codes(bags), _codes(signals))
    assert torch.equal(is_signal.sum(1), (labels * 3).long())  # 3 signals in every positive bag, none elsewhere
    assert bool((_codes(bags) > 0).all())  # no all-zero instance


def test_bit_pattern_bags_are_reproducible_and_balanced() -> None:
    signals = bit_pattern_signals(4, 8, torch.Generator().manual_seed(0))
    a = bit_pattern_bags(10, 7, signals, positive_fraction=0.3, generator=torch.Generator().manual_seed(3))
    b = bit_pattern_bags(10, 7, signals, positive_fraction=0.3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[1].sum() == 3


def test_bit_pattern_errors() -> None:
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="num_signals must be smaller than the 3"):
        bit_pattern_signals(3, 2, generator)
    with pytest.raises(ValueError, match="num_bits"):
        bit_pattern_signals(3, 0, generator)
    signals = bit_pattern_signals(2, 4, generator)
    with pytest.raises(ValueError, match="num_positive must be at most bag_size = 3"):
        bit_pattern_bags(4, 3, signals, num_positive=4)
    with pytest.raises(ValueError, match="positive_fraction"):
        bit_pattern_bags(4, 3, signals, positive_fraction=1.5)
    with pytest.raises(ValueError, match="signals must be a"):
        bit_pattern_bags(4, 3, torch.zeros(4))
    with pytest.raises(ValueError, match="num_positive must be at most bag_size"):
        BitPatternDataModule(bag_size=5, num_positive=6)


def test_bit_pattern_data_module_splits_share_signals() -> None:
    data = BitPatternDataModule(bag_size=12, num_bits=6, num_signals=3, num_train=16, num_val=8, num_test=8, batch_size=4, seed=2)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["bags"].shape == (4, 12, 6) and batch["padding_mask"] is None and batch["target"].shape == (4,)
    signals = bit_pattern_signals(3, 6, torch.Generator().manual_seed(2))
    for split in ("train", "val", "test"):
        dataset = data.splits[split]
        found = torch.isin(_codes(torch.stack([bag for bag, _ in dataset])), _codes(signals)).any(1).float()
        assert torch.equal(found, dataset.labels)


# ---------------------------------------------------------------------- padding
def test_collate_pads_variable_bags_with_a_mask() -> None:
    items = [(torch.ones(2, 3), torch.tensor(1.0)), (torch.full((4, 3), 2.0), torch.tensor(0.0))]
    batch = collate_bags(items)
    assert batch["bags"].shape == (2, 4, 3)
    assert batch["padding_mask"].tolist() == [[False, False, True, True], [False] * 4]
    assert batch["bags"][0, 2:].abs().sum() == 0 and batch["target"].tolist() == [1.0, 0.0]


def test_bag_dataset_errors() -> None:
    with pytest.raises(ValueError, match="same length"):
        BagDataset([torch.ones(2, 3)], torch.zeros(2))
    with pytest.raises(ValueError, match="same number of features"):
        BagDataset([torch.ones(2, 3), torch.ones(2, 4)], torch.zeros(2))


# ---------------------------------------------------------------------- splits
def test_stratified_folds_partition_and_balance() -> None:
    labels = np.array([0] * 13 + [1] * 7)
    folds = stratified_folds(labels, 5, seed=1)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(20))
    for train, test in folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 20
        assert labels[test].sum() in (1, 2) and len(test) == 4
    assert [t.tolist() for _, t in stratified_folds(labels, 5, seed=1)] == [t.tolist() for _, t in folds]


def test_stratified_holdout_keeps_every_class() -> None:
    labels = np.array([0] * 18 + [1] * 2)
    kept, held = stratified_holdout(labels, 0.1, seed=0)
    assert len(held) == 2 and sorted(np.concatenate([kept, held]).tolist()) == list(range(20))
    assert set(labels[kept]) == {0, 1}


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="num_folds must be an int in"):
        stratified_folds([0, 1, 0], 4)
    with pytest.raises(ValueError, match="fraction must be a float in"):
        stratified_holdout([0, 1, 0], 1.0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        stratified_folds([], 2)


# ---------------------------------------------------------------------- benchmark files
@pytest.mark.parametrize(("name", "bags", "positive", "features", "instances"), [("fox", 200, 100, 230, 1320), ("musk1", 92, 47, 166, 476)])
def test_load_real_benchmarks(data_root: Path, name: str, bags: int, positive: int, features: int, instances: int) -> None:
    bag_list, labels = load_mil_benchmark(name, data_root)
    assert len(bag_list) == bags and int(labels.sum()) == positive
    assert {b.shape[1] for b in bag_list} == {features} and sum(b.shape[0] for b in bag_list) == instances


def test_benchmark_data_module_folds(data_root: Path) -> None:
    seen = []
    for fold in range(3):
        data = MILBenchmarkDataModule("musk1", root=str(data_root), fold=fold, num_folds=3, batch_size=8)
        data.setup("fit")
        sizes = {split: len(dataset) for split, dataset in data.splits.items()}
        assert sum(sizes.values()) == 92 and sizes["val"] >= 2
        seen.append(data.splits["test"].labels.sum().item())
        train_instances = torch.cat(list(data.splits["train"].bags))
        assert torch.allclose(train_instances.mean(0), torch.zeros(166), atol=1e-4)  # standardised on the training bags
    assert sum(seen) == 47
    batch = next(iter(data.train_dataloader()))
    assert batch["padding_mask"] is not None and batch["bags"].shape[0] == 8


def _write_mat(path: Path, **variables: object) -> Path:
    scipy.io.savemat(path, variables)
    return path


def test_mat_loader_reads_sparse_features(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "mil").mkdir(parents=True)
    features = scipy.sparse.csr_matrix(np.arange(12, dtype=float).reshape(4, 3))
    _write_mat(
        root / "mil" / "tiger_100x100.mat", features=features, bag_ids=np.array([[2, 1, 2, 1]], dtype=np.uint8), labels=scipy.sparse.csr_matrix(np.array([[1.0, -1.0, -1.0, -1.0]]))
    )
    bags, labels = load_mil_benchmark("tiger", root)
    assert [b.tolist() for b in bags] == [[[3, 4, 5], [9, 10, 11]], [[0, 1, 2], [6, 7, 8]]] and labels.tolist() == [0.0, 1.0]


def test_malformed_files_name_the_file_and_the_expectation(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "mil").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="elephant_100x100.mat"):
        load_mil_benchmark("elephant", root)
    _write_mat(root / "mil" / "elephant_100x100.mat", features=np.ones((3, 2)), labels=np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"elephant_100x100.mat.*expected the variables.*missing \['bag_ids'\]"):
        load_mil_benchmark("elephant", root)
    _write_mat(root / "mil" / "fox_100x100.mat", features=np.ones((3, 2)), bag_ids=np.ones((1, 2)), labels=np.ones((1, 3)))
    with pytest.raises(ValueError, match="fox_100x100.mat.*one bag id and one label per instance"):
        load_mil_benchmark("fox", root)
    (root / "mil" / "tiger_100x100.mat").write_text("not a mat file")
    with pytest.raises(ValueError, match="tiger_100x100.mat.*not a readable MATLAB"):
        load_mil_benchmark("tiger", root)
    (root / "mil" / "musk1.csv").write_text("1,1\n0,2\n")
    with pytest.raises(ValueError, match="musk1.csv.*at least 3 columns"):
        load_mil_benchmark("musk1", root)
    (root / "mil" / "musk2.csv").write_text("2,1,0.5\n")
    with pytest.raises(ValueError, match=r"musk2.csv.*column 0 \(label\) must be 0 or 1"):
        load_mil_benchmark("musk2", root)
    (root / "mil" / "ucsb_breast_cancer.csv").write_text("1,1,abc\n")
    with pytest.raises(ValueError, match="ucsb_breast_cancer.csv.*numeric CSV"):
        load_mil_benchmark("ucsb", root)
    with pytest.raises(ValueError, match="unknown MIL benchmark 'cats'"):
        load_mil_benchmark("cats", root)


def test_benchmark_data_module_errors(tmp_path: Path) -> None:
    (tmp_path / "mil").mkdir()
    (tmp_path / "mil" / "fox_100x100.mat").write_bytes(b"")
    with pytest.raises(ValueError, match="unknown MIL benchmark"):
        MILBenchmarkDataModule("cats", root=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="tiger_100x100.mat"):
        MILBenchmarkDataModule("tiger", root=str(tmp_path))
    with pytest.raises(ValueError, match=r"fold must be an int in \[0, num_folds\)"):
        MILBenchmarkDataModule("fox", root=str(tmp_path), fold=10)
    with pytest.raises(ValueError, match="val_fraction"):
        MILBenchmarkDataModule("fox", root=str(tmp_path), val_fraction=0.0)
