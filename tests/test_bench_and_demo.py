"""The demo and the layer benchmark run end to end (quick mode) and write their results file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "demo.py"), "--num-patterns", "64", "--dim", "32"], capture_output=True, text=True, check=True)
    assert "sparsemax" in done.stdout and "retrieved" in done.stdout


def test_bench_layers_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    subprocess.run([sys.executable, str(ROOT / "experiments" / "bench_layers.py"), "--quick", "--out", str(out)], check=True, capture_output=True, text=True)
    text = out.read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and "**Date:**" in text
    assert "ratio to nn.MultiheadAttention" in text and "| 256 |" in text and "| ok |" in text
    assert "### Separations on scores (2, 2, 16, 16)" in text and "| entmax package: entmax_bisect(α=1.3) |" in text
    assert "### Sparse Hopfield vs softmax Hopfield" in text and "failed" not in text
