"""Components named by import path (what configs use for classes that are not registered)."""

from __future__ import annotations

import pytest

from hopfield_layers import Entmax, Entmax15, NegativeManhattan, get_separation, get_similarity


def test_import_paths_build_components_with_context() -> None:
    assert isinstance(get_separation("hopfield_layers.Entmax15"), Entmax15)
    assert isinstance(get_similarity("hopfield_layers.similarity.NegativeManhattan"), NegativeManhattan)
    separation = get_separation({"name": "hopfield_layers.separation.Entmax", "learnable": True}, num_heads=4)
    assert isinstance(separation, Entmax) and separation.alpha_logit.shape == (4,)  # context reaches the class
    assert isinstance(get_separation("entmax1.5"), Entmax15)  # registered names with a dot still win


def test_import_path_errors() -> None:
    with pytest.raises(ValueError, match="'torch.nn.ReLU' imports .* which is not a Separation subclass"):
        get_separation("torch.nn.ReLU")
    with pytest.raises(ValueError, match="neither a registered name nor an importable class"):
        get_separation("no_such_package.Thing")
    with pytest.raises(ValueError, match="the import path of a Similarity subclass"):
        get_similarity("cosine")
