"""CIFAR / Tiny ImageNet loading, checksums, opt-in download, augmentation and the data module.

CIFAR and Tiny ImageNet are not available on the development machines: every test writes a tiny
dataset in the exact on-disk format (pickled dicts with the official keys; JPEG folders with
``val_annotations.txt``). The CIFAR tests pass their own checksums through a copy of the spec
(``dataclasses.replace(CIFAR10, md5=...)``); the official spec rejects the fake files.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import tarfile
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from hopfield_layers.data import vision
from hopfield_layers.data.download import DataIntegrityError, download_and_extract, md5sum
from hopfield_layers.data.image_transforms import ImageAugmentation, channel_mean_std, normalize, random_crop, random_horizontal_flip, to_float
from hopfield_layers.data.paths import DataNotFoundError
from hopfield_layers.data.vision import CIFAR10, CIFAR100, CifarSpec, VisionDataModule, load_cifar, load_tiny_imagenet, load_vision_dataset
from hopfield_layers.lit import TaskModule
from hopfield_layers.models import HopfieldViT

PER_FILE = 6


def write_cifar(root: Path, spec: CifarSpec, per_file: int = PER_FILE, seed: int = 0) -> CifarSpec:
    """Write ``spec``'s files with ``per_file`` random images each; return the spec with their md5s."""
    rng = np.random.default_rng(seed)
    folder = root / spec.folder
    folder.mkdir(parents=True)
    classes = 10 if spec is CIFAR10 else 100
    for name in (*spec.train_files, *spec.test_files):
        batch = {
            "batch_label": f"fake {name}",
            "data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
            spec.label_key: rng.integers(0, classes, per_file).tolist(),
            "filenames": [f"img_{i}.png" for i in range(per_file)],
        }
        if spec is CIFAR100:
            batch["coarse_labels"] = rng.integers(0, 20, per_file).tolist()
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {spec.class_names_key: [f"class_{i}" for i in range(classes)], "num_cases_per_batch": per_file}
    (folder / spec.meta_file).write_bytes(pickle.dumps(meta, protocol=2))
    return dataclasses.replace(spec, md5={name: md5sum(folder / name) for name in spec.files})


def write_tiny_imagenet(root: Path, wnids: tuple[str, ...] = ("n02", "n01"), per_class: int = 3) -> None:
    folder = root / "tiny-imagenet-200"
    rng = np.random.default_rng(0)
    (folder / "val" / "images").mkdir(parents=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")
    lines = []
    for c, wnid in enumerate(wnids):
        (folder / "train" / wnid / "images").mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            image = Image.fromarray(pixels).convert("L") if i == 0 else Image.fromarray(pixels)  # Tiny ImageNet has grayscale JPEGs too
            image.save(folder / "train" / wnid / "images" / f"{wnid}_{i}.JPEG")
            name = f"val_{c * per_class + i}.JPEG"
            Image.fromarray(pixels).save(folder / "val" / "images" / name)
            lines.append(f"{name}\t{wnid}\t0\t0\t63\t63")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------ CIFAR
def test_cifar10_reads_the_pickle_layout(tmp_path: Path) -> None:
    spec = write_cifar(tmp_path, CIFAR10)
    train = load_cifar(spec, "train", root=tmp_path)
    test = load_cifar(spec, "test", root=tmp_path)
    assert train.images.shape == (5 * PER_FILE, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (PER_FILE, 3, 32, 32) and len(test) == PER_FILE
    assert train.classes[:2] == ("class_0", "class_1") and len(train.classes) == 10
    first = pickle.loads((tmp_path / spec.folder / "data_batch_1").read_bytes(), encoding="latin1")
    # Row layout: 1024 red, then green, then blue values, each row-major.
    np.testing.assert_array_equal(train.images[0].numpy(), first["data"][0].reshape(3, 32, 32))
    assert train.labels[:PER_FILE].tolist() == first["labels"]


def test_cifar100_uses_the_fine_labels(tmp_path: Path) -> None:
    spec = write_cifar(tmp_path, CIFAR100)
    train = load_cifar(spec, "train", root=tmp_path)
    content = pickle.loads((tmp_path / spec.folder / "train").read_bytes(), encoding="latin1")
    assert train.labels.tolist() == content["fine_labels"] and len(train.classes) == 100


def test_official_checksums_reject_other_files(tmp_path: Path) -> None:
    write_cifar(tmp_path, CIFAR10)
    with pytest.raises(DataIntegrityError, match=r"md5 of .*batches.meta' is [0-9a-f]{32}, expected 5ff9c542aee3614f3951f8cda6e48888"):
        load_cifar("cifar10", "train", root=tmp_path)


def test_a_changed_byte_is_caught(tmp_path: Path) -> None:
    spec = write_cifar(tmp_path, CIFAR10)
    path = tmp_path / spec.folder / "data_batch_3"
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="data_batch_3"):
        load_cifar(spec, "train", root=tmp_path)


def test_missing_cifar_says_where_to_put_which_files(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        load_cifar("cifar100", "train", root=tmp_path)
    message = str(info.value)
    assert "cifar-100-python/" in message and "train, test, meta" in message and str(tmp_path) in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz" in message and "eb9058c3a382ffc7106e4002c42a8d85" in message
    assert f"tar -xzf cifar-100-python.tar.gz -C {tmp_path}" in message and "download=True" in message


def test_malformed_batch_is_reported(tmp_path: Path) -> None:
    spec = write_cifar(tmp_path, CIFAR10)
    path = tmp_path / spec.folder / "test_batch"
    path.write_bytes(pickle.dumps({"labels": [1, 2]}, protocol=2))
    spec = dataclasses.replace(spec, md5={**spec.md5, "test_batch": md5sum(path)})
    with pytest.raises(DataIntegrityError, match=r"test_batch' lacks the keys \['data'\]"):
        load_cifar(spec, "test", root=tmp_path)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split must be 'train' or 'test'; got 'val'"):
        load_cifar("cifar10", "val", root=tmp_path)
    with pytest.raises(ValueError, match="dataset must be 'cifar10', 'cifar100' or a CifarSpec; got 'svhn'"):
        load_cifar("svhn", root=tmp_path)
    with pytest.raises(ValueError, match="unknown vision dataset 'mnist'"):
        load_vision_dataset("mnist", root=tmp_path)


# ----------------------------------------------------------------------------- opt-in download
def _tar_of(folder: Path, archive: Path) -> str:
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(folder, arcname=folder.name)
    return md5sum(archive)


def test_download_fetches_checks_and_unpacks(tmp_path: Path) -> None:
    """The download path, fed from a local file:// URL (no network in tests)."""
    source = tmp_path / "source"
    spec = write_cifar(source, CIFAR10)
    archive = tmp_path / "served" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    spec = dataclasses.replace(spec, url=archive.as_uri(), archive_md5=_tar_of(source / spec.folder, archive))
    root = tmp_path / "data"
    root.mkdir()
    train = load_cifar(spec, "train", root=root, download=True)
    assert train.images.shape == (5 * PER_FILE, 3, 32, 32) and (root / "cifar-10-python.tar.gz").is_file()


def test_download_with_a_wrong_checksum_fails_and_removes_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    (tmp_path / "x").mkdir()
    _tar_of(tmp_path / "x", archive)
    root = tmp_path / "data"
    with pytest.raises(DataIntegrityError, match="expected 00000000000000000000000000000000"):
        download_and_extract(archive.as_uri(), root, "0" * 32)
    assert not (root / "a.tar.gz").exists()


def test_download_refuses_members_outside_the_root(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        bundle.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(DataIntegrityError, match="outside the target folder"):
        download_and_extract(archive.as_uri(), tmp_path / "data", md5sum(archive))
    assert not (tmp_path / "escaped.txt").exists()


# ------------------------------------------------------------------------------ Tiny ImageNet
def test_tiny_imagenet_train_and_val(tmp_path: Path) -> None:
    write_tiny_imagenet(tmp_path)
    train = load_tiny_imagenet("train", root=tmp_path, threads=2)
    test = load_tiny_imagenet("test", root=tmp_path, threads=2)
    assert train.classes == ("n01", "n02")  # sorted wnids
    assert train.images.shape == (6, 3, 64, 64) and train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    gray = train.images[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])  # grayscale JPEG → 3 equal channels
    assert test.images.shape == (6, 3, 64, 64) and test.labels.tolist() == [1, 1, 1, 0, 0, 0]  # from val_annotations.txt


def test_tiny_imagenet_missing_annotations(tmp_path: Path) -> None:
    write_tiny_imagenet(tmp_path)
    (tmp_path / "tiny-imagenet-200" / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"val_annotations.txt.*tiny-imagenet-200.zip \(md5 90528d7ca1a48142e341f4ef8d21d0de\)"):
        load_tiny_imagenet("test", root=tmp_path)


def test_tiny_imagenet_unknown_wnid_in_annotations(tmp_path: Path) -> None:
    write_tiny_imagenet(tmp_path)
    path = tmp_path / "tiny-imagenet-200" / "val" / "val_annotations.txt"
    path.write_text(path.read_text().replace("n01", "n99", 1))
    with pytest.raises(DataIntegrityError, match=r"unknown: \['n99'\]"):
        load_tiny_imagenet("test", root=tmp_path)


def test_tiny_imagenet_uses_torchvision_when_it_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_imagenet(tmp_path, wnids=("n01",), per_class=1)
    calls = []

    class FakeIO:
        class ImageReadMode:
            RGB = "rgb"

        @staticmethod
        def read_image(path: str, mode: str) -> torch.Tensor:
            calls.append((Path(path).name, mode))
            return torch.zeros(3, 64, 64, dtype=torch.uint8)

    monkeypatch.setattr(vision, "_torchvision", lambda: type("FakeTorchvision", (), {"io": FakeIO}))
    images = load_tiny_imagenet("train", root=tmp_path, threads=1)
    assert calls == [("n01_0.JPEG", "rgb")] and images.images.sum() == 0


# ------------------------------------------------------------------------------- augmentation
def test_random_crop_takes_a_window_of_the_padded_image() -> None:
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6) + 1
    cropped = random_crop(images, padding=2, generator=torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for b in range(2):
        windows = [padded[b, :, i : i + 6, j : j + 6] for i in range(5) for j in range(5)]
        assert any(torch.equal(cropped[b], w) for w in windows)
    assert random_crop(images, 0) is images


def test_random_crop_varies_per_image() -> None:
    images = (torch.rand(1, 1, 8, 8) + 1).expand(64, 1, 8, 8)  # one image, 64 times
    cropped = random_crop(images, padding=3, generator=torch.Generator().manual_seed(0))
    assert len({tuple(c.flatten().tolist()) for c in cropped}) > 10


def test_flip_and_normalize() -> None:
    images = torch.rand(200, 3, 4, 4)
    flipped = random_horizontal_flip(images, generator=torch.Generator().manual_seed(0))
    same = (flipped == images).flatten(1).all(1)
    mirrored = (flipped == images.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and 60 < mirrored.sum() < 140
    uint8 = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    torch.testing.assert_close(normalize(uint8, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))[0, :, 0, 0], torch.tensor([2.0, 1.0, 0.5]))


def test_channel_mean_std_matches_torch() -> None:
    images = torch.randint(0, 256, (37, 3, 5, 5), dtype=torch.uint8)
    mean, std = channel_mean_std(images, chunk_size=8)
    pixels = images.double().div(255).transpose(0, 1).flatten(1)
    torch.testing.assert_close(torch.tensor(mean, dtype=torch.float64), pixels.mean(1), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.tensor(std, dtype=torch.float64), pixels.std(1, unbiased=False), atol=1e-6, rtol=0)


def test_augmentation_only_normalises_in_eval() -> None:
    augmentation = ImageAugmentation((0.0,) * 3, (1.0,) * 3, crop_padding=4)
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(augmentation(images, train=False), images.float() / 255)
    assert augmentation(images, train=True).shape == (4, 3, 8, 8)


def test_augmentation_errors() -> None:
    with pytest.raises(ValueError, match=r"images must be 4-D \(B, C, H, W\); got shape \(3, 8, 8\)"):
        random_crop(torch.rand(3, 8, 8), 2)
    with pytest.raises(ValueError, match="padding must be an int >= 0; got -1"):
        random_crop(torch.rand(1, 3, 8, 8), -1)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        random_horizontal_flip(torch.rand(1, 3, 8, 8), p=2.0)
    with pytest.raises(ValueError, match=r"one value per channel \(3\); got 1 and 1"):
        normalize(torch.rand(1, 3, 2, 2), (0.5,), (0.5,))
    with pytest.raises(TypeError, match="uint8 or floating; got dtype torch.int64"):
        to_float(torch.zeros(1, 3, 2, 2, dtype=torch.int64))


# -------------------------------------------------------------------------------- data module
@pytest.fixture
def fake_cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny CIFAR-10 on disk, registered with its own checksums for this test only."""
    monkeypatch.setattr(vision, "CIFAR10", write_cifar(tmp_path, CIFAR10))
    return tmp_path


def test_data_module_splits_and_normalises(fake_cifar10: Path) -> None:
    data = VisionDataModule("cifar10", root=str(fake_cifar10), batch_size=4, val_size=5)
    assert (data.num_classes, data.image_size) == (10, 32)
    data.setup("fit")
    assert {name: len(split) for name, split in data.splits.items()} == {"train": 5 * PER_FILE - 5, "val": 5, "test": PER_FILE}
    images, labels = next(iter(data.val_dataloader()))
    normalised, _ = data.on_after_batch_transfer((images, labels), 0)
    assert normalised.dtype == torch.float32 and abs(float(normalised.mean())) < 0.5
    small = VisionDataModule("cifar10", root=str(fake_cifar10), val_size=0, train_size=3)
    small.setup("fit")
    assert len(small.splits["train"]) == 3 and small.splits["val"] is small.splits["test"]  # val_size=0 validates on the test set


def test_data_module_trains_two_steps(fake_cifar10: Path) -> None:
    data = VisionDataModule("cifar10", root=str(fake_cifar10), batch_size=4, val_size=4)
    data.setup("fit")
    augmentation, seen = data.augmentation, []

    def recording(images: torch.Tensor, train: bool) -> torch.Tensor:
        out = augmentation(images, train)
        seen.append((train, images.dtype, out.dtype))
        return out

    data.augmentation = recording
    network = HopfieldViT(embed_dim=16, depth=1, num_heads=2, patch_size=8, num_classes=10, hopfield={"separation": "sparsemax"})
    model = TaskModule(network, task="multiclass", num_classes=10)
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=1)
    trainer.fit(model, datamodule=data)
    assert trainer.global_step == 2
    assert all((before, after) == (torch.uint8, torch.float32) for _, before, after in seen)  # uint8 batches normalised on the device
    modes = [train for train, _, _ in seen]
    assert modes.count(True) == 2 and modes.count(False) >= 1  # crop/flip in training only (sanity check + validation)


def test_data_module_errors(fake_cifar10: Path) -> None:
    with pytest.raises(ValueError, match="dataset must be one of"):
        VisionDataModule("svhn")
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        VisionDataModule(batch_size=0)
    with pytest.raises(ValueError, match="val_size must be an int >= 0; got -1"):
        VisionDataModule(val_size=-1)
    with pytest.raises(ValueError, match="val_size must be smaller than the 30 training images; got 30"):
        VisionDataModule(root=str(fake_cifar10), val_size=30).setup()
    with pytest.raises(ValueError, match=r"train_size must be in \[1, 25\]; got 26"):
        VisionDataModule(root=str(fake_cifar10), val_size=5, train_size=26).setup()
    with pytest.raises(RuntimeError, match="call setup"):
        VisionDataModule(root=str(fake_cifar10)).on_after_batch_transfer((torch.zeros(1, 3, 32, 32, dtype=torch.uint8), torch.zeros(1)), 0)
