"""Tests of utils.nmf against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

from utils.nmf import nmf


def nonneg_low_rank(seed, n=60, d=20, r=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, r, generator=g, dtype=torch.float64) @ torch.rand(r, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(3))
def test_monotone_nonnegative_and_close_to_scikit_learn(seed):
    X = nonneg_low_rank(seed) + 0.01 * torch.rand(60, 20, generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    r = nmf(X, 4, max_iter=500, generator=torch.Generator().manual_seed(seed))
    assert (r.W >= 0).all() and (r.H >= 0).all()
    assert all(b <= a + 1e-9 for a, b in zip(r.errors, r.errors[1:]))
    assert r.errors[-1] == pytest.approx(torch.linalg.matrix_norm(X - r.W @ r.H).item())
    ref = NMF(4, init="random", solver="mu", max_iter=500, tol=0.0, random_state=seed).fit(X.numpy())
    ref_error = np.linalg.norm(X.numpy() - ref.transform(X.numpy()) @ ref.components_)
    assert r.errors[-1] <= 1.05 * ref_error


def test_recovers_an_exact_factorization():
    X = nonneg_low_rank(0, r=3)
    r = nmf(X, 3, max_iter=3000, generator=torch.Generator().manual_seed(0))
    assert r.errors[-1] / torch.linalg.matrix_norm(X).item() < 1e-2


def test_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        nmf(-torch.ones(4, 4), 2)
    with pytest.raises(ValueError, match="n_components"):
        nmf(torch.ones(4, 3), 4)
    with pytest.raises(ValueError, match="dimension"):
        nmf(torch.ones(4), 1)
    with pytest.raises(ValueError, match="max_iter"):
        nmf(torch.ones(4, 4), 2, max_iter=0)
    with pytest.raises(TypeError, match="floating"):
        nmf(torch.ones(4, 4, dtype=torch.int64), 2)


def test_random_init_scale_as_scikit_learn():
    """init='random': entries uniform in [0, 2 sqrt(mean(X) / r)), as scikit-learn's _initialize_nmf."""
    X = torch.rand(50, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    r = nmf(X, 4, max_iter=1, generator=torch.Generator().manual_seed(1))
    # after one update the factors still come from that start; check the start itself through max_iter=1's W
    g = torch.Generator().manual_seed(1)
    scale = 2 * float((X.mean() / 4).sqrt())
    W0 = scale * torch.rand(50, 4, generator=g, dtype=torch.float64)
    H0 = scale * torch.rand(4, 8, generator=g, dtype=torch.float64)
    same = nmf(X, 4, max_iter=1, init=(W0, H0))
    assert torch.allclose(r.W, same.W) and torch.allclose(r.H, same.H)
    assert float(W0.max()) < scale and float(W0.mean()) == pytest.approx(scale / 2, rel=0.1)
