"""experiments/reproduce_mil.py --quick: both results files, written through ResultsFile, and the run record."""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "reproduce_mil.py"
#: the training-time line of a results file (the rebuild tests compare it)
HOURS = re.compile(r"Total training time of these runs:\s+[\d.]+ CPU-hours")

pytestmark = pytest.mark.usefixtures("one_thread")


def run(load_script, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    """Run the script's main() in this process (saves the interpreter and Lightning start-up)."""
    module = load_script(SCRIPT)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--quick", *args])
    module.main()


def test_bit_pattern_quick_writes_its_table_and_caches_every_run(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    run(load_script, monkeypatch, "--part", "bit_pattern", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))
    text = (tmp_path / "mil_bit_pattern.md").read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and "**Seeds:** 0" in text
    for row in ("dense Hopfield", "sparse HopfieldPooling", "entmax HopfieldPooling", "gated attention (Ilse et al.)"):
        assert re.search(rf"\| {re.escape(row)} \| 0\.\d{{3}} \|", text), row
    record = (tmp_path / "runs.jsonl").read_text()
    lines = [json.loads(line) for line in record.splitlines()]
    assert len(lines) >= 8 and len({line["key"] for line in lines}) == len(lines)
    assert all(line["part"] == "bit_pattern" and "seed" in line["params"] and "test_accuracy" in line["result"] for line in lines)
    assert {line["result"]["device"] for line in lines} == {"cpu"} and all("accelerator" not in line["params"] for line in lines)  # the key holds no device
    run(load_script, monkeypatch, "--part", "bit_pattern", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))  # all recorded: nothing retrained
    assert (tmp_path / "runs.jsonl").read_text() == record
    assert (tmp_path / "mil_bit_pattern.md").read_text().split("### ", 1)[1] == text.split("### ", 1)[1]  # the same tables from the record


def test_training_time_is_stated_per_device(load_script) -> None:
    """Runs recorded without a device trained on the CPU; GPU runs get GPU-hours of their own, per device."""
    module = load_script(SCRIPT)
    hours = module.TrainingTime()
    for result in ({"seconds": 3600.0}, {"seconds": 1800.0, "device": "cpu"}, {"seconds": 720.0, "device": "cuda: NVIDIA H100 80GB HBM3"}):
        hours.add(result)
    assert hours.text() == "1.50 CPU-hours (one thread per run; 2-core CPU) and 0.20 GPU-hours (cuda: NVIDIA H100 80GB HBM3)"
    cpu_only = module.TrainingTime()
    cpu_only.add({"seconds": 36.0})
    assert cpu_only.text() == "0.01 CPU-hours (one thread per run; 2-core CPU)"
    assert module.device_name("cpu") == "cpu"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("script", ["reproduce_mil.py", "mil_grid_sweep.py"])
def test_accelerator_gpu_is_refused_without_cuda_before_any_run(load_script, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], script: str) -> None:
    path = ROOT / "experiments" / script
    module = load_script(path)
    monkeypatch.setattr(sys, "argv", [str(path), "--quick", "--accelerator", "gpu"])
    with pytest.raises(SystemExit):
        module.main()
    assert "--accelerator gpu needs a CUDA device" in capsys.readouterr().err


def test_the_run_record_ignores_a_cut_off_line_and_refuses_a_directory(tmp_path: Path, load_script) -> None:
    module = load_script(SCRIPT)
    unit = module.Unit("bit_pattern", {"seed": 0})
    path = tmp_path / "runs.jsonl"
    module.Cache(path).put(unit, {"test_accuracy": 0.5})
    with path.open("a") as handle:
        handle.write('{"key": "abc", "res')  # a write interrupted mid-line
    cache = module.Cache(path)
    assert cache.get(unit) == {"test_accuracy": 0.5} and cache.get(module.Unit("bit_pattern", {"seed": 1})) is None
    with pytest.raises(ValueError, match="must be a .jsonl file"):
        module.Cache(tmp_path)


def test_benchmarks_quick_selects_a_config_and_fills_every_fold(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    run(load_script, monkeypatch, "--part", "benchmarks", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))
    text = (tmp_path / "mil_benchmarks.md").read_text()
    for row in ("dense", "sparse", "entmax"):
        assert re.search(rf"\| {row} \| 0\.\d{{3}} \|", text), row
    assert "Configurations chosen on fold 1" in text and "grid incomplete" not in text
    assert re.search(r"\| musk1 \| sparse \| \{.*\} \| [01]\.\d{3} \| 1/1 \|", text)  # the selection's validation AUC and ties
    models = len(sys.modules["reproduce_mil"].benchmark_variants())  # dense, sparse, entmax (+ footprint when registered)
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == models * 3  # × 3 folds (the fold-1 grid run is reused)


def test_the_goal_check_reads_float32_aucs_equal_to_the_paper_as_met(load_script) -> None:
    module = load_script(SCRIPT)
    folds = np.array([0.87, 0.825, 0.89, 0.84, 0.9, 0.95, 0.92, 0.91, 0.9, 0.915], dtype=np.float32)  # exact mean 0.892
    mean = float(np.mean(folds.astype(np.float64)))
    assert mean < 0.892 and module.meets_paper(mean, 0.892)  # below only by float32 rounding
    assert module.meets_paper(0.8921, 0.892) and not module.meets_paper(0.8919, 0.892) and not module.meets_paper(0.8912, 0.892)


def test_the_tie_broken_selection_trains_new_runs_and_leaves_the_recorded_keys_alone(load_script) -> None:
    module = load_script(SCRIPT)
    protocol = module.PROTOCOLS["full"][1]
    variant = module.benchmark_variants()[1]
    original = module.benchmark_params(protocol, "ucsb", variant, protocol.configs()[0], 0, 0)
    assert "selection" not in original
    recorded = {json.loads(line)["key"] for line in (ROOT / "results" / "runs" / "mil.jsonl").read_text().splitlines()}
    assert module.Unit("benchmarks", original).key in recorded
    tie_broken = module.benchmark_params(replace(protocol, selection="auroc_then_loss"), "ucsb", variant, protocol.configs()[0], 0, 0)
    assert tie_broken == {**original, "selection": "auroc_then_loss"}
    assert module.Unit("benchmarks", tie_broken).key != module.Unit("benchmarks", original).key
    with pytest.raises(ValueError, match="selection must be one of"):
        replace(protocol, selection="loss")


def test_benchmarks_quick_with_the_tie_broken_selection_says_so(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    run(load_script, monkeypatch, "--part", "benchmarks", "--selection", "auroc_then_loss", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))
    text = (tmp_path / "mil_benchmarks.md").read_text()
    assert "Protocol `quick, selection auroc_then_loss`" in text
    assert re.search(r"\| sparse \| 0\.\d{3} \|", text)
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {run["params"]["selection"] for run in runs} == {"auroc_then_loss"}
    assert all(0.0 <= run["result"]["best_val"] <= 1.0 for run in runs)  # the AUC itself, not the combined value


def test_seeds_flag_keeps_the_first_seeds_and_says_so(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    run(load_script, monkeypatch, "--part", "bit_pattern", "--seeds", "1", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))
    text = (tmp_path / "mil_bit_pattern.md").read_text()
    assert "Protocol `quick, first 1 seed(s)`" in text and "**Seeds:** 0\n" in text
    with pytest.raises(SystemExit):
        run(load_script, monkeypatch, "--part", "bit_pattern", "--seeds", "0", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))


def test_hopfield_rows_can_be_limited_to_small_bags_without_changing_other_runs(load_script) -> None:
    module = load_script(SCRIPT)
    everything = module.BitPatternProtocol(bag_sizes=(10, 30), sparsities=(), seeds=(0,))
    limited = module.BitPatternProtocol(bag_sizes=(10, 30), sparsities=(), seeds=(0,), hopfield_max_bag_size=10)
    all_units = {(setting, variant.name): unit.key for setting, variant, unit in module.bit_pattern_units(everything)}
    kept = {(setting, variant.name): unit.key for setting, variant, unit in module.bit_pattern_units(limited)}
    dropped = set(all_units) - set(kept)
    assert dropped and all(setting[1] == 30 and name.endswith(" Hopfield") for setting, name in dropped)
    assert all(all_units[k] == key for k, key in kept.items())  # same cache keys: the limit is not a run setting


def test_hopfield_max_bag_size_flag_drops_the_larger_hopfield_rows_and_says_so(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    run(load_script, monkeypatch, "--part", "bit_pattern", "--hopfield-max-bag-size", "5", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "runs.jsonl"))
    text = (tmp_path / "mil_bit_pattern.md").read_text()
    assert "Protocol `quick, Hopfield rows for bags ≤ 5`" in text  # the quick protocol's bags hold 10 instances
    assert "| dense HopfieldPooling |" in text and "| dense Hopfield |" not in text
    assert "only for bags of up to 5 instances in this protocol; rows without any run are left out." in text
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert runs and all(run["params"]["variant"]["layer"] != "hopfield" for run in runs)
    with pytest.raises(SystemExit):
        run(load_script, monkeypatch, "--part", "bit_pattern", "--hopfield-max-bag-size", "0", "--out-dir", str(tmp_path))


def test_the_bit_pattern_description_names_the_departures_from_table_10(load_script) -> None:
    module = load_script(SCRIPT)
    full, small = module.PROTOCOLS["full"][0], module.PROTOCOLS["small"][0]
    assert module.table10_note(full) == "as in Hu et al. Table 10"
    assert module.table10_note(small) == "Hu et al. Table 10: lr 0.001, 3 update steps, the rest as here"


def test_grid_ties_go_to_the_lowest_validation_loss(load_script) -> None:
    module = load_script(SCRIPT)
    a, b, c = {"lr": 1}, {"lr": 2}, {"lr": 3}
    unique = [({"best_val": 0.9, "val_loss": 0.1}, a), ({"best_val": 1.0}, b), ({"best_val": 0.8, "val_loss": 0.0}, c)]
    assert module.best_config(unique) == b  # one best AUC: its loss is not needed
    tied = [({"best_val": 1.0, "val_loss": 0.5}, a), ({"best_val": 0.9, "val_loss": 0.01}, b), ({"best_val": 1.0, "val_loss": 0.2}, c)]
    assert module.best_config(tied) == c
    assert [config for _, config in module.tied_at_best(tied)] == [a, c]
    assert module.best_config([({"best_val": 1.0, "val_loss": 0.5}, a), ({"best_val": 1.0}, c)]) is None  # undecided until c's loss is known


def test_a_rerun_for_the_validation_loss_reproduces_the_cached_run(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    module = load_script(SCRIPT)
    protocol = module.PROTOCOLS["quick"][1]
    variant = module.benchmark_variants()[0]
    unit = module.Unit("benchmarks", module.benchmark_params(protocol, "musk1", variant, protocol.configs()[0], 0, 0))
    path = tmp_path / "runs.jsonl"
    assert module.run_pending([unit], module.Cache(path), 1, float("inf")) == 1
    first = module.Cache(path).get(unit)
    record = json.loads(path.read_text())
    del record["result"]["val_loss"]  # as a run recorded before the loss was
    path.write_text(json.dumps(record) + "\n")
    cache = module.Cache(path)
    assert module.run_pending([unit], cache, 1, float("inf")) == 0  # cached: nothing to do
    assert module.run_pending([unit], cache, 1, float("inf"), require="val_loss") == 1
    again = module.Cache(path).get(unit)  # the re-run's line, appended after the old one, wins
    assert {k: again[k] for k in ("best_val", "val_loss", "test_auroc", "epochs")} == {k: first[k] for k in ("best_val", "val_loss", "test_auroc", "epochs")}


@pytest.mark.parametrize(
    ("name", "extra"),
    [("mil_benchmarks.md", []), ("mil_benchmarks_tie_break.md", ["--selection", "auroc_then_loss"])],
)
def test_the_committed_benchmark_table_is_rebuilt_from_the_committed_run_record(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch, name: str, extra: list[str]) -> None:
    """Every number of the committed benchmark tables follows from results/runs/mil.jsonl (nothing trained here)."""
    record = ROOT / "results" / "runs" / "mil.jsonl"
    before = record.read_text()
    module = load_script(SCRIPT)
    monkeypatch.setattr(module, "run_unit", lambda unit, *_: pytest.fail(f"--render-only must not train ({unit.key})"))
    argv = ["--part", "benchmarks", "--protocol", "full", "--seeds", "5", "--render-only", "--cache", str(record), "--benchmarks-out", str(tmp_path / name), *extra]
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *argv])
    module.main()
    committed = (ROOT / "results" / name).read_text()
    rebuilt = (tmp_path / name).read_text()
    assert HOURS.search(rebuilt).group() == HOURS.search(committed).group()
    assert rebuilt.split("### Test ROC-AUC", 1)[1] == committed.split("### Test ROC-AUC", 1)[1]
    assert record.read_text() == before


def test_the_committed_bit_pattern_table_is_rebuilt_from_the_committed_run_record(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command in the committed bit-pattern file's header, run with --render-only against results/runs/mil.jsonl,
    writes the same tables and training time (nothing trained here)."""
    record = ROOT / "results" / "runs" / "mil.jsonl"
    before = record.read_text()
    committed = (ROOT / "results" / "mil_bit_pattern.md").read_text()
    command = shlex.split(re.search(r"\*\*Command:\*\* `(.*)`", committed).group(1))
    assert command[:2] == ["python", "experiments/reproduce_mil.py"] and "--render-only" in command
    module = load_script(SCRIPT)
    monkeypatch.setattr(module, "run_unit", lambda unit, *_: pytest.fail(f"--render-only must not train ({unit.key})"))
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *command[2:], "--cache", str(record), "--out-dir", str(tmp_path)])
    module.main()
    rebuilt = (tmp_path / "mil_bit_pattern.md").read_text()
    assert HOURS.search(rebuilt).group() == HOURS.search(committed).group()
    assert rebuilt.split("### ", 1)[1] == committed.split("### ", 1)[1]
    assert "(n=" not in committed  # every cell holds all of the protocol's seeds
    assert record.read_text() == before


def test_hopfield_bag_limits_per_kind_drop_only_that_row_and_keep_the_keys(load_script) -> None:
    module = load_script(SCRIPT)
    assert module.parse_bag_limits(["100", "footprint=50"]) == (100, (("footprint", 50),))
    assert module.parse_bag_limits(["sparse=7"]) == (None, (("sparse", 7),))
    for bad, words in (
        (["0"], "N ≥ 1"),
        (["x"], "N ≥ 1"),
        (["cosine=5"], "must be one of"),
        (["=5"], "must be one of"),
        (["5", "6"], "repeats"),
        (["dense=5", "dense=6"], "repeats"),
        (["dense=-1"], "N ≥ 1"),
    ):
        with pytest.raises(ValueError, match=words):
            module.parse_bag_limits(bad)
    everything = module.BitPatternProtocol(bag_sizes=(10, 30), sparsities=(), seeds=(0,))
    limited = replace(everything, hopfield_max_bag_size=30, hopfield_max_bag_size_by_kind=(("dense", 10),))
    all_units = {(setting, variant.name): unit.key for setting, variant, unit in module.bit_pattern_units(everything)}
    kept = {(setting, variant.name): unit.key for setting, variant, unit in module.bit_pattern_units(limited)}
    assert set(all_units) - set(kept) == {(("bag size", 30, 1), "dense Hopfield")}
    assert all(all_units[k] == key for k, key in kept.items())
    assert limited.hopfield_limits_text() == "bags ≤ 30 (dense ≤ 10)"
    assert limited.hopfield_limits_text(long=True) == "bags of up to 30 instances (dense: up to 10)"


def test_a_per_kind_limit_from_the_command_line_leaves_that_rows_larger_bags_empty(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    run(
        load_script,
        monkeypatch,
        "--part",
        "bit_pattern",
        "--hopfield-max-bag-size",
        "10",
        "sparse=5",
        "entmax=5",
        "footprint=5",
        "--out-dir",
        str(tmp_path),
        "--cache",
        str(tmp_path / "runs.jsonl"),
    )
    text = (tmp_path / "mil_bit_pattern.md").read_text()
    assert "Hopfield rows for bags ≤ 10 (sparse ≤ 5, entmax ≤ 5, footprint ≤ 5)`" in text
    assert "| dense Hopfield |" in text and "| sparse Hopfield |" not in text  # sparse has no bag of ≤ 5 instances
    assert "only for bags of up to 10 instances (sparse: up to 5, entmax: up to 5, footprint: up to 5) in this protocol" in text
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {r["params"]["variant"]["name"] for r in runs if r["params"]["variant"]["layer"] == "hopfield"} == {"dense Hopfield"}
    with pytest.raises(SystemExit):
        run(load_script, monkeypatch, "--part", "bit_pattern", "--hopfield-max-bag-size", "10", "cosine=5", "--out-dir", str(tmp_path))
