"""TaskModule: the three task types, batch layouts, metrics, schedulers and errors (plain Trainer, no CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer, seed_everything
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from hopfield_layers.lit import SplitDataModule, TaskModule, build_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


class Tensors(SplitDataModule):
    """Tiny data module: the same tensors for every split (sequence batches ``(x, y)``)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 8) -> None:
        super().__init__(batch_size=batch_size)
        self.dataset = TensorDataset(x, y)

    def build(self, stage: str | None) -> dict[str, Dataset]:
        return {"train": self.dataset, "val": self.dataset, "test": self.dataset}


def trainer(tmp_path: Path, epochs: int = 1) -> Trainer:
    return Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)


def test_multiclass_fit_and_test(tmp_path: Path) -> None:
    seed_everything(0)
    x = torch.randn(64, 5)
    y = x[:, :3].argmax(1)
    module = TaskModule(nn.Linear(5, 3), task="multiclass", num_classes=3, metrics=["accuracy", "f1"], optimizer=lambda p: torch.optim.Adam(p, lr=0.05))
    fit = trainer(tmp_path, epochs=8)
    fit.fit(module, Tensors(x, y, batch_size=16))
    result = fit.test(module, Tensors(x, y), verbose=False)[0]
    assert set(result) == {"test_loss", "test_accuracy", "test_f1"} and result["test_accuracy"] > 0.8
    probabilities = torch.cat(fit.predict(module, Tensors(x, y)))
    assert probabilities.shape == (64, 3) and torch.allclose(probabilities.sum(1), torch.ones(64))


def test_regression_with_a_halving_lr_schedule(tmp_path: Path) -> None:
    x = torch.randn(32, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0])
    network = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))
    module = TaskModule(
        network,
        task="regression",
        metrics=["mse", "mae"],
        loss=nn.L1Loss(),
        optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
    )
    fit = trainer(tmp_path, epochs=3)
    fit.fit(module, Tensors(x, y))
    assert fit.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.1 / 8)
    assert {"train_loss", "val_loss", "val_mse", "val_mae"} <= set(fit.callback_metrics)


def test_plateau_scheduler_monitors_a_logged_value(tmp_path: Path) -> None:
    x, y = torch.randn(16, 2), torch.randint(0, 2, (16,)).float()
    module = TaskModule(nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)), scheduler=lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0), scheduler_monitor="val_loss")
    config = module.configure_optimizers()
    assert config["lr_scheduler"]["monitor"] == "val_loss"
    trainer(tmp_path, epochs=2).fit(module, Tensors(x, y))


def test_mapping_batches_go_to_the_network_as_keywords() -> None:
    args, kwargs, target = TaskModule.split_batch({"bags": 1, "padding_mask": None, "target": torch.zeros(2)})
    assert args == () and kwargs == {"bags": 1, "padding_mask": None} and target.shape == (2,)
    assert TaskModule.split_batch({"bags": 1}, need_target=False) == ((), {"bags": 1}, None)
    args, kwargs, target = TaskModule.split_batch((torch.ones(2), torch.zeros(2), torch.ones(2)))
    assert len(args) == 2 and kwargs == {}
    with pytest.raises(ValueError, match="needs a 'target' entry"):
        TaskModule.split_batch({"x": 1})
    with pytest.raises(TypeError, match="a batch must be a mapping"):
        TaskModule.split_batch(torch.ones(3))


def test_output_shape_errors() -> None:
    binary = TaskModule(nn.Identity())
    with pytest.raises(ValueError, match=r"binary task needs one logit per target: network output \(4, 2\)"):
        binary._output_for_task(torch.zeros(4, 2), torch.zeros(4))
    multiclass = TaskModule(nn.Identity(), task="multiclass", num_classes=3)
    with pytest.raises(ValueError, match=r"logits \(N, C=3\)"):
        multiclass._output_for_task(torch.zeros(4, 2), torch.zeros(4))
    regression = TaskModule(nn.Identity(), task="regression", metrics=["mse"])
    with pytest.raises(ValueError, match="outputs shaped like the targets"):
        regression._output_for_task(torch.zeros(4, 1), torch.zeros(4))


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="task must be one of"):
        TaskModule(nn.Identity(), task="ranking")
    with pytest.raises(ValueError, match="needs num_classes"):
        TaskModule(nn.Identity(), task="multiclass")
    with pytest.raises(TypeError, match="network must be an nn.Module"):
        TaskModule("net")
    with pytest.raises(TypeError, match="loss must be an nn.Module"):
        TaskModule(nn.Identity(), loss="mse")
    with pytest.raises(ValueError, match="scheduler_interval"):
        TaskModule(nn.Identity(), scheduler_interval="batch")
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        build_metrics(["acc"], "binary")
    with pytest.raises(ValueError, match="'auroc' does not apply to a regression task"):
        build_metrics(["auroc"], "regression")
    with pytest.raises(TypeError, match="list of names"):
        build_metrics("accuracy", "binary")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        Tensors(torch.zeros(2, 1), torch.zeros(2), batch_size=0)
    with pytest.raises(ValueError, match="has no 'val' split"):
        data = Tensors(torch.zeros(2, 1), torch.zeros(2))
        data.splits = {"train": data.dataset}
        data.val_dataloader()
