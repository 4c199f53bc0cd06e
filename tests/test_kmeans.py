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


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


def test_empty_clusters_are_relocated_so_no_cluster_stays_empty():
    """With init='random' clusters can become empty; relocating them to the farthest points
    (scikit-learn's rule) means every run ends with all 10 clusters in use."""
    g = torch.Generator().manual_seed(0)
    centres = 20 * torch.randn(10, 2, generator=g, dtype=torch.float64)
    truth = torch.arange(10).repeat_interleave(30)
    X = centres[truth] + 0.1 * torch.randn(300, 2, generator=g, dtype=torch.float64)
    for seed in range(10):
        r = kmeans(X, 10, init="random", generator=torch.Generator().manual_seed(seed))
        assert len(r.labels.unique()) == 10, seed


def test_relocation_moves_the_farthest_point():
    from utils.kmeans import update_centroids

    X = torch.tensor([[0.0], [1.0], [10.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0])
    d2 = torch.tensor([1.0, 0.0, 81.0], dtype=torch.float64)
    C = update_centroids(X, labels, 2, previous=torch.zeros(2, 1, dtype=torch.float64), sq_distances=d2)
    assert C.tolist() == [[0.5], [10.0]]


def test_max_iter_without_convergence_warns():
    X = blobs(1, n=200, spread=3.0)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        kmeans(X, 5, max_iter=1, tol=0.0, generator=torch.Generator().manual_seed(0))


def test_first_centre_is_uniform_and_others_proportional_to_d2():
    """k-means++: the first centre uniform over the points, the second with probability D(x)^2 / sum D^2."""
    import scipy.stats

    X = torch.tensor([[0.0], [1.0], [3.0], [6.0]], dtype=torch.float64)
    firsts, seconds_given_0 = [], []
    for s in range(4000):
        c = kmeans_plus_plus(X, 2, generator=torch.Generator().manual_seed(s))
        first = int(c[0, 0])
        firsts.append([0.0, 1.0, 3.0, 6.0].index(first))
        if first == 0:
            seconds_given_0.append([0.0, 1.0, 3.0, 6.0].index(int(c[1, 0])))
    counts = np.bincount(firsts, minlength=4)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3
    d2 = np.array([1.0, 9.0, 36.0])  # from 0 to 1, 3, 6
    observed = np.bincount(seconds_given_0, minlength=4)[1:]
    assert np.bincount(seconds_given_0, minlength=4)[0] == 0
    assert scipy.stats.chisquare(observed, d2 / d2.sum() * observed.sum()).pvalue > 1e-3


def test_random_init_honours_the_generator():
    X = blobs(2, n=200, spread=3.0)
    a = kmeans(X, 5, init="random", generator=torch.Generator().manual_seed(1))
    b = kmeans(X, 5, init="random", generator=torch.Generator().manual_seed(1))
    c = kmeans(X, 5, init="random", generator=torch.Generator().manual_seed(2), max_iter=1)
    d = kmeans(X, 5, init="random", generator=torch.Generator().manual_seed(1), max_iter=1)
    assert torch.equal(a.labels, b.labels)
    assert not torch.equal(c.centroids, d.centroids)


def test_tol_stops_as_scikit_learn_does():
    """tol means what it means in scikit-learn (centre shift <= tol * mean variance): same result.

    (scikit-learn's n_iter_ counts one more iteration when it stops because no label changed:
    it compares labels one step later than we do; the centres and labels are the same.)"""
    X = blobs(4, n=400, spread=2.5)
    init = kmeans_plus_plus(X, 5, generator=torch.Generator().manual_seed(0))
    for tol in (1e-1, 1e-2, 1e-4):
        ours = kmeans(X, 5, init=init, tol=tol)
        ref = KMeans(5, init=init.numpy(), n_init=1, tol=tol, algorithm="lloyd").fit(X.numpy())
        assert np.array_equal(ours.labels.numpy(), ref.labels_), tol
        assert ours.inertia.item() == pytest.approx(ref.inertia_, rel=1e-9)
        assert ref.n_iter_ - 1 <= ours.n_iter <= ref.n_iter_


@pytest.mark.parametrize("device", DEVICES)
def test_same_result_on_every_device(device):
    X = blobs(5, n=300, spread=2.0)
    a = kmeans(X, 4, generator=torch.Generator().manual_seed(0))
    b = kmeans(X.to(device), 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.labels, b.labels.cpu())


def test_bad_inputs_are_named():
    X = blobs(0, n=20)
    with pytest.raises(TypeError, match="n_clusters"):
        kmeans(X, True)
    with pytest.raises(ValueError, match="init contains NaN"):
        kmeans(X, 2, init=torch.full((2, 4), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="tol"):
        kmeans(X, 2, tol=float("nan"))
    with pytest.raises(ValueError, match="init must be one of"):
        kmeans(X, 2, init="kmeans++")
    with pytest.raises(ValueError, match="labels must be non-negative"):
        purity(torch.tensor([-1, -1, 0]), torch.tensor([0, 0, 1]))
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        purity(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
