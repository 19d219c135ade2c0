"""experiments/reproduce_vision.py --quick: a trained row on a tiny CIFAR-10, the awaiting-data report and the step timing."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from test_vision_data import write_cifar

from hopfield_layers.data import vision
from hopfield_layers.data.vision import CIFAR10

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "reproduce_vision.py"

pytestmark = pytest.mark.usefixtures("one_thread")


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    """Run the script's main() in this process (saves the interpreter and Lightning start-up)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the script imports experiments/bench_layers.py
    spec = importlib.util.spec_from_file_location("reproduce_vision", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "reproduce_vision", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--quick", *args])
    module.main()


def test_quick_trains_cifar10_and_reports_the_missing_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = tmp_path / "data", tmp_path / "vision.md"
    monkeypatch.setattr(vision, "CIFAR10", write_cifar(root, CIFAR10, per_file=24))  # 120 training images, checksums of this test
    run(monkeypatch, "--root", str(root), "--out", str(out))
    text = out.read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and "**Seeds:** 0, 1" in text
    # CIFAR-10 trained through the hopfield-layers CLI: every variant, two seeds
    assert re.search(r"\| CIFAR-10 \| 0\.5123 \| 0\.5489 \| 0\.5637 \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \|", text)
    selected = text.split("Selected settings")[1].split("###")[0]
    for variant in ("M-Hop", "sparse", "A-Hop"):
        assert re.search(rf"\| CIFAR-10 \| {variant} \| 1 \| 0\.001 \| 0\.\d{{4}} \| 0\.\d{{4}} ± 0\.\d{{4}} \| \d+\.\d\d \| \d+\.\d\d \|", selected), variant
    assert "| CIFAR-10 | M-Hop | 1 | 0.001 |" in selected and selected.split("| CIFAR-10 | M-Hop |")[1].split("\n")[0].endswith("| 1.00 |")
    # the others await data, saying what to put where and how to fill the table
    assert "| CIFAR-100 | 0.2464 | 0.2877 | 0.2904 | awaits data | awaits data | awaits data |" in text
    assert "| Tiny ImageNet | 0.1095 | 0.1164 | 0.1213 | awaits data |" in text
    assert f"expected 'cifar-100-python/train' under the data root '{root}'" in text and "tiny-imagenet-200.zip" in text
    assert "python experiments/reproduce_vision.py --download --datasets cifar100 tinyimagenet" in text
    # CPU step timing of every variant, relative to M-Hop
    timing = text.split("Time per training step")[1]
    assert "CPU step times, NOT GPU epoch times" in timing
    for row in ("M-Hop", "sparse", "A-Hop", "entmax (α = 1.5)", "M-Hop + HopfieldLayer MLP"):
        assert re.search(rf"\| {re.escape(row)} \| \d+\.\d \| \d+\.\d\d \|", timing), row
    assert re.search(r"\| M-Hop \| \d+\.\d \| 1\.00 \|", timing)
