"""Stratified splits of labelled samples: k folds for cross-validation and a hold-out fraction.

Deterministic for a given seed, numpy only (no scikit-learn needed). Every class is spread over the
folds round-robin after a seeded shuffle, so fold sizes and class ratios differ by at most one sample
per class between folds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["stratified_folds", "stratified_holdout"]


def _as_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence; got shape {array.shape}")
    return array


def stratified_folds(labels: Sequence[int] | np.ndarray, num_folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``num_folds`` (train indices, test indices) pairs; every sample is in exactly one test fold.

    Args:
        labels: class label per sample ``(N,)``.
        num_folds: number of folds k (2 ≤ k ≤ N).
        seed: shuffling seed.
    """
    labels = _as_labels(labels)
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or not 2 <= num_folds <= labels.size:
        raise ValueError(f"num_folds must be an int in [2, {labels.size}] (the number of samples); got {num_folds!r}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(labels.size, dtype=np.int64)
    offset = 0
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold_of[members] = (np.arange(members.size) + offset) % num_folds
        offset += members.size  # continue the round-robin so small classes do not all land in fold 0
    everything = np.arange(labels.size)
    return [(everything[fold_of != k], everything[fold_of == k]) for k in range(num_folds)]


def stratified_holdout(labels: Sequence[int] | np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(kept indices, held-out indices) with about ``fraction`` of every class held out (at least one sample in all).

    Args:
        labels: class label per sample ``(N,)``.
        fraction: share of the samples to hold out, in (0, 1).
        seed: shuffling seed.
    """
    labels = _as_labels(labels)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be a float in (0, 1); got {fraction!r}")
    if labels.size < 2:
        raise ValueError(f"a hold-out split needs at least 2 samples; got {labels.size}")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        count = min(members.size - 1, int(round(fraction * members.size))) if members.size > 1 else 0
        held.append(members[:count])
    held_out = np.sort(np.concatenate(held))
    if held_out.size == 0:  # every class too small to spare a sample: hold out one at random
        held_out = np.sort(rng.permutation(labels.size)[:1])
    kept = np.setdiff1d(np.arange(labels.size), held_out)
    return kept, held_out
