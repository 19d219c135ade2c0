"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

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


@pytest.fixture
def load_script(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], ModuleType]:
    """Import a script (``experiments/*.py``, ``configs/*/generate.py``) as a module named after its file.

    The module is in ``sys.modules`` for the test (dataclasses look their module up there) and removed after it.
    """

    def load(path: Path) -> ModuleType:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load
