"""Binary tabular classification datasets of the A-Hop paper (Adult, Bank, Purchase, Heart, Vaccine).

Files are read from ``tabular/`` under the data root (``$HOPFIELD_DATA``); nothing is downloaded.

| name | file(s) | label | split |
|---|---|---|---|
| ``"adult"`` | ``adult-train.csv``, ``adult-test.csv`` (no header, ``?`` = missing) | income ``>50K`` | official train/test |
| ``"bank"`` | ``bank-full.csv`` (``;``-separated) | ``y == "yes"`` | stratified 80/20 |
| ``"purchase"`` | ``online_shoppers_intention.csv`` | ``Revenue`` | stratified 80/20 |
| ``"heart"`` | ``cardio_train.csv`` (``;``-separated, ``id`` dropped) | ``cardio`` | stratified 80/20 |
| ``"vaccine"`` | ``training_set_features.csv`` + ``flu_training_set_labels.csv`` | ``h1n1_vaccine`` (or ``seasonal_vaccine``) | stratified 80/20 |

Preprocessing (:func:`encode`) is fitted on the training rows only: numeric columns are imputed
with the training median (plus a missing-indicator column where the training rows had gaps) and
standardised; categorical columns are one-hot encoded with missing values as their own category and
categories unseen in training ignored (all-zero). Requires the ``tabular`` extra (pandas, scikit-learn).

    frames = load_tabular("adult")             # raw columns, official split
    data = encode(frames)                       # tensors: x_train (N, F), y_train (N,), x_eval, y_eval
    for train_rows, val_rows in stratified_folds(frames.y_train, 5):  # 5-fold CV on the training split
        fold = encode(frames, train_rows, val_rows)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from ..lit.datamodule import SplitDataModule
from .paths import require_file
from .splits import stratified_folds, stratified_holdout

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DATASETS", "TabularFrames", "TabularTensors", "TabularDataModule", "load_tabular", "encode", "headline_metric"]

_FOLDER = Path("tabular")
_MISSING = "__missing__"
_ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)
_VACCINE_HINT = (
    "the DrivenData 'Flu Shot Learning' features are not redistributable: download training_set_features.csv "
    "from https://www.drivendata.org/competitions/66/flu-shot-learning/data/ and put it in tabular/ under the data root"
)

#: Names accepted by :func:`load_tabular`.
DATASETS = ("adult", "bank", "purchase", "heart", "vaccine")


@dataclass
class TabularFrames:
    """Raw feature frames and 0/1 labels of one dataset, split into training and test rows.

    Attributes:
        name: dataset name.
        x_train, x_test: ``pandas.DataFrame`` of raw features (numeric and categorical columns).
        y_train, y_test: ``(N,)`` / ``(M,)`` int64 arrays of 0/1 labels.
        numeric, categorical: the column names of each kind.
        official_split: whether the test rows are the dataset's official test split.
    """

    name: str
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    official_split: bool

    @property
    def positive_rate(self) -> float:
        """Fraction of positive labels in the training rows."""
        return float(self.y_train.mean())


@dataclass
class TabularTensors:
    """Encoded features ``x_* (N, F)`` float32 and labels ``y_* (N,)`` int64 for one train/eval split."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_eval: torch.Tensor
    y_eval: torch.Tensor
    feature_names: list[str]

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]


def headline_metric(positive_rate: float) -> str:
    """The paper's metric: ``"accuracy"`` when the positive rate is in (0.2, 0.8), else ``"roc_auc"``."""
    return "accuracy" if 0.2 < positive_rate < 0.8 else "roc_auc"


def _pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the tabular datasets need pandas and scikit-learn: pip install 'hopfield-layers[tabular]'") from error
    return pandas


def _split(features, labels: np.ndarray, test_fraction: float, seed: int):
    train, test = stratified_holdout(labels, test_fraction, seed)
    return features.iloc[train].reset_index(drop=True), labels[train], features.iloc[test].reset_index(drop=True), labels[test]


def _labels(column, positive: object) -> np.ndarray:
    return (column == positive).to_numpy(dtype=np.int64)


def _adult(root, **_):
    frames = []
    for split in ("train", "test"):
        path = require_file(_FOLDER / f"adult-{split}.csv", root, "UCI Adult: adult.data and adult.test (without its first comment line)")
        frame = _pandas().read_csv(path, header=None, names=_ADULT_COLUMNS, skipinitialspace=True, na_values="?")
        label = frame.pop("income").str.rstrip(".")  # adult.test writes '>50K.'
        frames.append((frame, _labels(label, ">50K")))
    (x_train, y_train), (x_test, y_test) = frames
    numeric = ("age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week")
    return x_train, y_train, x_test, y_test, numeric, True


def _bank(root, **_):
    frame = _pandas().read_csv(require_file(_FOLDER / "bank-full.csv", root, "UCI Bank Marketing bank-full.csv"), sep=";")
    labels = _labels(frame.pop("y"), "yes")
    return frame, labels, ("age", "balance", "day", "duration", "campaign", "pdays", "previous")


def _purchase(root, **_):
    path = require_file(_FOLDER / "online_shoppers_intention.csv", root, "UCI Online Shoppers Purchasing Intention")
    frame = _pandas().read_csv(path)
    labels = frame.pop("Revenue").astype(bool).to_numpy(dtype=np.int64)
    numeric = tuple(frame.columns[:10])  # Administrative … SpecialDay; Month, OS, Browser, Region, TrafficType, VisitorType, Weekend are categorical
    return frame, labels, numeric


def _heart(root, **_):
    frame = _pandas().read_csv(require_file(_FOLDER / "cardio_train.csv", root, "Kaggle Cardiovascular Disease dataset"), sep=";")
    frame = frame.drop(columns="id")
    labels = frame.pop("cardio").to_numpy(dtype=np.int64)
    return frame, labels, ("age", "height", "weight", "ap_hi", "ap_lo", "smoke", "alco", "active")


def _vaccine(root, target: str = "h1n1_vaccine", **_):
    if target not in ("h1n1_vaccine", "seasonal_vaccine"):
        raise ValueError(f"target must be 'h1n1_vaccine' or 'seasonal_vaccine' for the vaccine dataset; got {target!r}")
    pandas = _pandas()
    features = pandas.read_csv(require_file(_FOLDER / "training_set_features.csv", root, _VACCINE_HINT))
    labels = pandas.read_csv(require_file(_FOLDER / "flu_training_set_labels.csv", root, "DrivenData Flu Shot Learning training_set_labels.csv"))
    if "respondent_id" not in features.columns:
        raise ValueError(f"training_set_features.csv must have a 'respondent_id' column; got columns {list(features.columns)[:5]}…")
    frame = features.merge(labels[["respondent_id", target]], on="respondent_id", how="inner", validate="one_to_one")
    if len(frame) != len(features):
        raise ValueError(f"only {len(frame)} of the {len(features)} respondents in training_set_features.csv have a label in flu_training_set_labels.csv")
    frame = frame.drop(columns="respondent_id")
    label = frame.pop(target).to_numpy(dtype=np.int64)
    numeric = tuple(c for c in frame.columns if pandas.api.types.is_numeric_dtype(frame[c]))  # the survey's ordinal/binary answers
    return frame, label, numeric


_LOADERS = {"adult": _adult, "bank": _bank, "purchase": _purchase, "heart": _heart, "vaccine": _vaccine}


def load_tabular(name: str, root: str | os.PathLike[str] | None = None, *, test_fraction: float = 0.2, split_seed: int = 0, target: str = "h1n1_vaccine") -> TabularFrames:
    """Load a dataset's raw frames and labels, split into training and test rows.

    Args:
        name: one of :data:`DATASETS`.
        root: data root (default ``$HOPFIELD_DATA``).
        test_fraction: test share of the fixed stratified split for datasets without an official one.
        split_seed: seed of that split (fixed at 0 for the published tables).
        target: the vaccine dataset's label column (``"h1n1_vaccine"`` or ``"seasonal_vaccine"``).

    Raises:
        DataNotFoundError: a file is missing (the message says which and where to put it).
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown tabular dataset {name!r}; expected one of {list(DATASETS)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    loaded = _LOADERS[name](root, target=target)
    if len(loaded) == 6:
        x_train, y_train, x_test, y_test, numeric, official = loaded
    else:
        frame, labels, numeric = loaded
        x_train, y_train, x_test, y_test = _split(frame, labels, test_fraction, split_seed)
        official = False
    categorical = tuple(c for c in x_train.columns if c not in numeric)
    return TabularFrames(name, x_train, np.asarray(y_train), x_test, np.asarray(y_test), tuple(numeric), categorical, official)


def _categories_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as strings (so 1 and "1" agree), missing values as their own category."""
    return frame.astype("object").where(frame.notna(), _MISSING).astype(str)


def _preprocessor(numeric: Sequence[str], categorical: Sequence[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric_steps = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    as_text = FunctionTransformer(_categories_as_text, feature_names_out="one-to-one")
    categorical_steps = make_pipeline(as_text, OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32))
    return ColumnTransformer([("numeric", numeric_steps, list(numeric)), ("categorical", categorical_steps, list(categorical))], verbose_feature_names_out=False)


def encode(frames: TabularFrames, train_rows: np.ndarray | None = None, eval_rows: np.ndarray | None = None) -> TabularTensors:
    """Fit the preprocessing on training rows and encode them and the evaluation rows as tensors.

    Args:
        frames: the loaded dataset.
        train_rows, eval_rows: row indices into ``frames.x_train`` (a cross-validation fold); both
            ``None`` (default) fits on all training rows and evaluates on the test rows.

    Returns:
        :class:`TabularTensors` with ``x_* (N, F)`` float32 and ``y_* (N,)`` int64.
    """
    if (train_rows is None) != (eval_rows is None):
        raise ValueError("give both train_rows and eval_rows (a fold of the training split) or neither (train vs test)")
    if train_rows is None:
        x_train, y_train, x_eval, y_eval = frames.x_train, frames.y_train, frames.x_test, frames.y_test
    else:
        x_train, y_train = frames.x_train.iloc[train_rows], frames.y_train[train_rows]
        x_eval, y_eval = frames.x_train.iloc[eval_rows], frames.y_train[eval_rows]
    preprocessor = _preprocessor(frames.numeric, frames.categorical)
    train = preprocessor.fit_transform(x_train)
    evaluation = preprocessor.transform(x_eval)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    return TabularTensors(
        tensor(train), torch.as_tensor(y_train, dtype=torch.long), tensor(evaluation), torch.as_tensor(y_eval, dtype=torch.long), list(preprocessor.get_feature_names_out())
    )


class TabularDataModule(SplitDataModule):
    """Batches ``(x (B, F), y (B,))`` of one tabular dataset for Lightning.

    Without ``fold`` the training split is trained on and the test split evaluated (the ``val`` and
    ``test`` splits both hold the test rows: the recipe trains for a fixed number of epochs, so
    validation only monitors). With ``fold = k`` the model trains on the other folds of the training
    split and evaluates on fold ``k`` (cross-validation); the test split is not touched.

    Args:
        dataset: one of :data:`DATASETS`.
        data_root: data root (default ``$HOPFIELD_DATA``).
        fold: cross-validation fold to hold out, or ``None``.
        num_folds, cv_seed: the stratified cross-validation split
            (:func:`~hopfield_layers.data.splits.stratified_folds`).
        split_seed, test_fraction, target: passed to :func:`load_tabular`.
        batch_size, eval_batch_size, num_workers: see :class:`~hopfield_layers.lit.datamodule.SplitDataModule`.

    After :meth:`setup`: ``tensors`` (:class:`TabularTensors`), ``num_features``, ``positive_rate``
    and ``metric`` (the paper's metric for this dataset).
    """

    def __init__(
        self,
        dataset: str,
        data_root: str | None = None,
        fold: int | None = None,
        num_folds: int = 5,
        cv_seed: int = 0,
        split_seed: int = 0,
        test_fraction: float = 0.2,
        target: str = "h1n1_vaccine",
        batch_size: int = 1000,
        eval_batch_size: int | None = 4096,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, num_workers=num_workers)
        if dataset not in DATASETS:
            raise ValueError(f"unknown tabular dataset {dataset!r}; expected one of {list(DATASETS)}")
        if fold is not None and not 0 <= fold < num_folds:
            raise ValueError(f"fold must be in [0, num_folds) = [0, {num_folds}); got {fold}")
        self.dataset, self.data_root, self.fold, self.num_folds, self.cv_seed = dataset, data_root, fold, num_folds, cv_seed
        self.load_args = {"test_fraction": test_fraction, "split_seed": split_seed, "target": target}
        self.tensors: TabularTensors | None = None
        self.positive_rate = float("nan")

    def build(self, stage: str | None) -> dict[str, Dataset]:
        frames = load_tabular(self.dataset, self.data_root, **self.load_args)
        rows = (None, None) if self.fold is None else stratified_folds(frames.y_train, self.num_folds, self.cv_seed)[self.fold]
        self.tensors = encode(frames, *rows)
        self.positive_rate = frames.positive_rate
        evaluation = TensorDataset(self.tensors.x_eval, self.tensors.y_eval)
        return {"train": TensorDataset(self.tensors.x_train, self.tensors.y_train), "val": evaluation, "test": evaluation}

    @property
    def num_features(self) -> int:
        """Number of encoded features ``F`` (loads the data on first use)."""
        self.setup()
        return self.tensors.num_features

    @property
    def metric(self) -> str:
        """The paper's metric for this dataset: ``"accuracy"`` or ``"roc_auc"`` (loads the data on first use)."""
        self.setup()
        return headline_metric(self.positive_rate)
