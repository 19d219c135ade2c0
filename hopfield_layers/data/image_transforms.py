"""Batched image augmentation in plain torch: random crop with padding, horizontal flip, normalisation.

They act on a whole batch ``(B, C, H, W)`` at once on whatever device it is on (a different crop and
flip per image), so a data module can augment on the GPU after the batch is transferred, and no
torchvision is needed. Random numbers come from torch's global generator (seeded by
``lightning.seed_everything``) or from an explicit ``generator`` on the batch's device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["to_float", "random_crop", "random_horizontal_flip", "normalize", "channel_mean_std", "ImageAugmentation"]


def _check_batch(images: Tensor, name: str = "images") -> None:
    if not isinstance(images, Tensor):
        raise TypeError(f"{name} must be a tensor (B, C, H, W); got {type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"{name} must be 4-D (B, C, H, W); got shape {tuple(images.shape)}")


def to_float(images: Tensor) -> Tensor:
    """uint8 pixels in [0, 255] → float32 in [0, 1]; floating images are returned unchanged."""
    _check_batch(images)
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or floating; got dtype {images.dtype}")
    return images


def random_crop(images: Tensor, padding: int, generator: torch.Generator | None = None) -> Tensor:
    """Zero-pad by ``padding`` on every side, then crop each image at a random offset to its old size.

    ``(B, C, H, W)`` → ``(B, C, H, W)``; ``padding=0`` returns the input.
    """
    _check_batch(images)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be an int >= 0; got {padding!r}")
    if padding == 0:
        return images
    batch, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (batch, 1, 1), device=images.device, generator=generator)
    left = torch.randint(0, 2 * padding + 1, (batch, 1, 1), device=images.device, generator=generator)
    rows = top + torch.arange(height, device=images.device).view(1, height, 1)  # (B, H, 1)
    cols = left + torch.arange(width, device=images.device).view(1, 1, width)  # (B, 1, W)
    index = torch.arange(batch, device=images.device).view(batch, 1, 1)
    return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) → (B, C, H, W)


def random_horizontal_flip(images: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability ``p``: ``(B, C, H, W)`` → ``(B, C, H, W)``."""
    _check_batch(images)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p!r}")
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < p
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """``(images - mean) / std`` per channel; uint8 images are first scaled to [0, 1]."""
    images = to_float(images)
    if len(mean) != images.shape[1] or len(std) != images.shape[1]:
        raise ValueError(f"mean and std need one value per channel ({images.shape[1]}); got {len(mean)} and {len(std)}")
    shape = (1, -1, 1, 1)
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(shape)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(shape)
    return (images - mean_t) / std_t


def channel_mean_std(images: Tensor, chunk_size: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of ``(N, C, H, W)`` images in [0, 1] units (uint8 → /255)."""
    _check_batch(images)
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros(images.shape[1], dtype=torch.float64)
    for start in range(0, images.shape[0], chunk_size):
        chunk = to_float(images[start : start + chunk_size]).double()
        total += chunk.sum(dim=(0, 2, 3))
        squares += chunk.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0.0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


@dataclass(frozen=True)
class ImageAugmentation:
    """Training augmentation + normalisation of a batch: crop (``crop_padding``), flip, normalise.

    ``augmentation(images, train=True)`` crops and flips then normalises; ``train=False`` only
    normalises. ``images``: uint8 or [0, 1] floats ``(B, C, H, W)``; returns float32 ``(B, C, H, W)``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_padding: int = 4
    horizontal_flip: bool = True

    def __call__(self, images: Tensor, train: bool) -> Tensor:
        images = to_float(images)
        if train:
            images = random_crop(images, self.crop_padding)
            if self.horizontal_flip:
                images = random_horizontal_flip(images)
        return normalize(images, self.mean, self.std)
