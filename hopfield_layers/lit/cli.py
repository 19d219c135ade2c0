"""The ``hopfield-layers`` command: ``LightningCLI`` with the recipes' defaults.

    hopfield-layers fit --config configs/mil/bit_pattern.yaml
    hopfield-layers fit --config configs/mil/bit_pattern.yaml --model.network.init_args.pooling.init_args.separation=softmax
    hopfield-layers fit --config configs/mil/bit_pattern.yaml --ckpt_path last      # resume
    hopfield-layers test --config configs/mil/bit_pattern.yaml --ckpt_path best     # best checkpoint of the last fit
    hopfield-layers fit --config configs/mil/bit_pattern.yaml --print_config        # the full, resolved config

What it adds to ``LightningCLI``:

* the model is a :class:`~hopfield_layers.lit.task.TaskModule` (``--model.*``), the data any
  ``LightningDataModule`` given by ``class_path`` (``--data.*``);
* ``seed_everything`` defaults to 0, ``trainer.accelerator`` to ``"auto"`` and
  ``trainer.default_root_dir`` to ``runs``;
* logs go to ``<default_root_dir>/version_<n>/`` as CSV (``metrics.csv``) and, when ``tensorboard``
  is installed, TensorBoard event files, next to ``config.yaml`` and ``checkpoints/``;
* a ``ModelCheckpoint`` for the best checkpoints configured under ``--checkpoint.*`` (e.g.
  ``--checkpoint.monitor val_auroc --checkpoint.mode max``), plus two fixed callbacks:
  :class:`~hopfield_layers.lit.checkpoints.LastCheckpoint` (``last.ckpt`` after every epoch) and
  :class:`~hopfield_layers.lit.random_state.RandomStateCheckpoint`, so ``--ckpt_path last`` resumes
  bit-exactly; ``last`` and ``best`` are looked up in the newest run under the root dir, and a
  resumed fit keeps checkpointing into the folder it resumed from;
* errors raised while building the classes from the config are reported as argument errors
  (set ``JSONARGPARSE_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

from .checkpoints import LastCheckpoint, find_checkpoint
from .random_state import RandomStateCheckpoint
from .task import TaskModule

__all__ = ["HopfieldCLI", "default_loggers", "keep_checkpointing_into", "main"]

DEFAULT_ROOT_DIR = "runs"


def default_loggers(root: str | os.PathLike[str]) -> list[Logger]:
    """A CSV logger and, when TensorBoard is installed, a TensorBoard logger sharing ``root/version_<n>``."""
    csv = CSVLogger(root, name="")
    loggers: list[Logger] = [csv]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        loggers.append(TensorBoardLogger(root, name="", version=csv.version, default_hp_metric=False))
    return loggers


def keep_checkpointing_into(trainer: Trainer, ckpt_path: str | os.PathLike[str]) -> None:
    """Point the trainer's checkpoint callbacks without a ``dirpath`` at the folder of ``ckpt_path``.

    Call before resuming a fit from ``ckpt_path``: Lightning restores a ``ModelCheckpoint``'s best-checkpoint
    record only when it saves into the folder it saved into before, so a resumed fit that wrote into a new
    ``version_<n>/checkpoints`` would forget the best epoch of the interrupted part.
    """
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
            callback.dirpath = str(Path(ckpt_path).parent)


class HopfieldCLI(LightningCLI):
    """``LightningCLI`` for :class:`~hopfield_layers.lit.task.TaskModule` and any data module (see the module docs)."""

    def __init__(self, args: ArgsType = None, run: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("trainer_defaults", {"accelerator": "auto", "default_root_dir": DEFAULT_ROOT_DIR, "callbacks": [LastCheckpoint(), RandomStateCheckpoint()]})
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(
            TaskModule,
            LightningDataModule,
            subclass_mode_data=True,
            seed_everything_default=0,
            auto_configure_optimizers=False,
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError, FileNotFoundError) as error:
            self.parser.error(f"could not build the configured classes: {error}", error)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer_config = self._get(self.config_init, "trainer", default={})
        if "logger" not in kwargs and trainer_config.get("logger") in (None, True):
            kwargs["logger"] = default_loggers(trainer_config.get("default_root_dir") or DEFAULT_ROOT_DIR)
        return super().instantiate_trainer(**kwargs)

    def _resolve_ckpt_path(self, subcommand: str) -> None:
        config = self.config_init[subcommand]
        if config.get("ckpt_path") in ("last", "best"):
            root = getattr(self._get(self.config_init, "checkpoint"), "dirpath", None) or self.trainer.default_root_dir
            try:
                config["ckpt_path"] = find_checkpoint(config["ckpt_path"], root)
            except (FileNotFoundError, ValueError) as error:
                self.parser.error(str(error), error)
            keep_checkpointing_into(self.trainer, config["ckpt_path"])

    def before_fit(self) -> None:
        self._resolve_ckpt_path("fit")

    def before_validate(self) -> None:
        self._resolve_ckpt_path("validate")

    def before_test(self) -> None:
        self._resolve_ckpt_path("test")

    def before_predict(self) -> None:
        self._resolve_ckpt_path("predict")


def main(args: ArgsType = None) -> None:
    """Entry point of the ``hopfield-layers`` console script."""
    HopfieldCLI(args=args)


if __name__ == "__main__":
    main()
