"""retrieve() → AdaSplash dispatch decision, on CPU with a fake CUDA check and a fake ``adasplash`` module."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from hopfield_layers import Entmax, retrieve
from hopfield_layers.ops import adasplash as dispatch
from hopfield_layers.separation import get_separation


class FakeAdaSplash:
    """Records its calls and computes what AdaSplash computes: entmax_α(q kᵀ / sqrt(E)) v, on CPU."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def adasplash(self, q, k, v, alpha=1.5, is_causal=True, varlen=None, niter=None):
        self.calls.append(dict(q=q, k=k, v=v, alpha=alpha, is_causal=is_causal, varlen=varlen, niter=niter))
        separation = get_separation({"name": "entmax", "alpha": alpha})
        return separation(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])) @ v


@pytest.fixture
def fake(monkeypatch) -> FakeAdaSplash:
    module = FakeAdaSplash()
    monkeypatch.setattr(dispatch, "_load", lambda: SimpleNamespace(adasplash=module.adasplash))
    monkeypatch.setattr(dispatch, "_is_cuda", lambda t: True)
    return module


def _qkv(length: int = 8, dim: int = 16, heads: int = 2):
    return tuple(torch.randn(2, heads, length, dim, requires_grad=True) for _ in range(3))


@pytest.mark.parametrize(("separation", "alpha"), [("sparsemax", 2.0), ("entmax15", 1.5), ({"name": "entmax", "alpha": 1.3}, 1.3)])
@pytest.mark.parametrize("scaling", [None, 0.3, torch.tensor([0.5, 2.0])])
def test_dispatches_and_matches_explicit_path(fake: FakeAdaSplash, separation, alpha: float, scaling) -> None:
    q, k, v = _qkv()
    out = retrieve(q, k, v, separation=separation, scaling=scaling)
    (call,) = fake.calls
    assert call["alpha"] == alpha and call["is_causal"] is False and call["niter"] == dispatch.NITER and call["varlen"] is None
    explicit, _ = retrieve(q, k, v, separation=separation, scaling=scaling, return_association=True)
    torch.testing.assert_close(out, explicit, atol=1e-5, rtol=1e-5)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    for a, b in zip(grads, torch.autograd.grad(explicit.sum(), (q, k, v))):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_non_power_of_two_length_passes_lengths(fake: FakeAdaSplash) -> None:
    q, k, v = _qkv(length=6)
    retrieve(q, k, v, separation="sparsemax")
    assert fake.calls[0]["varlen"].tolist() == [6, 6] and fake.calls[0]["varlen"].dtype == torch.int32


@pytest.mark.parametrize(
    "case",
    [
        dict(separation="softmax"),  # SDPA handles it
        dict(separation=Entmax(learnable=True, num_heads=2)),  # α per head with a gradient
        dict(similarity="euclidean"),
        dict(update_steps_max=1),
        dict(return_association=True),
        dict(dropout_p=0.1, training=True),
        dict(key_padding_mask=torch.zeros(2, 8, dtype=torch.bool)),
        dict(attn_mask=torch.zeros(8, 8)),
        dict(shape=dict(length=8, dim=12)),  # head dim AdaSplash has no kernel for
        dict(key_length=6),  # L != S
    ],
    ids=lambda case: next(iter(case)),
)
def test_falls_back_when_adasplash_cannot(fake: FakeAdaSplash, case: dict) -> None:
    case = dict(case)
    q, k, v = _qkv(**case.pop("shape", {}))
    if "key_length" in case:
        k, v = k[:, :, : case.pop("key_length")], v[:, :, :6]
    case.setdefault("separation", "sparsemax")
    retrieve(q, k, v, **case)
    assert fake.calls == []


def test_nothing_changes_without_cuda_or_package(monkeypatch) -> None:
    q, k, v = _qkv()
    monkeypatch.setattr(dispatch, "_load", lambda: pytest.fail("must not import adasplash for CPU tensors"))
    retrieve(q, k, v, separation="sparsemax")  # real CUDA check: CPU tensors never dispatch
    monkeypatch.setattr(dispatch, "_is_cuda", lambda t: True)
    monkeypatch.setattr(dispatch, "_load", lambda: None)  # CUDA but no package
    explicit = retrieve(q, k, v, separation="sparsemax", return_association=True)[0]
    torch.testing.assert_close(retrieve(q, k, v, separation="sparsemax"), explicit)
