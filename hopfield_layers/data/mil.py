"""Multiple-instance learning (MIL) data: bags of instances with one label per bag.

* :func:`bit_pattern_bags`: the synthetic bit-pattern task (Ramsauer et al. 2021; Hu et al. 2023,
  Appendix H.1.1). Instances are non-zero bit strings; a few strings are *signals*, and a bag is
  positive exactly when it holds at least one signal. Negative bags and the other instances of
  positive bags never hold one.
* :func:`load_mil_benchmark`: the classic MIL benchmarks under ``$HOPFIELD_DATA/mil``: Elephant, Fox
  and Tiger (Andrews et al. 2002; MATLAB files with sparse ``features``, ``bag_ids`` and ``labels``),
  UCSB breast cancer and Musk1/Musk2 (CSV without header: label, bag id, features).
* :class:`BagDataset` and :func:`collate_bags`: bags of different sizes padded per batch into
  ``bags (N, S, F)`` with ``padding_mask (N, S)`` (``True`` = padding), the batch layout the MIL
  networks take (:mod:`hopfield_layers.models.mil`).
* :class:`BitPatternDataModule` and :class:`MILBenchmarkDataModule`: Lightning data modules for the
  recipes (``configs/mil/``); the benchmark module serves one fold of a stratified k-fold
  cross-validation with a stratified validation hold-out from the training part.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..lit.datamodule import SplitDataModule
from .paths import require_file
from .splits import stratified_folds, stratified_holdout

__all__ = [
    "MIL_BENCHMARKS",
    "BagDataset",
    "collate_bags",
    "bit_pattern_signals",
    "bit_pattern_bags",
    "load_mil_benchmark",
    "BitPatternDataModule",
    "MILBenchmarkDataModule",
]

#: benchmark name → file under the data root.
MIL_BENCHMARKS: dict[str, str] = {
    "elephant": "mil/elephant_100x100.mat",
    "fox": "mil/fox_100x100.mat",
    "tiger": "mil/tiger_100x100.mat",
    "ucsb": "mil/ucsb_breast_cancer.csv",
    "musk1": "mil/musk1.csv",
    "musk2": "mil/musk2.csv",
}


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}")
    return value


# ---------------------------------------------------------------------- bags and batches
class BagDataset(Dataset):
    """Bags ``(S_i, F)`` with binary labels; item ``i`` is ``(bag_i, label_i)``.

    Args:
        bags: a list of ``(S_i, F)`` tensors or one ``(B, S, F)`` tensor (equal bag sizes).
        labels: ``(B,)`` bag labels (0/1).
    """

    def __init__(self, bags: Sequence[Tensor] | Tensor, labels: Tensor) -> None:
        if len(bags) != len(labels):
            raise ValueError(f"bags and labels must have the same length; got {len(bags)} bags and {len(labels)} labels")
        features = {bag.shape[-1] for bag in bags}
        if any(bag.dim() != 2 for bag in bags) or len(features) > 1:
            raise ValueError(f"every bag must be a 2-D (instances, features) tensor with the same number of features; got feature sizes {sorted(features)}")
        self.bags = bags
        self.labels = labels.float()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.bags[index], self.labels[index]

    @property
    def num_features(self) -> int:
        return self.bags[0].shape[-1]


def collate_bags(items: Sequence[tuple[Tensor, Tensor]]) -> dict[str, Tensor | None]:
    """Pad a list of ``(bag (S_i, F), label)`` to ``{"bags": (N, S, F), "padding_mask": (N, S) or None, "target": (N,)}``.

    ``S`` is the largest bag of the batch; ``padding_mask`` is ``True`` at padded instances and
    ``None`` when no bag of the batch is padded.
    """
    bags = [bag for bag, _ in items]
    sizes = torch.tensor([bag.shape[0] for bag in bags])
    target = torch.stack([label for _, label in items])
    if bool((sizes == sizes[0]).all()):
        return {"bags": torch.stack(bags), "padding_mask": None, "target": target}
    padded = torch.nn.utils.rnn.pad_sequence(bags, batch_first=True)
    padding_mask = torch.arange(padded.shape[1])[None, :] >= sizes[:, None]
    return {"bags": padded, "padding_mask": padding_mask, "target": target}


# ---------------------------------------------------------------------- bit patterns
def _codes_to_bits(codes: Tensor, num_bits: int) -> Tensor:
    return ((codes[..., None] >> torch.arange(num_bits)) & 1).float()


def _draw_codes(shape: tuple[int, ...], num_bits: int, exclude: Tensor, generator: torch.Generator) -> Tensor:
    """Uniform non-zero ``num_bits``-bit codes of the given shape, none of them in ``exclude``."""
    codes = torch.randint(1, 2**num_bits, shape, generator=generator)
    while True:
        bad = torch.isin(codes, exclude)
        count = int(bad.sum())
        if count == 0:
            return codes
        codes[bad] = torch.randint(1, 2**num_bits, (count,), generator=generator)


def bit_pattern_signals(num_signals: int, num_bits: int, generator: torch.Generator) -> Tensor:
    """``num_signals`` distinct non-zero bit strings ``(num_signals, num_bits)`` (0/1 floats)."""
    _positive_int("num_signals", num_signals)
    _positive_int("num_bits", num_bits)
    if num_bits > 62:
        raise ValueError(f"num_bits must be at most 62; got {num_bits}")
    if num_signals >= 2**num_bits - 1:
        raise ValueError(f"num_signals must be smaller than the {2**num_bits - 1} non-zero {num_bits}-bit strings (some must remain for the other instances); got {num_signals}")
    codes = torch.empty(0, dtype=torch.long)
    while codes.numel() < num_signals:
        codes = torch.cat([codes, _draw_codes((num_signals - codes.numel(),), num_bits, codes, generator)]).unique()
    return _codes_to_bits(codes[torch.randperm(codes.numel(), generator=generator)], num_bits)


def bit_pattern_bags(
    num_bags: int,
    bag_size: int,
    signals: Tensor,
    num_positive: int = 1,
    positive_fraction: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Bags of bit strings; the positive ones hold ``num_positive`` signals.

    Every instance is a non-zero bit string drawn uniformly from the strings that are not signals;
    in each positive bag ``num_positive`` distinct positions are then replaced by signals, each drawn
    uniformly from ``signals``. The bag order is random.

    Args:
        num_bags: number of bags B.
        bag_size: instances per bag S.
        signals: ``(K, num_bits)`` signal strings (from :func:`bit_pattern_signals`).
        num_positive: signals per positive bag (the bag sparsity is ``num_positive / bag_size``).
        positive_fraction: share of positive bags (rounded to a whole number of bags).
        generator: random generator (default: a fresh unseeded one).

    Returns:
        ``bags (B, S, num_bits)`` with 0/1 entries and ``labels (B,)`` (1 = positive).
    """
    _positive_int("num_bags", num_bags)
    _positive_int("bag_size", bag_size)
    _positive_int("num_positive", num_positive)
    if num_positive > bag_size:
        raise ValueError(f"num_positive must be at most bag_size = {bag_size}; got {num_positive}")
    if not isinstance(signals, Tensor) or signals.dim() != 2 or signals.shape[0] == 0:
        raise ValueError(f"signals must be a (num_signals, num_bits) tensor; got {getattr(signals, 'shape', type(signals).__name__)}")
    if isinstance(positive_fraction, bool) or not isinstance(positive_fraction, (int, float)) or not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must be a float in [0, 1]; got {positive_fraction!r}")
    generator = generator if generator is not None else torch.Generator()
    num_bits = signals.shape[1]
    signal_codes = (signals.long() << torch.arange(num_bits)).sum(dim=1)
    codes = _draw_codes((num_bags, bag_size), num_bits, signal_codes, generator)
    labels = torch.zeros(num_bags)
    labels[: int(round(positive_fraction * num_bags))] = 1.0
    labels = labels[torch.randperm(num_bags, generator=generator)]
    positive = labels.nonzero().flatten()
    positions = torch.rand(positive.numel(), bag_size, generator=generator).argsort(dim=1)[:, :num_positive]
    chosen = torch.randint(0, signal_codes.numel(), (positive.numel(), num_positive), generator=generator)
    codes[positive[:, None], positions] = signal_codes[chosen]
    return _codes_to_bits(codes, num_bits), labels


# ---------------------------------------------------------------------- real benchmarks
def _bags_from_instances(path: Path, features: np.ndarray, bag_ids: np.ndarray, instance_labels: np.ndarray) -> tuple[list[Tensor], Tensor]:
    if not (features.shape[0] == bag_ids.size == instance_labels.size):
        raise ValueError(
            f"{str(path)!r}: expected one bag id and one label per instance; got {features.shape[0]} instances, {bag_ids.size} bag ids and {instance_labels.size} labels"
        )
    if not np.isfinite(features).all():
        raise ValueError(f"{str(path)!r}: the features hold non-finite values")
    _, inverse = np.unique(bag_ids, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse)
    feature_tensor = torch.from_numpy(features[order].astype(np.float32))
    bags = list(torch.split(feature_tensor, counts.tolist()))
    labels = torch.from_numpy(np.maximum.reduceat(instance_labels[order], np.cumsum(counts) - counts).astype(np.float32))
    return bags, labels


def _read_mat(path: Path) -> tuple[list[Tensor], Tensor]:
    import scipy.io
    import scipy.sparse

    try:
        content = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises several types for a file that is not a MAT file
        raise ValueError(f"{str(path)!r} is not a readable MATLAB .mat file ({error})") from error
    missing = [key for key in ("features", "bag_ids", "labels") if key not in content]
    if missing:
        found = sorted(k for k in content if not k.startswith("__"))
        raise ValueError(f"{str(path)!r}: expected the variables 'features' (instances × features), 'bag_ids' and 'labels'; missing {missing}, found {found}")

    def dense(value: Any) -> np.ndarray:
        return np.asarray(value.toarray() if scipy.sparse.issparse(value) else value, dtype=np.float64)

    features = dense(content["features"])
    if features.ndim != 2:
        raise ValueError(f"{str(path)!r}: 'features' must be a 2-D (instances × features) matrix; got shape {features.shape}")
    labels = dense(content["labels"]).ravel()
    if not np.isin(labels, (-1.0, 0.0, 1.0)).all():
        raise ValueError(f"{str(path)!r}: 'labels' must be ±1 (or 0/1); got values {np.unique(labels)[:5].tolist()}")
    return _bags_from_instances(path, features, dense(content["bag_ids"]).ravel(), (labels > 0).astype(np.float64))


def _read_csv(path: Path) -> tuple[list[Tensor], Tensor]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise ValueError(f"{str(path)!r}: expected a numeric CSV without header (label, bag id, features...); {error}") from error
    if table.shape[1] < 3:
        raise ValueError(f"{str(path)!r}: expected at least 3 columns (label, bag id, features...); got {table.shape[1]}")
    labels = table[:, 0]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{str(path)!r}: column 0 (label) must be 0 or 1; got values {np.unique(labels)[:5].tolist()}")
    return _bags_from_instances(path, table[:, 2:], table[:, 1], labels)


@functools.lru_cache(maxsize=8)
def _read_benchmark(path: Path, modified_ns: int) -> tuple[list[Tensor], Tensor]:
    return _read_mat(path) if path.suffix == ".mat" else _read_csv(path)


def load_mil_benchmark(name: str, root: str | os.PathLike[str] | None = None) -> tuple[list[Tensor], Tensor]:
    """Load a MIL benchmark as a list of bags ``(S_i, F)`` (float32) and bag labels ``(B,)`` (0/1).

    Args:
        name: one of :data:`MIL_BENCHMARKS` (``elephant``, ``fox``, ``tiger``, ``ucsb``, ``musk1``, ``musk2``).
        root: data root (default ``$HOPFIELD_DATA``).

    A bag is positive when any of its instances is. Bags are ordered by bag id. The result is cached
    per file (and modification time); treat the tensors as read-only.
    """
    path = _benchmark_file(name, root).resolve()
    return _read_benchmark(path, path.stat().st_mtime_ns)


def _benchmark_file(name: str, root: str | os.PathLike[str] | None) -> Path:
    if not isinstance(name, str) or name.lower() not in MIL_BENCHMARKS:
        raise ValueError(f"unknown MIL benchmark {name!r}; expected one of {sorted(MIL_BENCHMARKS)}")
    relative = MIL_BENCHMARKS[name.lower()]
    return require_file(relative, root, f"the MIL benchmark files go in mil/ under the data root ({Path(relative).name})")


# ---------------------------------------------------------------------- data modules
class BitPatternDataModule(SplitDataModule):
    """Synthetic bit-pattern MIL: train/val/test bags generated from one seed (no files).

    The signals are shared by all splits; each split's bags come from their own generator, so the
    data depend only on the arguments (not on the global random state).

    Args:
        bag_size: instances per bag.
        num_positive: signals per positive bag (bag sparsity = ``num_positive / bag_size``).
        num_bits: length of the bit strings (instance features).
        num_signals: number of distinct signal strings.
        num_train, num_val, num_test: bags per split (half of them positive).
        seed: seed of the signals and bags.
        batch_size, eval_batch_size, num_workers: see :class:`~hopfield_layers.lit.datamodule.SplitDataModule`.
    """

    collate = staticmethod(collate_bags)

    def __init__(
        self,
        bag_size: int = 300,
        num_positive: int = 1,
        num_bits: int = 8,
        num_signals: int = 8,
        num_train: int = 2000,
        num_val: int = 500,
        num_test: int = 500,
        seed: int = 0,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, num_workers=num_workers)
        for name, value in (("num_train", num_train), ("num_val", num_val), ("num_test", num_test)):
            _positive_int(name, value)
        _positive_int("bag_size", bag_size)
        if _positive_int("num_positive", num_positive) > bag_size:
            raise ValueError(f"num_positive must be at most bag_size = {bag_size}; got {num_positive}")
        bit_pattern_signals(num_signals, num_bits, torch.Generator().manual_seed(0))  # validates num_signals / num_bits now
        self.bag_size, self.num_positive, self.num_bits, self.num_signals = bag_size, num_positive, num_bits, num_signals
        self.sizes = {"train": num_train, "val": num_val, "test": num_test}
        self.seed = int(seed)

    def build(self, stage: str | None) -> dict[str, Dataset]:
        signals = bit_pattern_signals(self.num_signals, self.num_bits, torch.Generator().manual_seed(self.seed))
        splits: dict[str, Dataset] = {}
        for offset, (split, size) in enumerate(self.sizes.items(), start=1):
            generator = torch.Generator().manual_seed(self.seed * 1000 + offset)
            splits[split] = BagDataset(*bit_pattern_bags(size, self.bag_size, signals, self.num_positive, generator=generator))
        return splits


class MILBenchmarkDataModule(SplitDataModule):
    """One fold of a stratified k-fold cross-validation on a MIL benchmark.

    The test split is fold ``fold``; the other folds are split once more (stratified) into training
    and validation bags (``val_fraction`` of them). Features are standardised with the mean and
    standard deviation of the training instances when ``standardize`` is set.

    Args:
        dataset: benchmark name (see :data:`MIL_BENCHMARKS`).
        root: data root (default ``$HOPFIELD_DATA``).
        fold: test fold index in ``[0, num_folds)``.
        num_folds: number of cross-validation folds.
        val_fraction: share of the training folds held out for validation, in (0, 1).
        split_seed: seed of the fold assignment and of the validation hold-out.
        standardize: standardise features with training-instance statistics.
        batch_size, eval_batch_size, num_workers: see :class:`~hopfield_layers.lit.datamodule.SplitDataModule`.
    """

    collate = staticmethod(collate_bags)

    def __init__(
        self,
        dataset: str,
        root: str | None = None,
        fold: int = 0,
        num_folds: int = 10,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        standardize: bool = True,
        batch_size: int = 4,
        eval_batch_size: int | None = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, num_workers=num_workers)
        _positive_int("num_folds", num_folds, minimum=2)
        if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < num_folds:
            raise ValueError(f"fold must be an int in [0, num_folds) = [0, {num_folds}); got {fold!r}")
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be a float in (0, 1); got {val_fraction!r}")
        _benchmark_file(dataset, root)  # a wrong name or a missing file fails here, when the config is built
        self.dataset, self.root = dataset.lower(), root
        self.fold, self.num_folds, self.val_fraction = fold, num_folds, float(val_fraction)
        self.split_seed, self.standardize = int(split_seed), bool(standardize)

    def build(self, stage: str | None) -> dict[str, Dataset]:
        bags, labels = load_mil_benchmark(self.dataset, self.root)
        train_val, test = stratified_folds(labels.numpy(), self.num_folds, self.split_seed)[self.fold]
        kept, held = stratified_holdout(labels[train_val].numpy(), self.val_fraction, self.split_seed + self.fold)
        indices = {"train": train_val[kept], "val": train_val[held], "test": test}
        if self.standardize:
            instances = torch.cat([bags[i] for i in indices["train"]])
            mean, std = instances.mean(dim=0), instances.std(dim=0).clamp_min(1e-6)
            bags = [(bag - mean) / std for bag in bags]
        return {split: BagDataset([bags[i] for i in index], labels[index]) for split, index in indices.items()}

    @property
    def num_features(self) -> int:
        bags, _ = load_mil_benchmark(self.dataset, self.root)
        return bags[0].shape[-1]
