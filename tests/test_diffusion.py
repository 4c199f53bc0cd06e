"""Tests for utils.diffusion: against diffusers' DDPMScheduler/DDIMScheduler, properties, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler  # test-only dependency (the `test` extra)

from utils import diffusion as D

T = 1000


@pytest.fixture(scope="module")
def lin() -> D.NoiseSchedule:
    return D.linear_beta_schedule(T)


def ddpm_ref(kind: str = "linear") -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=T, beta_schedule=kind, clip_sample=False, variance_type="fixed_small")


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_betas_and_alphas_cumprod_match_diffusers(kind: str) -> None:
    ours = D.linear_beta_schedule(T) if kind == "linear" else D.cosine_beta_schedule(T)
    ref = ddpm_ref("linear" if kind == "linear" else "squaredcos_cap_v2")
    torch.testing.assert_close(ours.betas.float(), ref.betas.float(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.alphas_cumprod.float(), ref.alphas_cumprod.float(), rtol=1e-5, atol=1e-7)


def test_q_sample_equals_add_noise(lin: D.NoiseSchedule) -> None:
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(6, 3, 4, 4, generator=g), torch.randn(6, 3, 4, 4, generator=g)
    t = torch.tensor([1, 2, 10, 500, 999, 1000])
    ref = ddpm_ref().add_noise(x0, eps, t - 1)  # diffusers counts from 0
    torch.testing.assert_close(D.q_sample(x0, t, eps, lin), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t", [1, 2, 50, 1000])
def test_ddpm_step_is_posterior_mean_plus_variance(lin: D.NoiseSchedule, t: int) -> None:
    g = torch.Generator().manual_seed(t)
    xt, eps = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    sched = ddpm_ref()
    sched.set_timesteps(T)
    out = sched.step(eps, t - 1, xt, generator=torch.Generator().manual_seed(7)).prev_sample
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(7))
    x0 = D.predict_x0_from_eps(xt, t, eps, lin)
    mean, var = D.q_posterior_mean_variance(x0, xt, t, lin)
    torch.testing.assert_close(mean, D.p_mean_from_eps(xt, t, eps, lin), rtol=1e-5, atol=1e-5)
    expected = mean + (var.sqrt() * z if t > 1 else 0.0)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    ref_var = float(sched._get_variance(t - 1)) if t > 1 else 0.0
    assert float(var.flatten()[0]) == pytest.approx(ref_var, rel=1e-4, abs=1e-12)  # diffusers works in float32


@pytest.mark.parametrize("n_steps", [10, 50])
def test_ddim_steps_match_diffusers(lin: D.NoiseSchedule, n_steps: int) -> None:
    sched = DDIMScheduler(num_train_timesteps=T, beta_schedule="linear", clip_sample=False, set_alpha_to_one=True)
    sched.set_timesteps(n_steps)
    ours = D.ddim_timesteps(T, n_steps)
    assert ours == [int(k) + 1 for k in sched.timesteps]
    g = torch.Generator().manual_seed(1)
    for i, t in enumerate(ours):
        xt, eps = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
        t_prev = ours[i + 1] if i + 1 < len(ours) else 0
        ref = sched.step(eps, t - 1, xt, eta=0.0).prev_sample
        torch.testing.assert_close(D.ddim_step(xt, eps, t, t_prev, lin), ref, rtol=1e-4, atol=1e-5)


def test_alphas_cumprod_decreasing_in_unit_interval(lin: D.NoiseSchedule) -> None:
    for s in (lin, D.cosine_beta_schedule(T), D.linear_beta_schedule(10, 0.1, 0.5)):
        ac = s.alphas_cumprod
        assert bool((ac > 0).all()) and bool((ac < 1).all())
        assert bool((ac[1:] < ac[:-1]).all())
        assert float(s.alphas_cumprod_prev[0]) == 1.0
        assert float(s.posterior_variance[0]) == 0.0  # t = 1: x_0 is determined by x_1 and x_0


def test_q_sample_zero_noise_and_boundary(lin: D.NoiseSchedule) -> None:
    x0 = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    for t in (1, 37, T):
        out = D.q_sample(x0, t, torch.zeros_like(x0), lin)
        torch.testing.assert_close(out, math.sqrt(float(lin.alphas_cumprod[t - 1])) * x0)
    # t = 1 (the boundary): alphabar_1 = 1 - beta_1
    assert float(lin.alphas_cumprod[0]) == pytest.approx(1 - 1e-4, rel=1e-9)


def test_posterior_mean_at_t1_is_x0(lin: D.NoiseSchedule) -> None:
    x0, xt = torch.randn(4, 3), torch.randn(4, 3)
    mean, var = D.q_posterior_mean_variance(x0, xt, 1, lin)
    torch.testing.assert_close(mean, x0)
    assert float(var.abs().max()) == 0.0


def test_chain_matches_closed_form() -> None:
    s = D.linear_beta_schedule(50, 0.01, 0.2)
    g = torch.Generator().manual_seed(3)
    x = torch.full((200_000, 1), 1.5, dtype=torch.float64)
    for t in range(50):
        x = (1 - s.betas[t]).sqrt() * x + s.betas[t].sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64)
    ab = float(s.alphas_cumprod[-1])
    assert float(x.mean()) == pytest.approx(math.sqrt(ab) * 1.5, abs=0.01)
    assert float(x.var()) == pytest.approx(1 - ab, abs=0.01)


def test_loss_and_samplers_run_and_are_reproducible() -> None:
    s = D.linear_beta_schedule(20, 1e-3, 0.2)
    torch.manual_seed(0)
    model = D.MLPDenoiser(2, hidden=16, n_layers=2)
    x0 = torch.randn(8, 2)
    l1 = D.ddpm_loss(model, x0, s, generator=torch.Generator().manual_seed(0))
    l2 = D.ddpm_loss(model, x0, s, generator=torch.Generator().manual_seed(0))
    assert l1.ndim == 0 and l1.item() == l2.item()
    a, traj = D.ddpm_sample(model, (7, 2), s, generator=torch.Generator().manual_seed(1), return_trajectory=True)
    b = D.ddpm_sample(model, (7, 2), s, generator=torch.Generator().manual_seed(1), variance="beta")
    assert traj.shape == (21, 7, 2) and torch.equal(a, b) and torch.equal(traj[-1], a)
    c = D.ddim_sample(model, (7, 2), s, n_steps=5, generator=torch.Generator().manual_seed(1))
    assert c.shape == (7, 2) and bool(torch.isfinite(c).all())


def test_unet_shapes() -> None:
    net = D.SmallUNet(base=8, t_dim=16)
    out = net(torch.randn(2, 1, 28, 28), torch.tensor([1, 1000]))
    assert out.shape == (2, 1, 28, 28)


def test_bad_inputs(lin: D.NoiseSchedule) -> None:
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match="1..1000"):
        D.q_sample(x, 0, x, lin)
    with pytest.raises(ValueError, match="1..1000"):
        D.q_sample(x, torch.tensor([1, 2, 1001]), x, lin)
    with pytest.raises(TypeError, match="integer"):
        D.q_sample(x, torch.tensor([1.0, 2.0, 3.0]), x, lin)
    with pytest.raises(ValueError, match="shape"):
        D.q_sample(x, 5, torch.randn(3, 3), lin)
    with pytest.raises(ValueError, match="one entry per sample"):
        D.q_posterior_mean_variance(x, x, torch.tensor([1, 2]), lin)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        D.NoiseSchedule.from_betas(torch.tensor([0.1, 1.0]))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        D.linear_beta_schedule(10, 0.0, 0.02)
    with pytest.raises(TypeError):
        D.linear_beta_schedule(10.0)
    with pytest.raises(TypeError):
        D.q_sample(x.long(), 1, x, lin)
    with pytest.raises(ValueError, match="variance"):
        D.ddpm_sample(D.MLPDenoiser(), (2, 2), lin, variance="large")
    with pytest.raises(ValueError, match="n_steps"):
        D.ddim_timesteps(10, 11)
    with pytest.raises(ValueError, match="t_prev"):
        D.ddim_step(x, x, 5, 5, lin)


class _BestGaussianPredictor(torch.nn.Module):
    """E[eps | x_t] when x_0 ~ N(0, s^2 I): the optimal noise predictor in closed form."""

    def __init__(self, schedule: D.NoiseSchedule, s: float) -> None:
        super().__init__()
        self.abar, self.s = schedule.alphas_cumprod, s

    def forward(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = self.abar[t - 1].to(xt.dtype)[:, None]
        return (1 - abar).sqrt() * xt / (abar * self.s**2 + 1 - abar)


def test_variational_bound_is_tight_with_the_optimal_predictor(lin: D.NoiseSchedule) -> None:
    # For Gaussian data the exact noise predictor is known; the bound must then equal the data's
    # negative log-density up to Monte-Carlo error (measured gap: +0.001 nats, s.e. 0.012).
    s, g = 0.5, torch.Generator().manual_seed(0)
    x0 = s * torch.randn(4000, 2, generator=g, dtype=torch.float64)
    bound = D.variational_bound(_BestGaussianPredictor(lin, s), x0, lin, generator=g)
    assert torch.allclose(bound.total, bound.prior + bound.diffusion + bound.decoder)
    diff = bound.total - (-torch.distributions.Normal(0.0, s).log_prob(x0).sum(1))
    se = float(diff.std()) / math.sqrt(len(diff))
    assert -4 * se < float(diff.mean()) < 0.02
    # L_T in closed form: KL(N(sqrt(abar_T) x0, (1 - abar_T) I) || N(0, I)), checked against torch.distributions
    abar = float(lin.alphas_cumprod[-1])
    q = torch.distributions.Normal(math.sqrt(abar) * x0, math.sqrt(1 - abar))
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(bound.prior, expected, rtol=1e-9, atol=1e-12)


def test_variational_bound_penalizes_a_wrong_predictor(lin: D.NoiseSchedule) -> None:
    s, g = 0.5, torch.Generator().manual_seed(1)
    x0 = s * torch.randn(2000, 2, generator=g, dtype=torch.float64)
    best = D.variational_bound(_BestGaussianPredictor(lin, s), x0, lin, generator=torch.Generator().manual_seed(2))
    zero = D.variational_bound(lambda xt, t: torch.zeros_like(xt), x0, lin, generator=torch.Generator().manual_seed(2))
    assert float(zero.total.mean()) > float(best.total.mean()) + 1.0


def test_mnist_ddpm_trains_saves_and_loads(tmp_path) -> None:
    path = tmp_path / "ddpm.pt"
    model, losses = D.train_mnist_ddpm(2, base=8, batch_size=4, seed=0, path=path, verbose=False)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses) and not model.training
    with pytest.raises(FileNotFoundError, match="train-mnist"):
        D.load_mnist_ddpm(path=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="ema_decay"):
        D.train_mnist_ddpm(2, ema_decay=1.0)


def test_shipped_mnist_ddpm_loads() -> None:
    model = D.load_mnist_ddpm()
    out = model(torch.zeros(2, 1, 28, 28), torch.tensor([1, 1000]))
    assert out.shape == (2, 1, 28, 28) and bool(torch.isfinite(out).all())


def test_ddim_sample_from_a_given_x_T_is_deterministic() -> None:
    """With eta = 0, DDIM is a map x_T -> x_0: the same x_T gives the same sample, whatever the generator."""
    model = D.MLPDenoiser(2, hidden=16)
    schedule = D.linear_beta_schedule(50)
    x_T = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))  # noqa: N806
    a = D.ddim_sample(model, (5, 2), schedule, 10, generator=torch.Generator().manual_seed(1), x_T=x_T)
    b = D.ddim_sample(model, (5, 2), schedule, 10, generator=torch.Generator().manual_seed(2), x_T=x_T)
    c = D.ddim_sample(model, (5, 2), schedule, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)  # drawing x_T from the same seed gives the same start
    with pytest.raises(ValueError, match="x_T"):
        D.ddim_sample(model, (4, 2), schedule, 10, x_T=x_T)


def test_ddpm_sample_adds_no_noise_at_the_last_step() -> None:
    """Algorithm 2: z = 0 at t = 1, so x_0 is exactly the predicted mean from x_1; at t > 1 noise of variance sigma_t^2 is added."""
    s = D.linear_beta_schedule(20, 1e-2, 0.2)
    torch.manual_seed(0)
    model = D.MLPDenoiser(2, hidden=16, n_layers=1)
    x0, traj = D.ddpm_sample(model, (4000, 2), s, generator=torch.Generator().manual_seed(0), return_trajectory=True)
    with torch.no_grad():
        def mean(x: torch.Tensor, t: int) -> torch.Tensor:
            tt = torch.full((len(x),), t, dtype=torch.long)
            return D.p_mean_from_eps(x, tt, model(x, tt), s)

        torch.testing.assert_close(x0, mean(traj[-2], 1), rtol=0, atol=1e-6)
        residual = traj[-3] - mean(traj[-4], 3)  # the step from t = 3 to 2 adds sqrt(beta_3) z
    assert float(residual.std()) == pytest.approx(math.sqrt(float(s.betas[2])), rel=0.05)


@pytest.mark.parametrize("eta", [0.5, 1.0])
def test_ddim_steps_with_noise_match_diffusers(lin: D.NoiseSchedule, eta: float) -> None:
    """eta > 0: the sigma^2 term leaves the direction to x_t and sigma z is added (Song et al. eq. 12)."""
    sched = DDIMScheduler(num_train_timesteps=T, beta_schedule="linear", clip_sample=False, set_alpha_to_one=True)
    sched.set_timesteps(10)
    ours = D.ddim_timesteps(T, 10)
    g = torch.Generator().manual_seed(2)
    for i, t in enumerate(ours):
        xt, eps, z = (torch.randn(3, 2, generator=g) for _ in range(3))
        t_prev = ours[i + 1] if i + 1 < len(ours) else 0
        ref = sched.step(eps, t - 1, xt, eta=eta, variance_noise=z).prev_sample
        torch.testing.assert_close(D.ddim_step(xt, eps, t, t_prev, lin, eta=eta, noise=z), ref, rtol=1e-4, atol=1e-5)


def test_ddim_step_with_eta_1_on_consecutive_steps_is_the_ddpm_posterior(lin: D.NoiseSchedule) -> None:
    """With t' = t - 1 and eta = 1, sigma^2 is the posterior variance betatilde_t and the mean is mutilde_t."""
    g = torch.Generator().manual_seed(3)
    xt, eps = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    t = 400
    no_noise = D.ddim_step(xt, eps, t, t - 1, lin, eta=1.0, noise=torch.zeros_like(xt))
    mean, var = D.q_posterior_mean_variance(D.predict_x0_from_eps(xt, t, eps, lin), xt, t, lin)
    torch.testing.assert_close(no_noise, mean, rtol=1e-6, atol=1e-8)
    unit = D.ddim_step(xt, eps, t, t - 1, lin, eta=1.0, noise=torch.ones_like(xt)) - no_noise
    torch.testing.assert_close(unit, var.sqrt().expand_as(unit), rtol=1e-6, atol=1e-10)


def test_timestep_embedding_values_and_checks() -> None:
    emb = D.timestep_embedding(torch.tensor([0, 3]), 4)
    torch.testing.assert_close(emb[0], torch.tensor([1.0, 1.0, 0.0, 0.0]))  # cos 0, sin 0
    torch.testing.assert_close(emb[1], torch.tensor([math.cos(3), math.cos(0.03), math.sin(3), math.sin(0.03)]))
    with pytest.raises(TypeError, match="t must be an integer tensor"):
        D.timestep_embedding(torch.tensor([1.5]), 4)
    with pytest.raises(TypeError, match="t must be an integer tensor"):
        D.timestep_embedding([1, 2], 4)
    with pytest.raises(ValueError, match=r"t must have shape \(N,\)"):
        D.timestep_embedding(torch.tensor([[1, 2]]), 4)
    with pytest.raises(ValueError, match="dim must be even"):
        D.timestep_embedding(torch.tensor([1]), 5)
    with pytest.raises(ValueError, match="max_period"):
        D.timestep_embedding(torch.tensor([1]), 4, max_period=0.0)


def test_more_bad_inputs(lin: D.NoiseSchedule) -> None:
    with pytest.raises(ValueError, match="base must be a multiple of 8"):
        D.SmallUNet(base=12)
    with pytest.raises(ValueError, match="max_beta"):
        D.cosine_beta_schedule(10, max_beta=float("nan"))
    with pytest.raises(ValueError, match="max_beta"):
        D.cosine_beta_schedule(10, max_beta=1.0)
    with pytest.raises(ValueError, match="x_T is on meta"):
        D.ddim_sample(D.MLPDenoiser(2, hidden=4, n_layers=1), (3, 2), lin, 5, x_T=torch.empty(3, 2, device="meta"))
