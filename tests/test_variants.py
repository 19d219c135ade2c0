"""The variant generator: noise, mask and bias as defined, reproducibility, errors."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers.data.variants import difficulty_label, make_variants


def _patterns(count: int = 50, dim: int = 20) -> torch.Tensor:
    return torch.rand(count, dim, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_no_corruption_returns_the_patterns() -> None:
    patterns = _patterns()
    index, x = make_variants(patterns)
    assert torch.equal(index, torch.arange(50)) and torch.equal(x, patterns)
    index, x = make_variants(patterns, 7)
    assert index.shape == (7,) and torch.equal(x, patterns[index])


def test_mask_replaces_exactly_round_d_times_fraction_dimensions() -> None:
    patterns = _patterns()
    index, x = make_variants(patterns, 200, mask=0.3, generator=torch.Generator().manual_seed(0))
    changed = (x != patterns[index]).sum(dim=1)
    assert torch.equal(changed, torch.full((200,), 6))  # round(20 · 0.3), U[-1, 1] values are never equal to the pattern's
    assert x.abs().max() <= 1.0


def test_noise_has_the_given_standard_deviation() -> None:
    patterns = _patterns(10, 1000)
    index, x = make_variants(patterns, 100, noise=0.3, generator=torch.Generator().manual_seed(0))
    residual = x - patterns[index]
    assert abs(residual.std().item() - 0.3) < 0.005 and abs(residual.mean().item()) < 0.01


def test_bias_shifts_every_dimension_by_plus_or_minus_d_bias() -> None:
    patterns = _patterns()
    index, x = make_variants(patterns, 100, bias=0.4, generator=torch.Generator().manual_seed(0))
    shift = x - patterns[index]
    torch.testing.assert_close(shift.abs(), torch.full_like(shift, 0.4))
    assert 0.4 < (shift > 0).float().mean() < 0.6


def test_order_noise_then_mask_then_bias() -> None:
    patterns = torch.full((4, 20), 5.0)  # far from [-1, 1], so masked entries are recognisable
    _, x = make_variants(patterns, 500, mask=0.5, noise=0.2, bias=0.3, generator=torch.Generator().manual_seed(0))
    masked = x.abs() < 3
    assert torch.equal(masked.sum(dim=1), torch.full((500,), 10))
    values = x[masked]
    assert ((values - 0.3).abs().le(1.0) | (values + 0.3).abs().le(1.0)).all()  # U[-1, 1] + bias, no noise after masking
    assert values.abs().max() > 1.0  # the bias is added after masking


def test_reproducible_and_explicit_index() -> None:
    patterns = _patterns()
    first = make_variants(patterns, 30, mask=0.2, noise=0.2, bias=0.2, generator=torch.Generator().manual_seed(3))
    second = make_variants(patterns, 30, mask=0.2, noise=0.2, bias=0.2, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    index, x = make_variants(patterns, index=torch.tensor([4, 4, 9]))
    assert torch.equal(index, torch.tensor([4, 4, 9])) and torch.equal(x, patterns[[4, 4, 9]])


def test_difficulty_label() -> None:
    assert difficulty_label(0.8, 0, 0) == "(.8,0,0)"
    assert difficulty_label(0.5, 0.5, 0.5) == "(.5,.5,.5)"
    assert difficulty_label(1.0, 0.0, 0.25) == "(1,0,.25)"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"patterns": torch.zeros(5)}, r"patterns must be a floating tensor of shape \(N, d\)"),
        ({"patterns": torch.zeros(5, 3, dtype=torch.long)}, r"patterns must be a floating tensor of shape \(N, d\)"),
        ({"mask": 1.5}, r"mask must be a number in \[0, 1\]"),
        ({"noise": -0.1}, r"noise must be a number in \[0, 1\]"),
        ({"bias": True}, r"bias must be a number in \[0, 1\]"),
        ({"num": -1}, "num must be a non-negative int"),
        ({"num": 3, "index": torch.tensor([0])}, "either num or index"),
        ({"index": torch.tensor([0.0])}, r"index must be an int64 tensor of shape \(M,\)"),
        ({"index": torch.tensor([0, 5])}, r"index entries must be in \[0, 5\)"),
    ],
)
def test_errors(kwargs: dict, match: str) -> None:
    args = {"patterns": torch.zeros(5, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        make_variants(**args)
