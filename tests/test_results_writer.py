"""hopfield_layers.results: the results-file writer and the JSON-lines run records kept beside the tables."""

from __future__ import annotations

from pathlib import Path

from hopfield_layers.results import ResultsFile, append_json_line, mean_std, read_json_lines


def test_mean_std_uses_the_sample_std_and_handles_one_or_no_value() -> None:
    assert mean_std([1.0, 2.0, 3.0]) == "2.000 ± 1.000"
    assert mean_std([0.5]) == "0.500" and mean_std([]) == "—"


def test_run_records_round_trip_and_survive_an_interrupted_append(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "runs.jsonl"
    assert read_json_lines(path) == []
    append_json_line(path, {"key": "a", "result": {"auc": 0.9}})
    with path.open("a") as handle:
        handle.write('{"key": "b", "res')  # a write cut off mid-line, without its newline
    append_json_line(path, {"key": "c", "result": (1, 2)})
    assert read_json_lines(path) == [{"key": "a", "result": {"auc": 0.9}}, {"key": "c", "result": [1, 2]}]
    assert path.read_text().count("\n") == 3  # the cut-off line was ended before the next record


def test_results_file_states_command_seeds_and_hardware(tmp_path: Path) -> None:
    results = ResultsFile("Title", command="python experiments/x.py --quick", seeds=[0, 1])
    results.add_table(["a", "b"], [[1, 0.5]], title="T")
    text = results.write(tmp_path / "r.md").read_text()
    assert text.startswith("# Title") and "**Command:** `python experiments/x.py --quick`" in text
    assert "**Seeds:** 0, 1" in text and "**Hardware:**" in text and "| 1 | 0.5 |" in text
