"""Synthetic videos and smooth trajectories: shapes, ranges, determinism, continuous time, scene cuts, errors."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers.data.synthetic_video import synthetic_video
from hopfield_layers.data.trajectories import smooth_trajectory


def test_video_shape_range_and_seed() -> None:
    video = synthetic_video(40, (12, 16), channels=3, seed=3)
    assert video.shape == (40, 3, 12, 16) and video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1 and video.std() > 0.2
    torch.testing.assert_close(video, synthetic_video(40, (12, 16), seed=3))
    assert not torch.allclose(video, synthetic_video(40, (12, 16), seed=4))
    assert synthetic_video(5, 8, channels=1).shape == (5, 1, 8, 8)


def test_video_is_a_function_of_continuous_time() -> None:
    """Frame i of L frames sits at τ = (i + ½)/L: frame 1 of 4 and frame 4 of 12 are both at τ = 3/8."""
    coarse, fine = synthetic_video(4, 10, seed=1), synthetic_video(12, 10, seed=1)
    torch.testing.assert_close(coarse[1], fine[4])  # τ = 3/8 in both clips


def test_scene_cuts_are_the_largest_jumps() -> None:
    video = synthetic_video(400, 16, scene_cuts=3, speed=1.0, texture=0.2, seed=0)
    jumps = (video[1:] - video[:-1]).flatten(1).norm(dim=-1)
    top = jumps.topk(4).values
    assert top[2] > 5 * jumps.median()  # three cuts stand out
    assert top[3] < top[2] / 2  # and only three
    smooth = synthetic_video(400, 16, scene_cuts=0, speed=1.0, seed=0)
    assert (smooth[1:] - smooth[:-1]).flatten(1).norm(dim=-1).max() < top[2] / 2


def test_trajectory_shape_scale_seed_and_smoothness() -> None:
    path = smooth_trajectory(500, 64, lengthscale=0.05, scale=3.0, seed=2)
    assert path.shape == (500, 64)
    assert 2.0 < path.std() < 4.0
    torch.testing.assert_close(path, smooth_trajectory(500, 64, lengthscale=0.05, scale=3.0, seed=2))
    steps = (path[1:] - path[:-1]).norm(dim=-1)
    assert steps.max() < 0.2 * path.norm(dim=-1).mean()
    torch.testing.assert_close(smooth_trajectory(4, 8, seed=5)[1], smooth_trajectory(12, 8, seed=5)[4])
    cut = smooth_trajectory(500, 64, lengthscale=0.05, scene_cuts=2, seed=2)
    cut_steps = (cut[1:] - cut[:-1]).norm(dim=-1)
    assert (cut_steps > 5 * cut_steps.median()).sum() == 2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: synthetic_video(0), "num_frames must be an int ≥ 1"),
        (lambda: synthetic_video(4, 0), "resolution must be an int ≥ 1"),
        (lambda: synthetic_video(4, num_shapes=0), "num_shapes must be an int ≥ 1"),
        (lambda: synthetic_video(4, scene_cuts=-1), "scene_cuts must be an int ≥ 0"),
        (lambda: synthetic_video(4, channels=0), "channels must be an int ≥ 1"),
        (lambda: synthetic_video(4, speed=-1.0), "speed must be a non-negative float"),
        (lambda: synthetic_video(4, texture=-0.1), "texture must be a non-negative float"),
        (lambda: smooth_trajectory(0, 3), "num_points must be an int ≥ 1"),
        (lambda: smooth_trajectory(4, 0), "dim must be an int ≥ 1"),
        (lambda: smooth_trajectory(4, 3, scene_cuts=-2), "scene_cuts must be an int ≥ 0"),
        (lambda: smooth_trajectory(4, 3, num_features=0), "num_features must be an int ≥ 1"),
        (lambda: smooth_trajectory(4, 3, lengthscale=0.0), "lengthscale must be a positive float"),
        (lambda: smooth_trajectory(4, 3, scale=-1.0), "scale must be a positive float"),
    ],
)
def test_errors(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
