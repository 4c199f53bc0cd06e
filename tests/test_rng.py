"""Tests of utils.rng: one generator convention for every random function."""

import pytest
import torch

from utils import rng

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


def test_cpu_generator_gives_torch_s_own_numbers():
    """A CPU generator draws exactly what torch.randn/rand/randint/randperm draw with it."""
    for ours, theirs in (
        (lambda g: rng.randn((3, 4), g), lambda g: torch.randn(3, 4, generator=g)),
        (lambda g: rng.rand((5,), g), lambda g: torch.rand(5, generator=g)),
        (lambda g: rng.randint(7, (6,), g), lambda g: torch.randint(7, (6,), generator=g)),
        (lambda g: rng.randperm(9, g), lambda g: torch.randperm(9, generator=g)),
    ):
        assert torch.equal(ours(torch.Generator().manual_seed(3)), theirs(torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("device", DEVICES)
def test_same_numbers_on_every_target_device(device):
    """A CPU generator gives the same draws whatever device the data is on."""
    a = rng.randn((100,), rng.make_generator(0), device="cpu")
    b = rng.randn((100,), rng.make_generator(0), device=device)
    assert b.device.type == device
    assert torch.equal(a, b.cpu())


@pytest.mark.parametrize("device", DEVICES)
def test_generator_on_the_data_device(device):
    g = torch.Generator(device=device).manual_seed(0)
    x = rng.randn((10,), g, device="cpu", dtype=torch.float64)
    assert x.device.type == "cpu" and x.dtype == torch.float64


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtype_is_the_target_s(dtype):
    x = rng.rand((1000,), rng.make_generator(1), dtype=dtype)
    assert x.dtype == dtype
    assert 0 <= float(x.min()) and float(x.max()) <= 1


def test_standard_normal_moments():
    x = rng.randn((200_000,), rng.make_generator(2), dtype=torch.float64)
    assert abs(float(x.mean())) < 0.01 and abs(float(x.std()) - 1) < 0.01


def test_multinomial_proportional_to_weights():
    w = torch.tensor([1.0, 3.0, 0.0, 6.0])
    idx = rng.multinomial(w, 100_000, replacement=True, generator=rng.make_generator(4))
    freq = torch.bincount(idx, minlength=4).double() / 100_000
    assert torch.allclose(freq, (w / w.sum()).double(), atol=0.01)
    assert int(freq[2]) == 0


def test_bad_inputs():
    with pytest.raises(TypeError, match="generator"):
        rng.randn((2,), generator=42)
    with pytest.raises(TypeError, match="seed"):
        rng.make_generator(True)
    with pytest.raises(ValueError, match="seed"):
        rng.make_generator(-1)
    with pytest.raises(TypeError, match="high"):
        rng.randint(2.5, (3,))
    with pytest.raises(ValueError, match="n"):
        rng.randperm(0)
    with pytest.raises(ValueError, match="probs"):
        rng.multinomial(torch.tensor([float("nan"), 1.0]), 1)
