"""Tabular datasets: the real files (skipped without HOPFIELD_DATA), the vaccine loader on generated files, preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from hopfield_layers.data import DataNotFoundError  # noqa: E402
from hopfield_layers.data.splits import stratified_folds  # noqa: E402
from hopfield_layers.data.tabular import TabularDataModule, encode, headline_metric, load_tabular  # noqa: E402

# (rows in train, rows in test, positive rate in train to 3 decimals, encoded features)
EXPECTED = {
    "adult": (32561, 16281, 0.241, 108),
    "bank": (36169, 9042, 0.117, 51),
    "purchase": (9864, 2466, 0.155, 75),
    "heart": (56000, 14000, 0.500, 23),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_datasets(data_root: Path, name: str) -> None:
    frames = load_tabular(name, data_root)
    n_train, n_test, rate, features = EXPECTED[name]
    assert (len(frames.x_train), len(frames.x_test)) == (n_train, n_test)
    assert len(frames.y_train) == n_train and set(np.unique(frames.y_test)) == {0, 1}
    assert round(frames.positive_rate, 3) == rate
    assert frames.official_split == (name == "adult")
    if not frames.official_split:  # stratified 80/20: the test positive rate matches
        assert abs(frames.y_test.mean() - frames.positive_rate) < 1e-3
    data = encode(frames)
    assert data.x_train.shape == (n_train, features) and data.x_eval.shape == (n_test, features)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.long
    assert torch.isfinite(data.x_train).all() and torch.isfinite(data.x_eval).all()


def test_adult_labels_and_missing_values(data_root: Path) -> None:
    frames = load_tabular("adult", data_root)
    assert int(frames.y_test.sum()) == 3846  # '>50K.' in adult-test.csv: the trailing '.' is stripped
    assert frames.x_train["workclass"].isna().sum() == 1836  # '?' is read as missing
    names = encode(frames).feature_names
    assert "workclass___missing__" in names and "native_country___missing__" in names


def test_fixed_split_is_reproducible(data_root: Path) -> None:
    first, second = load_tabular("purchase", data_root), load_tabular("purchase", data_root)
    pd.testing.assert_frame_equal(first.x_test, second.x_test)
    other = load_tabular("purchase", data_root, split_seed=1)
    assert not first.x_test.equals(other.x_test)


def _write_vaccine(root: Path, rows: int = 60) -> None:
    rng = np.random.default_rng(0)
    folder = root / "tabular"
    folder.mkdir(parents=True)
    features = pd.DataFrame(
        {
            "respondent_id": np.arange(rows),
            "h1n1_concern": rng.integers(0, 4, rows).astype(float),
            "doctor_recc_h1n1": rng.integers(0, 2, rows).astype(float),
            "age_group": rng.choice(["18 - 34 Years", "65+ Years"], rows),
            "employment_industry": rng.choice(["fcxhlnwr", "wxleyezf"], rows),
        }
    )
    features.loc[::7, "h1n1_concern"] = np.nan
    features.loc[::5, "employment_industry"] = np.nan
    labels = pd.DataFrame({"respondent_id": np.arange(rows), "h1n1_vaccine": np.arange(rows) % 4 == 0, "seasonal_vaccine": np.arange(rows) % 2})
    features.to_csv(folder / "training_set_features.csv", index=False)
    labels.astype(int).to_csv(folder / "flu_training_set_labels.csv", index=False)


def test_vaccine_with_user_supplied_features(tmp_path: Path) -> None:
    _write_vaccine(tmp_path)
    frames = load_tabular("vaccine", tmp_path)
    assert frames.categorical == ("age_group", "employment_industry")
    assert frames.numeric == ("h1n1_concern", "doctor_recc_h1n1")
    assert len(frames.x_train) == 48 and len(frames.x_test) == 12 and frames.positive_rate == 0.25
    seasonal = load_tabular("vaccine", tmp_path, target="seasonal_vaccine")
    assert seasonal.positive_rate == 0.5
    names = encode(frames).feature_names
    assert "missingindicator_h1n1_concern" in names and "employment_industry___missing__" in names


def test_vaccine_without_features_says_where_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="training_set_features.csv.*drivendata"):
        load_tabular("vaccine", tmp_path)


def test_vaccine_in_the_shared_data_root_names_the_missing_features(data_root: Path) -> None:
    if (data_root / "tabular" / "training_set_features.csv").exists():
        pytest.skip("this data root has the vaccine features")
    with pytest.raises(DataNotFoundError, match=r"missing data file .*tabular/training_set_features\.csv"):
        load_tabular("vaccine", data_root)


def test_vaccine_rejects_unknown_target(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="target must be 'h1n1_vaccine' or 'seasonal_vaccine'"):
        load_tabular("vaccine", tmp_path, target="flu")


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown tabular dataset 'iris'"):
        load_tabular("iris")


def test_test_fraction_must_be_a_fraction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\); got 1.5"):
        load_tabular("bank", tmp_path, test_fraction=1.5)


def test_preprocessing_is_fitted_on_training_rows_only(tmp_path: Path) -> None:
    _write_vaccine(tmp_path)
    frames = load_tabular("vaccine", tmp_path)
    frames.x_test.loc[0, "age_group"] = "unseen category"
    frames.x_test.loc[1, "doctor_recc_h1n1"] = 1000.0
    data = encode(frames)
    train_numeric = data.x_train[:, data.feature_names.index("doctor_recc_h1n1")]
    assert abs(float(train_numeric.mean())) < 1e-5 and abs(float(train_numeric.std(unbiased=False)) - 1) < 1e-4
    age = [i for i, n in enumerate(data.feature_names) if n.startswith("age_group_")]
    assert float(data.x_eval[0, age].abs().sum()) == 0.0  # unknown category: all zeros
    assert float(data.x_eval[1, data.feature_names.index("doctor_recc_h1n1")]) > 100  # scaled with the training statistics


def test_encode_a_cross_validation_fold(tmp_path: Path) -> None:
    _write_vaccine(tmp_path, rows=100)
    frames = load_tabular("vaccine", tmp_path)
    folds = stratified_folds(frames.y_train, 5)
    fold = encode(frames, *folds[0])
    assert fold.x_train.shape[0] == 64 and fold.x_eval.shape[0] == 16
    assert torch.equal(fold.y_eval, torch.as_tensor(frames.y_train[folds[0][1]]))
    with pytest.raises(ValueError, match="give both train_rows and eval_rows"):
        encode(frames, folds[0][0])


def test_headline_metric() -> None:
    assert headline_metric(0.24) == "accuracy" and headline_metric(0.5) == "accuracy"
    assert headline_metric(0.117) == "roc_auc" and headline_metric(0.85) == "roc_auc" and headline_metric(0.2) == "roc_auc"


def test_data_module_folds_and_test_split(tmp_path: Path) -> None:
    _write_vaccine(tmp_path, rows=100)
    module = TabularDataModule("vaccine", str(tmp_path), batch_size=16, fold=2)
    assert module.num_features == encode(load_tabular("vaccine", tmp_path)).num_features
    assert module.metric == "accuracy" and module.positive_rate == 0.25
    x, y = next(iter(module.train_dataloader()))
    assert x.shape == (16, module.num_features) and y.dtype == torch.long
    assert len(module.train_dataloader().dataset) == 64 and len(module.val_dataloader().dataset) == 16
    full = TabularDataModule("vaccine", str(tmp_path))
    assert len(full.train_dataloader().dataset) == 80 and len(full.test_dataloader().dataset) == 20


def test_data_module_errors() -> None:
    with pytest.raises(ValueError, match="unknown tabular dataset 'iris'"):
        TabularDataModule("iris")
    with pytest.raises(ValueError, match=r"fold must be in \[0, num_folds\) = \[0, 5\); got 5"):
        TabularDataModule("adult", fold=5)
