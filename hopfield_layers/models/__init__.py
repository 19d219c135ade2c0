"""Task networks built from the Hopfield modules (plain ``nn.Module``s, usable with or without Lightning)."""

from .vit import HopfieldViT, HopfieldViTBlock, PatchEmbedding

__all__ = ["HopfieldViT", "HopfieldViTBlock", "PatchEmbedding"]
