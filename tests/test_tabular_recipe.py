"""The tabular recipe: the shipped config through the ``hopfield-layers`` CLI, ``InitPatterns``, and
``experiments/reproduce_tabular.py --quick``."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from torch import nn

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from hopfield_layers.data.tabular import TabularDataModule  # noqa: E402
from hopfield_layers.lit import HopfieldCLI, InitPatterns, TaskModule  # noqa: E402
from hopfield_layers.models.tabular import MemoryClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "tabular" / "adult.yaml"
SCRIPT = ROOT / "experiments" / "reproduce_tabular.py"

pytestmark = pytest.mark.usefixtures("one_thread")


def _write_bank(root: Path, rows: int = 80) -> None:
    """A small file in the format of UCI Bank Marketing's bank-full.csv (';'-separated, label y)."""
    rng = np.random.default_rng(0)
    age = rng.integers(20, 70, rows)
    frame = pd.DataFrame({"age": age, "balance": rng.normal(0, 1000, rows).round(), "day": rng.integers(1, 31, rows), "duration": rng.integers(0, 900, rows)})
    frame["campaign"], frame["pdays"], frame["previous"] = 1, -1, 0
    frame["job"] = rng.choice(["admin.", "technician", "services"], rows)
    frame["y"] = np.where(age > 45, "yes", "no")
    (root / "tabular").mkdir(parents=True)
    frame.to_csv(root / "tabular" / "bank-full.csv", sep=";", index=False)


def test_shipped_config_fits_with_patterns_from_the_training_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])
    _write_bank(tmp_path / "data")
    data = TabularDataModule("bank", str(tmp_path / "data"))
    args = [
        f"--config={CONFIG}",
        f"--trainer.default_root_dir={tmp_path / 'runs'}",
        "--trainer.max_epochs=2",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.callbacks.init_args.method=sample",
        "--data.init_args.dataset=bank",
        f"--data.init_args.data_root={tmp_path / 'data'}",
        "--data.init_args.batch_size=16",
        f"--model.network.init_args.input_size={data.num_features}",
        "--model.network.init_args.num_patterns=8",
        "--model.network.init_args.trainable_patterns=false",
        "--model.network.init_args.hidden_sizes=[8]",
    ]
    run = HopfieldCLI(args=["fit", *args])
    network = run.model.network
    assert type(network.similarity).__name__ == "Footprint"
    x_train = data.tensors.x_train
    assert all(bool((x_train == row).all(dim=1).any()) for row in network.patterns)  # stored patterns are training rows
    with open(tmp_path / "runs" / "version_0" / "metrics.csv", newline="") as handle:
        logged = [row for row in csv.DictReader(handle) if row["val_accuracy"]]
    assert len(logged) == 2 and 0.0 <= float(logged[-1]["val_auroc"]) <= 1.0


TABULAR_CONFIGS = sorted((ROOT / "configs" / "tabular").glob("*.yaml"))


def test_every_available_dataset_has_a_config() -> None:
    assert [path.stem for path in TABULAR_CONFIGS] == ["adult", "bank", "heart", "purchase"]


@pytest.mark.parametrize("config", TABULAR_CONFIGS, ids=lambda path: path.stem)
def test_each_config_fits_its_dataset_as_shipped(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    """Only the run length and the pattern init (K-means → sample, for speed) are cut: the shipped input_size must match the data."""
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])
    args = [
        f"--config={config}",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=1",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.callbacks.init_args.method=sample",
    ]
    run = HopfieldCLI(args=["fit", *args])
    assert run.datamodule.dataset == config.stem
    assert run.model.network.input_size == run.datamodule.num_features
    assert type(run.model.network.similarity).__name__ == "Footprint"
    assert run.trainer.current_epoch == 1 and (tmp_path / "version_0" / "metrics.csv").exists()


def test_a_config_whose_input_size_does_not_match_the_data_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])
    _write_bank(tmp_path / "data")
    width = TabularDataModule("bank", str(tmp_path / "data")).num_features
    args = [
        f"--config={CONFIG}",  # Adult's config: input_size 108
        f"--trainer.default_root_dir={tmp_path / 'runs'}",
        "--trainer.callbacks.init_args.method=sample",
        "--data.init_args.dataset=bank",
        f"--data.init_args.data_root={tmp_path / 'data'}",
        "--model.network.init_args.num_patterns=8",
    ]
    with pytest.raises(ValueError, match=rf"expects \(N, 108\).*--model\.network\.init_args\.input_size={width}\b"):
        HopfieldCLI(args=["fit", *args])


def test_init_patterns_needs_a_network_with_init_patterns() -> None:
    with pytest.raises(TypeError, match="InitPatterns needs a network with an init_patterns"):
        InitPatterns().setup(SimpleNamespace(datamodule=None), TaskModule(nn.Linear(3, 1)), "fit")


def test_init_patterns_needs_a_datamodule() -> None:
    module = TaskModule(MemoryClassifier(3, num_patterns=2, similarity="dot"), task="multiclass", num_classes=2)
    with pytest.raises(ValueError, match="reads the training inputs from the trainer's datamodule"):
        InitPatterns().setup(SimpleNamespace(datamodule=None), module, "fit")
    before = module.network.patterns.clone()
    InitPatterns().setup(SimpleNamespace(datamodule=None), module, "test")  # only a fit initialises
    assert torch.equal(module.network.patterns, before)


def _script(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("reproduce_tabular", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "reproduce_tabular", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_reproduce_quick_writes_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    module = _script(monkeypatch)
    out = tmp_path / "tabular.md"
    argv = [str(SCRIPT), "--quick", "--datasets", "purchase", "vaccine", "--folds", "2", "--threads", "1", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", [*argv, "--methods", "A-Hop", "M-Hop", "K2-Hop", "XGBoost", "AdaBoost"])
    module.main()
    text = out.read_text()
    assert "**Command:** `python" in text and "**Seeds:** 0, 1" in text
    assert re.search(r"\| Purchase \| roc_auc \| 0\.\d{4} ± 0\.\d{4} \| 0\.9007 \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.9032 \| 0\.\d{4}", text)
    assert re.search(r"\| Vaccine \| — \| data not available \| 0\.8042 \| data not available", text)
    assert "--grid full --folds 5 --seeds 5" in text


def test_reproduce_cached_only_computes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    module = _script(monkeypatch)
    cache = tmp_path / "cache.jsonl"
    argv = [str(SCRIPT), "--datasets", "purchase", "--methods", "M-Hop", "XGBoost", "--eval-folds", "1", "--cache", str(cache), "--out", str(tmp_path / "t.md")]
    monkeypatch.setattr(sys, "argv", [*argv, "--cached-only"])
    monkeypatch.setattr(module, "run_memory", lambda *args: pytest.fail("--cached-only must not train"))
    monkeypatch.setattr(module, "run_baseline", lambda *args: pytest.fail("--cached-only must not fit"))
    module.main()
    assert "| Purchase | roc_auc | not run (compute budget) | not run (compute budget) | 0.9032 |" in (tmp_path / "t.md").read_text()
    assert not cache.exists()


@pytest.mark.parametrize("table", ["tabular.md", "tabular_fold1.md", "tabular_long.md"])
def test_the_committed_table_is_rebuilt_from_the_committed_run_record(table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    """Every number of the committed tables follows from results/runs/tabular.jsonl (nothing trained or fitted here)."""
    record = ROOT / "results" / "runs" / "tabular.jsonl"
    committed = (ROOT / "results" / table).read_text()
    command = re.search(r"\*\*Command:\*\* `python experiments/reproduce_tabular.py ([^`]*)`", committed).group(1).split()
    module = _script(monkeypatch)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *command, "--cache", str(record), "--out", str(tmp_path / "t.md"), "--cached-only"])
    monkeypatch.setattr(module, "run_memory", lambda *args: pytest.fail("--cached-only must not train"))
    monkeypatch.setattr(module, "run_baseline", lambda *args: pytest.fail("--cached-only must not fit"))
    module.main()
    rebuilt = (tmp_path / "t.md").read_text()
    assert "not run" not in rebuilt.split("### ", 1)[1]  # every method found in the record
    assert rebuilt.split("### ", 1)[1] == committed.split("### ", 1)[1]


@pytest.mark.parametrize("dataset", ["adult", "bank", "purchase", "heart"])
def test_each_shipped_config_holds_the_a_hop_choice_of_the_committed_table(dataset: str) -> None:
    """configs/tabular/<dataset>.yaml trains A-Hop with the configuration results/tabular.md reports as chosen."""
    table = (ROOT / "results" / "tabular.md").read_text()
    row = re.search(rf"^\| {dataset.capitalize()} \| A-Hop \| .*\| (\{{[^|]*\}}) \| [\d.]+ \|$", table, re.MULTILINE)
    assert row is not None, f"no A-Hop row for {dataset} in results/tabular.md"
    chosen = json.loads(row.group(1))
    config = yaml.safe_load((ROOT / "configs" / "tabular" / f"{dataset}.yaml").read_text())
    [init] = [c["init_args"]["method"] for c in config["trainer"]["callbacks"] if c["class_path"].endswith("InitPatterns")]
    shipped = {
        "epochs": config["trainer"]["max_epochs"],
        "batch_size": config["data"]["init_args"]["batch_size"],
        "lr": config["model"]["optimizer"]["init_args"]["lr"],
        "init": init,
    }
    assert shipped == chosen
    assert config["model"]["network"]["init_args"]["similarity"] == "footprint"
