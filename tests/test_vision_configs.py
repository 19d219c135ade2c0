"""Every ``configs/vision/*.yaml`` trains through the ``hopfield-layers`` CLI on a tiny dataset in the official on-disk layout.

The datasets are written by the test (CIFAR pickles registered with their own md5s; Tiny ImageNet JPEG
folders); the config's network is narrowed so that two training steps take about a second.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml
from test_vision_data import write_cifar, write_tiny_imagenet

from hopfield_layers import Hopfield
from hopfield_layers.data import vision
from hopfield_layers.data.vision import CIFAR10, CIFAR100
from hopfield_layers.lit import HopfieldCLI
from hopfield_layers.models import HopfieldViT

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs" / "vision").glob("*.yaml"))
VARIANTS = {"mhop": ("Softmax", "Dot"), "sparse": ("Sparsemax", "Dot"), "ahop": ("Softmax", "Footprint")}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def fake_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tiny CIFAR-10, CIFAR-100 (checksums registered for this test only) and Tiny ImageNet under one root."""
    monkeypatch.setattr(vision, "CIFAR10", write_cifar(tmp_path, CIFAR10))
    monkeypatch.setattr(vision, "CIFAR100", write_cifar(tmp_path, CIFAR100))
    write_tiny_imagenet(tmp_path, per_class=4)
    monkeypatch.setattr(sys, "argv", ["hopfield-layers"])  # LightningCLI warns when args and sys.argv are both given
    return tmp_path


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_fits_two_steps_through_the_cli(path: Path, fake_data: Path) -> None:
    config = yaml.safe_load(path.read_text())
    dataset, variant = path.stem.split("_")
    network = config["model"]["network"]["init_args"]
    assert config["data"]["init_args"]["dataset"] == dataset and config["model"]["num_classes"] == network["num_classes"]
    assert network["num_classes"] == vision.VISION_DATASETS[dataset].num_classes and network["image_size"] == vision.VISION_DATASETS[dataset].image_size
    assert config["trainer"]["max_epochs"] == config["model"]["scheduler"]["init_args"]["T_max"]

    cli = HopfieldCLI(
        args=[
            "fit",
            f"--config={path}",
            f"--trainer.default_root_dir={fake_data / 'runs'}",
            "--trainer.max_epochs=1",
            "--trainer.limit_val_batches=1",
            "--trainer.log_every_n_steps=1",
            "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false",
            f"--data.init_args.root={fake_data}",
            "--data.init_args.val_size=2",
            "--data.init_args.train_size=4",
            "--data.init_args.batch_size=2",
            "--model.network.init_args.embed_dim=8",
            "--model.network.init_args.num_heads=2",
            "--model.network.init_args.depth=1",
        ]
    )
    assert cli.trainer.global_step == 2
    assert isinstance(cli.model.network, HopfieldViT) and cli.model.network.patch_embedding.image_size == network["image_size"]
    modules = [m for m in cli.model.network.modules() if isinstance(m, Hopfield)]
    assert modules and {(type(m.association_core.separation).__name__, type(m.association_core.similarity).__name__) for m in modules} == {VARIANTS[variant]}
    log_dir = Path(cli.trainer.log_dir)
    assert (log_dir / "checkpoints" / "last.ckpt").is_file() and "val_accuracy" in (log_dir / "metrics.csv").read_text()
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
