"""The Crossformer recipe: committed configs, the original training protocol, and the reproduction script (quick)."""

from __future__ import annotations

import importlib.util
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


def _generator():
    spec = importlib.util.spec_from_file_location("generate_timeseries_configs", CONFIGS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_configs_match_the_generator(tmp_path: Path) -> None:
    written = _generator().write_all(tmp_path)
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
        scheduler.step()  # Lightning steps an epoch-interval scheduler after each epoch
        original = _original_type1(1e-4, epoch) or original


def _write(root: Path, file: str, rows: int) -> None:
    values = np.random.default_rng(0).normal(size=(rows, 7))
    (root / "timeseries").mkdir(parents=True, exist_ok=True)
    lines = ["date," + ",".join(f"s{j}" for j in range(7))] + [f"t{i}," + ",".join(f"{v:.3f}" for v in row) for i, row in enumerate(values)]
    (root / "timeseries" / file).write_text("\n".join(lines) + "\n")


def test_reproduce_crossformer_quick(tmp_path: Path) -> None:
    _write(tmp_path / "data", "ETTh1.csv", 14400)
    _write(tmp_path / "data", "national_illness.csv", 400)
    out, runs = tmp_path / "crossformer.md", tmp_path / "runs"
    command = [sys.executable, str(ROOT / "experiments" / "reproduce_crossformer.py"), "--quick", "--data-root", str(tmp_path / "data"), "--out", str(out), "--runs", str(runs)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    text = out.read_text()
    assert "**Command:** `python experiments/reproduce_crossformer.py --quick" in text and "**Hardware:**" in text
    for name in ("Crossformer", "Crossformer-DH", "Crossformer-SH"):
        assert f"| 24 | {name} | quick | 1 |" in text
    assert "| 0.305 | 0.367 |" in text and "| 0.295 | 0.357 |" in text  # paper columns next to ours
    assert "| ETTh1-24 | " in text and "(1.00×)" in text  # relative epoch time
    assert "| ETTm1 | 24, 48, 96, 288, 672 | needs GPU" in text
    records = [json.loads(p.read_text()) for p in runs.glob("*_seed*.json")]
    assert len(records) == 6 and all(r["epochs"] == 2 and np.isfinite(r["test_mse"]) for r in records)
    assert not list(runs.rglob("*.ckpt"))  # checkpoints are removed after testing
    again = subprocess.run([*command, "--report-only"], check=True, capture_output=True, text=True)  # cached: no training
    assert "Restoring states" not in again.stderr and out.read_text().count("| quick |") == 6
