"""``InitPatterns``: set a network's stored patterns from the training inputs when a fit starts.

Memory classifiers such as :class:`~hopfield_layers.models.tabular.MemoryClassifier` store case
representatives of the training set (K-means centroids or sampled instances). Their constructor
cannot see the data; this callback calls ``network.init_patterns(x_train, method, seed)`` in the
``setup`` hook of a fit, with ``x_train (N, E)`` the first entry of every training batch. A resumed
fit (``--ckpt_path``) restores the checkpoint after ``setup``, so the stored patterns come from it.

    trainer:
      callbacks:
        - class_path: hopfield_layers.lit.InitPatterns
          init_args: {method: cluster}
"""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

__all__ = ["InitPatterns"]


class InitPatterns(Callback):
    """Call ``pl_module.network.init_patterns(x_train, method, seed)`` before fitting.

    Args:
        method: passed to ``init_patterns`` (for the memory classifier ``"cluster"`` or ``"sample"``).
        seed: seed of the K-means or of the sample (independent of the global random state).
    """

    def __init__(self, method: str = "cluster", seed: int = 0) -> None:
        super().__init__()
        self.method, self.seed = method, int(seed)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        network = getattr(pl_module, "network", pl_module)
        if not callable(getattr(network, "init_patterns", None)):
            raise TypeError(f"InitPatterns needs a network with an init_patterns(x, method, seed) method; got {type(network).__name__}")
        if trainer.datamodule is None:
            raise ValueError("InitPatterns reads the training inputs from the trainer's datamodule; got none (pass datamodule= to fit)")
        inputs = torch.cat([batch[0] for batch in trainer.datamodule.train_dataloader()])
        network.init_patterns(inputs.to(pl_module.device), method=self.method, seed=self.seed)
