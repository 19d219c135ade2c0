"""Crossformer with pluggable attention: shapes, a hand-built reference forward, variants, gradients, padding, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from hopfield_layers import Entmax15, NegativeEuclidean, Softmax, Sparsemax
from hopfield_layers.models.crossformer import Crossformer, CrossformerAttention, DimensionSegmentEmbedding, TwoStageAttention, attention_kwargs, mix_heads

TINY = dict(win_size=2, factor=3, d_model=16, d_ff=24, n_heads=2, e_layers=2, dropout=0.0)


def _tiny(attention: str | dict = "full", **overrides) -> Crossformer:
    return Crossformer(**{"data_dim": 3, "in_len": 20, "out_len": 7, "seg_len": 4, **TINY, "attention": attention, **overrides}).eval()


# ----------------------------------------------------------------------------------------------
# A reference forward written in the original code's idioms (Linear/view/einsum, i::win slicing),
# independent of the module's einops, using the module's parameters. Valid for attention="full".
def _ref_attention(att: CrossformerAttention, queries: Tensor, keys: Tensor, values: Tensor) -> Tensor:
    core = att.hopfield.association_core
    w_q, w_k, w_v = core.in_proj_weight.chunk(3)
    b_q, b_k, b_v = core.in_proj_bias.chunk(3)
    batch, length, _ = queries.shape
    heads = att.num_heads
    q = (queries @ w_q.T + b_q).view(batch, length, heads, -1)
    k = (keys @ w_k.T + b_k).view(batch, keys.shape[1], heads, -1)
    v = (values @ w_v.T + b_v).view(batch, keys.shape[1], heads, -1)
    scores = torch.einsum("blhe,bshe->bhls", q, k) / math.sqrt(q.shape[-1])
    out = torch.einsum("bhls,bshd->blhd", torch.softmax(scores, dim=-1), v)
    if att.mix:
        out = out.transpose(2, 1).contiguous()
    return att.out_projection(out.reshape(batch, length, -1))


def _ref_tsa(layer: TwoStageAttention, x: Tensor) -> Tensor:
    b, d, n, e = x.shape
    t = x.reshape(b * d, n, e)
    t = layer.norm1(t + _ref_attention(layer.time_attention, t, t, t))
    t = layer.norm2(t + layer.mlp1(t))
    s = t.reshape(b, d, n, e).permute(0, 2, 1, 3).reshape(b * n, d, e)
    routers = layer.router.repeat(b, 1, 1)
    buffer = _ref_attention(layer.dim_sender, routers, s, s)
    s = layer.norm3(s + _ref_attention(layer.dim_receiver, s, buffer, buffer))
    s = layer.norm4(s + layer.mlp2(s))
    return s.reshape(b, n, d, e).permute(0, 2, 1, 3)


def _ref_merge(merge, x: Tensor) -> Tensor:
    pad = x.shape[2] % merge.win_size
    if pad:
        x = torch.cat((x, x[:, :, -(merge.win_size - pad) :]), dim=-2)
    x = torch.cat([x[:, :, i :: merge.win_size] for i in range(merge.win_size)], dim=-1)
    return merge.linear(merge.norm(x))


def _ref_forward(model: Crossformer, x: Tensor) -> Tensor:
    emb = model.embedding
    if emb.pad:
        x = torch.cat((x[:, :1, :].expand(-1, emb.pad, -1), x), dim=1)
    batch, length, dim = x.shape
    segments = x.permute(0, 2, 1).reshape(batch, dim, length // emb.seg_len, emb.seg_len)
    h = emb.norm(emb.linear(segments) + emb.position)
    scales = [h]
    for block in model.encoder:
        if len(block) == 2:
            h = _ref_merge(block[0], h)
        h = _ref_tsa(block[-1], h)
        scales.append(h)
    y = model.decoder_position.repeat(batch, 1, 1, 1)
    total = 0
    for layer, cross in zip(model.decoder, scales):
        y = _ref_tsa(layer.self_attention, y)
        b, d, n, e = y.shape
        flat = y.reshape(b * d, n, e)
        c = cross.reshape(b * d, cross.shape[2], e)
        flat = layer.norm1(flat + _ref_attention(layer.cross_attention, flat, c, c))
        flat = layer.norm2(flat + layer.mlp(flat))
        y = flat.reshape(b, d, n, e)
        total = total + layer.prediction(y)
    b, d, n, s = total.shape
    return total.permute(0, 2, 3, 1).reshape(b, n * s, d)[:, : model.out_len]


@pytest.mark.parametrize("mix", [False, True])
@pytest.mark.parametrize("in_len,out_len,seg_len,win_size,e_layers", [(20, 7, 4, 2, 2), (18, 12, 4, 3, 3), (24, 8, 4, 2, 1)])
def test_full_matches_reference_forward(mix: bool, in_len: int, out_len: int, seg_len: int, win_size: int, e_layers: int) -> None:
    model = _tiny(in_len=in_len, out_len=out_len, seg_len=seg_len, win_size=win_size, e_layers=e_layers, mix=mix)
    x = torch.randn(2, in_len, 3)
    with torch.no_grad():
        torch.testing.assert_close(model(x), _ref_forward(model, x), atol=1e-5, rtol=1e-5)


def test_full_attention_matches_hand_built_attention() -> None:
    att = CrossformerAttention(8, 2, **attention_kwargs("full")).eval()
    q, kv = torch.randn(3, 5, 8), torch.randn(3, 4, 8)
    torch.testing.assert_close(att(q, kv, kv), _ref_attention(att, q, kv, kv), atol=1e-6, rtol=1e-5)


def test_attention_projections_initialised_like_linear() -> None:
    att = CrossformerAttention(256, 4, **attention_kwargs("sparse_hopfield"))
    bound = 1 / math.sqrt(256)
    core = att.hopfield.association_core
    for p in (core.in_proj_weight, core.in_proj_bias, att.out_projection.weight):
        assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound  # U(-1/sqrt(256), 1/sqrt(256)), as nn.Linear


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_len,out_len,seg_len,win_size,e_layers", [(20, 7, 4, 2, 2), (13, 1, 5, 2, 3), (12, 30, 6, 4, 2), (48, 24, 6, 2, 3)])
def test_output_shape(in_len: int, out_len: int, seg_len: int, win_size: int, e_layers: int) -> None:
    model = _tiny(in_len=in_len, out_len=out_len, seg_len=seg_len, win_size=win_size, e_layers=e_layers)
    assert model(torch.randn(4, in_len, 3)).shape == (4, out_len, 3)
    assert len(model.decoder) == e_layers + 1 and len(model.encoder) == e_layers


def test_encoder_scales_and_router_shapes() -> None:
    model = _tiny(in_len=36, seg_len=4, win_size=2, e_layers=3, out_len=9)  # 9 segments -> 9, 5, 3
    assert [block[-1].router.shape[0] for block in model.encoder] == [9, 5, 3]
    assert all(layer.self_attention.router.shape == (3, 3, 16) for layer in model.decoder)  # ceil(9 / 4) = 3 output segments
    assert model.embedding.position.shape == (1, 3, 9, 16) and model.decoder_position.shape == (1, 3, 3, 16)


def test_series_is_front_padded_with_its_first_step() -> None:
    torch.manual_seed(1)
    padded = DimensionSegmentEmbedding(data_dim=2, in_len=10, seg_len=4, d_model=8)  # pads 2 steps
    full = DimensionSegmentEmbedding(data_dim=2, in_len=12, seg_len=4, d_model=8)
    full.load_state_dict(padded.state_dict())
    x = torch.randn(3, 10, 2)
    manual = torch.cat([x[:, :1], x[:, :1], x], dim=1)
    torch.testing.assert_close(padded(x), full(manual))
    assert padded.pad == 2 and full.pad == 0


def test_variants_build_the_named_hopfield_layers() -> None:
    def first(model: Crossformer):
        return model.encoder[0][-1].dim_sender.hopfield

    assert isinstance(first(_tiny("full")).separation, Softmax) and not first(_tiny("full")).normalize_stored_pattern
    assert isinstance(first(_tiny("hopfield")).separation, Softmax) and first(_tiny("hopfield")).normalize_stored_pattern
    assert isinstance(first(_tiny("sparse_hopfield")).separation, Sparsemax)
    assert isinstance(first(_tiny("entmax15")).separation, Entmax15)
    assert isinstance(first(_tiny("euclidean")).similarity, NegativeEuclidean)
    ablation = first(_tiny("full_sparsemax"))
    assert isinstance(ablation.separation, Sparsemax) and not (ablation.normalize_stored_pattern or ablation.normalize_state_pattern or ablation.normalize_pattern_projection)
    torch.manual_seed(0)
    full = _tiny("full")
    torch.manual_seed(0)
    sparse = _tiny("full_sparsemax")  # the same parameters as Crossformer (no pattern norms), only the separation differs
    assert full.state_dict().keys() == sparse.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), sparse.state_dict().values()))
    custom = first(_tiny({"separation": "entmax15", "normalize_state_pattern": False}))
    assert isinstance(custom.separation, Entmax15) and not custom.normalize_state_pattern and custom.normalize_stored_pattern


def test_variants_differ_and_sparse_weights_are_sparse() -> None:
    x = torch.randn(2, 20, 3)
    outputs = {}
    for name in ("full", "hopfield", "sparse_hopfield"):
        torch.manual_seed(0)
        outputs[name] = _tiny(name)(x)
    assert not torch.allclose(outputs["full"], outputs["hopfield"], atol=1e-4)
    assert not torch.allclose(outputs["hopfield"], outputs["sparse_hopfield"], atol=1e-4)
    torch.manual_seed(0)
    layer = _tiny("sparse_hopfield", d_model=16).encoder[0][-1].time_attention.hopfield
    weights = layer.get_association_matrix(torch.randn(4, 6, 16) * 10)
    assert (weights == 0).any() and torch.allclose(weights.sum(-1), torch.ones(()))


@pytest.mark.parametrize("attention", ["full", "hopfield", "sparse_hopfield", "full_sparsemax"])
def test_gradients_reach_every_parameter(attention: str) -> None:
    model = _tiny(attention, dropout=0.1).train()
    loss = torch.nn.functional.mse_loss(model(torch.randn(3, 20, 3)), torch.randn(3, 7, 3))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_mix_heads_is_the_reference_transpose_view() -> None:
    out = torch.randn(2, 5, 3, 4)  # (B, L, H, d) as the reference attention returns it
    expected = out.transpose(2, 1).contiguous().view(2, 5, -1)
    torch.testing.assert_close(mix_heads(out.reshape(2, 5, 12), 3), expected)
    x = torch.randn(2, 20, 3)
    torch.manual_seed(0)
    plain = _tiny(mix=False)
    torch.manual_seed(0)
    mixed = _tiny(mix=True)
    assert not torch.allclose(plain(x), mixed(x), atol=1e-4)
    torch.manual_seed(0)
    one_head = _tiny(mix=False, n_heads=1)
    torch.manual_seed(0)
    torch.testing.assert_close(one_head(x), _tiny(mix=True, n_heads=1)(x))  # with one head the quirk is the identity


def test_deterministic_in_eval_and_dropout_in_train() -> None:
    model = _tiny(dropout=0.5)
    x = torch.randn(2, 20, 3)
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.allclose(model(x), model(x))


# ---------------------------------------------------------------------------------------------- errors
def test_error_unknown_attention_name() -> None:
    with pytest.raises(ValueError, match="attention must be one of .*'full'.*got 'nope'"):
        _tiny("nope")


def test_error_attention_type() -> None:
    with pytest.raises(TypeError, match="attention must be a name .* got int"):
        _tiny(3)


def test_error_attention_dict_sets_reserved_argument() -> None:
    with pytest.raises(ValueError, match=r"may not set \['num_heads'\]"):
        _tiny({"num_heads": 8})


def test_error_d_model_not_divisible_by_heads() -> None:
    with pytest.raises(ValueError, match=r"d_model \(16\) must be divisible by n_heads \(3\)"):
        _tiny(n_heads=3)


def test_error_non_positive_size() -> None:
    with pytest.raises(ValueError, match="seg_len must be a positive int; got 0"):
        _tiny(seg_len=0)


def test_error_dropout_range() -> None:
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\); got 1.0"):
        _tiny(dropout=1.0)


def test_error_mix_type() -> None:
    with pytest.raises(TypeError, match="mix must be a bool; got str"):
        _tiny(mix="yes")


def test_error_too_few_segments_to_merge() -> None:
    with pytest.raises(ValueError, match=r"encoder block 1 merges 1 segment\(s\) in windows of win_size=4, so it would pad with 3 copies"):
        _tiny(in_len=6, seg_len=6, win_size=4)


def test_error_input_shape() -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(B, in_len, data_dim\) = \(B, 20, 3\); got \(2, 21, 3\)"):
        _tiny()(torch.randn(2, 21, 3))


def test_error_input_type() -> None:
    with pytest.raises(TypeError, match="x must be a tensor"):
        _tiny()([[0.0]])
