"""Synthetic clips: shapes, determinism, smooth motion within scenes, abrupt changes between them."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers.data.synthetic_clips import synthetic_clip


def test_shape_range_and_scenes() -> None:
    clip = synthetic_clip(40, 16, 20, channels=1, mean_scene_length=10, seed=3)
    assert clip.frames.shape == (40, 1, 16, 20) and clip.frames.dtype == torch.float32
    assert clip.frames.min() >= 0 and clip.frames.max() <= 1
    assert clip.scene.shape == (40,) and clip.scene[0] == 0 and (clip.scene.diff() >= 0).all()
    assert clip.num_scene_changes == int(clip.scene[-1])


def test_deterministic_per_seed() -> None:
    a, b, c = (synthetic_clip(12, 8, 8, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.frames, b.frames) and torch.equal(a.scene, b.scene)
    assert not torch.equal(a.frames, c.frames)


def test_exact_number_of_scene_changes() -> None:
    clip = synthetic_clip(30, 8, 8, num_scene_changes=4, seed=0)
    assert clip.num_scene_changes == 4
    assert synthetic_clip(5, 8, 8, num_scene_changes=0).num_scene_changes == 0


def test_motion_is_smooth_and_scene_changes_are_abrupt() -> None:
    clip = synthetic_clip(120, 32, 32, mean_scene_length=20, seed=0)
    change = clip.scene[1:] != clip.scene[:-1]
    step = (clip.frames[1:] - clip.frames[:-1]).pow(2).flatten(1).mean(1)
    assert change.any() and (~change).any()
    assert (step[~change] > 0).all()  # things move
    assert step[change].min() > 10 * step[~change].max()


def test_large_frames_render_in_chunks() -> None:
    clip = synthetic_clip(70, 256, 256, num_scene_changes=1, seed=0)
    assert clip.frames.shape == (70, 3, 256, 256)


def test_bad_size_raises() -> None:
    with pytest.raises(ValueError, match=r"height must be an int in \[4, 256\]; got 300"):
        synthetic_clip(4, 300, 8)


def test_bad_frame_count_raises() -> None:
    with pytest.raises(ValueError, match="num_frames must be an int ≥ 1; got 0"):
        synthetic_clip(0)


def test_too_many_scene_changes_raise() -> None:
    with pytest.raises(ValueError, match="num_scene_changes must lie in"):
        synthetic_clip(5, 8, 8, num_scene_changes=5)


def test_bad_scene_length_raises() -> None:
    with pytest.raises(ValueError, match="mean_scene_length must be ≥ 1"):
        synthetic_clip(5, 8, 8, mean_scene_length=0.5)
