"""Tests of utils.wgan."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from torch import nn

from utils.wgan import (
    clip_weights,
    critic_gradient_norm,
    gradient_penalty,
    wgan_critic_loss,
    wgan_generator_loss,
)


def _linear_critic(weight: list[float], bias: float = 0.3) -> nn.Linear:
    critic = nn.Linear(len(weight), 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weight], dtype=torch.float64))
        critic.bias.fill_(bias)
    return critic


def test_wgan_losses_known_values_and_signs():
    real = torch.tensor([1.0, 2.0, 3.0])
    fake = torch.tensor([[0.5], [-0.5]])
    # the critic minimizes E f(fake) - E f(real): minus the dual estimate of W
    assert wgan_critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert wgan_generator_loss(fake).item() == pytest.approx(0.0)
    s = torch.tensor([1.0, 3.0], requires_grad=True)
    wgan_generator_loss(s).backward()
    torch.testing.assert_close(s.grad, torch.tensor([-0.5, -0.5]))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: wgan_critic_loss(torch.zeros(3, 2), torch.zeros(3)), "real_scores"),
        (lambda: wgan_critic_loss(torch.zeros(3), torch.zeros(0)), "fake_scores"),
        (lambda: wgan_generator_loss(torch.zeros(2, 2)), "fake_scores"),
    ],
)
def test_wgan_losses_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_penalty_is_zero_for_a_linear_critic_with_unit_norm_weight():
    critic = _linear_critic([0.6, 0.8])
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(64, 2, generator=g, dtype=torch.float64), torch.randn(64, 2, generator=g, dtype=torch.float64)
    assert gradient_penalty(critic, real, fake, generator=g).item() == pytest.approx(0.0, abs=1e-14)


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=5).filter(lambda w: sum(v * v for v in w) > 1e-6), st.integers(0, 1000))
@settings(max_examples=30, deadline=None)
def test_penalty_of_a_linear_critic_is_squared_norm_gap(weight, seed):
    critic = _linear_critic(weight)
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(16, len(weight), generator=g, dtype=torch.float64)
    fake = torch.randn(16, len(weight), generator=g, dtype=torch.float64)
    norm = float(np.linalg.norm(weight))
    gp = gradient_penalty(critic, real, fake, generator=g)
    assert gp.item() == pytest.approx((norm - 1) ** 2, rel=1e-10, abs=1e-12)
    # it is differentiable in the critic's weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    gp.backward()
    expected = 2 * (norm - 1) * np.array(weight) / norm
    np.testing.assert_allclose(critic.weight.grad.numpy()[0], expected, rtol=1e-8, atol=1e-10)


def test_penalty_at_given_interpolates_of_a_quadratic_critic():
    """f(x) = ||x||^2 / 2 has grad f(x) = x, so the penalty is mean (||x_hat|| - 1)^2 with x_hat known."""

    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * (x**2).sum(dim=1)

    real = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 4.0]], dtype=torch.float64)
    fake = torch.tensor([[0.0, 0.0], [0.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    eps = torch.tensor([0.5, 1.0, 0.2], dtype=torch.float64)
    x_hat = eps[:, None] * real + (1 - eps[:, None]) * fake  # (1, 0), (0, 1), (0.6, 0.8)
    torch.testing.assert_close(critic_gradient_norm(Quadratic(), x_hat), torch.ones(3, dtype=torch.float64))
    assert gradient_penalty(Quadratic(), real, fake, eps=eps).item() == pytest.approx(0.0, abs=1e-14)
    eps2 = torch.zeros(3, dtype=torch.float64)  # x_hat = fake: norms 0, 1, 0
    assert gradient_penalty(Quadratic(), real, fake, eps=eps2).item() == pytest.approx(2 / 3)


def test_penalty_bad_inputs():
    critic = _linear_critic([1.0, 0.0])
    x = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="real and fake"):
        gradient_penalty(critic, x, torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="eps"):
        gradient_penalty(critic, x, x, eps=torch.full((4,), 1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="eps"):
        gradient_penalty(critic, x, x, eps=torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="one score per point"):
        critic_gradient_norm(nn.Linear(2, 3).double(), x)


def test_clip_weights_clamps_every_parameter_and_nothing_else():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in critic.parameters()]
    assert clip_weights(critic, 0.05) is critic
    for old, new in zip(before, critic.parameters()):
        assert (new.abs() <= torch.tensor(0.05, dtype=new.dtype)).all()  # 0.05 rounded to float32
        inside = old.abs() <= 0.05
        assert torch.equal(new[inside], old[inside])
        torch.testing.assert_close(new[~inside], 0.05 * old[~inside].sign())
    with pytest.raises(ValueError, match="c must be"):
        clip_weights(critic, 0.0)
    with pytest.raises(ValueError, match="c must be"):
        clip_weights(critic, float("inf"))


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def test_penalty_rejects_nan_and_inf_data():
    critic = _linear_critic([1.0, 0.0])
    x = torch.zeros(4, 2, dtype=torch.float64)
    bad = x.clone()
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="real contains NaN"):
        gradient_penalty(critic, bad, x)
    bad[1, 0] = float("inf")
    with pytest.raises(ValueError, match="fake contains NaN or inf"):
        gradient_penalty(critic, x, bad)
    with pytest.raises(TypeError, match="real must be a floating-point"):
        gradient_penalty(critic, torch.zeros(4, 2, dtype=torch.long), x)
    with pytest.raises(ValueError, match="fake_scores contains NaN"):
        wgan_critic_loss(torch.zeros(3), torch.tensor([0.0, float("nan"), 1.0]))


def test_clip_weights_rejects_bools_and_non_numbers():
    critic = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="c must be a real number"):
        clip_weights(critic, True)
    with pytest.raises(TypeError, match="c must be a real number"):
        clip_weights(critic, "0.01")
    with pytest.raises(ValueError, match="c must be"):
        clip_weights(critic, float("nan"))


@pytest.mark.parametrize("device", DEVICES)
def test_penalty_on_device_with_a_generator_on_the_cpu(device):
    critic = _linear_critic([0.6, 0.8]).to(device)
    g = torch.Generator().manual_seed(0)
    real = torch.randn(32, 2, generator=g, dtype=torch.float64).to(device)
    fake = torch.randn(32, 2, generator=g, dtype=torch.float64).to(device)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    assert gp.device.type == device and gp.item() == pytest.approx(0.0, abs=1e-12)
    # the same eps from the same seed, wherever the data live
    gp_cpu = gradient_penalty(_linear_critic([2.0, 0.0]), real.cpu(), fake.cpu(), generator=torch.Generator().manual_seed(1))
    gp_dev = gradient_penalty(_linear_critic([2.0, 0.0]).to(device), real, fake, generator=torch.Generator().manual_seed(1))
    assert gp_dev.item() == pytest.approx(gp_cpu.item(), rel=1e-12)
    norms = critic_gradient_norm(critic, real)
    assert norms.device.type == device
    torch.testing.assert_close(norms.cpu(), torch.ones(32, dtype=torch.float64))


@pytest.mark.parametrize("device", DEVICES)
def test_clip_and_losses_on_device(device):
    critic = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
    clip_weights(critic, 0.01)
    assert all(p.abs().max().item() <= 0.01 + 1e-9 for p in critic.parameters())
    real, fake = torch.ones(5, 1, device=device), torch.zeros(5, device=device)
    assert wgan_critic_loss(real, fake).device.type == device
    assert wgan_critic_loss(real, fake).item() == pytest.approx(-1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_penalty_rejects_mixed_devices():
    critic = _linear_critic([1.0, 0.0])
    x = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="device"):
        gradient_penalty(critic, x, x.cuda())
