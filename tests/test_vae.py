"""Tests for utils.vae: closed forms against torch.distributions, the ELBO identity and the
IWAE bound ordering on the linear-Gaussian model, where log p(x) is exact."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from utils.vae import (
    VAE,
    bernoulli_log_likelihood,
    diagonal_normal_log_prob,
    elbo,
    gaussian_kl,
    gaussian_log_likelihood,
    iwae_log_likelihood,
    log_importance_weights,
    log_mean_exp,
    reparameterize,
    standard_normal_log_prob,
)

torch.set_default_dtype(torch.float32)


def _diag(mu: torch.Tensor, logvar: torch.Tensor) -> Independent:
    return Independent(Normal(mu, (0.5 * logvar).exp()), 1)


# ----------------------------------------------------------------------------- gaussian_kl


def test_gaussian_kl_known_values():
    # KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, e^2) || N(0, 1)) = (e^2 - 1 - 2) / 2 per dimension.
    assert gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[0.0]])).item() == pytest.approx(0.5)
    assert gaussian_kl(torch.zeros(1, 3), torch.full((1, 3), 2.0)).item() == pytest.approx(1.5 * (math.e**2 - 3))
    assert gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)).abs().max().item() == 0.0


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g)
    mu2, logvar2 = torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g)
    prior = _diag(torch.zeros(8), torch.zeros(8))
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl_divergence(_diag(mu, logvar), prior), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        gaussian_kl(mu, logvar, mu2, logvar2), kl_divergence(_diag(mu, logvar), _diag(mu2, logvar2)), rtol=1e-5, atol=1e-5
    )


def test_gaussian_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(2)
    mu, logvar = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([-0.5, 0.3, -1.2])
    z = reparameterize(mu, logvar, n_samples=200_000, generator=g)
    mc = (diagonal_normal_log_prob(z, mu, logvar) - standard_normal_log_prob(z)).mean()
    assert mc.item() == pytest.approx(gaussian_kl(mu, logvar).item(), abs=0.03)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=4, max_size=4),
    st.lists(st.floats(-3, 3), min_size=4, max_size=4),
)
def test_gaussian_kl_is_nonnegative_and_zero_on_itself(mu, logvar):
    mu, logvar = torch.tensor(mu, dtype=torch.float64), torch.tensor(logvar, dtype=torch.float64)
    assert gaussian_kl(mu, logvar).item() >= -1e-12
    assert gaussian_kl(mu, logvar, mu, logvar).abs().item() < 1e-12
    # against the standard normal it equals the general form with mu2 = 0, logvar2 = 0
    zero = torch.zeros_like(mu)
    assert gaussian_kl(mu, logvar).item() == pytest.approx(gaussian_kl(mu, logvar, zero, zero).item(), abs=1e-12)


def test_nthu_lecture_loss_is_twice_the_kl():
    g = torch.Generator().manual_seed(3)
    mu, s = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g)  # s: the NTHU lecture's "sigma" = log-variance
    slide_loss = (s.exp() - (1 + s) + mu.pow(2)).sum(-1)
    torch.testing.assert_close(slide_loss, 2 * gaussian_kl(mu, s))


def test_gaussian_kl_bad_inputs():
    with pytest.raises(ValueError, match="logvar"):
        gaussian_kl(torch.zeros(3, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="mu2"):
        gaussian_kl(torch.zeros(3), torch.zeros(3), mu2=torch.zeros(3))
    with pytest.raises(TypeError, match="mu"):
        gaussian_kl([0.0], torch.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_kl(torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(TypeError, match="floating"):
        gaussian_kl(torch.zeros(2, dtype=torch.int64), torch.zeros(2))


# ----------------------------------------------------------------------------- reparameterize


def test_reparameterize_moments_and_shape():
    g = torch.Generator().manual_seed(4)
    mu, logvar = torch.tensor([1.0, -2.0]), torch.tensor([0.0, math.log(0.25)])
    z = reparameterize(mu, logvar, n_samples=100_000, generator=g)
    assert z.shape == (100_000, 2)
    torch.testing.assert_close(z.mean(0), mu, atol=0.01, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 0.5]), atol=0.01, rtol=0)
    assert reparameterize(torch.zeros(7, 3), torch.zeros(7, 3)).shape == (7, 3)


def test_reparameterize_gradients_are_the_slides():
    # dz/dmu = 1 and dz/dsigma = eps (the AE/VAE/GAN lecture): with sigma = exp(logvar / 2), dz/dlogvar = sigma * eps / 2.
    mu = torch.tensor([0.3, -1.0], requires_grad=True)
    logvar = torch.tensor([0.4, -0.6], requires_grad=True)
    g = torch.Generator().manual_seed(5)
    z = reparameterize(mu, logvar, generator=g)
    eps = torch.randn(2, generator=torch.Generator().manual_seed(5))
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(2))
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps)


def test_reparameterize_is_reproducible_and_bad_inputs():
    a = reparameterize(torch.zeros(3), torch.zeros(3), generator=torch.Generator().manual_seed(0))
    b = reparameterize(torch.zeros(3), torch.zeros(3), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="n_samples"):
        reparameterize(torch.zeros(3), torch.zeros(3), n_samples=0)
    with pytest.raises(ValueError, match="logvar"):
        reparameterize(torch.zeros(3), torch.zeros(2))


# ----------------------------------------------------------------------------- log_mean_exp


def test_log_mean_exp_known_and_stable():
    a = torch.tensor([[0.0, math.log(3.0)], [-1000.0, -1000.0]])
    out = log_mean_exp(a, dim=1)
    assert out[0].item() == pytest.approx(math.log(2.0))
    assert out[1].item() == pytest.approx(-1000.0)  # the naive formula underflows to -inf
    assert torch.isinf(a[1].exp().mean().log())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20), st.floats(-1e3, 1e3))
def test_log_mean_exp_properties(values, shift):
    a = torch.tensor(values, dtype=torch.float64)
    out = log_mean_exp(a, dim=0).item()
    assert a.min().item() - 1e-9 <= out <= a.max().item() + 1e-9
    assert log_mean_exp(a + shift, dim=0).item() == pytest.approx(out + shift, abs=1e-9)
    assert out == pytest.approx(math.log(a.exp().mean().item()), abs=1e-9)


def test_log_mean_exp_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        log_mean_exp(torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="size 0"):
        log_mean_exp(torch.zeros(3, 0), dim=1)
    with pytest.raises(TypeError, match="floating"):
        log_mean_exp(torch.tensor([1, 2]))


# ----------------------------------------------------------------------------- likelihoods


def test_bernoulli_log_likelihood_matches_torch_and_broadcasts():
    g = torch.Generator().manual_seed(6)
    x = torch.bernoulli(torch.full((4, 10), 0.3), generator=g)
    logits = 3 * torch.randn(5, 4, 10, generator=g)
    expected = Bernoulli(logits=logits).log_prob(x.expand(5, 4, 10)).sum(-1)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="x must lie"):
        bernoulli_log_likelihood(torch.full((2, 10), 1.5), logits[0, :2])
    with pytest.raises(ValueError, match="last dimension"):
        bernoulli_log_likelihood(x, logits[..., :9])


def test_gaussian_log_likelihood_matches_torch_and_mse():
    g = torch.Generator().manual_seed(7)
    x, mean = torch.randn(6, 12, generator=g), torch.randn(6, 12, generator=g)
    log_sigma = math.log(0.3)
    expected = Normal(mean, 0.3).log_prob(x).sum(-1)
    got = gaussian_log_likelihood(x, mean, log_sigma)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)
    # the squared error, scaled, plus a constant (the NTHU lecture)
    mse_form = -((x - mean) ** 2).sum(-1) / (2 * 0.3**2) - 12 * (log_sigma + 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(got, mse_form, rtol=1e-5, atol=1e-4)


# ----------------------------------------------------------------------------- the VAE


def test_vae_shapes_and_likelihoods():
    torch.manual_seed(0)
    model = VAE(data_dim=16, latent_dim=3, hidden=(8,))
    x = torch.bernoulli(torch.full((5, 1, 4, 4), 0.5))
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert model.log_px_given_z(x, mu).shape == (5,)
    assert model.log_px_given_z(x, torch.randn(7, 5, 3)).shape == (7, 5)
    assert model(x).shape == (5, 16) and model.sample(4).shape == (4, 16)
    assert ((model(x) >= 0) & (model(x) <= 1)).all()
    assert iwae_log_likelihood(model, x, k=6, batch=2).shape == (5,)
    # the Bernoulli log-likelihood of a binary image is at most 0
    assert (model.log_px_given_z(x, mu) <= 0).all()
    gauss = VAE(data_dim=16, latent_dim=3, hidden=(8,), likelihood="gaussian", sigma=0.2)
    expected = Normal(gauss.decode_mean(mu.detach()), 0.2).log_prob(x.reshape(5, 16)).sum(-1)
    torch.testing.assert_close(gauss.log_px_given_z(x, mu.detach()), expected, rtol=1e-5, atol=1e-4)


def test_vae_training_raises_the_elbo():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    protos = torch.bernoulli(torch.full((4, 20), 0.5), generator=g)
    data = protos.repeat(50, 1)
    model = VAE(data_dim=20, latent_dim=2, hidden=(32,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        before = elbo(model, data, generator=g).elbo.mean().item()
    for _ in range(150):
        loss = -elbo(model, data, generator=g).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = elbo(model, data, generator=g).elbo.mean().item()
        iwae = iwae_log_likelihood(model, data[:4], k=200, generator=g).mean().item()
    assert after > before + 5.0
    assert iwae <= 0.0 and iwae > after - 1.0  # a log-probability of binary data, above the ELBO


def test_vae_bad_inputs():
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="sigma"):
        VAE(likelihood="gaussian", sigma=0.0)
    with pytest.raises(ValueError, match="784"):
        VAE().encode(torch.zeros(2, 100))
    with pytest.raises(ValueError, match="n must"):
        VAE().sample(0)
    with pytest.raises(TypeError, match="sigma"):
        VAE(likelihood="gaussian", sigma=True)
    with pytest.raises(TypeError, match="latent_dim"):
        VAE(latent_dim=2.0)
    with pytest.raises(TypeError, match="floating"):
        VAE(data_dim=4, latent_dim=2, hidden=(3,)).encode(torch.zeros(2, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN"):
        VAE(data_dim=4, latent_dim=2, hidden=(3,)).encode(torch.full((2, 4), float("nan")))
    with pytest.raises(ValueError, match="x must lie"):
        model = VAE(data_dim=4, latent_dim=2, hidden=(3,))
        model.log_px_given_z(torch.full((2, 4), 2.0), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="log_sigma"):
        gaussian_log_likelihood(torch.zeros(2, 3), torch.zeros(2, 3), "0.1")
    with pytest.raises(ValueError, match="log_sigma"):
        gaussian_log_likelihood(torch.zeros(2, 3), torch.zeros(2, 3), float("inf"))
    with pytest.raises(ValueError, match="NaN"):
        standard_normal_log_prob(torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match="logvar"):
        diagonal_normal_log_prob(torch.zeros(3), torch.zeros(3), torch.zeros(2))


# ----------------------------------------------------------------------------- devices and generators

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def test_cpu_generator_gives_the_draws_of_torch_randn_on_cpu_data():
    # The convention changed how draws are routed (utils.rng), not which numbers a CPU generator gives
    # for CPU data: z = mu + sigma * torch.randn(shape, generator=g), as before.
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.1, -0.3, 0.7]])
    z = reparameterize(mu, logvar, n_samples=4, generator=torch.Generator().manual_seed(123))
    eps = torch.randn(4, 1, 3, generator=torch.Generator().manual_seed(123))
    torch.testing.assert_close(z, mu + (0.5 * logvar).exp() * eps, rtol=0, atol=0)
    sampled = VAE(data_dim=6, latent_dim=2, hidden=(4,))
    codes = torch.randn(5, 2, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(sampled.sample(5, generator=torch.Generator().manual_seed(7)), sampled.decode_mean(codes), rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_a_cpu_generator_works_with_data_on_any_device(device):
    # The same CPU generator gives the same numbers whatever device the data are on.
    mu, logvar = torch.tensor([0.5, -1.0]), torch.tensor([0.0, -0.5])
    ref = reparameterize(mu, logvar, n_samples=3, generator=torch.Generator().manual_seed(1))
    got = reparameterize(mu.to(device), logvar.to(device), n_samples=3, generator=torch.Generator().manual_seed(1))
    assert got.device.type == device
    torch.testing.assert_close(got.cpu(), ref, rtol=1e-6, atol=1e-6)

    torch.manual_seed(0)
    model = VAE(data_dim=12, latent_dim=3, hidden=(8,))
    x = torch.bernoulli(torch.full((4, 12), 0.3), generator=torch.Generator().manual_seed(2))
    ref_elbo = elbo(model, x, generator=torch.Generator().manual_seed(3)).elbo
    ref_iwae = iwae_log_likelihood(model, x, k=5, batch=2, generator=torch.Generator().manual_seed(4))
    ref_prior = log_importance_weights(model, x, k=5, generator=torch.Generator().manual_seed(5), proposal="prior")
    ref_sample = model.sample(3, generator=torch.Generator().manual_seed(6))
    model, x = model.to(device), x.to(device)
    with torch.no_grad():
        got_elbo = elbo(model, x, generator=torch.Generator().manual_seed(3)).elbo
        got_iwae = iwae_log_likelihood(model, x, k=5, batch=2, generator=torch.Generator().manual_seed(4))
        got_prior = log_importance_weights(model, x, k=5, generator=torch.Generator().manual_seed(5), proposal="prior")
        got_sample = model.sample(3, generator=torch.Generator().manual_seed(6))
    for got, ref in [(got_elbo, ref_elbo), (got_iwae, ref_iwae), (got_prior, ref_prior), (got_sample, ref_sample)]:
        assert got.device.type == device
        torch.testing.assert_close(got.cpu(), ref.detach(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_a_generator_on_the_data_device_works_too(device):
    g = torch.Generator(device=device).manual_seed(0)
    mu, logvar = torch.zeros(1000, 2, device=device), torch.zeros(1000, 2, device=device)
    z = reparameterize(mu, logvar, generator=g)
    assert z.device.type == device and abs(z.std().item() - 1.0) < 0.1
    again = reparameterize(mu, logvar, generator=torch.Generator(device=device).manual_seed(0))
    assert torch.equal(z, again)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_mixed_devices_fail_naming_the_argument():
    with pytest.raises(ValueError, match="logvar"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3, device="cuda"))
    with pytest.raises(ValueError, match="x is on"):
        VAE(data_dim=4, latent_dim=2, hidden=(3,)).encode(torch.zeros(2, 4, device="cuda"))


def test_generator_must_be_a_torch_generator():
    with pytest.raises(TypeError, match="generator"):
        reparameterize(torch.zeros(3), torch.zeros(3), generator=0)


def test_decoder_checks_its_codes():
    from utils.vae import VAE

    vae = VAE(data_dim=6, latent_dim=2, hidden=(4,))
    with pytest.raises(TypeError, match=r"z must have dtype torch.float32 \(the VAE's parameters\), got torch.float64"):
        vae.decode_mean(torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"z must have shape \(..., 2\)"):
        vae.decode(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="z contains NaN"):
        vae.decode_mean(torch.full((3, 2), float("nan")))
    with pytest.raises(ValueError, match="z is on meta"):
        vae.decode(torch.empty(3, 2, device="meta"))
    assert vae.double().decode_mean(torch.zeros(4, 3, 2, dtype=torch.float64)).shape == (4, 3, 6)
