"""experiments/continuous_memory.py runs end to end in quick mode and writes its results file and PNGs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_continuous_memory_experiment_quick(tmp_path: Path) -> None:
    out = tmp_path / "cm.md"
    subprocess.run([sys.executable, str(ROOT / "experiments" / "continuous_memory.py"), "--quick", "--out", str(out)], check=True, capture_output=True, text=True)
    text = out.read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and "**Seeds:**" in text
    for section in ("1. Energy landscapes", "2. Video-frame retrieval", "3. Embedding retrieval", "4. Quadrature nodes", "5. Cost"):
        assert section in text
    assert "| 64 | 16 |" in text  # L = 64, N = L_sub = 16 row of the comparison tables
    for png in ("cm_energy_beta1.png", "cm_energy_beta8.png", "cm_video.png", "cm_embeddings.png", "cm_quadrature.png"):
        assert (tmp_path / png).stat().st_size > 10_000 and f"({png})" in text
