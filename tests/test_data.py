"""Tests of utils.data."""

import math

import pytest
import torch

from utils import data


def test_mnist_split_is_fixed_stratified_and_disjoint():
    x_train, y_train = data.load_mnist("train")
    x_test, y_test = data.load_mnist("test")
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() > 0.99
    assert torch.equal(y_train.bincount(), torch.full((10,), 400))
    assert torch.equal(y_test.bincount(), torch.full((10,), 100))
    train_idx, test_idx = data._mnist_split_indices()
    assert len(set(train_idx.tolist()) & set(test_idx.tolist())) == 0
    x_again, _ = data.load_mnist("test")
    assert torch.equal(x_test, x_again)
    with pytest.raises(ValueError, match="split"):
        data.load_mnist("validation")


def test_digits():
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and 0 <= x.min() and x.max() <= 1 and y.max() == 9


def test_usarrests_checksum_and_content(tmp_path):
    df = data.load_usarrests()
    assert df.shape == (50, 4) and list(df.columns) == ["Murder", "Assault", "UrbanPop", "Rape"]
    assert df.loc["Alabama", "Assault"] == 236
    corrupted = tmp_path / "usarrests.csv"
    corrupted.write_text((data.DATA_DIR / "usarrests.csv").read_text().replace("236", "237"))
    with pytest.raises(ValueError, match="SHA-256"):
        data.load_usarrests(corrupted)


def test_ring_centres_are_distinct_and_at_the_right_angles():
    c = data.ring_centres()
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.ones(8))
    assert torch.pdist(c).min() > 0.7  # no repeated centre (the linspace-with-endpoint bug)
    angles = torch.atan2(c[:, 1], c[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles, 2 * math.pi * torch.arange(8) / 8, atol=1e-6)


def test_ring_and_grid_samples_lie_near_their_modes():
    g = torch.Generator().manual_seed(0)
    x, m = data.sample_ring(5000, generator=g)
    assert (x - data.ring_centres()[m]).norm(dim=1).max() < 6 * 0.01
    assert m.bincount(minlength=8).min() > 500
    x, m = data.sample_grid(5000, generator=g)
    assert data.grid_centres().shape == (25, 2)
    assert (x - data.grid_centres()[m]).std() == pytest.approx(0.05, rel=0.1)


def test_samplers_are_reproducible_and_validated():
    for sampler in (data.sample_ring, data.sample_grid, data.sample_two_moons, data.sample_swiss_roll, data.sample_checkerboard):
        a, _ = sampler(100, generator=torch.Generator().manual_seed(1))
        b, _ = sampler(100, generator=torch.Generator().manual_seed(1))
        assert a.shape == (100, 2) and torch.equal(a, b)
        with pytest.raises(ValueError, match="n must be"):
            sampler(0)


def test_checkerboard_uses_only_dark_squares():
    x, _ = data.sample_checkerboard(4000, generator=torch.Generator().manual_seed(0))
    cells = torch.floor(x + 2).long()
    assert ((cells[:, 0] + cells[:, 1]) % 2 == 0).all()
    assert x.abs().max() <= 2
