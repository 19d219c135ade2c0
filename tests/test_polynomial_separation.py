"""The polynomial separation (continuous dense associative memory): weights ∝ max(z, 0)^n."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers import retrieve
from hopfield_layers.energy import energy
from hopfield_layers.separation import Polynomial, get_separation


def test_weights_are_normalised_rectified_powers() -> None:
    z = torch.randn(4, 9, dtype=torch.float64)
    expected = z.clamp_min(0).pow(3)
    expected = expected / expected.sum(-1, keepdim=True)
    torch.testing.assert_close(get_separation({"name": "polynomial", "degree": 3})(z), expected)
    assert isinstance(get_separation("poly"), Polynomial) and get_separation("poly").degree == 10


def test_scale_invariant_and_masked() -> None:
    q, k = torch.randn(2, 1, 5, 8), torch.randn(2, 1, 12, 8)
    a = retrieve(q, k, k, separation="polynomial", scaling=0.1)
    b = retrieve(q, k, k, separation="polynomial", scaling=7.0)
    torch.testing.assert_close(a, b)
    _, weights = retrieve(q, k, k, separation="polynomial", key_padding_mask=torch.arange(12).expand(2, 12) >= 6, return_association=True)
    assert (weights[..., 6:] == 0).all()


def test_rows_without_positive_scores_get_zero_weights_and_finite_gradients() -> None:
    z = torch.tensor([[0.0, -1.0, float("-inf")], [2.0, 0.0, 1.0]], requires_grad=True)
    weights = Polynomial(degree=2)(z)
    assert torch.equal(weights[0], torch.zeros(3))
    weights[:, 0].sum().backward()
    assert torch.isfinite(z.grad).all()


def test_float16_scores() -> None:
    z = torch.randn(3, 6).half()
    weights = Polynomial(degree=10)(z)
    assert weights.dtype == torch.float16 and torch.isfinite(weights).all()


def test_has_no_entmax_energy() -> None:
    with pytest.raises(ValueError, match="no Tsallis index"):
        energy(torch.randn(2, 4), torch.randn(5, 4), separation="polynomial")


def test_bad_degree_raises() -> None:
    with pytest.raises(ValueError, match="degree must be a positive int"):
        Polynomial(degree=0)
