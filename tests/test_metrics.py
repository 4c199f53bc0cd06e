"""Tests of utils.metrics."""

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

# ============================================================== classifier score on MNIST (chapter 6)

from utils.data import load_mnist  # noqa: E402
from utils.metrics import (  # noqa: E402
    LeNet,
    class_probabilities,
    classifier_score,
    load_classifier,
    score_from_probabilities,
    train_classifier,
)


def _reference_score(probs: np.ndarray) -> float:
    """Salimans et al.'s formula written with SciPy: exp(mean_i KL(p(y|x_i) || p(y)))."""
    p_y = probs.mean(axis=0)
    return float(np.exp(np.mean([scipy.stats.entropy(row, p_y) for row in probs])))


def test_score_known_values():
    same = torch.full((50, 10), 0.1, dtype=torch.float64)
    assert score_from_probabilities(same).item() == pytest.approx(1.0)
    one_hot = torch.eye(10, dtype=torch.float64).repeat(7, 1)  # confident and balanced
    assert score_from_probabilities(one_hot).item() == pytest.approx(10.0)
    half = torch.eye(10, dtype=torch.float64)[torch.arange(40) % 5]  # confident, 5 classes only
    assert score_from_probabilities(half).item() == pytest.approx(5.0)


def test_score_matches_scipy_reference():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(200, 10, generator=g, dtype=torch.float64), dim=1)
    assert score_from_probabilities(probs).item() == pytest.approx(_reference_score(probs.numpy()), rel=1e-10)


@given(st.integers(1, 40), st.integers(2, 10), st.integers(0, 10_000), st.floats(0.1, 10.0))
@settings(max_examples=50, deadline=None)
def test_score_lies_between_1_and_k(n, k, seed, sharpness):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(sharpness * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    score = score_from_probabilities(probs).item()
    assert 1 - 1e-9 <= score <= k + 1e-9
    # permuting the samples or the classes changes nothing
    perm_n, perm_k = torch.randperm(n, generator=g), torch.randperm(k, generator=g)
    assert score_from_probabilities(probs[perm_n][:, perm_k]).item() == pytest.approx(score, rel=1e-10)


@pytest.mark.parametrize(
    "probs, match",
    [
        (torch.full((4,), 0.25), "shape"),
        (torch.tensor([[0.5, 0.6]]), "sum to 1"),
        (torch.tensor([[1.5, -0.5]]), "non-negative"),
    ],
)
def test_score_bad_inputs(probs, match):
    with pytest.raises(ValueError, match=match):
        score_from_probabilities(probs)
    with pytest.raises(TypeError, match="probs"):
        score_from_probabilities(torch.ones(3, 2, dtype=torch.int64))


def test_classifier_is_small_and_accurate_on_the_test_images():
    from utils.metrics import MNIST_CLASSIFIER_PATH

    assert MNIST_CLASSIFIER_PATH.stat().st_size < 1_000_000
    model = load_classifier()
    assert not model.training
    x, y = load_mnist("test")
    accuracy = (class_probabilities(x, model).argmax(dim=1) == y).double().mean().item()
    assert accuracy >= 0.96  # 0.976 when the committed weights were trained


def test_classifier_score_of_real_and_of_noise_images():
    x, _ = load_mnist("test")
    model = load_classifier()
    real = classifier_score(x, model).item()
    assert 9.0 < real <= 10.0
    g = torch.Generator().manual_seed(0)
    noise = classifier_score(torch.rand(500, 1, 28, 28, generator=g), model).item()
    assert 1.0 <= noise < 3.0
    # one digit class only: confident but not diverse
    y_test = load_mnist("test")[1]
    assert classifier_score(x[y_test == 3], model).item() < 1.5


def test_classifier_score_bad_images():
    with pytest.raises(ValueError, match="images must lie in"):
        classifier_score(torch.full((4, 1, 28, 28), -1.0))
    with pytest.raises(ValueError, match="images must have shape"):
        classifier_score(torch.zeros(4, 28, 28))
    with pytest.raises(TypeError, match="images"):
        classifier_score(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="batch_size"):
        class_probabilities(torch.zeros(2, 1, 28, 28), batch_size=0)


def test_load_classifier_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        load_classifier(path=tmp_path / "missing.pt")


def test_train_classifier_writes_loadable_weights(tmp_path):
    path = tmp_path / "clf.pt"
    model, accuracy = train_classifier(path, epochs=1, verbose=False, n_train=256)
    assert isinstance(model, LeNet) and 0.0 <= accuracy <= 1.0
    loaded = load_classifier(path=path)
    x, _ = load_mnist("test")
    torch.testing.assert_close(loaded(x[:8]), model(x[:8]))
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(path, epochs=0)
    with pytest.raises(ValueError, match="n_train"):
        train_classifier(path, epochs=1, n_train=10)



# ============================================================== mode coverage on 2-D toys (chapter 7)
