"""TieBreakMetric: checkpointing and early stopping on a saturating metric, ties broken by the validation loss."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from hopfield_layers.lit import TieBreakMetric

pytestmark = pytest.mark.usefixtures("one_thread")

#: per-epoch validation values: the AUC saturates at epoch 1 while the loss keeps falling until epoch 3
AUROC = [0.50, 1.00, 1.00, 1.00, 1.00, 0.90, 0.90, 0.90]
LOSS = [1.00, 0.80, 0.60, 0.40, 0.45, 0.10, 0.10, 0.10]


class Scripted(pl.LightningModule):
    """Logs the scripted ``val_auroc`` / ``val_loss`` of the current epoch; trains one dummy parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return (self.weight - batch[0].mean()).pow(2)

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        epoch = self.current_epoch
        self.log("val_auroc", AUROC[epoch])
        self.log("val_loss", LOSS[epoch])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(tmp_path: Path, tie_break: bool, patience: int = 2) -> tuple[int, int]:
    """(epoch of the best checkpoint, epochs trained) with or without the tie-break."""
    data = DataLoader(TensorDataset(torch.ones(2, 1)), batch_size=2)
    ranking = [TieBreakMetric("val_auroc", "val_loss")] if tie_break else []
    monitor = ranking[0].name if ranking else "val_auroc"
    checkpoint = ModelCheckpoint(dirpath=tmp_path, monitor=monitor, mode="max", filename="{epoch}")
    stopping = EarlyStopping(monitor=monitor, mode="max", patience=patience)
    trainer = pl.Trainer(
        max_epochs=len(AUROC),
        accelerator="cpu",
        logger=False,
        callbacks=[*ranking, checkpoint, stopping],
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Scripted(), data, data)
    best_epoch = int(Path(checkpoint.best_model_path).stem.split("=")[1])
    return best_epoch, trainer.current_epoch


def test_without_it_the_first_epoch_at_the_saturated_value_wins_and_training_stops(tmp_path: Path) -> None:
    assert fit(tmp_path, tie_break=False) == (1, 4)  # epochs 2 and 3 tie on the AUC: no improvement, stop after 2 more


def test_ties_on_the_auc_go_to_the_lower_loss_and_keep_training_going(tmp_path: Path) -> None:
    # epoch 3 has the lowest loss among the AUC-1.0 epochs; epoch 5's far lower loss never outranks a higher AUC
    assert fit(tmp_path, tie_break=True) == (3, 6)


def test_the_combined_value_ranks_by_the_primary_then_the_secondary() -> None:
    class Trainer:
        sanity_checking = False
        callback_metrics: dict[str, torch.Tensor] = {}

    rank = TieBreakMetric("val_auroc", "val_loss")
    values = []
    for auroc, loss in [(0.9, 0.0), (1.0, 50.0), (1.0, 0.2), (1.0 - 1 / 3000**2 * 4, 0.0)]:
        Trainer.callback_metrics = {"val_auroc": torch.tensor(auroc), "val_loss": torch.tensor(loss)}
        rank.on_validation_end(Trainer(), None)  # type: ignore[arg-type]
        values.append(float(Trainer.callback_metrics["val_auroc_then_loss"]))
    assert values[2] > values[1] > values[3] > values[0]
    assert Trainer.callback_metrics["val_auroc_then_loss"].dtype == torch.float64


def test_bad_arguments_and_a_missing_metric_are_named() -> None:
    with pytest.raises(ValueError, match="epsilon must be positive"):
        TieBreakMetric("val_auroc", "val_loss", epsilon=0)
    with pytest.raises(ValueError, match="must differ"):
        TieBreakMetric("val_loss", "val_loss")

    class Trainer:
        sanity_checking = False
        callback_metrics = {"val_auroc": torch.tensor(1.0)}

    with pytest.raises(KeyError, match="val_loss"):
        TieBreakMetric("val_auroc", "val_loss").on_validation_end(Trainer(), None)  # type: ignore[arg-type]
