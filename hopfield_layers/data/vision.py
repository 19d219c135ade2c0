"""CIFAR-10, CIFAR-100 and Tiny ImageNet from their official on-disk layouts, and their data module.

Expected under the data root (argument or ``$HOPFIELD_DATA``)::

    cifar-10-batches-py/   data_batch_1 … data_batch_5, test_batch, batches.meta
    cifar-100-python/      train, test, meta
    tiny-imagenet-200/     wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG, val/val_annotations.txt

i.e. the official archives (``cifar-10-python.tar.gz``, ``cifar-100-python.tar.gz``,
``tiny-imagenet-200.zip``) unpacked in the data root. Every CIFAR file read is checked against its
published md5. Nothing downloads unless ``download=True`` is passed; then the official archive is
fetched, its md5 checked and it is unpacked in the data root.

Tiny ImageNet's test labels are not public, so its labelled ``val`` folder is the ``"test"`` split
here (as in the papers that report Tiny ImageNet accuracy).
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from ..lit.datamodule import SplitDataModule
from .download import DataIntegrityError, download_and_extract, verify_md5
from .image_transforms import ImageAugmentation, channel_mean_std
from .paths import DataNotFoundError, data_root, require_file

__all__ = [
    "CifarSpec",
    "CIFAR10",
    "CIFAR100",
    "TINY_IMAGENET_URL",
    "TINY_IMAGENET_MD5",
    "ImageSet",
    "VISION_DATASETS",
    "load_cifar",
    "load_tiny_imagenet",
    "load_vision_dataset",
    "VisionDataModule",
]


@dataclass(frozen=True)
class CifarSpec:
    """Where a CIFAR variant lives on disk and its published checksums.

    ``md5`` maps every file of ``folder`` to its md5; the defaults below are the official ones
    (https://www.cs.toronto.edu/~kriz/cifar.html). A test that writes its own small files in the
    same format passes a copy with its own checksums (``dataclasses.replace(CIFAR10, md5=...)``);
    the loaders never skip the check.
    """

    name: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    label_key: str
    class_names_key: str
    md5: Mapping[str, str]
    url: str
    archive_md5: str

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.train_files, *self.test_files, self.meta_file)


CIFAR10 = CifarSpec(
    name="CIFAR-10",
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    meta_file="batches.meta",
    label_key="labels",
    class_names_key="label_names",
    md5=MappingProxyType(
        {
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        }
    ),
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    archive_md5="c58f30108f718f92721af3b95e74349a",
)

CIFAR100 = CifarSpec(
    name="CIFAR-100",
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    meta_file="meta",
    label_key="fine_labels",
    class_names_key="fine_label_names",
    md5=MappingProxyType(
        {
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
            "meta": "7973b15100ade9c7d40fb424638fde48",
        }
    ),
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
)

TINY_IMAGENET_FOLDER = "tiny-imagenet-200"
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"


@dataclass(frozen=True)
class ImageSet:
    """Images ``(N, C, H, W)`` uint8, labels ``(N,)`` int64 and the class names."""

    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


Split = Literal["train", "test"]


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")


# ---------------------------------------------------------------------------------------- CIFAR
def _cifar_hint(spec: CifarSpec, root: Path | None) -> str:
    where = str(root) if root is not None else "the data root"
    archive = spec.url.rsplit("/", 1)[-1]
    return (
        f"{spec.name} (python version) is expected as '{spec.folder}/' holding {', '.join(spec.files)} under {where}: "
        f"download {spec.url} (md5 {spec.archive_md5}) and unpack it there (tar -xzf {archive} -C {where}), "
        "or pass download=True to fetch and check it"
    )


def _unpickle(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        content = pickle.load(handle, encoding="latin1")  # noqa: S301 - checksum-verified official files
    if not isinstance(content, dict):
        raise DataIntegrityError(f"{str(path)!r} should hold a dict; got {type(content).__name__}")
    return content


def _cifar_root(spec: CifarSpec, root: str | os.PathLike[str] | None, download: bool) -> Path:
    base = data_root(root)
    if download and not all((base / spec.folder / name).is_file() for name in spec.files):
        download_and_extract(spec.url, base, spec.archive_md5)
    for name in spec.files:
        require_file(Path(spec.folder) / name, base, _cifar_hint(spec, base))
    return base


def load_cifar(dataset: str | CifarSpec = "cifar10", split: Split = "train", root: str | os.PathLike[str] | None = None, download: bool = False) -> ImageSet:
    """CIFAR-10/100 images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` (fine labels for CIFAR-100).

    Args:
        dataset: ``"cifar10"``, ``"cifar100"`` or a :class:`CifarSpec`.
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000).
        root: data root (default ``$HOPFIELD_DATA``).
        download: fetch the official archive into the data root if files are missing.

    Raises:
        DataNotFoundError: a file is missing (the message says which archive to unpack where).
        DataIntegrityError: a file's md5 differs from the published one, or its content is malformed.
    """
    spec = {"cifar10": CIFAR10, "cifar100": CIFAR100}.get(dataset, dataset) if isinstance(dataset, str) else dataset
    if not isinstance(spec, CifarSpec):
        raise ValueError(f"dataset must be 'cifar10', 'cifar100' or a CifarSpec; got {dataset!r}")
    _check_split(split)
    base = _cifar_root(spec, root, download)
    folder = base / spec.folder
    hint = f"replace it with the file from {spec.url}"
    meta = _unpickle(verify_md5(folder / spec.meta_file, spec.md5[spec.meta_file], hint))
    if spec.class_names_key not in meta:
        raise DataIntegrityError(f"{str(folder / spec.meta_file)!r} has no {spec.class_names_key!r} key; keys: {sorted(meta)}")
    images, labels = [], []
    for name in spec.train_files if split == "train" else spec.test_files:
        batch = _unpickle(verify_md5(folder / name, spec.md5[name], hint))
        missing = [key for key in ("data", spec.label_key) if key not in batch]
        if missing:
            raise DataIntegrityError(f"{str(folder / name)!r} lacks the keys {missing}; keys: {sorted(batch)}")
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != len(batch[spec.label_key]):
            raise DataIntegrityError(f"{str(folder / name)!r}: 'data' must be (N, 3072) with one label per row; got {data.shape} and {len(batch[spec.label_key])} labels")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[spec.label_key], dtype=np.int64))
    return ImageSet(torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels)), tuple(meta[spec.class_names_key]))


# ---------------------------------------------------------------------------------- Tiny ImageNet
def _tiny_hint(root: Path) -> str:
    return (
        f"Tiny ImageNet is expected as '{TINY_IMAGENET_FOLDER}/' (wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG, "
        f"val/val_annotations.txt) under {root}: download {TINY_IMAGENET_URL} (md5 {TINY_IMAGENET_MD5}) and unzip it there, "
        "or pass download=True to fetch and check it"
    )


@functools.cache
def _torchvision() -> Any | None:
    """``torchvision`` if it imports cleanly (it is optional and broken on some machines), else ``None``."""
    try:
        import torchvision  # noqa: PLC0415 - optional dependency, imported on use
    except Exception:  # noqa: BLE001 - any failure means: do not use it
        return None
    return torchvision


def _read_image(path: Path) -> np.ndarray:
    """An RGB image as ``(C, H, W)`` uint8 (grayscale images are expanded to 3 channels)."""
    torchvision = _torchvision()
    if torchvision is not None:
        return torchvision.io.read_image(str(path), mode=torchvision.io.ImageReadMode.RGB).numpy()
    try:
        from PIL import Image  # noqa: PLC0415 - needed only for Tiny ImageNet
    except ImportError as error:  # pragma: no cover - Pillow comes with matplotlib / the vision extra
        raise ImportError("reading Tiny ImageNet needs Pillow (pip install pillow) or a working torchvision") from error
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).transpose(2, 0, 1)


def load_tiny_imagenet(split: Split = "train", root: str | os.PathLike[str] | None = None, download: bool = False, threads: int = 8) -> ImageSet:
    """Tiny ImageNet images ``(N, 3, 64, 64)`` uint8 and labels ``(N,)`` (classes = sorted wnids).

    ``split="train"``: the 100,000 training images; ``"test"``: the 10,000 labelled ``val`` images.
    Images are decoded with ``threads`` threads (torchvision when it imports cleanly, else Pillow).
    """
    _check_split(split)
    base = data_root(root)
    folder = base / TINY_IMAGENET_FOLDER
    if download and not (folder / "wnids.txt").is_file():
        download_and_extract(TINY_IMAGENET_URL, base, TINY_IMAGENET_MD5)
    hint = _tiny_hint(base)
    wnids = sorted(require_file(Path(TINY_IMAGENET_FOLDER) / "wnids.txt", base, hint).read_text().split())
    index = {wnid: i for i, wnid in enumerate(wnids)}
    if split == "train":
        paths, labels = [], []
        for wnid in wnids:
            images = sorted((folder / "train" / wnid / "images").glob("*.JPEG"))
            if not images:
                raise DataNotFoundError(f"no training images in {str(folder / 'train' / wnid / 'images')!r}. {hint}")
            paths += images
            labels += [index[wnid]] * len(images)
    else:
        annotations = require_file(Path(TINY_IMAGENET_FOLDER) / "val" / "val_annotations.txt", base, hint)
        rows = [line.split("\t") for line in annotations.read_text().splitlines() if line.strip()]
        unknown = sorted({row[1] for row in rows if len(row) < 2 or row[1] not in index})
        if unknown or any(len(row) < 2 for row in rows):
            raise DataIntegrityError(f"{str(annotations)!r}: every line must be '<file>\\t<wnid>\\t…' with a wnid from wnids.txt; unknown: {unknown[:5]}")
        paths = [folder / "val" / "images" / row[0] for row in rows]
        labels = [index[row[1]] for row in rows]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataNotFoundError(f"{len(missing)} validation images listed in val_annotations.txt are missing, e.g. {missing[0]!r}. {hint}")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        arrays = list(pool.map(_read_image, paths))
    wrong = [str(p) for p, a in zip(paths, arrays) if a.shape != (3, 64, 64)]
    if wrong:
        raise DataIntegrityError(f"Tiny ImageNet images must be 64×64; {len(wrong)} are not, e.g. {wrong[0]!r}")
    return ImageSet(torch.from_numpy(np.stack(arrays)), torch.tensor(labels, dtype=torch.int64), tuple(wnids))


# ------------------------------------------------------------------------------------ registry
@dataclass(frozen=True)
class _VisionDataset:
    num_classes: int
    image_size: int
    load: Callable[..., ImageSet] = field(repr=False)


VISION_DATASETS: Mapping[str, _VisionDataset] = MappingProxyType(
    {
        "cifar10": _VisionDataset(10, 32, lambda split, root, download: load_cifar(CIFAR10, split, root, download)),
        "cifar100": _VisionDataset(100, 32, lambda split, root, download: load_cifar(CIFAR100, split, root, download)),
        "tinyimagenet": _VisionDataset(200, 64, lambda split, root, download: load_tiny_imagenet(split, root, download)),
    }
)


def load_vision_dataset(name: str, split: Split = "train", root: str | os.PathLike[str] | None = None, download: bool = False) -> ImageSet:
    """Load ``"cifar10"``, ``"cifar100"`` or ``"tinyimagenet"`` (see :func:`load_cifar`, :func:`load_tiny_imagenet`)."""
    if name not in VISION_DATASETS:
        raise ValueError(f"unknown vision dataset {name!r}; expected one of {sorted(VISION_DATASETS)}")
    return VISION_DATASETS[name].load(split, root, download)


# ---------------------------------------------------------------------------------- data module
class VisionDataModule(SplitDataModule):
    """Image classification data: in-memory uint8 tensors, augmented and normalised on the device.

    The training images are split (seeded) into ``train`` and a ``val_size`` validation set used for
    model selection; the test set is CIFAR's test batch or Tiny ImageNet's labelled val folder.
    ``val_size=0`` validates on the test set (the protocol of the U-Hop / A-Hop image experiments).
    Normalisation uses the per-channel mean/std of the training split. Training batches get a random
    crop (``crop_padding``) and horizontal flip when ``augment`` is on. Batches are
    ``(images (B, C, H, W) float, labels (B,) int64)``.

    Args:
        dataset: ``"cifar10"``, ``"cifar100"`` or ``"tinyimagenet"``.
        root: data root (default ``$HOPFIELD_DATA``).
        val_size: training images held out for validation.
        train_size: use only this many (random, seeded) training images (``None``: all).
        augment, crop_padding, horizontal_flip: training augmentation.
        download: fetch the official archive if the files are missing.
        split_seed: seed of the train/validation split and of the ``train_size`` subset.
        batch_size, eval_batch_size, num_workers: see :class:`~hopfield_layers.lit.datamodule.SplitDataModule`
            (the data are in memory; ``num_workers=0`` is usually enough).
    """

    def __init__(
        self,
        dataset: Literal["cifar10", "cifar100", "tinyimagenet"] = "cifar10",
        root: str | None = None,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        val_size: int = 5000,
        train_size: int | None = None,
        augment: bool = True,
        crop_padding: int = 4,
        horizontal_flip: bool = True,
        num_workers: int = 0,
        download: bool = False,
        split_seed: int = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, num_workers)
        if dataset not in VISION_DATASETS:
            raise ValueError(f"dataset must be one of {sorted(VISION_DATASETS)}; got {dataset!r}")
        for name, value in (("val_size", val_size), ("crop_padding", crop_padding)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0; got {value!r}")
        self.save_hyperparameters()
        self.dataset, self.root, self.download = dataset, root, download
        self.val_size, self.train_size, self.split_seed = val_size, train_size, split_seed
        self.augment, self.crop_padding, self.horizontal_flip = augment, crop_padding, horizontal_flip
        self.augmentation: ImageAugmentation | None = None

    @property
    def num_classes(self) -> int:
        return VISION_DATASETS[self.dataset].num_classes

    @property
    def image_size(self) -> int:
        return VISION_DATASETS[self.dataset].image_size

    def prepare_data(self) -> None:
        if self.download:  # once per node; setup() then finds the files
            for split in ("train", "test"):
                load_vision_dataset(self.dataset, split, self.root, download=True)

    def build(self, stage: str | None) -> dict[str, Dataset]:
        train = load_vision_dataset(self.dataset, "train", self.root)
        test = load_vision_dataset(self.dataset, "test", self.root)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.split_seed))
        if self.val_size >= len(train):
            raise ValueError(f"val_size must be smaller than the {len(train)} training images; got {self.val_size}")
        val_index, train_index = order[: self.val_size], order[self.val_size :]
        if self.train_size is not None:
            if not 0 < self.train_size <= len(train_index):
                raise ValueError(f"train_size must be in [1, {len(train_index)}]; got {self.train_size}")
            train_index = train_index[: self.train_size]
        mean, std = channel_mean_std(train.images[train_index])
        crop = self.crop_padding if self.augment else 0
        self.augmentation = ImageAugmentation(mean, std, crop_padding=crop, horizontal_flip=self.augment and self.horizontal_flip)
        test_set = TensorDataset(test.images, test.labels)
        return {
            "train": TensorDataset(train.images[train_index], train.labels[train_index]),
            "val": TensorDataset(train.images[val_index], train.labels[val_index]) if self.val_size else test_set,
            "test": test_set,
        }

    def on_after_batch_transfer(self, batch: tuple[Tensor, Tensor], dataloader_idx: int) -> tuple[Tensor, Tensor]:
        """Augment (training only) and normalise the uint8 batch on its device."""
        if self.augmentation is None:
            raise RuntimeError("call setup() before transferring batches")
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.augmentation(images, train=training), labels
