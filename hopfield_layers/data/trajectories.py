"""Smooth random trajectories in R^D: a stand-in for sequences of pooled video-frame embeddings.

Each scene is an independent sample of a Gaussian process with a squared-exponential kernel of the
given length scale, drawn with random Fourier features (Rahimi & Recht 2007): per dimension mean 0
and variance ``scale²``. Scene cuts switch to a new independent sample. As in
:func:`~hopfield_layers.data.synthetic_video.synthetic_video`, a trajectory is a function of τ ∈ [0, 1)
sampled at ``τ_i = (i + ½) / num_points``, so one seed gives the same path at any length.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["smooth_trajectory"]


def smooth_trajectory(
    num_points: int,
    dim: int,
    *,
    lengthscale: float = 0.02,
    scene_cuts: int = 0,
    scale: float = 1.0,
    num_features: int = 256,
    seed: int = 0,
) -> Tensor:
    """A trajectory ``(num_points, dim)``.

    Args:
        num_points: points L, evenly sampled over τ ∈ [0, 1).
        dim: dimension D.
        lengthscale: correlation length of the Gaussian process in units of the whole trajectory.
        scene_cuts: number of cuts at evenly spread random times; each scene is an independent path.
        scale: standard deviation of each coordinate.
        num_features: random Fourier features per scene (more = closer to an exact Gaussian process).
        seed: the trajectory's seed.
    """
    for name, value, minimum in (("num_points", num_points, 1), ("dim", dim, 1), ("scene_cuts", scene_cuts, 0), ("num_features", num_features, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}")
    for name, value in (("lengthscale", lengthscale), ("scale", scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive float; got {value!r}")
    g = torch.Generator().manual_seed(seed)
    num_scenes = scene_cuts + 1
    cuts = torch.sort((torch.arange(1, num_scenes) + torch.rand(scene_cuts, generator=g) - 0.5) / num_scenes).values
    tau = (torch.arange(num_points, dtype=torch.float32) + 0.5) / num_points
    scene = torch.bucketize(tau, cuts, right=True)  # (L,)
    frequencies = torch.randn(num_scenes, num_features, generator=g) / lengthscale
    phases = 2 * math.pi * torch.rand(num_scenes, num_features, generator=g)
    amplitudes = torch.randn(num_scenes, num_features, dim, generator=g)
    features = torch.cos(frequencies[scene] * tau[:, None] + phases[scene])  # (L, K)
    path = torch.empty(num_points, dim)
    for s in range(num_scenes):
        rows = scene == s
        path[rows] = features[rows] @ amplitudes[s]
    return scale * math.sqrt(2.0 / num_features) * path
