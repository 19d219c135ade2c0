"""experiments/mil_grid_sweep.py: every grid point on every fold, ranked beside the fold-1 choice."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "mil_grid_sweep.py"

pytestmark = pytest.mark.usefixtures("one_thread")


def test_rank_correlation_is_spearmans_rho_with_average_ranks(load_script) -> None:
    module = load_script(SCRIPT)
    assert module.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert module.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert module.rank_correlation([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # 1 - 6·2 / (4·15)
    # ties share their mean rank: x ranks (1.5, 1.5, 3), y ranks (1, 2, 3) → ρ = corr = √3/2
    assert module.rank_correlation([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(module.rank_correlation([1, 1, 1], [1, 2, 3]))  # a constant side (every validation AUC 1.0)


def test_the_sweep_covers_every_point_fold_and_seed_with_reproduce_mils_keys(load_script) -> None:
    module = load_script(SCRIPT)
    rm = sys.modules["reproduce_mil"]
    protocol = rm.PROTOCOLS["full"][1]
    protocol = type(protocol)(datasets=("ucsb",), seeds=(0, 1))
    sparse = next(v for v in rm.benchmark_variants() if v.name == "sparse")
    units = module.sweep_units(protocol, [sparse])
    assert len(units) == 48 * 2 * 10 and len({u.key for u in units}) == len(units)
    keys = {u.key for u in units}
    assert all(rm.grid_unit(protocol, "ucsb", sparse, c).key in keys for c in protocol.configs())  # fold-1 grid runs are reused


def test_quick_sweep_ranks_both_points_and_marks_the_choice(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    module = load_script(SCRIPT)
    out, record = tmp_path / "sweep.md", tmp_path / "runs.jsonl"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--quick", "--models", "sparse", "--out", str(out), "--cache", str(record)])
    module.main()
    text = out.read_text()
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 2 * 3  # 2 grid points × 3 folds × 1 seed
    assert re.search(r"\| musk1 \| sparse \| — \| 0\.\d{3} \(rank [12]\) \| 0\.\d{3} \| lr 0\.001, .* \| — \| 2/2 \|", text)
    assert text.count("**(chosen)**") == 1
    ranked = [float(v) for v in re.findall(r"^\| [12] \| .* \| [01]\.\d{3} \| (0\.\d{3}) \|$", text, flags=re.M)]
    assert len(ranked) == 2 and ranked[0] >= ranked[1]
    # rendering again from the record trains nothing and gives the same tables
    monkeypatch.setattr(sys.modules["reproduce_mil"], "run_unit", lambda unit, *_: pytest.fail("--render-only must not train"))
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--quick", "--models", "sparse", "--out", str(out), "--cache", str(record), "--render-only"])
    module.main()
    assert out.read_text().split("### Summary", 1)[1] == text.split("### Summary", 1)[1]


def test_unknown_models_are_refused_by_name(load_script, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script(SCRIPT)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--models", "sparse", "softmax", "--render-only"])
    with pytest.raises(SystemExit):
        module.main()
    assert "--models: unknown ['softmax']" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["mil_grid_sweep.md", "mil_grid_sweep_footprint.md"])
def test_the_committed_sweep_is_rebuilt_from_the_committed_run_record(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    committed = ROOT / "results" / name
    command = re.search(r"\*\*Command:\*\* `python experiments/mil_grid_sweep.py (.*)`", committed.read_text()).group(1).split()
    if "--workers" in command:  # irrelevant to rendering
        del command[command.index("--workers") : command.index("--workers") + 2]
    module = load_script(SCRIPT)
    monkeypatch.setattr(sys.modules["reproduce_mil"], "run_unit", lambda unit, *_: pytest.fail(f"--render-only must not train ({unit.key})"))
    argv = [*command, "--render-only", "--out", str(tmp_path / "sweep.md")]
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *argv])
    module.main()
    rebuilt = (tmp_path / "sweep.md").read_text()
    assert rebuilt.split("### Summary", 1)[1] == committed.read_text().split("### Summary", 1)[1]
