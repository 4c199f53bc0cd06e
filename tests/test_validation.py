"""Tests of utils.validation: the one input-checking policy."""

import math

import pytest
import torch

from utils import validation as v


def test_check_tensor_types_and_values():
    x = torch.ones(2, 3)
    assert v.check_tensor(x, "x", ndim=2) is x
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        v.check_tensor([1.0], "x")
    with pytest.raises(TypeError, match="x must be a floating-point"):
        v.check_tensor(torch.ones(2, dtype=torch.int64), "x")
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        v.check_tensor(x, "x", ndim=1)
    with pytest.raises(ValueError, match="x must have 1 or 3 dimension"):
        v.check_tensor(x, "x", ndim=(1, 3))
    with pytest.raises(ValueError, match="at least 3"):
        v.check_tensor(x, "x", min_ndim=3)
    with pytest.raises(ValueError, match="x must not be empty"):
        v.check_tensor(torch.ones(0, 3), "x")
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        v.check_tensor(torch.tensor([1.0, math.inf]), "x")
    v.check_tensor(torch.tensor([math.nan]), "x", finite=False)  # allowed when asked
    v.check_tensor(torch.ones(2, dtype=torch.int64), "labels", floating=False)


def test_check_images():
    imgs = torch.rand(4, 1, 28, 28)
    v.check_images(imgs, shape=(1, 28, 28), value_range=(0, 1))
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, 28, 28\)"):
        v.check_images(torch.rand(4, 3, 28, 28), shape=(1, 28, 28))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        v.check_images(2 * imgs - 1, value_range=(0, 1))


@pytest.mark.parametrize("bad", [True, False, 2.0, "3", None])
def test_positive_int_rejects_non_ints_with_typeerror(bad):
    with pytest.raises(TypeError, match="k must be a positive int"):
        v.check_positive_int(bad, "k")


@pytest.mark.parametrize("bad", [0, -3])
def test_positive_int_rejects_non_positive_with_valueerror(bad):
    with pytest.raises(ValueError, match="k must be a positive int"):
        v.check_positive_int(bad, "k")


def test_real_numbers():
    assert v.check_positive_float(2, "lr") == 2.0
    assert v.check_nonnegative_float(0.0, "std") == 0.0
    assert v.check_positive_float(torch.tensor(0.5), "lr") == 0.5
    for bad, error in ((True, TypeError), ("1", TypeError), (math.nan, ValueError), (math.inf, ValueError), (0.0, ValueError)):
        with pytest.raises(error, match="lr"):
            v.check_positive_float(bad, "lr")
    with pytest.raises(ValueError, match="std must be non-negative"):
        v.check_nonnegative_float(-0.1, "std")


def test_probability_vector_one_tolerance():
    v.check_probability_vector(torch.tensor([0.5, 0.5 + 0.9 * v.PROB_ATOL]), "p")
    with pytest.raises(ValueError, match="p must sum to 1"):
        v.check_probability_vector(torch.tensor([0.5, 0.5 + 2 * v.PROB_ATOL]), "p")
    with pytest.raises(ValueError, match="p must be non-negative"):
        v.check_probability_vector(torch.tensor([1.5, -0.5]), "p")
    v.check_probability_vector(torch.full((3, 4), 0.25), "p")  # rows


def test_same_device_names_both_arguments():
    cpu, meta = torch.ones(2), torch.empty(2, device="meta")  # "meta" stands in for a second device
    v.check_same_device(x=cpu, y=torch.zeros(3), z=None)
    with pytest.raises(ValueError, match="init is on meta but X is on cpu"):
        v.check_same_device(X=cpu, init=meta)


def test_choice():
    assert v.check_choice("a", "kind", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"kind must be one of \('a', 'b'\), got 'c'"):
        v.check_choice("c", "kind", ("a", "b"))


def test_finite_float_and_range():
    assert v.check_finite_float(-3, "nll") == -3.0
    with pytest.raises(ValueError, match="nll must be finite"):
        v.check_finite_float(math.nan, "nll")
    with pytest.raises(TypeError, match="nll"):
        v.check_finite_float(True, "nll")
    assert v.check_in_range(0.0, "alpha", 0.0, 0.5) == 0.0
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 0.5\), got 0.5"):
        v.check_in_range(0.5, "alpha", 0.0, 0.5)
    with pytest.raises(ValueError, match=r"max_beta must lie in \(0, 1\), got 0.0"):
        v.check_in_range(0.0, "max_beta", 0.0, 1.0, low_closed=False)
    assert v.check_in_range(1, "p", 0.0, 1.0, high_closed=True) == 1.0
    with pytest.raises(ValueError, match="alpha must be finite"):
        v.check_in_range(math.nan, "alpha", 0.0, 0.5)


def test_labels():
    y = torch.tensor([0, 3, 9])
    assert v.check_labels(y, "labels", n=3, n_classes=10) is y
    v.check_labels(torch.zeros(0, dtype=torch.int64), "labels", n_classes=10)  # empty is fine
    for bad in (y.float(), y.bool(), [0, 3, 9]):
        with pytest.raises(TypeError, match="labels must be an integer tensor"):
            v.check_labels(bad, "labels")
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\), got \(3,\)"):
        v.check_labels(y, "labels", n=4)
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\)"):
        v.check_labels(y[None], "labels")
    with pytest.raises(ValueError, match=r"codes must hold values in 0..8, got values in 0..9"):
        v.check_labels(y, "codes", n_classes=9)
    with pytest.raises(ValueError, match="non-negative"):
        v.check_labels(torch.tensor([-1, 2]), "labels")


def test_covariance_must_be_symmetric_psd_within_round_off():
    a = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    v.check_covariance(torch.cov(a.T), "sigma")  # float32 round-off passes
    v.check_covariance(torch.zeros(3, 3), "sigma")  # PSD, singular
    v.check_covariance(torch.diag(torch.tensor([1.0, -1e-7])), "sigma")  # a round-off negative eigenvalue
    with pytest.raises(ValueError, match="sigma must be positive semi-definite"):
        v.check_covariance(-torch.eye(3), "sigma")
    with pytest.raises(ValueError, match="sigma must be symmetric"):
        v.check_covariance(torch.tensor([[1.0, 0.5], [0.0, 1.0]]), "sigma")
    with pytest.raises(ValueError, match=r"sigma must be a square matrix \(F, F\)"):
        v.check_covariance(torch.zeros(2, 3), "sigma")
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        v.check_covariance(torch.eye(2), "sigma", size=3)
    with pytest.raises(ValueError, match="NaN"):
        v.check_covariance(torch.full((2, 2), math.nan), "sigma")


def test_module_input_dtype_and_device():
    layer = torch.nn.Linear(2, 1)
    v.check_module_input(torch.zeros(3, 2), "x", layer)
    v.check_module_input(torch.zeros(3, 2, dtype=torch.float64), "x", torch.nn.ReLU())  # no parameters: nothing to match
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the Linear's parameters\), got torch.float64"):
        v.check_module_input(torch.zeros(3, 2, dtype=torch.float64), "x", layer)
    with pytest.raises(ValueError, match="x is on meta but the Linear's parameters are on cpu"):
        v.check_module_input(torch.empty(3, 2, device="meta"), "x", layer)


def test_same_device_skips_what_is_not_a_tensor():
    v.check_same_device(x=torch.ones(2), y=[1.0, 2.0], z=None)  # check_tensor reports the list
