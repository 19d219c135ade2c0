"""experiments/reproduce_vision.py in quick mode: the awaiting-data report, the step timing and a training row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hopfield_layers.models import HopfieldViT
from hopfield_layers.similarity import SIMILARITIES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "reproduce_vision.py"


def test_without_data_the_table_awaits_data_and_the_step_timing_runs(tmp_path: Path) -> None:
    out = tmp_path / "vision.md"
    empty = tmp_path / "data"
    empty.mkdir()
    env = {**os.environ, "HOPFIELD_DATA": str(empty)}
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)], check=True, capture_output=True, text=True, env=env)
    text = out.read_text()
    assert "**Command:** `python" in text and "**Hardware:**" in text and "**Seeds:** 0, 1" in text
    assert "| CIFAR-10 | 0.5123 | 0.5489 | 0.5637 | awaits data | awaits data | awaits data |" in text
    assert "| Tiny ImageNet | 0.1095 | 0.1164 | 0.1213 | awaits data |" in text
    assert f"expected 'cifar-10-batches-py/data_batch_1' under the data root '{empty}'" in text  # where to put which files
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in text and "tiny-imagenet-200.zip" in text
    assert "python experiments/reproduce_vision.py --download --datasets cifar10 cifar100 tinyimagenet" in text
    assert "CPU step times, NOT GPU epoch times" in text
    for row in ("| M-Hop | ", "| sparse | ", "| M-Hop + HopfieldLayer MLP | "):
        assert row in text
    assert "| M-Hop | " in text.split("Time per training step")[1] and "| 1.00 |" in text


@pytest.mark.parametrize("path", sorted((ROOT / "configs" / "vision").glob("*.yaml")), ids=lambda p: p.stem)
def test_configs_build_their_network(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    dataset, variant = path.stem.split("_")
    network = config["model"]["network"]
    assert network["class_path"] == "hopfield_layers.models.HopfieldViT"
    assert config["data"]["init_args"]["dataset"] == dataset and config["model"]["num_classes"] == network["init_args"]["num_classes"]
    assert config["trainer"]["max_epochs"] == config["model"]["scheduler"]["init_args"]["T_max"]
    expected = {"mhop": ("softmax", "dot"), "sparse": ("sparsemax", "dot"), "ahop": ("softmax", "footprint")}[variant]
    assert (network["init_args"]["hopfield"]["separation"], network["init_args"]["hopfield"]["similarity"]) == expected
    if network["init_args"]["hopfield"]["similarity"] not in SIMILARITIES:
        pytest.skip("the footprint similarity is not in this installation")
    model = HopfieldViT(**{**network["init_args"], "embed_dim": 12, "depth": 1})  # the config's network, narrower
    size = network["init_args"]["image_size"]
    assert model(torch.randn(2, 3, size, size)).shape == (2, network["init_args"]["num_classes"])
