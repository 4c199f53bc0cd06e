"""Tests of utils.pca against scikit-learn and ISLR."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from utils.data import load_usarrests
from utils.pca import pca, pca_svd, principal_angles, project, reconstruct


def random_data(seed, n=60, d=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.randn(d, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("fit", [pca, pca_svd])
@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn(fit, seed):
    X = random_data(seed)
    ours = fit(X, 4)
    ref = PCA(4).fit(X.numpy())
    # scikit-learn flips each component so its largest-|.| entry is positive: the same convention.
    np.testing.assert_allclose(ours.components.numpy(), ref.components_, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance.numpy(), ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_ratio.numpy(), ref.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(project(X, ours).numpy(), ref.transform(X.numpy()), atol=1e-9)


def test_islr_table_10_1():
    df = load_usarrests()
    X = torch.tensor(((df - df.mean()) / df.std(ddof=1)).values)
    r = pca(X, 2)
    np.testing.assert_allclose(r.components[0].abs(), [0.5358995, 0.5831836, 0.2781909, 0.5434321], atol=5e-7)
    np.testing.assert_allclose(r.components[1].abs(), [0.4181809, 0.1879856, 0.8728062, 0.1673186], atol=5e-7)
    np.testing.assert_allclose(100 * r.explained_variance_ratio, [62.006, 24.744], atol=1e-3)
    assert torch.sign(r.components[1, 2]) != torch.sign(r.components[1, 0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_properties(seed, k):
    X = random_data(seed, n=40, d=5)
    r = pca(X, k)
    assert torch.allclose(r.components @ r.components.T, torch.eye(k, dtype=X.dtype), atol=1e-9)  # orthonormal rows
    assert (r.explained_variance[:-1] >= r.explained_variance[1:] - 1e-12).all()  # sorted
    assert r.explained_variance_ratio.sum() <= 1 + 1e-12
    assert (r.components.abs().argmax(dim=1) == r.components.argmax(dim=1)).all()  # the sign convention
    full = pca(X, 5)
    assert torch.allclose(reconstruct(project(X, full), full), X, atol=1e-9)  # all components: exact


def test_principal_angles():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(10, 3, generator=g, dtype=torch.float64)
    assert torch.allclose(principal_angles(A, A @ torch.randn(3, 3, generator=g, dtype=torch.float64)), torch.ones(3, dtype=A.dtype))
    e = torch.eye(4, dtype=torch.float64)
    assert torch.allclose(principal_angles(e[:, :2], e[:, 2:]), torch.zeros(2, dtype=e.dtype))
    theta = torch.tensor(0.3, dtype=torch.float64)
    b = torch.stack([torch.cos(theta), torch.sin(theta), torch.zeros((), dtype=theta.dtype), torch.zeros((), dtype=theta.dtype)])[:, None]
    assert torch.allclose(principal_angles(e[:, :1], b), torch.cos(theta)[None])
    with pytest.raises(ValueError, match="same d"):
        principal_angles(A, torch.randn(9, 2))


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        pca(torch.randn(10), 1)
    with pytest.raises(ValueError, match="n_components"):
        pca(torch.randn(10, 3), 4)
    with pytest.raises(ValueError, match="n_components"):
        pca(torch.randn(2, 3), 3)
    with pytest.raises(ValueError, match="NaN"):
        pca(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="NaN or inf"):
        pca_svd(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), 1)
    with pytest.raises(TypeError, match="floating"):
        pca(torch.ones(5, 2, dtype=torch.int64), 1)
    with pytest.raises(TypeError, match="Tensor"):
        pca(np.ones((5, 2)), 1)
    r = pca(torch.randn(10, 3), 2)
    with pytest.raises(ValueError, match="X must have shape"):
        project(torch.randn(4, 2), r)
    with pytest.raises(ValueError, match="Z must have shape"):
        reconstruct(torch.randn(4, 3), r)


def test_constant_data_is_rejected():
    with pytest.raises(ValueError, match="constant"):
        pca(torch.ones(5, 3), 1)
    with pytest.raises(TypeError, match="n_components"):
        pca(torch.randn(5, 3), True)
