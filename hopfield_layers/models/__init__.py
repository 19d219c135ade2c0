"""Task networks built from the Hopfield layers (plain ``nn.Module`` s, used by the Lightning recipes)."""

from .vit import HopfieldViT, HopfieldViTBlock, PatchEmbedding

__all__ = ["HopfieldViT", "HopfieldViTBlock", "PatchEmbedding"]
