"""The Crossformer recipe: committed configs, the original training protocol, and the reproduction script (quick)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "timeseries"


def test_committed_configs_match_the_generator(tmp_path: Path, load_script) -> None:
    written = load_script(CONFIGS / "generate.py").write_all(tmp_path)
    assert len(written) == 39
    committed = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    assert committed == sorted(p.name for p in written)
    for path in written:
        assert (CONFIGS / path.name).read_text() == path.read_text(), f"{path.name} is stale: run python configs/timeseries/generate.py"


@pytest.mark.parametrize(
    "name,in_len,seg_len,lr,extra",
    [
        ("ETTh1_24", 168, 6, 1e-4, {}),
        ("ETTh1_720", 720, 24, 1e-5, {}),
        ("ETTm1_96", 672, 12, 1e-4, {}),
        ("WTH_48", 48, 12, 1e-4, {}),
        ("ILI_60", 60, 6, 5e-4, {"e_layers": 2, "dropout": 0.6}),
        ("ECL_960", 720, 24, 5e-5, {"d_model": 64, "d_ff": 128, "n_heads": 2}),
        ("Traffic_720", 336, 24, 5e-3, {"d_model": 64, "d_ff": 128, "n_heads": 2}),
    ],
)
def test_configs_hold_the_original_settings(name: str, in_len: int, seg_len: int, lr: float, extra: dict) -> None:
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    network = config["model"]["network"]["init_args"]
    expected = {"d_model": 256, "d_ff": 512, "n_heads": 4, "e_layers": 3, "dropout": 0.2, "win_size": 2, "factor": 10, **extra}
    assert {k: network[k] for k in expected} == expected
    assert (network["in_len"], network["seg_len"], network["out_len"]) == (in_len, seg_len, int(name.split("_")[1]))
    assert config["model"]["optimizer"] == {"class_path": "torch.optim.Adam", "init_args": {"lr": lr}}
    assert config["data"]["init_args"]["batch_size"] == 32 and config["data"]["init_args"]["in_len"] == in_len
    assert config["trainer"]["max_epochs"] == 20
    (stopping,) = config["trainer"]["callbacks"]
    assert stopping == {"class_path": "lightning.pytorch.callbacks.EarlyStopping", "init_args": {"monitor": "val_loss", "patience": 3}}
    assert config["checkpoint"] == {"monitor": "val_loss", "mode": "min"}
    assert ("scheduler" in config["model"]) == (not name.startswith("ECL"))  # ECL: fixed learning rate


def _original_type1(lr: float, epoch: int) -> float | None:
    """Crossformer's ``adjust_learning_rate`` (lradj='type1'), called after epoch ``epoch`` (1-based)."""
    return {2: lr * 0.5**1, 4: lr * 0.5**2, 6: lr * 0.5**3, 8: lr * 0.5**4, 10: lr * 0.5**5}.get(epoch)


def test_scheduler_reproduces_the_original_halving() -> None:
    scheduler_config = yaml.safe_load((CONFIGS / "ETTh1_24.yaml").read_text())["model"]["scheduler"]
    assert scheduler_config["class_path"] == "torch.optim.lr_scheduler.MultiStepLR"
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, **scheduler_config["init_args"])
    original = 1e-4
    for epoch in range(1, 21):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(original), epoch  # the lr used during this epoch
        optimizer.step()
        scheduler.step()  # Lightning steps an epoch-interval scheduler after each epoch
        original = _original_type1(1e-4, epoch) or original


def _write(root: Path, file: str, rows: int) -> None:
    values = np.random.default_rng(0).normal(size=(rows, 7))
    (root / "timeseries").mkdir(parents=True, exist_ok=True)
    lines = ["date," + ",".join(f"s{j}" for j in range(7))] + [f"t{i}," + ",".join(f"{v:.3f}" for v in row) for i, row in enumerate(values)]
    (root / "timeseries" / file).write_text("\n".join(lines) + "\n")


TINY = [
    "--model.network.init_args.d_model=8",
    "--model.network.init_args.d_ff=8",
    "--model.network.init_args.n_heads=2",
    "--model.network.init_args.factor=2",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--trainer.num_sanity_val_steps=0",
]


@pytest.fixture
def _clean_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])  # LightningCLI warns when args and sys.argv are both given


@pytest.mark.usefixtures("one_thread", "_clean_argv")
def test_recipe_config_fits_and_tests_through_the_cli(tmp_path: Path) -> None:
    """``hopfield-layers fit --config configs/timeseries/ILI_24.yaml`` (shrunk), then ``test --ckpt_path best``."""
    from hopfield_layers.lit import HopfieldCLI

    _write(tmp_path / "data", "national_illness.csv", 400)
    common = [f"--config={CONFIGS / 'ILI_24.yaml'}", f"--data.init_args.data_root={tmp_path / 'data'}", f"--trainer.default_root_dir={tmp_path / 'run'}", *TINY]
    common.append("--model.network.init_args.attention=sparse_hopfield")
    fit = HopfieldCLI(args=["fit", *common, "--trainer.max_epochs=2", "--trainer.limit_train_batches=2"])
    assert fit.trainer.current_epoch == 2 and fit.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(5e-4 * 0.5)  # halved after epoch 2
    assert fit.trainer.checkpoint_callback.monitor == "val_loss"
    test = HopfieldCLI(args=["test", *common, "--ckpt_path=best"])
    assert test.config_init["test"]["ckpt_path"] == fit.trainer.checkpoint_callback.best_model_path
    assert {"test_mse", "test_mae"} <= set(test.trainer.callback_metrics) and np.isfinite(float(test.trainer.callback_metrics["test_mse"]))


@pytest.mark.usefixtures("one_thread", "_clean_argv")
@pytest.mark.parametrize("config,file", [("ECL_48", "timeseries/ECL.csv"), ("Traffic_24", "timeseries/traffic.csv")])
def test_recipe_without_its_data_names_the_missing_file(tmp_path: Path, config: str, file: str) -> None:
    from hopfield_layers.data import DataNotFoundError
    from hopfield_layers.lit import HopfieldCLI

    args = ["fit", f"--config={CONFIGS / f'{config}.yaml'}", f"--data.init_args.data_root={tmp_path}", f"--trainer.default_root_dir={tmp_path / 'run'}", *TINY]
    with pytest.raises(DataNotFoundError, match=f"missing data file .*expected '{file}' under the data root"):
        HopfieldCLI(args=args)


def test_batch_limits_and_protocol_tag(load_script) -> None:
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    assert script.int_or_fraction("4") == 4 and isinstance(script.int_or_fraction("1.0"), float)
    with pytest.raises(argparse.ArgumentTypeError, match="fraction in"):
        script.int_or_fraction("1.5")
    args = script.parse_args(["--max-epochs", "2", "--limit-train-batches", "4", "--limit-test-batches", "0.5"])
    assert script.protocol_name(args) == "≤2 ep., 4 train batches, 50% of test batches"
    assert script.protocol_name(script.parse_args([])) == "≤20 ep."
    # records are committed beside the report, checkpoints are not; --quick keeps both in its --runs folder
    assert script.parse_args([]).records == ROOT / "results" / "runs" / "crossformer"
    assert script.parse_args(["--runs", "/tmp/x"]).records == ROOT / "results" / "runs" / "crossformer"
    assert script.parse_args(["--quick", "--runs", "/tmp/x"]).records == Path("/tmp/x")
    assert script.parse_args(["--records", "/tmp/r"]).records == Path("/tmp/r")


def test_reproduce_crossformer_quick(tmp_path: Path) -> None:
    _write(tmp_path / "data", "ETTh1.csv", 14400)
    out, runs = tmp_path / "crossformer.md", tmp_path / "runs"
    command = [sys.executable, str(ROOT / "experiments" / "reproduce_crossformer.py"), "--quick", "--datasets", "ETTh1", "--timing", "ETTh1-24"]
    command += ["--data-root", str(tmp_path / "data"), "--out", str(out), "--runs", str(runs)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    text = out.read_text()
    assert "**Command:** `python experiments/reproduce_crossformer.py --quick" in text and "**Hardware:**" in text
    for name in ("Crossformer", "Crossformer-DH", "Crossformer-SH"):
        assert f"| 24 | {name} | quick | 1 | 2/2 | 64 |" in text
    assert "| 0.305 | 0.367 |" in text and "| 0.295 | 0.357 |" in text  # paper columns next to ours
    assert "| ETTh1-24 | " in text and "(1.00×)" in text  # relative epoch time
    assert "| ETTm1 | 24, 48, 96, 288, 672 | needs a GPU" in text
    records = [json.loads(p.read_text()) for p in runs.glob("*_seed*.json")]
    assert len(records) == 3 and all(r["epochs"] == 2 and np.isfinite(r["test_mse"]) for r in records)
    assert all(r["command"].startswith("hopfield-layers fit --config configs/timeseries/ETTh1_24.yaml") for r in records)
    assert not list(runs.rglob("*.ckpt"))  # checkpoints are removed after testing
    again = subprocess.run([*command, "--report-only"], check=True, capture_output=True, text=True)  # cached: no training
    assert "Restoring states" not in again.stderr and out.read_text().count("| quick |") == 3
    # The report covers what the command asks for: other variants and seeds in the records are left out.
    subprocess.run([*command, "--report-only", "--variants", "sparse_hopfield"], check=True, capture_output=True, text=True)
    text = out.read_text()
    assert text.count("| quick |") == 1 and "| 24 | Crossformer-SH | quick |" in text and "| 24 | Crossformer-DH | quick |" not in text
    subprocess.run([*command, "--report-only", "--seeds", "1"], check=True, capture_output=True, text=True)
    assert "| quick |" not in out.read_text()


def test_an_ablation_variant_runs_only_when_asked_for_and_is_labelled(tmp_path: Path) -> None:
    _write(tmp_path / "data", "ETTh1.csv", 14400)
    out, runs = tmp_path / "crossformer.md", tmp_path / "runs"
    command = [sys.executable, str(ROOT / "experiments" / "reproduce_crossformer.py"), "--quick", "--datasets", "ETTh1", "--timing"]
    command += ["--data-root", str(tmp_path / "data"), "--out", str(out), "--runs", str(runs), "--variants", "full_sparsemax", "sparse_hopfield"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 24 |")]
    assert [line.split(" | ")[1] for line in rows] == ["Crossformer-SH", "Crossformer-SH, no pattern norms"]  # table order, not argument order
    assert rows[1].split(" | ")[8:10] == ["—", "—"]  # no paper column for an ablation
    assert "Crossformer-SH, no pattern norms (`full_sparsemax`): Crossformer-SH without the LayerNorms" in text
    records = {r["variant"]: r for r in (json.loads(p.read_text()) for p in runs.glob("*_seed*.json"))}
    assert set(records) == {"full_sparsemax", "sparse_hopfield"}
    assert "--model.network.init_args.attention=full_sparsemax" in records["full_sparsemax"]["command"]
    assert records["full_sparsemax"]["test_mse"] != records["sparse_hopfield"]["test_mse"]
    subprocess.run([*command[:-2], "sparse_hopfield", "--report-only"], check=True, capture_output=True, text=True)
    assert "no pattern norms" not in out.read_text()  # the note appears only with an ablation row


@pytest.mark.usefixtures("one_thread", "_clean_argv")
def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed after epoch 1 of 3 resumes from ``last.ckpt`` and ends exactly as an uninterrupted run."""
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    _write(tmp_path / "data", "ETTh1.csv", 14400)

    def run(runs: Path) -> dict:
        args = script.parse_args(["--quick", "--data-root", str(tmp_path / "data"), "--runs", str(runs), "--max-epochs", "3"])
        args.max_epochs = 3  # --quick caps it at 2
        return script.train_and_test("ETTh1", 24, "sparse_hopfield", 0, args)

    class Killed(Exception):
        pass

    class KilledInEpoch2(script.EpochLog):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            if trainer.current_epoch == 1:
                raise Killed
            super().on_train_epoch_start(trainer, pl_module)

    uninterrupted = run(tmp_path / "a")
    with monkeypatch.context() as patch:
        patch.setattr(script, "EpochLog", KilledInEpoch2)
        with pytest.raises(Killed):
            run(tmp_path / "b")
    assert not (tmp_path / "b" / f"{script.run_key('ETTh1', 24, 'sparse_hopfield', 0, script.parse_args(['--quick']))}.json").exists()
    assert list((tmp_path / "b").glob("*/version_0/checkpoints/last.ckpt"))
    resumed = run(tmp_path / "b")
    assert resumed["resumed_after"] == [1] and uninterrupted["resumed_after"] == []
    assert resumed["epochs"] == uninterrupted["epochs"] == 3 and len(resumed["train_seconds"]) == 3
    assert resumed["val_loss"] == uninterrupted["val_loss"] and resumed["best_epoch"] == uninterrupted["best_epoch"]
    assert resumed["test_mse"] == uninterrupted["test_mse"] and resumed["test_mae"] == uninterrupted["test_mae"]
    assert not list((tmp_path / "b").glob("*/version_*/checkpoints"))  # deleted after the test


@pytest.mark.usefixtures("one_thread", "_clean_argv")
def test_a_cached_run_made_with_other_optimizer_arguments_is_retrained(tmp_path: Path, load_script, capsys: pytest.CaptureFixture[str]) -> None:
    """Runs whose saved config has an optimiser argument the recipe does not give (the AdamW weight decay that
    once leaked into Adam) are left out of the report and trained again, the stale files kept aside."""
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    _write(tmp_path / "data", "ETTh1.csv", 14400)
    runs = tmp_path / "runs"
    argv = ["--quick", "--datasets", "ETTh1", "--horizons", "24", "--variants", "sparse_hopfield", "--timing", "--data-root", str(tmp_path / "data"), "--runs", str(runs)]
    args = script.parse_args(argv)
    key = script.run_key("ETTh1", 24, "sparse_hopfield", 0, args)
    first = script.train_and_test("ETTh1", 24, "sparse_hopfield", 0, args)
    saved = runs / key / "version_0" / "config.yaml"
    assert script.optimizer_drift(runs / key, script.recipe("ETTh1", 24)) is None
    assert script.train_and_test("ETTh1", 24, "sparse_hopfield", 0, args) == first  # cached, not retrained

    config = yaml.safe_load(saved.read_text())
    assert config["model"]["optimizer"]["init_args"]["weight_decay"] == 0.0
    config["model"]["optimizer"]["init_args"]["weight_decay"] = 0.01
    saved.write_text(yaml.safe_dump(config))
    assert "Adam(weight_decay=0.01), the recipe gives weight_decay=0" in script.optimizer_drift(runs / key, script.recipe("ETTh1", 24))

    script.main([*argv, "--report-only", "--out", str(tmp_path / "report.md")])
    assert f"{key}: left out of the report, the cached run is stale" in capsys.readouterr().out
    assert "| quick |" not in (tmp_path / "report.md").read_text()

    again = script.train_and_test("ETTh1", 24, "sparse_hopfield", 0, args)
    assert "the cached run is stale" in capsys.readouterr().out
    assert (runs / "stale" / f"{key}.json").is_file() and (runs / "stale" / key / "version_0" / "config.yaml").is_file()
    assert script.optimizer_drift(runs / key, script.recipe("ETTh1", 24)) is None
    assert again["val_loss"] == first["val_loss"] and again["test_mse"] == first["test_mse"]  # same seed, same run


def test_timing_cycles_through_a_training_split_shorter_than_the_timed_batches(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    """ILI has 19 training batches and the timing takes 20 (+1 warm-up) by default: it must wrap around, not stop."""
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    batches = [(torch.randn(2, 168, 7), torch.randn(2, 24, 7)) for _ in range(2)]
    monkeypatch.setattr(script, "TimeSeriesDataModule", lambda *args, **kwargs: argparse.Namespace(train_dataloader=lambda: batches))
    args = script.parse_args(["--quick", "--runs", str(tmp_path), "--timing-batches", "5"])
    args.timing_batches = 5  # --quick sets 2
    seconds = script.relative_epoch_time("ETTh1", 24, args)
    assert set(seconds) >= set(script.VARIANTS) and all(seconds[v] > 0 for v in script.VARIANTS) and seconds["batches"] == 5
    assert json.loads((tmp_path / "timing_ETTh1_24_quick.json").read_text())["batches"] == 5


def test_timing_is_measured_only_for_requested_settings(tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of ETTh1-168 must not time ETTh1-24 (a default --timing setting) as a side effect."""
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    timed: list[tuple[str, int]] = []
    monkeypatch.setattr(script, "train_and_test", lambda *a, **k: {"test_mse": 1.0, "test_mae": 1.0, "best_epoch": 1, "epochs": 1})
    monkeypatch.setattr(script, "relative_epoch_time", lambda dataset, horizon, args: timed.append((dataset, horizon)) or {v: 1.0 for v in script.VARIANTS})
    monkeypatch.setattr(script, "write_report", lambda *a, **k: tmp_path / "report.md")
    common = ["--datasets", "ETTh1", "--variants", "full", "--runs", str(tmp_path), "--records", str(tmp_path)]
    script.main([*common, "--horizons", "168"])
    assert timed == []
    script.main([*common, "--horizons", "24", "168"])
    assert timed == [("ETTh1", 24)]


@pytest.mark.usefixtures("_clean_argv")
@pytest.mark.parametrize(
    ("report", "horizons", "row"),
    [
        ("crossformer_seeds.md", {24, 48}, "| 24 | Crossformer-SH | ≤20 ep. | 2 |"),
        ("crossformer_seeds.md", {24, 48}, "| 48 | Crossformer-SH | ≤20 ep. | 2 | 2/5, 1/4 | 2833, 2833 | 0.353 ± 0.015 | 0.389 ± 0.012 |"),
        ("crossformer_etth1_168.md", {168}, "| 168 | Crossformer-DH | ≤20 ep. | 1 | 10/13 |"),
        ("crossformer_etth1_168.md", {168}, "| 168 | Crossformer-SH, no pattern norms | ≤20 ep. | 1 | 3/6 | 2713 | 0.412 | 0.442 |"),
        ("crossformer_etth1_336.md", {336}, "| 336 | Crossformer-SH | ≤20 ep. | 1 | 3/6 |"),
        ("crossformer_etth1_336.md", {336}, "| 336 | Crossformer-DH | ≤20 ep. | 1 | 6/9 | 2545 | 0.604 | 0.574 |"),
        ("crossformer_etth1_720.md", {720}, "| 720 | Crossformer | ≤20 ep. | 1 | 10/13 | 2161 | 0.572 | 0.550 |"),
        ("crossformer_etth1_720.md", {720}, "| 720 | Crossformer-SH | ≤20 ep. | 1 | 2/5 | 2161 | 0.678 | 0.631 |"),
        ("crossformer_etth1_720.md", {720}, "| 720 | Crossformer-DH | ≤20 ep. | 1 | 4/7 | 2161 | 0.695 | 0.630 |"),
        ("crossformer_ablation.md", {24, 36, 48, 60, 168}, "| 48 | Crossformer-SH, no pattern norms | ≤20 ep. | 2 | 3/6, 2/5 | 2833, 2833 | 0.343 ± 0.001 | 0.384 ± 0.004 |"),
        (
            "crossformer_ablation.md",
            {24, 36, 48, 60, 168},
            "| 24 | Crossformer-SH, no pattern norms | ≤20 ep. | 3 | 2/5, 3/6, 4/7 | 2857, 2857, 2857 | 0.307 ± 0.010 | 0.361 ± 0.005 |",
        ),
        ("crossformer_ili_seed1.md", {24, 36, 48, 60}, "| 60 | Crossformer-SH | ≤20 ep. | 1 | 6/9 | 134 | 3.611 | 1.244 |"),
        ("crossformer_ablation.md", {24, 36, 48, 60, 168}, "| 60 | Crossformer-SH, no pattern norms | ≤20 ep. | 1 | 4/7 | 134 | 3.913 | 1.308 |"),
    ],
)
def test_a_committed_table_is_rebuilt_from_the_committed_run_records(tmp_path: Path, load_script, report: str, horizons: set[int], row: str) -> None:
    """Every number of the report follows from the JSON records in results/runs/crossformer/ (``--report-only``:
    nothing trained, no timing measured: a committed timing record is shown as it is); records of other horizons, variants or seeds in that folder are left out."""
    script = load_script(ROOT / "experiments" / "reproduce_crossformer.py")
    committed = (ROOT / "results" / report).read_text()
    command = committed.split("**Command:** `python experiments/reproduce_crossformer.py ", 1)[1].split("`", 1)[0].split()
    assert "--report-only" in command
    script.main([*command, "--out", str(tmp_path / "report.md"), "--runs", str(tmp_path / "runs")])
    rebuilt = (tmp_path / "report.md").read_text()
    assert rebuilt.split("### ", 1)[1] == committed.split("### ", 1)[1]
    assert row in rebuilt and "Settings without a run" not in rebuilt
    rows = [line for line in rebuilt.splitlines() if line[:3].strip("| ").isdigit()]
    assert rows and {int(line.split("|")[1]) for line in rows} == horizons
