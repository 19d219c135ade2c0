"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def data_root() -> Path:
    """The shared data folder (``$HOPFIELD_DATA``); tests that need real data skip without it."""
    root = os.environ.get("HOPFIELD_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("HOPFIELD_DATA is not set to an existing folder")
    return Path(root)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread for tests of tiny models (several threads only contend on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
