"""HopfieldViT: shapes, the Hopfield variants it builds, gradients, and argument errors."""

from __future__ import annotations

import pytest
import torch

from hopfield_layers import Hopfield, HopfieldLayer, HopfieldPooling
from hopfield_layers.models import HopfieldViT, HopfieldViTBlock, PatchEmbedding

TINY = dict(embed_dim=16, depth=2, num_heads=2, mlp_ratio=2.0, dropout=0.0)


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({}, 32),
        ({"pooling": "mean"}, 32),
        ({"pooling": "hopfield"}, 32),
        ({"mlp": "hopfield", "memory_size": 5}, 32),
        ({"image_size": 64, "patch_size": 16}, 64),
        ({"head_hidden_size": 7, "hopfield": {"separation": "sparsemax"}}, 32),
        ({"hopfield": {"separation": "entmax15", "similarity": "euclidean", "update_steps_max": 2}}, 32),
    ],
)
def test_forward_backward_shapes(kwargs: dict, size: int) -> None:
    model = HopfieldViT(**{**TINY, "patch_size": 8, "num_classes": 5, **kwargs})
    images = torch.randn(3, 3, size, size)
    logits = model(images)
    assert logits.shape == (3, 5)
    logits.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    tokens = model.tokens(images)
    assert tokens.shape == (3, (size // model.patch_embedding.projection.stride[0]) ** 2 + (model.pooling == "cls"), 16)


def test_hopfield_arguments_reach_every_module() -> None:
    model = HopfieldViT(**TINY, mlp="hopfield", pooling="hopfield", hopfield={"separation": "sparsemax", "similarity": "manhattan", "scaling": 0.5})
    modules = [m for m in model.modules() if isinstance(m, Hopfield)]
    assert len(modules) == 2 * TINY["depth"] + 1  # association + HopfieldLayer per block, plus the readout
    for module in modules:
        assert type(module.separation).__name__ == "Sparsemax"
        assert type(module.similarity).__name__ == "NegativeManhattan"
        assert module.scaling == 0.5 and module.num_heads == 2
        assert module.norm_state_pattern is None  # pre-norm blocks: no second LayerNorm inside
    assert isinstance(model.blocks[0].mlp, HopfieldLayer) and model.blocks[0].mlp.quantity == 32  # default: MLP hidden size
    assert isinstance(model.readout, HopfieldPooling)


def test_mlp_variant_is_a_plain_mlp_and_depth_zero_works() -> None:
    model = HopfieldViT(**{**TINY, "depth": 0}, pooling="hopfield", patch_size=32)
    assert len(model.blocks) == 0 and model.patch_embedding.num_patches == 1
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    block = HopfieldViTBlock(16, 2, mlp_hidden_size=24)
    assert isinstance(block.mlp, torch.nn.Sequential) and block.mlp[0].out_features == 24


def test_single_patch_makes_the_separation_irrelevant() -> None:
    """With one stored pattern every separation gives weight 1 (the U-Hop CIFAR setting, patch 32)."""
    torch.manual_seed(0)
    dense = HopfieldViT(**{**TINY, "depth": 1}, patch_size=32, pooling="hopfield")
    sparse = HopfieldViT(**{**TINY, "depth": 1}, patch_size=32, pooling="hopfield", hopfield={"separation": "sparsemax"})
    sparse.load_state_dict(dense.state_dict())
    images = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(dense.eval()(images), sparse.eval()(images))
    # ... while with 64 patches the two differ.
    dense64 = HopfieldViT(**TINY).eval()
    sparse64 = HopfieldViT(**TINY, hopfield={"separation": "sparsemax"}).eval()
    sparse64.load_state_dict(dense64.state_dict())
    assert not torch.allclose(dense64(images), sparse64(images))


def test_block_association_matrix_rows_are_distributions() -> None:
    block = HopfieldViTBlock(16, 2, 32, hopfield={"separation": "sparsemax", "scaling": 100.0})
    weights = block.get_association_matrix(torch.randn(2, 9, 16))
    assert weights.shape == (2, 2, 9, 9)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 9))
    assert (weights == 0).any()  # sparse


def test_image_shape_errors() -> None:
    model = HopfieldViT(**TINY)
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, 32, 32\); got \(2, 3, 28, 28\)"):
        model(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"got \(3, 32, 32\)"):
        model(torch.randn(3, 32, 32))
    with pytest.raises(TypeError, match="floating tensor"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match="images must be a tensor"):
        PatchEmbedding(32, 4, 3, 8)([1, 2])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patch_size": 5}, ValueError, "image_size must be a multiple of patch_size"),
        ({"embed_dim": 15}, ValueError, "embed_dim must be a multiple of num_heads"),
        ({"depth": -1}, ValueError, "depth must be an int >= 0"),
        ({"num_classes": 0}, ValueError, "num_classes must be an int >= 1"),
        ({"mlp_ratio": 0}, ValueError, "mlp_ratio must be a positive number"),
        ({"pooling": "max"}, ValueError, "pooling must be 'cls', 'mean' or 'hopfield'"),
        ({"mlp": "conv"}, ValueError, "mlp must be 'mlp' or 'hopfield'"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a float in \[0, 1\)"),
        ({"memory_size": 0}, ValueError, "memory_size must be an int >= 1"),
        ({"head_hidden_size": 0}, ValueError, "head_hidden_size must be an int >= 1"),
        ({"hopfield": {"num_heads": 4}}, ValueError, r"hopfield must not set \['num_heads'\]"),
        ({"hopfield": "sparsemax"}, TypeError, "hopfield must be a dict"),
        ({"hopfield": {"separation": "nope"}}, ValueError, "unknown separation 'nope'"),
    ],
)
def test_argument_errors(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        HopfieldViT(**{**TINY, **kwargs})
