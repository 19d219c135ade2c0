"""The ``hopfield-layers`` command: config overrides, logs and checkpoints, resume, best checkpoint, errors, DDP."""

from __future__ import annotations

import csv
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hopfield_layers import Entmax, Softmax, Sparsemax
from hopfield_layers.lit import HopfieldCLI, TaskModule, find_checkpoint
from hopfield_layers.lit.cli import default_loggers

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "mil" / "bit_pattern.yaml"


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(root: Path, *extra: str, epochs: int = 2) -> list[str]:
    """The shipped bit-pattern config shrunk to a run of a second or two."""
    return [
        f"--config={CONFIG}",
        f"--trainer.default_root_dir={root}",
        f"--trainer.max_epochs={epochs}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.log_every_n_steps=1",
        "--data.init_args.bag_size=6",
        "--data.init_args.num_bits=4",
        "--data.init_args.num_signals=2",
        "--data.init_args.num_train=32",
        "--data.init_args.num_val=16",
        "--data.init_args.num_test=16",
        "--data.init_args.batch_size=8",
        "--model.network.init_args.input_size=4",
        "--model.network.init_args.embedding_sizes=[8]",
        *extra,
    ]


@pytest.fixture(autouse=True)
def _clean_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])  # LightningCLI warns when args and sys.argv are both given


def cli(*args: str, run: bool = True) -> HopfieldCLI:
    return HopfieldCLI(args=list(args), run=run)


def rows(log_dir: Path) -> list[dict[str, str]]:
    with open(log_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def final(log_dir: Path, key: str) -> float:
    return float([r for r in rows(log_dir) if r.get(key)][-1][key])


def test_fit_writes_logs_config_and_checkpoints(tmp_path: Path) -> None:
    run = cli("fit", *tiny(tmp_path))
    log_dir = tmp_path / "version_0"
    assert Path(run.trainer.log_dir) == log_dir
    assert {"metrics.csv", "config.yaml", "checkpoints"} <= {p.name for p in log_dir.iterdir()}
    assert (log_dir / "checkpoints" / "last.ckpt").is_file()
    assert Path(run.trainer.checkpoint_callback.best_model_path).parent == log_dir / "checkpoints"
    header = rows(log_dir)[0].keys()
    assert {"train_loss", "val_loss", "val_accuracy", "val_auroc", "train_accuracy"} <= set(header)
    assert [type(logger).__name__ for logger in run.trainer.loggers] == [type(logger).__name__ for logger in default_loggers(tmp_path / "x")]
    assert run.trainer.accelerator.__class__.__name__ == "CPUAccelerator"  # accelerator="auto" on this machine


def test_tensorboard_logs_next_to_the_csv_logs_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hopfield_layers.lit import cli as cli_module

    made: list[dict[str, object]] = []
    monkeypatch.setattr(cli_module, "TensorBoardLogger", lambda root, **kwargs: made.append({"root": root, **kwargs}) or "tensorboard")
    monkeypatch.setattr(cli_module.importlib.util, "find_spec", lambda name: None)
    assert [type(logger).__name__ for logger in default_loggers(tmp_path)] == ["CSVLogger"] and not made
    monkeypatch.setattr(cli_module.importlib.util, "find_spec", lambda name: object() if name == "tensorboard" else None)
    csv_logger, tensorboard = default_loggers(tmp_path)
    assert tensorboard == "tensorboard" and made == [{"root": tmp_path, "name": "", "version": csv_logger.version, "default_hp_metric": False}]


def test_hopfield_arguments_are_set_from_the_command_line(tmp_path: Path) -> None:
    prefix = "--model.network.init_args.pooling.init_args"
    built = cli(*tiny(tmp_path, f"{prefix}.separation=softmax", f"{prefix}.num_heads=2", f"{prefix}.scaling=2.5", f"{prefix}.update_steps_max=1"), run=False)
    hopfield = built.model.network.pooling.hopfield
    assert isinstance(hopfield.separation, Softmax) and hopfield.num_heads == 2 and hopfield.scaling == 2.5 and hopfield.update_steps_max == 1
    assert isinstance(cli(*tiny(tmp_path), run=False).model.network.pooling.hopfield.separation, Sparsemax)
    as_dict = cli(*tiny(tmp_path, f'{prefix}.separation={{"name": "entmax", "alpha": 1.3, "learnable": true}}'), run=False)
    separation = as_dict.model.network.pooling.hopfield.separation
    assert isinstance(separation, Entmax) and separation.learnable and separation.alpha_logit.shape == (8,)  # per-head α
    as_class = cli(*tiny(tmp_path, f"{prefix}.separation=hopfield_layers.Entmax15", f"{prefix}.similarity=manhattan"), run=False)
    assert type(as_class.model.network.pooling.hopfield.separation).__name__ == "Entmax15"
    assert type(as_class.model.network.pooling.hopfield.similarity).__name__ == "NegativeManhattan"


def test_print_config_shows_every_hopfield_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("fit", *tiny(tmp_path), "--print_config")
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    for line in ("separation: sparsemax", "similarity: dot", "update_steps_max: 1", "scaling: 0.25", "num_heads: 8", "seed_everything: 0", "accelerator: auto"):
        assert line in printed


@pytest.mark.parametrize("config", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_shipped_config_parses(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("fit", f"--config={config}", "--print_config")
    assert exit_info.value.code == 0 and "class_path: hopfield_layers." in capsys.readouterr().out


def _as_plain(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("config", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_the_optimizer_a_config_names_gets_only_the_arguments_it_lists(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every optimiser argument a config does not set keeps that class's own default (no AdamW weight decay leaking into Adam)."""
    written = (yaml.safe_load(config.read_text()).get("model") or {}).get("optimizer")
    if written is None:
        pytest.skip("the config keeps the default optimiser")
    with pytest.raises(SystemExit):
        cli("fit", f"--config={config}", "--print_config")
    resolved = yaml.safe_load(capsys.readouterr().out)["model"]["optimizer"]
    assert resolved["class_path"] == written["class_path"]
    module, _, name = written["class_path"].rpartition(".")
    defaults = {k: v.default for k, v in inspect.signature(getattr(importlib.import_module(module), name)).parameters.items() if v.default is not inspect.Parameter.empty}
    given = written.get("init_args") or {}
    for key, value in resolved["init_args"].items():
        expected = given[key] if key in given else defaults[key]
        assert _as_plain(value) == _as_plain(expected), f"{written['class_path']}.{key}: {value!r}, expected {expected!r}"


def test_the_default_optimizer_is_adamw_with_its_own_defaults() -> None:
    optimizer = TaskModule(torch.nn.Linear(2, 1)).configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW and optimizer.defaults["weight_decay"] == 0.01 and optimizer.defaults["lr"] == 0.001


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--model.network.init_args.pooling.init_args.separation=bogus", "unknown separation 'bogus'"),
        ("--model.metrics=[mse]", "metric 'mse' does not apply to a binary task"),
        ("--model.task=ranking", "task must be one of"),
        ("--model.network.init_args.pooling.init_args.num_heds=2", "num_heds"),
        ("--data.init_args.num_positive=7", "num_positive must be at most bag_size = 6"),
        ("--trainer.max_epochs=many", "max_epochs"),
    ],
)
def test_bad_configs_fail_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("fit", *tiny(tmp_path, override))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_file_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli("fit", *tiny(tmp_path, "--data=hopfield_layers.data.mil.MILBenchmarkDataModule", "--data.dataset=fox", f"--data.root={tmp_path}"))
    assert "mil/fox_100x100.mat" in capsys.readouterr().err


def test_resume_from_last_checkpoint_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = cli("fit", *tiny(tmp_path / "whole", epochs=4))
    cli("fit", *tiny(tmp_path / "split", epochs=2))  # "interrupted" after two epochs
    resumed = cli("fit", *tiny(tmp_path / "split", "--ckpt_path=last", epochs=4))
    assert resumed.trainer.current_epoch == 4 and resumed.trainer.global_step == whole.trainer.global_step
    assert Path(resumed.trainer.log_dir).name == "version_1"  # a resumed run logs into a new version
    for key in ("val_loss", "val_accuracy", "val_auroc", "train_loss"):
        assert final(tmp_path / "split" / "version_1", key) == pytest.approx(final(tmp_path / "whole" / "version_0", key), abs=1e-6)
    best_whole, best_resumed = whole.trainer.checkpoint_callback, resumed.trainer.checkpoint_callback
    assert best_resumed.best_model_score == best_whole.best_model_score  # the best-checkpoint record carries over
    assert Path(best_resumed.best_model_path).parent == tmp_path / "split" / "version_0" / "checkpoints"
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_test_and_validate_use_the_best_or_last_checkpoint_of_the_latest_fit(tmp_path: Path) -> None:
    fitted = cli("fit", *tiny(tmp_path, epochs=3))
    best = fitted.trainer.checkpoint_callback.best_model_path
    assert find_checkpoint("best", tmp_path) == best
    assert find_checkpoint("last", tmp_path) == str(tmp_path / "version_0" / "checkpoints" / "last.ckpt")
    tested = cli("test", *tiny(tmp_path, "--ckpt_path=best"))
    assert tested.trainer.ckpt_path == best
    assert {"test_loss", "test_accuracy", "test_auroc"} <= set(rows(Path(tested.trainer.log_dir))[0])
    validated = cli("validate", *tiny(tmp_path, "--ckpt_path=last"))
    assert validated.trainer.ckpt_path.endswith("last.ckpt")
    predicted = torch.cat(cli("predict", *tiny(tmp_path, "--ckpt_path=best")).trainer.predict_loop.predictions)
    assert predicted.shape == (16,) and bool(((predicted >= 0) & (predicted <= 1)).all())  # test-bag probabilities


def test_a_tie_broken_metric_is_configured_and_monitored_from_the_command_line(tmp_path: Path) -> None:
    extra = (
        "--trainer.callbacks+=hopfield_layers.lit.TieBreakMetric",
        "--trainer.callbacks.primary=val_accuracy",
        "--trainer.callbacks.secondary=val_loss",
        "--checkpoint.monitor=val_accuracy_then_loss",
        "--checkpoint.mode=max",
    )
    run = cli("fit", *tiny(tmp_path, *extra, epochs=3))
    ranking = [c for c in run.trainer.callbacks if type(c).__name__ == "TieBreakMetric"]
    assert len(ranking) == 1
    metrics = run.trainer.callback_metrics
    combined = metrics["val_accuracy_then_loss"]
    assert combined.dtype == torch.float64 and float(metrics["val_accuracy"]) - 1e-7 < float(combined) <= float(metrics["val_accuracy"])
    assert run.trainer.checkpoint_callback.monitor == "val_accuracy_then_loss"
    assert Path(run.trainer.checkpoint_callback.best_model_path).is_file()


def test_last_checkpoint_missing_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli("fit", *tiny(tmp_path, "--ckpt_path=last"))
    assert "no last*.ckpt under" in capsys.readouterr().err
    with pytest.raises(ValueError, match="which must be"):
        find_checkpoint("first", tmp_path)


def test_ddp_fits_two_processes_on_cpu(tmp_path: Path) -> None:
    """Two gloo processes share the data: half the optimiser steps per epoch of a single process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "hopfield_layers.lit", "fit", *tiny(tmp_path), "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in done.stdout + done.stderr
    checkpoint = torch.load(tmp_path / "version_0" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["global_step"] == 2 * (32 // 8) // 2  # 2 epochs × 2 steps per process
    assert 0.0 <= final(tmp_path / "version_0", "val_accuracy") <= 1.0
