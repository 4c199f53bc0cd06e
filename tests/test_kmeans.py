"""Tests of utils.kmeans against scikit-learn."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances

from utils.kmeans import assign, kmeans, kmeans_plus_plus, pairwise_sq_distances, purity


def blobs(seed, n=300, d=4, k=5, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(k, d, generator=g, dtype=torch.float64)
    return centres[torch.randint(k, (n,), generator=g)] + spread * torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(6))
def test_same_init_same_result_as_scikit_learn(seed):
    X = blobs(seed, spread=2.0)
    init = kmeans_plus_plus(X, 5, generator=torch.Generator().manual_seed(seed))
    ours = kmeans(X, 5, init=init, tol=0.0)
    ref = KMeans(5, init=init.numpy(), n_init=1, tol=0.0, algorithm="lloyd").fit(X.numpy())
    assert np.array_equal(ours.labels.numpy(), ref.labels_)
    assert ours.inertia.item() == pytest.approx(ref.inertia_, rel=1e-9)
    np.testing.assert_allclose(ours.centroids.numpy(), ref.cluster_centers_, atol=1e-9)


def test_distances_match_scikit_learn():
    X, C = blobs(0, n=50), blobs(1, n=7)
    np.testing.assert_allclose(pairwise_sq_distances(X, C, batch_size=8).numpy(), pairwise_distances(X.numpy(), C.numpy()) ** 2, atol=1e-9)
    labels, d2 = assign(X, C, batch_size=16)
    np.testing.assert_allclose(d2.numpy(), (pairwise_distances(X.numpy(), C.numpy()) ** 2).min(axis=1), atol=1e-9)
    assert np.array_equal(labels.numpy(), pairwise_distances(X.numpy(), C.numpy()).argmin(axis=1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 8), init=st.sampled_from(["random", "k-means++"]))
def test_inertia_never_increases_and_labels_are_nearest(seed, k, init):
    X = blobs(seed, n=80, d=3, k=4, spread=1.5)
    r = kmeans(X, k, init=init, tol=0.0, generator=torch.Generator().manual_seed(seed))
    assert all(b <= a + 1e-9 for a, b in zip(r.history, r.history[1:]))
    assert torch.equal(r.labels, assign(X, r.centroids)[0])
    assert r.inertia.item() == pytest.approx(r.history[-1], rel=1e-12)


def test_kmeans_plus_plus_beats_random_on_average():
    X = blobs(3, n=500, d=2, k=10, spread=0.3)
    pp = [kmeans(X, 10, generator=torch.Generator().manual_seed(s)).inertia.item() for s in range(10)]
    rnd = [kmeans(X, 10, init="random", generator=torch.Generator().manual_seed(s)).inertia.item() for s in range(10)]
    assert np.mean(pp) < np.mean(rnd)


def test_purity():
    assert purity(torch.tensor([0, 0, 1, 1]), torch.tensor([3, 3, 2, 2])) == 1.0
    assert purity(torch.tensor([0, 0, 1, 1, 1]), torch.tensor([2, 2, 0, 1, 1])) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="labels and classes"):
        purity(torch.tensor([0, 1]), torch.tensor([0]))


def test_bad_input():
    X = blobs(0, n=10)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(X, 11)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(X, 0)
    with pytest.raises(ValueError, match="shape"):
        kmeans(X[:, 0], 2)
    with pytest.raises(ValueError, match="NaN"):
        kmeans(torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="init"):
        kmeans(X, 2, init="furthest")
    with pytest.raises(ValueError, match="init centroids"):
        kmeans(X, 2, init=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="max_iter"):
        kmeans(X, 2, max_iter=0)
    with pytest.raises(TypeError, match="floating"):
        kmeans(torch.ones(5, 2, dtype=torch.int64), 2)
