"""The associative-memory classifier y = MLP(LayerNorm(s(Ξ, x))): shapes, pattern init, losses, learning, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hopfield_layers import NegativeEuclidean
from hopfield_layers.models.tabular import MemoryClassifier, OneHotLoss, classification_loss, positive_score
from hopfield_layers.similarity import Footprint, LinearKernel

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Four Gaussian blobs in 5-D labelled XOR-wise: not linearly separable."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, 2.0], [-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0]])
    which = torch.randint(0, 4, (n,), generator=generator)
    x = torch.randn(n, 5, generator=generator) * 0.5
    x[:, :2] += centres[which]
    return x, (which >= 2).long()


def test_shapes_and_scores_are_the_similarity() -> None:
    model = MemoryClassifier(5, num_patterns=7, similarity="dot", hidden_sizes=(16, 8))
    x = torch.randn(11, 5)
    assert model(x).shape == (11, 2)
    torch.testing.assert_close(model.scores(x), x @ model.patterns.T)
    euclidean = MemoryClassifier(5, num_classes=3, num_patterns=7, similarity=NegativeEuclidean(), hidden_sizes=())
    assert euclidean(x).shape == (11, 3)
    torch.testing.assert_close(euclidean.scores(x), -(torch.cdist(x, euclidean.patterns) ** 2), atol=1e-4, rtol=1e-4)


def test_layer_norm_makes_the_read_out_scale_free() -> None:
    model = MemoryClassifier(5, num_patterns=6, similarity="dot").eval()
    x = torch.randn(4, 5)
    torch.testing.assert_close(model(3.0 * x), model(x), atol=1e-4, rtol=1e-4)  # dot scores scale with x; LayerNorm removes it


def test_sample_init_stores_training_rows() -> None:
    x = torch.randn(50, 5)
    model = MemoryClassifier(5, num_patterns=8, similarity="dot")
    model.init_patterns(x, method="sample", seed=3)
    assert all(bool((x == row).all(dim=1).any()) for row in model.patterns)
    again = MemoryClassifier(5, num_patterns=8, similarity="dot")
    again.init_patterns(x, method="sample", seed=3)
    torch.testing.assert_close(again.patterns, model.patterns)


def test_cluster_init_finds_the_centroids() -> None:
    centres = torch.tensor([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    x = (centres[:, None, :] + 0.01 * torch.randn(3, 30, 3)).reshape(90, 3)
    model = MemoryClassifier(3, num_patterns=3, similarity="dot")
    model.init_patterns(x, method="cluster")
    found = sorted(model.patterns.argmax(dim=1).tolist())
    assert found == [0, 1, 2]
    assert torch.cdist(model.patterns, centres).min(dim=1).values.max() < 0.05


def test_frozen_patterns_get_no_gradient() -> None:
    model = MemoryClassifier(5, num_patterns=4, similarity="dot", trainable_patterns=False)
    classification_loss(model(torch.randn(3, 5)), torch.tensor([0, 1, 1])).backward()
    assert model.patterns.grad is None and model.mlp[-1].weight.grad is not None


def test_losses_on_the_one_hot_label() -> None:
    outputs, labels = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 0])
    onehot = F.one_hot(labels, 2).float()
    torch.testing.assert_close(classification_loss(outputs, labels), ((outputs - onehot) ** 2).mean())
    torch.testing.assert_close(classification_loss(outputs, labels, "bce"), F.binary_cross_entropy_with_logits(outputs, onehot))
    torch.testing.assert_close(positive_score(outputs), outputs[:, 1] - outputs[:, 0])
    torch.testing.assert_close(OneHotLoss("bce")(outputs, labels), classification_loss(outputs, labels, "bce"))


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_learns_a_nonlinear_problem(loss: str) -> None:
    torch.manual_seed(0)
    x, y = _blobs()
    model = MemoryClassifier(5, num_patterns=16, similarity="euclidean", hidden_sizes=(16,))
    model.init_patterns(x, method="cluster")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimiser.zero_grad()
        classification_loss(model(x), y, loss).backward()
        optimiser.step()
    x_test, y_test = _blobs(seed=1)
    accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean()
    assert accuracy > 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 0}, "input_size must be a positive int"),
        ({"num_patterns": 2.5}, "num_patterns must be a positive int"),
        ({"num_classes": True}, "num_classes must be a positive int"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_constructor_errors(kwargs: dict, message: str) -> None:
    arguments = {"input_size": 5, "similarity": "dot"} | kwargs
    with pytest.raises(ValueError, match=message):
        MemoryClassifier(**arguments)


def test_unknown_similarity() -> None:
    with pytest.raises(ValueError, match="unknown similarity 'cosine'"):
        MemoryClassifier(5, similarity="cosine")


def test_input_shape_error() -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(B, E\) = \(B, 5\); got \(3, 4\)"):
        MemoryClassifier(5, similarity="dot")(torch.randn(3, 4))


def test_input_type_error() -> None:
    with pytest.raises(TypeError, match="x must be a torch.Tensor; got list"):
        MemoryClassifier(5, similarity="dot")([[0.0] * 5])


def test_init_method_error() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        MemoryClassifier(5, num_patterns=2, similarity="dot").init_patterns(torch.randn(10, 5), method="kmeans")


def test_init_shape_error() -> None:
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(N, E\) = \(N, 5\); got \(10, 4\)"):
        MemoryClassifier(5, num_patterns=2, similarity="dot").init_patterns(torch.randn(10, 4))


def test_init_needs_enough_rows() -> None:
    with pytest.raises(ValueError, match="at least num_patterns = 8 rows; got 5"):
        MemoryClassifier(5, num_patterns=8, similarity="dot").init_patterns(torch.randn(5, 5), method="sample")


def test_loss_name_error() -> None:
    with pytest.raises(ValueError, match="loss must be one of"):
        classification_loss(torch.randn(3, 2), torch.zeros(3, dtype=torch.long), "hinge")


def test_loss_shape_error() -> None:
    with pytest.raises(ValueError, match=r"outputs must be \(B, C\) and labels \(B,\)"):
        classification_loss(torch.randn(3, 2), torch.zeros(4, dtype=torch.long))


def test_positive_score_shape_error() -> None:
    with pytest.raises(ValueError, match=r"outputs must be \(B, 2\)"):
        positive_score(torch.randn(3, 3))


def test_one_hot_loss_name_error() -> None:
    with pytest.raises(ValueError, match="loss must be one of"):
        OneHotLoss("l1")


def test_a_hop_and_k2_hop_use_the_library_similarities() -> None:
    x, y = _blobs(40)
    a_hop = MemoryClassifier(5, num_patterns=6, similarity="footprint")
    assert isinstance(a_hop.similarity, Footprint) and a_hop.similarity.head_dim == 5
    torch.testing.assert_close(a_hop.scores(x), a_hop.similarity(x[None, None], a_hop.patterns[None, None])[0, 0])
    k2_hop = MemoryClassifier(5, num_patterns=6, similarity="linear_kernel")
    assert isinstance(k2_hop.similarity, LinearKernel)
    torch.testing.assert_close(k2_hop.scores(x), x @ k2_hop.patterns.T)  # Φ starts as the identity
    classification_loss(k2_hop(x), y).backward()
    assert k2_hop.similarity.feature_map.grad is not None and k2_hop.similarity.feature_map.grad.abs().sum() > 0  # Φ is learnt
