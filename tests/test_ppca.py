"""Tests for utils.ppca: probabilistic PCA, the latent model where log p(x), the posterior and the
ELBO are exact; the ELBO identity, the IWAE bound ordering and the mean-field optimum on it."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from utils.ppca import LinearGaussianModel
from utils.vae import elbo, iwae_log_likelihood, log_importance_weights


def _linear_model(D: int = 5, d: int = 2, seed: int = 0, **encoder) -> LinearGaussianModel:
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, d, generator=g, dtype=torch.float64)
    b = torch.randn(D, generator=g, dtype=torch.float64)
    return LinearGaussianModel(W, b, log_sigma=math.log(0.7), **encoder)


# ----------------------------------------------------------------------------- the linear-Gaussian model


def test_linear_gaussian_posterior_is_bayes_rule():
    # Condition the joint Gaussian of (z, x) directly: Cov(z, x) = W^T, Cov(x) = W W^T + s^2 I.
    model = _linear_model()
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    with torch.no_grad():
        W, b, s2 = model.W, model.b, model.log_sigma.exp() ** 2
        Sxx = W @ W.T + s2 * torch.eye(5, dtype=torch.float64)
        mean_direct = (W.T @ torch.linalg.solve(Sxx, (x - b).T)).T
        cov_direct = torch.eye(2, dtype=torch.float64) - W.T @ torch.linalg.solve(Sxx, W)
        mean, cov = model.posterior(x)
    torch.testing.assert_close(mean, mean_direct)
    torch.testing.assert_close(cov, cov_direct)


def test_linear_gaussian_elbo_identity_and_equality_at_the_posterior():
    model = _linear_model()
    g = torch.Generator().manual_seed(9)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64)
    with torch.no_grad():
        log_px = model.log_marginal(x)
        post_mean, post_cov = model.posterior(x)
        q_mean = torch.randn(4, 2, generator=g, dtype=torch.float64)
        q_cov = torch.diag(torch.rand(2, generator=g, dtype=torch.float64) + 0.1)
        bound = model.exact_elbo(x, q_mean, q_cov)
        gap = kl_divergence(MultivariateNormal(q_mean, q_cov), MultivariateNormal(post_mean, post_cov))
        torch.testing.assert_close(bound + gap, log_px, rtol=0, atol=1e-10)
        assert (gap > 0).all()
        torch.testing.assert_close(model.exact_elbo(x, post_mean, post_cov), log_px, rtol=0, atol=1e-10)


def test_monte_carlo_elbo_matches_the_exact_elbo():
    model = _linear_model()
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        exact = model.exact_elbo(x, mu, torch.diag_embed(logvar.exp()))
        mc = torch.stack([elbo(model, x, generator=g).elbo for _ in range(4000)]).mean(0)
        terms = elbo(model, x, generator=g)
    torch.testing.assert_close(mc, exact, rtol=0, atol=0.05)
    torch.testing.assert_close(terms.elbo, terms.reconstruction - terms.kl)


def test_iwae_equals_log_px_when_q_is_the_exact_posterior():
    # With one latent dimension the diagonal q can be the exact posterior: every weight is p(x).
    model = _linear_model(D=4, d=1)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    with torch.no_grad():
        log_w = log_importance_weights(model, x, k=20, generator=torch.Generator().manual_seed(13))
        log_px = model.log_marginal(x)
    torch.testing.assert_close(log_w, log_px[:, None].expand(6, 20), rtol=0, atol=1e-9)


def test_iwae_bound_ordering_on_the_exact_model():
    # A deliberately poor diagonal encoder, so the gaps are visible: ELBO <= L_1 ~ ELBO < L_10 < L_100 < log p(x).
    base = _linear_model()
    A_poor = 0.5 * base.A.detach()
    model = _linear_model(A=A_poor, logvar=torch.full((2,), math.log(0.5), dtype=torch.float64))
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(14), dtype=torch.float64)
    g = torch.Generator().manual_seed(15)
    with torch.no_grad():
        log_px = model.log_marginal(x).mean().item()
        mu, logvar = model.encode(x)
        exact_elbos = model.exact_elbo(x, mu, torch.diag_embed(logvar.exp()))
        exact_elbo = exact_elbos.mean().item()
        per_example = {k: iwae_log_likelihood(model, x, k, batch=50, generator=g) for k in (1, 10, 100, 1000)}
    bounds = {k: v.mean().item() for k, v in per_example.items()}
    # L_1 is a one-sample ELBO estimate: it agrees with the exact ELBO within 4 standard errors
    standard_error = (per_example[1] - exact_elbos).std().item() / math.sqrt(len(x))
    assert abs(bounds[1] - exact_elbo) < 4 * standard_error
    assert exact_elbo + 0.2 < bounds[10] < bounds[100] < bounds[1000] < log_px + 0.01
    assert log_px - bounds[1000] < log_px - exact_elbo


def test_naive_prior_sampling_is_unbiased_for_p_of_x():
    # the AE/VAE/GAN lecture's naive Monte Carlo: mean_j p(x|z_j), z_j ~ p(z), estimates p(x) without bias.
    model = _linear_model(D=2, d=1)
    x = torch.tensor([[0.2, -0.1]], dtype=torch.float64) + model.b.detach()
    with torch.no_grad():
        log_w = log_importance_weights(model, x, k=400_000, batch=1, generator=torch.Generator().manual_seed(16), proposal="prior")
        p_x = model.log_marginal(x).exp().item()
    assert log_w.exp().mean().item() == pytest.approx(p_x, rel=0.02)


def test_log_importance_weights_bad_inputs():
    model = _linear_model()
    x = torch.zeros(2, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="proposal"):
        log_importance_weights(model, x, k=3, proposal="uniform")
    with pytest.raises(ValueError, match="k must"):
        log_importance_weights(model, x, k=0)
    with pytest.raises(ValueError, match="batch"):
        log_importance_weights(model, x, k=2, batch=-1)
    with pytest.raises(ValueError, match="A, c, logvar"):
        _linear_model(A=torch.zeros(3, 5, dtype=torch.float64))


def test_mean_field_variances_are_the_kl_optimum_and_under_estimate():
    # KL(N(m, diag(s)) || N(m, Sigma)) is minimized at s_i = 1 / (Sigma^-1)_ii <= Sigma_ii.
    model = _linear_model(D=6, d=3, seed=3)
    x = torch.randn(1, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        mean, cov = model.posterior(x)
        best = model.mean_field_logvar().exp()
        torch.testing.assert_close(best, 1 / torch.linalg.inv(cov).diagonal())
        assert (best <= cov.diagonal() + 1e-12).all()

        def kl(s: torch.Tensor) -> float:
            return kl_divergence(MultivariateNormal(mean[0], torch.diag(s)), MultivariateNormal(mean[0], cov)).item()

        at_best = kl(best)
        assert at_best <= kl(cov.diagonal())
        g = torch.Generator().manual_seed(5)
        for _ in range(50):  # any other diagonal is worse
            assert at_best <= kl(best * torch.exp(0.3 * torch.randn(3, generator=g, dtype=torch.float64))) + 1e-12
        # the exact ELBO agrees: log p(x) - ELBO is the KL
        gap = model.log_marginal(x) - model.exact_elbo(x, mean, torch.diag(best))
        assert gap.item() == pytest.approx(at_best, abs=1e-9)


def test_ppca_bad_inputs():
    model = _linear_model()
    with pytest.raises(ValueError, match="columns"):
        model.encode(torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        model.log_marginal(torch.full((2, 5), float("nan"), dtype=torch.float64))
    with pytest.raises(TypeError, match="floating"):
        model.posterior(torch.zeros(2, 5, dtype=torch.int64))
    with pytest.raises(TypeError, match="log_sigma"):
        LinearGaussianModel(torch.zeros(3, 1), torch.zeros(3), log_sigma=None)
    with pytest.raises(ValueError, match="b"):
        LinearGaussianModel(torch.zeros(3, 1), torch.zeros(2), log_sigma=0.0)
