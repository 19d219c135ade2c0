"""MIL networks: shapes, padding invariance, the attention baselines' formula, errors."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from hopfield_layers import Hopfield, HopfieldPooling
from hopfield_layers.models.mil import AttentionPooling, MILNetwork

POOLINGS = {
    "hopfield_pooling": functools.partial(HopfieldPooling, num_heads=2, hidden_size=4, update_steps_max=2, separation="sparsemax"),
    "hopfield_pooling_entmax": functools.partial(HopfieldPooling, num_heads=2, quantity=3, separation={"name": "entmax", "learnable": True}),
    "attention": AttentionPooling,
    "gated_attention": functools.partial(AttentionPooling, gated=True, hidden_size=16, separation="sparsemax"),
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", sorted(POOLINGS))
def test_padding_does_not_change_a_bag(name: str) -> None:
    net = MILNetwork(5, POOLINGS[name], embedding_sizes=(8, 8)).eval()
    bag = torch.randn(1, 4, 5)
    padded = torch.cat([bag, 100 * torch.randn(1, 3, 5)], dim=1)
    mask = torch.tensor([[False] * 4 + [True] * 3])
    out = net(padded, mask)
    assert out.shape == (1,)
    torch.testing.assert_close(out, net(bag), atol=1e-5, rtol=1e-5)


def test_hopfield_self_association_is_flattened_over_a_fixed_bag() -> None:
    net = MILNetwork(5, functools.partial(Hopfield, num_heads=2, separation="entmax15"), embedding_sizes=(6,), bag_size=4, num_outputs=3)
    assert net.head.in_features == 4 * 6
    assert net(torch.randn(2, 4, 5)).shape == (2, 3)
    mask = torch.tensor([[False, False, True, True], [False] * 4])
    out = net.eval()(torch.randn(2, 4, 5), mask)
    assert torch.isfinite(out).all()


def test_attention_pooling_matches_ilse_et_al() -> None:
    torch.manual_seed(1)
    for gated in (False, True):
        pool = AttentionPooling(6, hidden_size=5, gated=gated)
        h = torch.randn(3, 7, 6)
        g = torch.tanh(pool.attention(h)) * (torch.sigmoid(pool.gate(h)) if gated else 1.0)
        a = torch.softmax(g @ pool.query, dim=1)
        torch.testing.assert_close(pool(h), (a[..., None] * h).sum(1))
        torch.testing.assert_close(pool.attention_weights(h), a)


def test_sparse_attention_pooling_gives_sparse_weights() -> None:
    torch.manual_seed(0)
    pool = AttentionPooling(4, hidden_size=8, separation="sparsemax")
    with torch.no_grad():
        pool.query.mul_(50)
    weights = pool.attention_weights(torch.randn(2, 30, 4))
    assert torch.allclose(weights.sum(-1), torch.ones(2)) and (weights == 0).any()


def test_gradients_reach_every_parameter() -> None:
    net = MILNetwork(5, POOLINGS["hopfield_pooling"], embedding_sizes=(8,))
    net(torch.randn(3, 6, 5)).sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


class _NoWidth(nn.Module):
    def __init__(self, input_size: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x.mean(1)


def test_mil_network_errors() -> None:
    with pytest.raises(ValueError, match="give bag_size"):
        MILNetwork(5, Hopfield)
    with pytest.raises(TypeError, match="output_size"):
        MILNetwork(5, _NoWidth)
    with pytest.raises(TypeError, match="pooling must build an nn.Module"):
        MILNetwork(5, lambda width: "pool")
    with pytest.raises(ValueError, match="embedding_sizes must hold positive ints"):
        MILNetwork(5, AttentionPooling, embedding_sizes=(0,))
    with pytest.raises(ValueError, match="bag_size must be a positive int"):
        MILNetwork(5, AttentionPooling, bag_size=0)
    net = MILNetwork(5, AttentionPooling)
    with pytest.raises(ValueError, match=r"bags must be \(N, S, F=5\); got \(2, 3, 4\).*input_size=4 \(in a config: --model\.network\.init_args\.input_size=4\)"):
        net(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"bags must be \(N, S, F=5\); got \(2, 5\)$"):
        net(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"padding_mask must be \(N, S\) = \(2, 3\)"):
        net(torch.randn(2, 3, 5), torch.zeros(2, 4, dtype=torch.bool))
    fixed = MILNetwork(5, Hopfield, bag_size=3)
    with pytest.raises(ValueError, match="bag_size = 3 instances; got 4"):
        fixed(torch.randn(2, 4, 5))


def test_attention_pooling_errors() -> None:
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        AttentionPooling(4, hidden_size=0)
    with pytest.raises(ValueError, match="dropout must be a float in"):
        AttentionPooling(4, dropout=1.0)
    with pytest.raises(ValueError, match="unknown separation"):
        AttentionPooling(4, separation="bogus")
