"""The sequence-memory and capacity experiments run end to end (quick mode) and write their results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, out: Path) -> str:
    subprocess.run([sys.executable, str(ROOT / "experiments" / script), "--quick", "--out", str(out)], check=True, capture_output=True, text=True, env=os.environ.copy())
    return out.read_text()


def test_sequence_memory_quick(tmp_path: Path) -> None:
    text = run("sequence_memory.py", tmp_path / "sequence_memory.md")
    assert "**Command:** `python" in text and "**Hardware:**" in text
    for section in (
        "1. Table-2-style trials",
        "3. 2-D energy surface",
        "4a. Ablation",
        "4b. Without the anchor",
        "4c. The three functionals",
        "5. Global-minimum",
        "6. Vectorisation",
    ):
        assert section in text
    for name in ("frames", "energy_surface", "condition"):
        assert (tmp_path / f"sequence_memory_{name}.png").stat().st_size > 10_000


def test_capacity_quick(tmp_path: Path) -> None:
    text = run("capacity.py", tmp_path / "capacity.md")
    assert "1. Random patterns" in text and "2. Correlated patterns" in text
    assert ("3a. Capacity" in text) if os.environ.get("HOPFIELD_DATA") else ("Skipped" in text)
    for name in ("random", "letters"):
        assert (tmp_path / f"capacity_{name}.png").stat().st_size > 10_000
