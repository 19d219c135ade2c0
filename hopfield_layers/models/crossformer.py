"""Crossformer (Zhang & Yan, ICLR 2023) with every attention pluggable: Crossformer-DH / -SH.

A re-implementation of the original model (github.com/Thinklab-SJTU/Crossformer) with the same
shapes, parameters and initialisation, where each of its four attentions (cross-time, router
sender, router receiver, decoder cross-attention) is a :class:`~hopfield_layers.Hopfield`
association, so the dense and sparse Hopfield variants of Hu et al. (2023, "On Sparse Modern
Hopfield Model") are one argument away:

* ``attention="full"`` — Crossformer: plain softmax multi-head attention, i.e. a ``Hopfield``
  without pattern normalisation (q/k/v projections → scaled dot product → softmax, which runs on
  ``scaled_dot_product_attention``);
* ``attention="hopfield"`` — Crossformer-DH: ``Hopfield`` layers (LayerNorm on stored, state and
  projected patterns, softmax);
* ``attention="sparse_hopfield"`` — Crossformer-SH: the same with ``separation="sparsemax"``;
* ``attention="full_sparsemax"`` — Crossformer's attention with sparsemax in place of softmax, i.e.
  Crossformer-SH without the pattern LayerNorms (an ablation: the time-series Hopfield layers of the
  sparse-Hopfield authors' later code have no pattern normalisation);
* any registered separation (``"entmax15"``, ``"entmax"``, …) or similarity (``"euclidean"``, …)
  name, or a dict of ``Hopfield`` keyword arguments (e.g. ``{"separation": "entmax15",
  "similarity": "manhattan", "update_steps_max": 1}``) on top of the ``"hopfield"`` preset.

The router sender is ``HopfieldPooling``-style: learned state patterns (``factor`` routers per
segment, Crossformer's ``router (seg_num, factor, d_model)``) retrieve from the series (stored
patterns). All attention projections are initialised like ``nn.Linear`` (as the original), so the
variants differ only in their retrieval.

Shapes: ``B`` batch, ``T`` input length, ``τ`` output length, ``D`` number of series,
``L`` segments, ``E`` = ``d_model``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from einops import rearrange, repeat
from torch import Tensor, nn

from ..modules import Hopfield
from ..separation import SEPARATIONS
from ..similarity import SIMILARITIES

__all__ = [
    "ATTENTION_PRESETS",
    "attention_kwargs",
    "mix_heads",
    "CrossformerAttention",
    "TwoStageAttention",
    "SegmentMerging",
    "DimensionSegmentEmbedding",
    "CrossformerDecoderLayer",
    "Crossformer",
]

_NO_PATTERN_NORMS = {"normalize_stored_pattern": False, "normalize_state_pattern": False, "normalize_pattern_projection": False}

#: ``Hopfield`` keyword arguments of the named attentions.
ATTENTION_PRESETS: dict[str, dict[str, Any]] = {
    "full": {"separation": "softmax", **_NO_PATTERN_NORMS},
    "hopfield": {"separation": "softmax"},
    "sparse_hopfield": {"separation": "sparsemax"},
    "full_sparsemax": {"separation": "sparsemax", **_NO_PATTERN_NORMS},
}

# Set by the model itself; an attention spec may not override them.
_RESERVED = frozenset({"input_size", "num_heads", "dropout", "disable_out_projection", "batch_first", "output_size", "hidden_size", "pattern_size"})

AttentionSpec = str | dict[str, Any]


def attention_kwargs(attention: AttentionSpec) -> dict[str, Any]:
    """The ``Hopfield`` keyword arguments of an attention spec.

    Args:
        attention: a preset (``"full"``, ``"hopfield"``, ``"sparse_hopfield"``, ``"full_sparsemax"``), a registered
            separation or similarity name (a ``Hopfield`` with that component), or a dict of
            ``Hopfield`` keyword arguments applied on top of the ``"hopfield"`` preset.
    """
    if isinstance(attention, str):
        name = attention.lower()
        if name in ATTENTION_PRESETS:
            return dict(ATTENTION_PRESETS[name])
        if name in SEPARATIONS:
            return {"separation": name}
        if name in SIMILARITIES:
            return {"similarity": name}
        raise ValueError(
            f"attention must be one of {sorted(ATTENTION_PRESETS)}, a separation {SEPARATIONS.names()}, a similarity {SIMILARITIES.names()} or a dict of Hopfield arguments; got {attention!r}"
        )
    if isinstance(attention, dict):
        reserved = sorted(_RESERVED.intersection(attention))
        if reserved:
            raise ValueError(f"attention dict may not set {reserved}: the model sets them from d_model, n_heads and dropout")
        return dict(attention)
    raise TypeError(f"attention must be a name (str) or a dict of Hopfield arguments; got {type(attention).__name__}")


def mix_heads(x: Tensor, num_heads: int) -> Tensor:
    """The head-mixing reshape of the original Informer/STanHop attention layers (``mix=True``).

    Maps the concatenated heads ``(N, L, H·d)`` to ``(N, L, H·d)`` as the reference code did: the
    ``(N, L, H, d)`` output was transposed to ``(N, H, L, d)`` and *viewed* as ``(N, L, H·d)``, so
    row ``l`` of the result holds rows ``l·H … l·H + H - 1`` of the stacked head outputs.
    """
    return rearrange(x, "n l (h d) -> n h l d", h=num_heads).reshape(x.shape)


def _reset_like_linear(hopfield: Hopfield) -> None:
    """Initialise the projections of ``hopfield`` like ``nn.Linear``: U(±1/√fan_in) weights and biases."""
    core = hopfield.association_core
    for weight in (core.in_proj_weight, core.q_proj_weight, core.k_proj_weight, core.v_proj_weight):
        if weight is not None:
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if core.in_proj_bias is not None:
        bound = 1.0 / math.sqrt(core.embed_dim)
        nn.init.uniform_(core.in_proj_bias, -bound, bound)


class CrossformerAttention(nn.Module):
    """Multi-head association ``(query (N, L, E), key (N, S, E), value (N, S, E)) -> (N, L, E)``.

    A :class:`~hopfield_layers.Hopfield` (state = query, stored = key, projection = value) without
    its own output projection, followed by ``Linear(E, E)``; with ``mix`` the head outputs are
    scrambled by :func:`mix_heads` before it, as in the original code.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, mix: bool = False, **hopfield_kwargs: Any) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.mix = mix
        self.hopfield = Hopfield(d_model, num_heads=num_heads, dropout=dropout, disable_out_projection=True, **hopfield_kwargs)
        _reset_like_linear(self.hopfield)
        self.out_projection = nn.Linear(self.hopfield.output_size, d_model)

    def forward(self, query: Tensor, key: Tensor, value: Tensor) -> Tensor:
        out = self.hopfield((key, query, value))
        if self.mix:
            out = mix_heads(out, self.num_heads)
        return self.out_projection(out)


def _mlp(d_model: int, d_hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_model))


class TwoStageAttention(nn.Module):
    """Two-Stage Attention layer ``(B, D, L, E) -> (B, D, L, E)``.

    Cross-time stage: self-attention over the ``L`` segments of each series, add & norm, MLP,
    add & norm. Cross-dimension stage: per segment, ``factor`` learned routers retrieve from the
    ``D`` series (sender), then each series retrieves from the routers' buffer (receiver), add &
    norm, MLP, add & norm. Dropout on every residual branch and on the association weights.
    """

    def __init__(self, seg_num: int, factor: int, d_model: int, num_heads: int, d_ff: int, dropout: float, attention: AttentionSpec = "full", mix: bool = False) -> None:
        super().__init__()
        kwargs = attention_kwargs(attention)
        self.time_attention = CrossformerAttention(d_model, num_heads, dropout, mix, **kwargs)
        self.dim_sender = CrossformerAttention(d_model, num_heads, dropout, mix, **kwargs)
        self.dim_receiver = CrossformerAttention(d_model, num_heads, dropout, mix, **kwargs)
        self.router = nn.Parameter(torch.randn(seg_num, factor, d_model))
        self.dropout = nn.Dropout(dropout)
        self.norm1, self.norm2, self.norm3, self.norm4 = (nn.LayerNorm(d_model) for _ in range(4))
        self.mlp1 = _mlp(d_model, d_ff)
        self.mlp2 = _mlp(d_model, d_ff)

    def forward(self, x: Tensor) -> Tensor:
        batch = x.shape[0]
        time_in = rearrange(x, "b d l e -> (b d) l e")
        time_out = self.norm1(time_in + self.dropout(self.time_attention(time_in, time_in, time_in)))
        time_out = self.norm2(time_out + self.dropout(self.mlp1(time_out)))

        series = rearrange(time_out, "(b d) l e -> (b l) d e", b=batch)
        routers = repeat(self.router, "l c e -> (b l) c e", b=batch)
        buffer = self.dim_sender(routers, series, series)
        received = self.dim_receiver(series, buffer, buffer)
        dim_out = self.norm3(series + self.dropout(received))
        dim_out = self.norm4(dim_out + self.dropout(self.mlp2(dim_out)))
        return rearrange(dim_out, "(b l) d e -> b d l e", b=batch)


class SegmentMerging(nn.Module):
    """Merge ``win_size`` adjacent segments: ``(B, D, L, E) -> (B, D, ⌈L / win_size⌉, E)``.

    Pads by repeating the last segments (as the original), concatenates each window's segments
    along the features, applies ``LayerNorm(win_size·E)`` and ``Linear(win_size·E, E)``.
    """

    def __init__(self, d_model: int, win_size: int) -> None:
        super().__init__()
        self.win_size = win_size
        self.norm = nn.LayerNorm(win_size * d_model)
        self.linear = nn.Linear(win_size * d_model, d_model)

    def forward(self, x: Tensor) -> Tensor:
        pad = -x.shape[2] % self.win_size
        if pad:
            x = torch.cat([x, x[:, :, -pad:]], dim=2)
        x = rearrange(x, "b d (l w) e -> b d l (w e)", w=self.win_size)
        return self.linear(self.norm(x))


class DimensionSegmentEmbedding(nn.Module):
    """Dimension-Segment-Wise embedding ``(B, T, D) -> (B, D, ⌈T / seg_len⌉, E)``.

    Front-pads the series to a multiple of ``seg_len`` by repeating its first step, embeds every
    segment of every series with one shared ``Linear(seg_len, E)``, adds a learned position
    embedding ``(1, D, L, E)`` and applies LayerNorm.
    """

    def __init__(self, data_dim: int, in_len: int, seg_len: int, d_model: int) -> None:
        super().__init__()
        self.seg_len = seg_len
        self.pad = -in_len % seg_len
        self.linear = nn.Linear(seg_len, d_model)
        self.position = nn.Parameter(torch.randn(1, data_dim, (in_len + self.pad) // seg_len, d_model))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        if self.pad:
            x = torch.cat([x[:, :1].expand(-1, self.pad, -1), x], dim=1)
        segments = rearrange(x, "b (l s) d -> b d l s", s=self.seg_len)
        return self.norm(self.linear(segments) + self.position)


class CrossformerDecoderLayer(nn.Module):
    """One decoder layer: ``(x (B, D, L_out, E), cross (B, D, L_enc, E)) -> (x, prediction (B, D, L_out, seg_len))``.

    Two-stage attention over ``x``, cross-attention of every series to its encoder output, add &
    norm, MLP (``E → E → E``), add & norm, and a ``Linear(E, seg_len)`` prediction of each segment.
    """

    def __init__(
        self, seg_len: int, out_seg_num: int, factor: int, d_model: int, num_heads: int, d_ff: int, dropout: float, attention: AttentionSpec = "full", mix: bool = False
    ) -> None:
        super().__init__()
        self.self_attention = TwoStageAttention(out_seg_num, factor, d_model, num_heads, d_ff, dropout, attention, mix)
        self.cross_attention = CrossformerAttention(d_model, num_heads, dropout, mix, **attention_kwargs(attention))
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.mlp = _mlp(d_model, d_model)
        self.prediction = nn.Linear(d_model, seg_len)

    def forward(self, x: Tensor, cross: Tensor) -> tuple[Tensor, Tensor]:
        batch = x.shape[0]
        x = rearrange(self.self_attention(x), "b d l e -> (b d) l e")
        cross = rearrange(cross, "b d l e -> (b d) l e")
        x = self.norm1(x + self.dropout(self.cross_attention(x, cross, cross)))
        x = self.norm2(x + self.mlp(x))
        x = rearrange(x, "(b d) l e -> b d l e", b=batch)
        return x, self.prediction(x)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return value


class Crossformer(nn.Module):
    """Crossformer for multivariate forecasting: ``(B, in_len, data_dim) -> (B, out_len, data_dim)``.

    Args:
        data_dim: number of series D.
        in_len: input length T (front-padded to a multiple of ``seg_len``).
        out_len: forecast length τ (predicted in whole segments, then cut to τ).
        seg_len: segment length of the DSW embedding.
        win_size: segments merged per encoder block after the first.
        factor: routers per segment in the cross-dimension stage.
        d_model: width E.
        d_ff: hidden width of the two-stage-attention MLPs.
        n_heads: heads of every attention.
        e_layers: encoder blocks (the decoder has ``e_layers + 1`` layers).
        dropout: dropout on residual branches and association weights.
        attention: ``"full"`` (Crossformer), ``"hopfield"`` (Crossformer-DH), ``"sparse_hopfield"``
            (Crossformer-SH), ``"full_sparsemax"`` (Crossformer-SH without pattern norms), a separation/similarity name, or a dict of ``Hopfield`` arguments
            (see :func:`attention_kwargs`).
        mix: reproduce the original code's head-mixing reshape (:func:`mix_heads`) in every attention.

    The encoder's outputs at ``e_layers + 1`` scales (the embedding and every block) feed the
    matching decoder layers, whose per-segment predictions are summed.
    """

    def __init__(
        self,
        data_dim: int,
        in_len: int,
        out_len: int,
        seg_len: int,
        win_size: int = 2,
        factor: int = 10,
        d_model: int = 256,
        d_ff: int = 512,
        n_heads: int = 4,
        e_layers: int = 3,
        dropout: float = 0.2,
        attention: AttentionSpec = "full",
        mix: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (
            ("data_dim", data_dim),
            ("in_len", in_len),
            ("out_len", out_len),
            ("seg_len", seg_len),
            ("win_size", win_size),
            ("factor", factor),
            ("d_model", d_model),
            ("d_ff", d_ff),
            ("n_heads", n_heads),
            ("e_layers", e_layers),
        ):
            _positive_int(name, value)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}")
        if not isinstance(mix, bool):
            raise TypeError(f"mix must be a bool; got {type(mix).__name__}")
        attention_kwargs(attention)  # validate once, before building anything
        in_seg = math.ceil(in_len / seg_len)
        for i in range(1, e_layers):
            segments = math.ceil(in_seg / win_size ** (i - 1))
            if -segments % win_size > segments:
                raise ValueError(
                    f"encoder block {i} merges {segments} segment(s) in windows of win_size={win_size}, so it would pad with "
                    f"{-segments % win_size} copies of its last segments: use a larger in_len / smaller seg_len, win_size or e_layers"
                )
        self.data_dim, self.in_len, self.out_len, self.seg_len = data_dim, in_len, out_len, seg_len
        self.attention, self.mix = attention, mix

        self.embedding = DimensionSegmentEmbedding(data_dim, in_len, seg_len, d_model)
        out_seg = math.ceil(out_len / seg_len)
        self.encoder = nn.ModuleList(
            nn.Sequential(
                *([SegmentMerging(d_model, win_size)] if i else []),
                TwoStageAttention(math.ceil(in_seg / win_size**i), factor, d_model, n_heads, d_ff, dropout, attention, mix),
            )
            for i in range(e_layers)
        )
        self.decoder_position = nn.Parameter(torch.randn(1, data_dim, out_seg, d_model))
        self.decoder = nn.ModuleList(CrossformerDecoderLayer(seg_len, out_seg, factor, d_model, n_heads, d_ff, dropout, attention, mix) for _ in range(e_layers + 1))

    def forward(self, x: Tensor) -> Tensor:
        """Forecast ``(B, out_len, data_dim)`` from the history ``x (B, in_len, data_dim)``."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a tensor (B, in_len, data_dim); got {type(x).__name__}")
        if x.dim() != 3 or x.shape[1:] != (self.in_len, self.data_dim):
            raise ValueError(f"x must have shape (B, in_len, data_dim) = (B, {self.in_len}, {self.data_dim}); got {tuple(x.shape)}")
        scales = [self.embedding(x)]
        for block in self.encoder:
            scales.append(block(scales[-1]))
        y = self.decoder_position.expand(x.shape[0], -1, -1, -1)
        prediction = 0
        for layer, cross in zip(self.decoder, scales):
            y, layer_prediction = layer(y, cross)
            prediction = prediction + layer_prediction
        return rearrange(prediction, "b d l s -> b (l s) d")[:, : self.out_len].contiguous()
