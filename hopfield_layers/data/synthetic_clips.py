"""Synthetic video clips with smooth motion and abrupt scene changes (no data files needed).

Each scene has a drifting two-colour striped background and a few soft discs and squares that move at
constant velocity and bounce off the borders, so consecutive frames differ smoothly. At a scene change
everything (colours, shapes, positions, velocities, background) is drawn anew. Frames are rendered in
chunks, so long clips at up to 256×256 stay within memory.

    clip = synthetic_clip(500, height=64, width=64, seed=0)
    clip.frames            # (500, 3, 64, 64) in [0, 1]
    clip.scene             # (500,) scene index of every frame
    clip.num_scene_changes # S
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["Clip", "synthetic_clip"]

_CHUNK = 64  # frames rendered at once


class Clip(NamedTuple):
    frames: Tensor  #: (N, C, H, W) in [0, 1]
    scene: Tensor  #: (N,) long, scene index of each frame (0, 0, …, 1, 1, …)

    @property
    def num_scene_changes(self) -> int:
        """S: the number of abrupt scene changes in the clip."""
        return int((self.scene[1:] != self.scene[:-1]).sum())


def _scene_starts(num_frames: int, mean_scene_length: float, num_scene_changes: int | None, generator: torch.Generator) -> list[int]:
    if num_scene_changes is None:
        cuts = (torch.rand(num_frames - 1, generator=generator) < 1.0 / mean_scene_length).nonzero().squeeze(-1) + 1
    else:
        if not 0 <= num_scene_changes < num_frames:
            raise ValueError(f"num_scene_changes must lie in [0, num_frames); got {num_scene_changes} for {num_frames} frames")
        cuts = torch.randperm(num_frames - 1, generator=generator)[:num_scene_changes].sort().values + 1
    return [0, *cuts.tolist()]


def _render_scene(length: int, height: int, width: int, channels: int, num_shapes: int, speed: float, generator: torch.Generator) -> Tensor:
    """Frames ``(length, C, H, W)`` of one scene."""

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator)

    ys = torch.linspace(0.0, 1.0, height)[:, None]
    xs = torch.linspace(0.0, 1.0, width)[None, :]
    colours = rand(2, channels, 1, 1)
    angle = 2 * math.pi * rand(1)
    frequency, drift = 1.0 + 3.0 * rand(1), 0.01 + 0.02 * rand(1)
    # Shapes: centre, velocity (fraction of the frame per frame), radius, colour, square or disc.
    centre0 = 0.15 + 0.7 * rand(num_shapes, 2)
    direction = 2 * math.pi * rand(num_shapes)
    velocity = speed * (0.5 + rand(num_shapes, 1)) * torch.stack([torch.sin(direction), torch.cos(direction)], dim=-1)
    radius = 0.06 + 0.12 * rand(num_shapes)
    shape_colour = rand(num_shapes, channels)
    square = rand(num_shapes) < 0.5
    softness = 1.5 / max(height, width)

    chunks = []
    for start in range(0, length, _CHUNK):
        t = torch.arange(start, min(start + _CHUNK, length), dtype=torch.float32)[:, None, None]
        phase = 2 * math.pi * (frequency * (xs * torch.cos(angle) + ys * torch.sin(angle)) + drift * t)
        blend = 0.5 + 0.5 * torch.sin(phase)  # (T, H, W)
        frames = colours[0] + (colours[1] - colours[0]) * blend[:, None]  # (T, C, H, W)
        # Bouncing motion: reflect the unbounded path into [0, 1] (triangle wave).
        path = (centre0 + velocity * t) % 2.0  # (T, K, 2)
        centre = torch.where(path > 1.0, 2.0 - path, path)
        dy = ys[None, None] - centre[..., 0, None, None]  # (T, K, H, 1)
        dx = xs[None, None] - centre[..., 1, None, None]  # (T, K, 1, W)
        distance = torch.where(square[None, :, None, None], torch.maximum(dy.abs(), dx.abs()), torch.sqrt(dy**2 + dx**2))
        alpha = torch.sigmoid((radius[None, :, None, None] - distance) / softness)  # (T, K, H, W)
        for k in range(num_shapes):
            a = alpha[:, k, None]
            frames = frames * (1.0 - a) + a * shape_colour[k][None, :, None, None]
        chunks.append(frames)
    return torch.cat(chunks).clamp_(0.0, 1.0)


def synthetic_clip(
    num_frames: int,
    height: int = 64,
    width: int = 64,
    channels: int = 3,
    *,
    mean_scene_length: float = 50.0,
    num_scene_changes: int | None = None,
    num_shapes: int = 4,
    speed: float = 0.01,
    seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Clip:
    """Render a clip of smooth motion with abrupt scene changes.

    Args:
        num_frames: N ≥ 1.
        height, width: frame size, each in [4, 256].
        channels: C ≥ 1 (3 = RGB).
        mean_scene_length: mean frames per scene; scene changes happen independently at each frame with
            probability ``1 / mean_scene_length`` (ignored when ``num_scene_changes`` is given).
        num_scene_changes: exactly this many changes at random frames instead.
        num_shapes: moving shapes per scene.
        speed: typical shape speed as a fraction of the frame size per frame.
        seed: the clip is a deterministic function of its arguments and the seed.
        device, dtype: of the returned frames (rendering happens on the CPU in float32).

    Returns:
        :class:`Clip` with ``frames (N, C, H, W)`` in [0, 1] and ``scene (N,)``.
    """
    for name, value, low in (("num_frames", num_frames, 1), ("channels", channels, 1), ("num_shapes", num_shapes, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int ≥ {low}; got {value!r}")
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or not 4 <= value <= 256:
            raise ValueError(f"{name} must be an int in [4, 256]; got {value!r}")
    if not mean_scene_length >= 1:
        raise ValueError(f"mean_scene_length must be ≥ 1; got {mean_scene_length}")
    generator = torch.Generator().manual_seed(seed)
    starts = _scene_starts(num_frames, mean_scene_length, num_scene_changes, generator)
    ends = [*starts[1:], num_frames]
    frames = torch.cat([_render_scene(end - start, height, width, channels, num_shapes, speed, generator) for start, end in zip(starts, ends)])
    scene = torch.repeat_interleave(torch.arange(len(starts)), torch.tensor([end - start for start, end in zip(starts, ends)]))
    return Clip(frames.to(device=device, dtype=dtype), scene.to(device))
