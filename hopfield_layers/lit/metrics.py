"""Metrics by name for the three task types, built from torchmetrics.

``build_metrics(["accuracy", "auroc"], task="binary")`` returns a ``MetricCollection`` that takes
predictions (probabilities for classification, values for regression) and targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torchmetrics
from torchmetrics import Metric, MetricCollection

__all__ = ["TASKS", "METRICS", "build_metrics"]

TASKS = ("binary", "multiclass", "regression")


def _classification(cls: type[Metric]) -> Callable[[str, int | None], Metric]:
    return lambda task, num_classes: cls(task=task, num_classes=num_classes)


#: metric name → (tasks it applies to, factory of (task, num_classes)).
METRICS: dict[str, tuple[tuple[str, ...], Callable[[str, int | None], Metric]]] = {
    "accuracy": (("binary", "multiclass"), _classification(torchmetrics.Accuracy)),
    "auroc": (("binary", "multiclass"), _classification(torchmetrics.AUROC)),
    "f1": (("binary", "multiclass"), _classification(torchmetrics.F1Score)),
    "precision": (("binary", "multiclass"), _classification(torchmetrics.Precision)),
    "recall": (("binary", "multiclass"), _classification(torchmetrics.Recall)),
    "mse": (("regression",), lambda task, num_classes: torchmetrics.MeanSquaredError()),
    "rmse": (("regression",), lambda task, num_classes: torchmetrics.MeanSquaredError(squared=False)),
    "mae": (("regression",), lambda task, num_classes: torchmetrics.MeanAbsoluteError()),
    "r2": (("regression",), lambda task, num_classes: torchmetrics.R2Score()),
}


def build_metrics(names: Sequence[str], task: str, num_classes: int | None = None) -> MetricCollection:
    """A ``MetricCollection`` of the named metrics (keys are the names) for ``task``.

    Raises:
        ValueError: an unknown name, or a metric that does not apply to the task.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    if isinstance(names, str):
        raise TypeError(f"metrics must be a list of names, e.g. [{names!r}]; got the string {names!r}")
    metrics: dict[str, Metric] = {}
    for name in names:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; expected names from {sorted(METRICS)}")
        tasks, factory = METRICS[name]
        if task not in tasks:
            fitting = sorted(n for n, (t, _) in METRICS.items() if task in t)
            raise ValueError(f"metric {name!r} does not apply to a {task} task; metrics for {task}: {fitting}")
        metrics[name] = factory(task, num_classes)
    return MetricCollection(metrics)
