"""Synthetic videos: moving, rotating shapes on gradient backgrounds, with scene cuts.

A stand-in for natural videos (e.g. MovieChat) where no video data is available. A clip is a function
of continuous time τ ∈ [0, 1): the same seed gives the same clip at any number of frames, sampled at
``τ_i = (i + ½) / num_frames``. Within a scene every shape moves along a smooth Lissajous path and
rotates at a constant rate; at a scene cut background and shapes are redrawn.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["synthetic_video"]

_GRATINGS = 4  # sinusoidal gratings in each scene's background texture


def _check_positive(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}")
    return value


def synthetic_video(
    num_frames: int,
    resolution: int | tuple[int, int] = 32,
    *,
    num_shapes: int = 3,
    scene_cuts: int = 3,
    channels: int = 3,
    speed: float = 2.0,
    texture: float = 0.5,
    seed: int = 0,
) -> Tensor:
    """Render a clip ``(num_frames, channels, H, W)`` with pixels in [−1, 1].

    Args:
        num_frames: frames L, evenly sampled over the clip.
        resolution: ``H = W`` or ``(H, W)``.
        num_shapes: shapes per scene (discs and regular 3-, 4- and 5-gons, anti-aliased).
        scene_cuts: number of cuts, at random times (each scene lasts at least 1/(4·(cuts+1)) of the clip).
        channels: colour channels (3 = RGB, 1 = grey).
        speed: motion cycles per clip (a shape's path frequency is drawn from [speed/2, speed]) and
            rotation rate in turns per clip (drawn from [−speed, speed]).
        texture: amplitude of the drifting background texture (0 = plain gradients).
        seed: the clip's seed.
    """
    num_frames = _check_positive("num_frames", num_frames)
    num_shapes = _check_positive("num_shapes", num_shapes)
    scene_cuts = _check_positive("scene_cuts", scene_cuts, minimum=0)
    channels = _check_positive("channels", channels)
    height, width = (resolution, resolution) if isinstance(resolution, int) and not isinstance(resolution, bool) else tuple(resolution)
    _check_positive("resolution", height)
    _check_positive("resolution", width)
    for name, value in (("speed", speed), ("texture", texture)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a non-negative float; got {value!r}")
    g = torch.Generator().manual_seed(seed)

    def uniform(*shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
        return low + (high - low) * torch.rand(shape, generator=g)

    num_scenes = scene_cuts + 1
    # Scene lengths: a floor of 1/(4·scenes) each plus a random share of the rest.
    shares = uniform(num_scenes) + 0.05
    lengths = 0.25 / num_scenes + 0.75 * shares / shares.sum()
    cuts = torch.cumsum(lengths, 0)[:-1]
    tau = (torch.arange(num_frames, dtype=torch.float32) + 0.5) / num_frames
    scene = torch.bucketize(tau, cuts, right=True)  # (L,) scene index of each frame

    # Per scene: background gradient (two colours, a direction); per shape: colour, size, sides, motion.
    bg_a, bg_b = uniform(num_scenes, channels, low=-1, high=1), uniform(num_scenes, channels, low=-1, high=1)
    bg_angle = uniform(num_scenes, high=2 * math.pi)
    colour = uniform(num_scenes, num_shapes, channels, low=-1, high=1)
    radius = uniform(num_scenes, num_shapes, low=0.1, high=0.25)
    sides = torch.tensor([0, 3, 4, 5])[torch.randint(0, 4, (num_scenes, num_shapes), generator=g)]
    centre = uniform(num_scenes, num_shapes, 2, low=0.3, high=0.7)
    amplitude = uniform(num_scenes, num_shapes, 2, low=0.1, high=0.3)
    frequency = uniform(num_scenes, num_shapes, 2, low=speed / 2, high=speed)
    phase = uniform(num_scenes, num_shapes, 2, high=2 * math.pi)
    spin = uniform(num_scenes, num_shapes, low=-speed, high=speed) * 2 * math.pi
    spin0 = uniform(num_scenes, num_shapes, high=2 * math.pi)

    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (H, W, 2) as (x, y)

    direction = torch.stack([bg_angle.cos(), bg_angle.sin()], dim=-1)[scene]  # (L, 2)
    ramp = ((grid - 0.5) @ direction.T).permute(2, 0, 1) / math.sqrt(2) + 0.5  # (L, H, W) in [0, 1]
    frames = bg_a[scene][:, :, None, None] * (1 - ramp[:, None]) + bg_b[scene][:, :, None, None] * ramp[:, None]
    # Drifting texture: a few sinusoidal gratings per scene (like a panning camera over a textured backdrop).
    waves = uniform(num_scenes, _GRATINGS, 2, low=-4, high=4) * 2 * math.pi  # wave vectors, up to 4 cycles per image
    drift = uniform(num_scenes, _GRATINGS, low=-speed, high=speed) * 2 * math.pi  # phase turns per clip
    tint = uniform(num_scenes, _GRATINGS, channels, low=-texture, high=texture)
    argument = torch.einsum("hwc,lgc->lghw", grid, waves[scene]) + (drift[scene] * tau[:, None] + uniform(num_scenes, _GRATINGS, high=6.3)[scene])[..., None, None]
    frames = frames + torch.einsum("lghw,lgc->lchw", torch.sin(argument), tint[scene]) / _GRATINGS

    edge = 0.5 / max(height, width)
    t = tau[:, None, None]
    positions = centre[scene] + amplitude[scene] * torch.sin(2 * math.pi * frequency[scene] * t + phase[scene])  # (L, K, 2)
    angles = spin0[scene] + spin[scene] * tau[:, None]  # (L, K)
    for k in range(num_shapes):
        offset = grid[None] - positions[:, k, None, None, :]  # (L, H, W, 2)
        rho = offset.norm(dim=-1)
        n = sides[scene, k]  # (L,) 0 = disc
        # Regular polygon as the intersection of half-planes: distance to the nearest edge direction.
        polar = torch.atan2(offset[..., 1], offset[..., 0]) - angles[:, k, None, None]
        segment = 2 * math.pi / n.clamp(min=1).float()[:, None, None]
        local = torch.remainder(polar, segment) - segment / 2
        apothem = radius[scene, k][:, None, None] * torch.cos(segment / 2)
        polygon = rho * torch.cos(local) - apothem
        disc = rho - radius[scene, k][:, None, None]
        distance = torch.where((n == 0)[:, None, None], disc, polygon)
        alpha = torch.sigmoid(-distance / edge)[:, None]  # (L, 1, H, W)
        frames = frames * (1 - alpha) + colour[scene, k][:, :, None, None] * alpha
    return frames.clamp(-1.0, 1.0)
