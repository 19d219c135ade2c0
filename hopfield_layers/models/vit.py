"""A compact Vision Transformer whose attention is a :class:`~hopfield_layers.Hopfield` association.

The setting of the kernelized Hopfield (U-Hop, Wu et al. 2024) and A-Hop (Wang et al. 2025) image
experiments: images are cut into patches, the patches are the stored patterns of a Hopfield layer
and a class token (or a learned query) retrieves from them; the separation (softmax = M-Hop,
sparsemax, entmax) and the similarity (dot, distances, footprint = A-Hop) come from the config.

Layout (pre-norm, as ViT)::

    images (B, C, H, W) → patches (B, N, E) [+ class token] + positions
      → depth × [x + Hopfield(LN(x)),  x + MLP(LN(x))  or  x + HopfieldLayer(LN(x))]
      → LN → pool (class token | mean | HopfieldPooling) → head → logits (B, classes)

``mlp="hopfield"`` puts a :class:`~hopfield_layers.HopfieldLayer` (a memory of ``memory_size``
learned stored patterns with separate learned targets) where the MLP would be. ``pooling="hopfield"``
reads the tokens out with a :class:`~hopfield_layers.HopfieldPooling` (one learned state pattern):
with ``depth=0`` this is the single-layer network of the U-Hop image experiment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from einops import rearrange
from torch import Tensor, nn

from ..modules import Hopfield, HopfieldLayer, HopfieldPooling

__all__ = ["PatchEmbedding", "HopfieldViTBlock", "HopfieldViT"]

#: The blocks normalise their input (pre-norm), so the Hopfield modules' own input LayerNorms are off.
_PRE_NORM = {"normalize_stored_pattern": False, "normalize_state_pattern": False, "normalize_pattern_projection": False}
#: Arguments the network sets itself; the ``hopfield`` dict may not give them.
_RESERVED = ("input_size", "num_heads", "batch_first", "quantity", "lookup_weights_as_separated")


def _hopfield_kwargs(hopfield: Mapping[str, Any] | None) -> dict[str, Any]:
    if hopfield is None:
        return dict(_PRE_NORM)
    if not isinstance(hopfield, Mapping):
        raise TypeError(f"hopfield must be a dict of Hopfield arguments (e.g. {{'separation': 'sparsemax'}}); got {type(hopfield).__name__}")
    reserved = sorted(set(hopfield) & set(_RESERVED))
    if reserved:
        raise ValueError(f"hopfield must not set {reserved}: the network sets them (use embed_dim / num_heads / memory_size)")
    return {**_PRE_NORM, **hopfield}


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return value


class PatchEmbedding(nn.Module):
    """Non-overlapping patches, linearly embedded: ``(B, C, H, W)`` → ``(B, (H/p)·(W/p), E)``."""

    def __init__(self, image_size: int, patch_size: int, in_channels: int, embed_dim: int) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(f"image_size must be a multiple of patch_size; got image_size={image_size}, patch_size={patch_size}")
        self.image_size, self.in_channels = image_size, in_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.projection = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: Tensor) -> Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if not isinstance(images, Tensor):
            raise TypeError(f"images must be a tensor (B, C, H, W); got {type(images).__name__}")
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"images must have shape (B, {', '.join(map(str, expected))}); got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"images must be a floating tensor (normalised pixels); got dtype {images.dtype}")
        return rearrange(self.projection(images), "b e h w -> b (h w) e")


class HopfieldViTBlock(nn.Module):
    """Pre-norm transformer block with Hopfield self-association.

    ``x + Hopfield(LN(x))`` (stored = state = projection = the tokens), then ``x + MLP(LN(x))``
    (GELU, ``mlp_hidden_size`` units) or, with ``mlp="hopfield"``, ``x + HopfieldLayer(LN(x))`` with
    ``memory_size`` learned stored patterns and targets. Input and output ``(B, L, E)``.

    Args:
        embed_dim: token width E.
        num_heads: heads of the Hopfield association (and of the HopfieldLayer).
        mlp_hidden_size: hidden units of the MLP (``mlp="mlp"``).
        mlp: ``"mlp"`` or ``"hopfield"``.
        memory_size: learned stored patterns of the HopfieldLayer (``mlp="hopfield"``).
        dropout: dropout on the MLP's hidden units and on both residual branches.
        hopfield: further ``Hopfield`` arguments (separation, similarity, scaling, update_steps_max,
            dropout on the association weights, ...) for both Hopfield modules of the block.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        mlp_hidden_size: int,
        mlp: Literal["mlp", "hopfield"] = "mlp",
        memory_size: int = 256,
        dropout: float = 0.0,
        hopfield: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        kwargs = _hopfield_kwargs(hopfield)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.association = Hopfield(embed_dim, num_heads=num_heads, batch_first=True, **kwargs)
        self.norm2 = nn.LayerNorm(embed_dim)
        if mlp == "mlp":
            self.mlp: nn.Module = nn.Sequential(nn.Linear(embed_dim, mlp_hidden_size), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_hidden_size, embed_dim))
        elif mlp == "hopfield":
            self.mlp = HopfieldLayer(embed_dim, num_heads=num_heads, batch_first=True, quantity=memory_size, lookup_weights_as_separated=True, **kwargs)
        else:
            raise ValueError(f"mlp must be 'mlp' or 'hopfield'; got {mlp!r}")
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: Tensor) -> Tensor:
        """``(B, L, E)`` → ``(B, L, E)``."""
        tokens = tokens + self.dropout(self.association(self.norm1(tokens)))
        return tokens + self.dropout(self.mlp(self.norm2(tokens)))

    def get_association_matrix(self, tokens: Tensor) -> Tensor:
        """Association weights ``(B, H, L, L)`` of the block's self-association (no gradient)."""
        return self.association.get_association_matrix(self.norm1(tokens))


class HopfieldViT(nn.Module):
    """Vision Transformer with Hopfield attention for small images (CIFAR 32×32, Tiny ImageNet 64×64).

    The defaults (patch 4 → 64 tokens of width 192, 6 blocks of 3 heads, 1.8 M parameters) train a
    CIFAR-10 epoch in well under a minute on one GPU.

    Args:
        image_size: height = width of the input images.
        patch_size: side of the square patches (``image_size`` must be a multiple).
        in_channels: image channels C.
        num_classes: output logits.
        embed_dim: token width E (a multiple of ``num_heads``).
        depth: number of blocks (0 allowed: patches → pooling → head).
        num_heads: heads of every Hopfield module.
        mlp_ratio: MLP hidden units = ``mlp_ratio · embed_dim``.
        mlp: ``"mlp"`` (GELU MLP) or ``"hopfield"`` (a ``HopfieldLayer`` in the MLP position).
        memory_size: stored patterns of each ``HopfieldLayer``; default: the MLP hidden size.
        pooling: ``"cls"`` (class token), ``"mean"`` (mean of the patch tokens) or ``"hopfield"``
            (``HopfieldPooling``: one learned state pattern retrieves from the tokens).
        dropout: dropout on the embeddings, the MLP hidden units and the residual branches.
        head_hidden_size: if given, the head is an MLP (Linear → GELU → Linear) with this many hidden
            units; otherwise one Linear layer.
        hopfield: ``Hopfield`` arguments for every Hopfield module, e.g. ``{"separation":
            "sparsemax"}``, ``{"similarity": "footprint"}``, ``{"scaling": 0.25, "dropout": 0.1}``.

    Shapes: ``forward(images (B, C, H, W))`` → logits ``(B, num_classes)``.
    """

    def __init__(
        self,
        image_size: int = 32,
        patch_size: int = 4,
        in_channels: int = 3,
        num_classes: int = 10,
        embed_dim: int = 192,
        depth: int = 6,
        num_heads: int = 3,
        mlp_ratio: float = 2.0,
        mlp: Literal["mlp", "hopfield"] = "mlp",
        memory_size: int | None = None,
        pooling: Literal["cls", "mean", "hopfield"] = "cls",
        dropout: float = 0.1,
        head_hidden_size: int | None = None,
        hopfield: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("image_size", image_size),
            ("patch_size", patch_size),
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("embed_dim", embed_dim),
            ("num_heads", num_heads),
        ):
            _positive_int(name, value)
        _positive_int("depth", depth, minimum=0)
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim must be a multiple of num_heads; got embed_dim={embed_dim}, num_heads={num_heads}")
        if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, (int, float)) or mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be a positive number; got {mlp_ratio!r}")
        if pooling not in ("cls", "mean", "hopfield"):
            raise ValueError(f"pooling must be 'cls', 'mean' or 'hopfield'; got {pooling!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}")
        mlp_hidden_size = max(1, round(mlp_ratio * embed_dim))
        memory_size = mlp_hidden_size if memory_size is None else _positive_int("memory_size", memory_size)
        kwargs = _hopfield_kwargs(hopfield)

        self.pooling = pooling
        self.patch_embedding = PatchEmbedding(image_size, patch_size, in_channels, embed_dim)
        num_tokens = self.patch_embedding.num_patches + (pooling == "cls")
        self.class_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if pooling == "cls" else None
        self.position_embedding = nn.Parameter(torch.zeros(1, num_tokens, embed_dim))
        self.embedding_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(HopfieldViTBlock(embed_dim, num_heads, mlp_hidden_size, mlp, memory_size, dropout, kwargs) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim)
        self.readout = HopfieldPooling(embed_dim, num_heads=num_heads, batch_first=True, quantity=1, **kwargs) if pooling == "hopfield" else None
        if head_hidden_size is None:
            self.head: nn.Module = nn.Linear(embed_dim, num_classes)
        else:
            hidden = _positive_int("head_hidden_size", head_hidden_size)
            self.head = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        nn.init.trunc_normal_(self.position_embedding, std=0.02)
        if self.class_token is not None:
            nn.init.trunc_normal_(self.class_token, std=0.02)

    def tokens(self, images: Tensor) -> Tensor:
        """Embedded tokens after the blocks and the final norm: ``(B, C, H, W)`` → ``(B, L, E)``.

        ``L`` is the number of patches, plus one leading class token with ``pooling="cls"``.
        """
        tokens = self.patch_embedding(images)
        if self.class_token is not None:
            tokens = torch.cat([self.class_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        tokens = self.embedding_dropout(tokens + self.position_embedding)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def features(self, images: Tensor) -> Tensor:
        """Pooled image features ``(B, E)``."""
        tokens = self.tokens(images)
        if self.pooling == "cls":
            return tokens[:, 0]
        if self.pooling == "mean":
            return tokens.mean(dim=1)
        return self.readout(tokens)

    def forward(self, images: Tensor) -> Tensor:
        """Normalised images ``(B, C, H, W)`` → logits ``(B, num_classes)``."""
        return self.head(self.features(images))
