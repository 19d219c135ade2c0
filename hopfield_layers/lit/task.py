"""``TaskModule``: one LightningModule for every supervised recipe (network + task + loss + metrics + optimiser).

The network is any ``nn.Module``. A batch is either a mapping with a ``"target"`` entry, whose other
entries are passed to the network as keyword arguments (``{"bags": ..., "padding_mask": ...,
"target": ...}`` → ``network(bags=..., padding_mask=...)``), or a sequence ``(inputs..., target)``
whose inputs are passed positionally.

Per task:

============== ============================= ============================ ============================
task           network output                default loss                 metrics get
============== ============================= ============================ ============================
``binary``     logits ``(N,)`` or ``(N, 1)`` ``BCEWithLogitsLoss``        probabilities ``(N,)``
``multiclass`` logits ``(N, C)``             ``CrossEntropyLoss``         probabilities ``(N, C)``
``regression`` any shape equal to the target ``MSELoss``                  the outputs
============== ============================= ============================ ============================

Logged per stage (``train``, ``val``, ``test``): ``{stage}_loss`` and ``{stage}_{metric}``
(e.g. ``val_auroc``), aggregated over the epoch (and over processes under DDP).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from .metrics import TASKS, build_metrics

__all__ = ["TaskModule"]

_DEFAULT_LOSSES = {"binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss, "regression": nn.MSELoss}


def _built_from_config() -> bool:
    """Whether this module is being built by ``LightningCLI`` (which hands over the parsed config as hyperparameters)."""
    try:
        from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
    except ImportError:  # pragma: no cover - other Lightning versions: save no modules either way
        return False
    return _given_hyperparameters.get() is not None


class TaskModule(LightningModule):
    """Train, validate, test and predict any network on a binary, multiclass or regression task.

    Args:
        network: the model (``nn.Module``; in a config a ``class_path`` with ``init_args``).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        num_classes: number of classes C (multiclass only).
        loss: loss module taking (network output, target); default per task (see module docs).
        metrics: metric names from :data:`~hopfield_layers.lit.metrics.METRICS` (e.g.
            ``["accuracy", "auroc"]``, ``["mse", "mae"]``).
        optimizer: optimiser factory of the parameters (default ``torch.optim.AdamW``).
        scheduler: optional learning-rate scheduler factory of the optimiser.
        scheduler_interval: step the scheduler every ``"epoch"`` or ``"step"``.
        scheduler_monitor: logged value a ``ReduceLROnPlateau`` scheduler watches.
    """

    def __init__(
        self,
        network: nn.Module,
        task: str = "binary",
        num_classes: int | None = None,
        loss: nn.Module | None = None,
        metrics: Sequence[str] = ("accuracy",),
        optimizer: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        scheduler_monitor: str = "val_loss",
    ) -> None:
        super().__init__()
        if not isinstance(network, nn.Module):
            raise TypeError(f"network must be an nn.Module; got {type(network).__name__}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; got {task!r}")
        if task == "multiclass" and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2):
            raise ValueError(f"a multiclass task needs num_classes ≥ 2; got {num_classes!r}")
        if loss is not None and not isinstance(loss, nn.Module):
            raise TypeError(f"loss must be an nn.Module (e.g. torch.nn.HuberLoss) or None for the task's default; got {type(loss).__name__}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"scheduler_interval must be 'epoch' or 'step'; got {scheduler_interval!r}")
        # Under LightningCLI the hyperparameters are the parsed config (plain data, enough for
        # load_from_checkpoint); elsewhere modules and factories are left out (weights are in the state dict).
        self.save_hyperparameters(ignore=[] if _built_from_config() else ["network", "loss", "optimizer", "scheduler"])
        self.network = network
        self.task = task
        self.num_classes = num_classes
        self.loss = loss if loss is not None else _DEFAULT_LOSSES[task]()
        collection = build_metrics(metrics, task, num_classes)
        self.train_metrics = collection.clone(prefix="train_")
        self.val_metrics = collection.clone(prefix="val_")
        self.test_metrics = collection.clone(prefix="test_")
        # The default is resolved here rather than in the signature: under LightningCLI a class default
        # (say AdamW) would hand its arguments (weight_decay=0.01) to a config that picks another
        # optimiser (torch.optim.Adam with only lr), as jsonargparse keeps init_args across class_path changes.
        self.optimizer = optimizer if optimizer is not None else torch.optim.AdamW
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor

    # ------------------------------------------------------------------ batches
    @staticmethod
    def split_batch(batch: Any, need_target: bool = True) -> tuple[tuple[Any, ...], dict[str, Any], Tensor | None]:
        """``(positional inputs, keyword inputs, target)`` of a mapping or ``(inputs..., target)`` batch.

        With ``need_target=False`` (prediction) a mapping may come without ``"target"``.
        """
        if isinstance(batch, Mapping):
            if need_target and "target" not in batch:
                raise ValueError(f"a batch given as a mapping needs a 'target' entry; got keys {sorted(batch)}")
            return (), {k: v for k, v in batch.items() if k != "target"}, batch.get("target")
        if isinstance(batch, Sequence) and not isinstance(batch, str) and len(batch) >= 2:
            return tuple(batch[:-1]), {}, batch[-1]
        raise TypeError(f"a batch must be a mapping with a 'target' entry or a sequence (inputs..., target); got {type(batch).__name__}")

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.network(*args, **kwargs)

    def _output_for_task(self, output: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(output for the loss, target for the loss, predictions for the metrics), with shape checks."""
        if self.task == "binary":
            if output.dim() == target.dim() + 1 and output.shape[-1] == 1:
                output = output.squeeze(-1)
            if output.shape != target.shape:
                raise ValueError(f"a binary task needs one logit per target: network output {tuple(output.shape)} (or with a trailing 1), target {tuple(target.shape)}")
            return output, target.to(output.dtype), torch.sigmoid(output)
        if self.task == "multiclass":
            if output.dim() != target.dim() + 1 or output.shape[-1] != self.num_classes or output.shape[:-1] != target.shape:
                raise ValueError(f"a multiclass task needs logits (N, C={self.num_classes}) for targets (N,); got output {tuple(output.shape)}, target {tuple(target.shape)}")
            return output, target.long(), torch.softmax(output, dim=-1)
        if output.shape != target.shape:
            raise ValueError(f"a regression task needs outputs shaped like the targets; got output {tuple(output.shape)}, target {tuple(target.shape)}")
        return output, target.to(output.dtype), output

    def _step(self, batch: Any, stage: str) -> Tensor:
        args, kwargs, target = self.split_batch(batch)
        output, loss_target, predictions = self._output_for_task(self(*args, **kwargs), target)
        loss = self.loss(output, loss_target)
        batch_size = target.shape[0]
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=stage != "test", batch_size=batch_size, sync_dist=stage != "train")
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(predictions.detach(), target.long() if self.task != "regression" else loss_target)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=batch_size)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Probabilities (binary ``(N,)``, multiclass ``(N, C)``) or regression outputs."""
        args, kwargs, _ = self.split_batch(batch, need_target=False)
        output = self(*args, **kwargs)
        if self.task == "binary":
            return torch.sigmoid(output.squeeze(-1) if output.dim() > 1 and output.shape[-1] == 1 else output)
        return torch.softmax(output, dim=-1) if self.task == "multiclass" else output

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer(self.parameters())
        if self.scheduler is None:
            return optimizer
        scheduler = self.scheduler(optimizer)
        config: dict[str, Any] = {"scheduler": scheduler, "interval": self.scheduler_interval}
        if isinstance(scheduler, ReduceLROnPlateau):
            config["monitor"] = self.scheduler_monitor
        return {"optimizer": optimizer, "lr_scheduler": config}
