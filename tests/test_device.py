"""Tests of utils.device."""

import random

import numpy as np
import pytest
import torch

from utils.device import by_profile, describe, get_device, profile, seed_everything


def test_seed_everything_repeats_all_generators():
    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        seed_everything(bad)


def test_get_device_defaults_to_an_available_device(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    device = get_device()
    torch.zeros(1, device=device)  # usable
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert device.type == "cpu"


def test_course_device_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_course_device_cuda_without_cuda(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device()


def test_profile_default_and_override(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert profile() == ("full" if torch.cuda.is_available() else "quick")
    monkeypatch.setenv("COURSE_PROFILE", "FULL")
    assert profile() == "full" and by_profile(quick=1, full=2) == 2
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    assert by_profile(quick=1, full=2) == 1
    assert "profile: quick" in describe(torch.device("cpu"))
    monkeypatch.setenv("COURSE_PROFILE", "medium")
    with pytest.raises(ValueError, match="COURSE_PROFILE"):
        profile()


def test_configure_threads_policy(monkeypatch):
    from utils.device import configure_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("COURSE_THREADS", raising=False)
        monkeypatch.setenv("COURSE_PROFILE", "quick")
        assert configure_threads(torch.device("cpu")) == 1 == torch.get_num_threads()
        monkeypatch.setenv("COURSE_PROFILE", "full")
        assert configure_threads(torch.device("cpu")) == torch.get_num_threads() >= 1
        monkeypatch.setenv("COURSE_THREADS", "2")
        assert configure_threads(torch.device("cpu")) == 2
        monkeypatch.setenv("COURSE_THREADS", "zero")
        with pytest.raises(ValueError, match="COURSE_THREADS"):
            configure_threads(torch.device("cpu"))
    finally:
        torch.set_num_threads(before)


def test_course_seed_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "7")
    assert seed_everything(0) == 7
    a = torch.rand(2)
    torch.manual_seed(7)
    assert torch.equal(a, torch.rand(2))
    monkeypatch.setenv("COURSE_SEED", "-3")
    with pytest.raises(ValueError, match="COURSE_SEED"):
        seed_everything(0)
