"""Tests of utils.gan."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from torch import nn

# ============================================================== the original GAN (chapter 6)

from utils.divergences import js_divergence, kl_divergence  # noqa: E402
from utils.gan import (  # noqa: E402
    dcgan_discriminator,
    dcgan_generator,
    discriminator_loss,
    gan_training_step,
    generator_loss,
    optimal_discriminator,
    value_function,
)

LOG2 = math.log(2.0)


def _random_distribution(k: int, seed: int, batch: tuple[int, ...] = ()) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(*batch, k, generator=g, dtype=torch.float64) + 1e-3
    return w / w.sum(dim=-1, keepdim=True)


distributions = st.integers(2, 12).flatmap(
    lambda k: st.tuples(
        *[
            st.lists(st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False), min_size=k, max_size=k).filter(lambda v: sum(v) > 1e-3)
            for _ in range(2)
        ]
    )
)


def _normalize(v: list[float]) -> torch.Tensor:
    t = torch.tensor(v, dtype=torch.float64)
    return t / t.sum()


def test_discriminator_loss_is_binary_cross_entropy():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(7, generator=g), torch.randn(5, 1, generator=g)
    expected = nn.functional.binary_cross_entropy_with_logits(real, torch.ones(7)) + nn.functional.binary_cross_entropy_with_logits(
        fake[:, 0], torch.zeros(5)
    )
    torch.testing.assert_close(discriminator_loss(real, fake), expected)
    # D = 1/2 everywhere: log 2 + log 2
    assert discriminator_loss(torch.zeros(3), torch.zeros(4)).item() == pytest.approx(math.log(4.0))


def test_generator_losses_and_their_gradients():
    a = torch.linspace(-8, 8, 33, dtype=torch.float64, requires_grad=True)
    d = torch.sigmoid(a)
    sat = generator_loss(a, "saturating")
    torch.testing.assert_close(sat, torch.log1p(-d).mean())
    (grad_sat,) = torch.autograd.grad(sat, a)
    ns = generator_loss(a, "non_saturating")
    torch.testing.assert_close(ns, -torch.log(d).mean())
    (grad_ns,) = torch.autograd.grad(ns, a)
    # d/da log(1 - sig a) = -sig a ;  d/da -log sig a = -(1 - sig a)
    torch.testing.assert_close(grad_sat, -d.detach() / len(a))
    torch.testing.assert_close(grad_ns, -(1 - d.detach()) / len(a))
    # where the generator is bad (D(G(z)) ~ 0) the saturating gradient vanishes, the other does not
    assert grad_sat[0].abs() < 1e-3 * grad_ns[0].abs()


def test_losses_stay_finite_for_extreme_logits():
    a = torch.tensor([-200.0, 200.0])
    for value in (discriminator_loss(a, a), generator_loss(a, "saturating"), generator_loss(a, "non_saturating")):
        assert torch.isfinite(value)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: generator_loss(torch.zeros(3), kind="minimax"), "kind"),
        (lambda: generator_loss(torch.zeros(3, 2)), "fake_logits"),
        (lambda: discriminator_loss(torch.zeros(0), torch.zeros(3)), "real_logits"),
    ],
)
def test_loss_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_losses_reject_nan_and_inf_logits(bad):
    a = torch.tensor([0.0, bad])
    with pytest.raises(ValueError, match="fake_logits"):
        generator_loss(a)
    with pytest.raises(ValueError, match="real_logits"):
        discriminator_loss(a, torch.zeros(2))
    with pytest.raises(ValueError, match="fake_logits"):
        discriminator_loss(torch.zeros(2), a)


def test_sizes_reject_bools():
    for build in (lambda: dcgan_generator(latent_dim=True), lambda: dcgan_generator(channels=True),
                  lambda: dcgan_discriminator(channels=True)):
        with pytest.raises(TypeError):
            build()
    gen, disc = _Shift(), nn.Linear(1, 1)
    opt_g, opt_d = torch.optim.SGD(gen.parameters(), lr=0.1), torch.optim.SGD(disc.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="latent_dim"):
        gan_training_step(gen, disc, opt_g, opt_d, torch.zeros(4, 1), True)


def test_loss_rejects_integer_logits():
    with pytest.raises(TypeError, match="fake_logits"):
        generator_loss(torch.zeros(3, dtype=torch.int64))


def test_kl_matches_scipy_entropy():
    p, q = _random_distribution(9, 0), _random_distribution(9, 1)
    assert kl_divergence(p, q).item() == pytest.approx(scipy.stats.entropy(p.numpy(), q.numpy()), rel=1e-10)
    assert kl_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)


def test_kl_is_infinite_when_q_misses_mass_of_p_and_zero_entries_of_p_do_not_count():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    assert math.isinf(kl_divergence(p, q).item())
    assert kl_divergence(q, p).item() == pytest.approx(LOG2)


def test_js_matches_scipy_in_batches():
    p, q = _random_distribution(6, 2, (4, 3)), _random_distribution(6, 3, (4, 3))
    ours = js_divergence(p, q)
    assert ours.shape == (4, 3)
    ref = jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-8)


@given(distributions)
@settings(max_examples=60, deadline=None)
def test_js_properties(pair):
    p, q = _normalize(pair[0]), _normalize(pair[1])
    js = js_divergence(p, q).item()
    assert -1e-12 <= js <= LOG2 + 1e-12
    assert js == pytest.approx(js_divergence(q, p).item(), abs=1e-12)
    assert js_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)
    if (p - q).abs().max() > 1e-6:
        assert js > 0
    assert js == pytest.approx(jensenshannon(p.numpy(), q.numpy()) ** 2, abs=1e-10)


@given(distributions)
@settings(max_examples=40, deadline=None)
def test_js_is_log2_on_disjoint_supports(pair):
    p, q = _normalize(pair[0]), _normalize(pair[1])
    zeros = torch.zeros_like(p)
    a, b = torch.cat([p, zeros]), torch.cat([zeros, q])  # disjoint supports
    assert js_divergence(a, b).item() == pytest.approx(LOG2, abs=1e-12)


def test_js_gradient_vanishes_on_disjoint_supports_only():
    x = torch.linspace(-3, 9, 1201, dtype=torch.float64)

    def bump(centre):  # a triangle of half-width 1, normalized on the grid
        w = torch.relu(1 - (x - centre).abs())
        return w / w.sum()

    p_data = bump(torch.tensor(0.0, dtype=torch.float64))
    for theta, overlapping in ((0.7, True), (1.5, True), (3.0, False), (5.0, False)):
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        js = js_divergence(p_data, bump(t))
        (grad,) = torch.autograd.grad(js, t)
        assert torch.isfinite(grad)
        if overlapping:
            assert grad.item() > 0.05
        else:
            assert js.item() == pytest.approx(LOG2, abs=1e-12)
            assert abs(grad.item()) < 1e-9


@pytest.mark.parametrize(
    "p, q, match",
    [
        (torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.3, 0.5]), "same shape"),
        (torch.tensor([1.5, -0.5]), torch.tensor([0.5, 0.5]), "non-negative"),
        (torch.tensor([0.5, 0.6]), torch.tensor([0.5, 0.5]), "sum to 1"),
        (torch.tensor([float("nan"), 1.0]), torch.tensor([0.5, 0.5]), "NaN"),
        (torch.tensor(1.0), torch.tensor(1.0), "dimension"),
    ],
)
def test_divergences_bad_inputs(p, q, match):
    for fn in (kl_divergence, js_divergence):
        with pytest.raises(ValueError, match=match):
            fn(p, q)


def test_divergences_reject_integer_tensors():
    with pytest.raises(TypeError, match="p must be"):
        js_divergence(torch.tensor([1, 0]), torch.tensor([0.0, 1.0]))


def test_optimal_discriminator_formula_and_zero_mass():
    p_data = torch.tensor([0.0, 1.0, 3.0, 0.0])
    p_g = torch.tensor([2.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(optimal_discriminator(p_data, p_g), torch.tensor([0.0, 0.5, 0.75, 0.5]))


def test_optimal_discriminator_maximizes_the_value_function_and_gives_js():
    p_data, p_g = _random_distribution(10, 4), _random_distribution(10, 5)
    d_star = optimal_discriminator(p_data, p_g)
    best = value_function(p_data, p_g, d_star)
    assert best.item() == pytest.approx(-math.log(4.0) + 2 * js_divergence(p_data, p_g).item(), rel=1e-12)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):  # any other discriminator does worse
        d = (d_star + 0.2 * torch.randn(10, generator=g, dtype=torch.float64)).clamp(1e-3, 1 - 1e-3)
        assert value_function(p_data, p_g, d) < best


def test_optimal_discriminator_and_value_function_bad_inputs():
    with pytest.raises(ValueError, match="p_g"):
        optimal_discriminator(torch.tensor([0.5, 0.5]), torch.tensor([-1.0, 0.5]))
    with pytest.raises(ValueError, match="same shape"):
        optimal_discriminator(torch.tensor([0.5, 0.5]), torch.tensor([1.0]))
    p = torch.tensor([0.5, 0.5])
    with pytest.raises(ValueError, match="d must lie"):
        value_function(p, p, torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="p_data"):
        value_function(torch.tensor([0.5, 0.7]), p, torch.tensor([0.5, 0.5]))


def test_dcgan_shapes_and_design_rules():
    torch.manual_seed(0)
    G, D = dcgan_generator(latent_dim=8, channels=4), dcgan_discriminator(channels=4)
    images = G(torch.randn(5, 8))
    assert images.shape == (5, 1, 28, 28)
    assert images.abs().max() <= 1
    assert D(images).shape == (5,)
    layers_g, layers_d = list(G), list(D)
    # no batch norm on the generator's output nor on the discriminator's input; tanh out, LeakyReLU in D
    assert isinstance(layers_g[-1], nn.Tanh) and isinstance(layers_g[-2], nn.ConvTranspose2d)
    assert isinstance(layers_d[0], nn.Conv2d) and isinstance(layers_d[1], nn.LeakyReLU)
    assert not any(isinstance(m, nn.MaxPool2d) for m in layers_d)
    assert all(not isinstance(m, nn.LeakyReLU) for m in layers_g)
    with pytest.raises(ValueError, match="channels"):
        dcgan_discriminator(channels=0)
    with pytest.raises(TypeError, match="latent_dim"):
        dcgan_generator(latent_dim=2.5)


class _Shift(nn.Module):
    """g(z, theta) = z + theta (Prince, figure 15.1)."""

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(-2.0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.theta


DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["non_saturating", "saturating"])
def test_training_step_moves_a_1d_generator_to_the_data(kind, device):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)  # a CPU generator drives draws on any device (utils.rng)
    gen, disc = _Shift().to(device), nn.Linear(1, 1).to(device)
    opt_g, opt_d = torch.optim.SGD(gen.parameters(), lr=0.05), torch.optim.SGD(disc.parameters(), lr=0.1)
    for _ in range(600):
        real = [(2.0 + torch.randn(64, 1, generator=g)).to(device) for _ in range(2)]  # K = 2
        out = gan_training_step(gen, disc, opt_g, opt_d, real, latent_dim=1, kind=kind, generator=g)
    assert set(out) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert abs(gen.theta.item() - 2.0) < 0.5
    assert abs(out["d_real"] - 0.5) < 0.15 and abs(out["d_fake"] - 0.5) < 0.15


@pytest.mark.parametrize("device", DEVICES)
def test_training_step_generator_on_the_data_device(device):
    gen, disc = _Shift().to(device), nn.Linear(1, 1).to(device)
    opt_g, opt_d = torch.optim.SGD(gen.parameters(), lr=0.1), torch.optim.SGD(disc.parameters(), lr=0.1)
    real = torch.zeros(8, 1, device=device)
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        gen.theta.data.zero_()
        disc.reset_parameters()
        g = torch.Generator(device=device).manual_seed(0)
        outs.append(gan_training_step(gen, disc, opt_g, opt_d, real, 1, generator=g))
    assert outs[0] == outs[1]  # the same generator state gives the same step


def test_training_step_bad_inputs():
    gen, disc = _Shift(), nn.Linear(1, 1)
    opt_g, opt_d = torch.optim.SGD(gen.parameters(), lr=0.1), torch.optim.SGD(disc.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="kind"):
        gan_training_step(gen, disc, opt_g, opt_d, torch.zeros(4, 1), 1, kind="wasserstein")
    with pytest.raises(ValueError, match="real"):
        gan_training_step(gen, disc, opt_g, opt_d, [], 1)
    with pytest.raises(ValueError, match="latent_dim"):
        gan_training_step(gen, disc, opt_g, opt_d, torch.zeros(4, 1), 0)
