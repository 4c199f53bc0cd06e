"""Denoising diffusion (DDPM, DDIM): noise schedules, the forward process, the posterior, sampling.

Convention for the time step: **t is 1-based, as in Ho et al. (2020)**: t = 1, ..., T, and
x_0 is the data. A schedule stores arrays indexed by ``t - 1`` (``betas[t - 1]`` is beta_t);
``alphas_cumprod_prev[t - 1]`` is alphabar_{t-1} with alphabar_0 = 1. A model is called as
``model(x_t, t)`` with ``t`` a long tensor of shape ``(N,)`` holding values in 1..T and
returns its prediction of the noise eps, of the shape of ``x_t``.

(diffusers counts from 0: its timestep k is our t = k + 1.)

References:
    Ho, Jain & Abbeel (2020), Denoising Diffusion Probabilistic Models, eqs. (2)-(4), (6)-(7),
    (11)-(12), (14), algorithms 1 and 2. Song, Meng & Ermon (2021), DDIM, eq. (12).
    Nichol & Dhariwal (2021), Improved DDPM, eq. (17) (the cosine schedule).
    The NTHU lecture, slides "Encoding", "Decoding I/II", "Noise Predictor",
    "Training & Inference Algorithms".
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from utils import rng
from utils.validation import (
    check_choice,
    check_in_range,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_tensor,
)

__all__ = [
    "NoiseSchedule",
    "linear_beta_schedule",
    "cosine_beta_schedule",
    "q_sample",
    "q_posterior_mean_variance",
    "predict_x0_from_eps",
    "p_mean_from_eps",
    "ddpm_loss",
    "ddpm_sample",
    "ddim_step",
    "ddim_timesteps",
    "ddim_sample",
    "VariationalBound",
    "variational_bound",
    "timestep_embedding",
    "MLPDenoiser",
    "SmallUNet",
    "MNIST_DDPM_PATH",
    "MNIST_DDPM_BASE",
    "train_mnist_ddpm",
    "load_mnist_ddpm",
]

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class NoiseSchedule:
    """The variance schedule of the forward process and the quantities derived from it.

    All tensors are float64 of shape ``(T,)``, indexed by ``t - 1`` (t = 1..T).

    Attributes:
        betas: beta_t, the variance added at step t (eq. 2).
        alphas: alpha_t = 1 - beta_t.
        alphas_cumprod: alphabar_t = prod_{s<=t} alpha_s (eq. 4).
        alphas_cumprod_prev: alphabar_{t-1}, with alphabar_0 = 1.
        posterior_variance: betatilde_t = (1 - alphabar_{t-1}) / (1 - alphabar_t) beta_t (eq. 7); 0 at t = 1.
    """

    betas: torch.Tensor
    alphas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_variance: torch.Tensor

    @property
    def T(self) -> int:  # noqa: N802 - the paper's name
        """The number of diffusion steps."""
        return int(self.betas.shape[0])

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> NoiseSchedule:
        """Build a schedule from betas of shape ``(T,)``, each in (0, 1).

        Raises:
            TypeError: if ``betas`` is not a floating-point tensor.
            ValueError: if it is not 1-D, not finite, or has a value outside (0, 1).
        """
        betas = check_tensor(betas, "betas", ndim=1).detach().to(torch.float64)
        if bool((betas <= 0).any()) or bool((betas >= 1).any()):
            raise ValueError(f"betas must lie in (0, 1), got values in [{float(betas.min()):.3g}, {float(betas.max()):.3g}]")
        alphas = 1.0 - betas
        ac = torch.cumprod(alphas, 0)
        ac_prev = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        return cls(betas, alphas, ac, ac_prev, post_var)


def linear_beta_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:  # noqa: N803
    """The linear schedule of Ho et al. (2020): beta_t evenly spaced from ``beta_start`` to ``beta_end``.

    Args:
        T: the number of steps.
        beta_start: beta_1, in (0, 1).
        beta_end: beta_T, in (0, 1).

    Returns:
        a :class:`NoiseSchedule` of length T.

    Raises:
        TypeError: if ``T`` is not an int.
        ValueError: if ``T`` < 1 or a beta is outside (0, 1).

    References:
        Ho et al. (2020), section 4 (beta_1 = 1e-4 to beta_T = 0.02, T = 1000).
    """
    T = check_positive_int(T, "T")
    beta_start = check_nonnegative_float(beta_start, "beta_start")
    beta_end = check_nonnegative_float(beta_end, "beta_end")
    # computed in float32 like the reference implementations, then kept in float64
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float32).to(torch.float64)
    return NoiseSchedule.from_betas(betas)


def cosine_beta_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:  # noqa: N803
    """The cosine schedule of Nichol & Dhariwal (2021): alphabar(t) = cos^2((t/T + s)/(1 + s) * pi/2).

    Args:
        T: the number of steps.
        s: the small offset that keeps beta_1 from being too small, >= 0.
        max_beta: betas are clipped to at most this value (near t = T), in (0, 1).

    Returns:
        a :class:`NoiseSchedule` of length T with beta_t = min(1 - alphabar(t)/alphabar(t-1), max_beta).

    Raises:
        TypeError: if ``T`` is not an int, or ``s`` or ``max_beta`` not a number.
        ValueError: if ``T`` < 1, ``s`` < 0 or ``max_beta`` outside (0, 1).

    References:
        Nichol & Dhariwal (2021), eq. (17).
    """
    T = check_positive_int(T, "T")
    s = check_nonnegative_float(s, "s")
    check_in_range(max_beta, "max_beta", 0.0, 1.0, low_closed=False)

    def abar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - abar((i + 1) / T) / abar(i / T), max_beta) for i in range(T)]
    return NoiseSchedule.from_betas(torch.tensor(betas, dtype=torch.float64))


def _check_t(t: object, schedule: NoiseSchedule, n: int | None, name: str = "t", allow_zero: bool = False) -> torch.Tensor:
    """Turn ``t`` (an int or a long tensor of shape (N,)) into a long tensor, checking 1 <= t <= T."""
    if isinstance(t, bool) or not isinstance(t, (int, torch.Tensor)):
        raise TypeError(f"{name} must be an int or an integer tensor, got {type(t).__name__}")
    if isinstance(t, torch.Tensor):
        if t.dtype.is_floating_point or t.dtype == torch.bool or t.dtype.is_complex:
            raise TypeError(f"{name} must have an integer dtype, got {t.dtype}")
        if t.ndim != 1:
            raise ValueError(f"{name} must be an int or a 1-D tensor of shape (N,), got shape {tuple(t.shape)}")
        if n is not None and t.shape[0] != n:
            raise ValueError(f"{name} must have one entry per sample ({n}), got {t.shape[0]}")
        tt = t.long()
    else:
        tt = torch.full((n if n is not None else 1,), int(t), dtype=torch.long)
    lo = 0 if allow_zero else 1
    if tt.numel() and (int(tt.min()) < lo or int(tt.max()) > schedule.T):
        raise ValueError(f"{name} must lie in {lo}..{schedule.T} (1-based time steps), got values in {int(tt.min())}..{int(tt.max())}")
    return tt


def _gather(a: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """a[t - 1] for each sample, shaped (N, 1, ..., 1) to broadcast against x, in x's dtype and device."""
    return a.to(x.device)[(t - 1).to(x.device)].to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


def _check_schedule(schedule: object) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    return schedule


def _check_pair(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{nb} must have the shape of {na} {tuple(a.shape)}, got {tuple(b.shape)}")
    if a.device != b.device:
        raise ValueError(f"{nb} is on {b.device} but {na} is on {a.device}")


def q_sample(x0: torch.Tensor, t: int | torch.Tensor, noise: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) in closed form: sqrt(alphabar_t) x_0 + sqrt(1 - alphabar_t) eps.

    Args:
        x0: data, shape ``(N, ...)``.
        t: time steps in 1..T, an int or a long tensor of shape ``(N,)``.
        noise: eps, the shape of ``x0``.
        schedule: the noise schedule.

    Returns:
        x_t, the shape and dtype of ``x0``.

    Raises:
        TypeError: for a non-float ``x0``/``noise`` or a float ``t``.
        ValueError: for t outside 1..T or a shape mismatch.

    References:
        Ho et al. (2020), eq. (4); the NTHU lecture, slide "Encoding".
    """
    schedule = _check_schedule(schedule)
    x0 = check_tensor(x0, "x0", min_ndim=1)
    noise = check_tensor(noise, "noise", min_ndim=1)
    _check_pair(x0, noise, "x0", "noise")
    t = _check_t(t, schedule, x0.shape[0])
    return _gather(schedule.alphas_cumprod.sqrt(), t, x0) * x0 + _gather((1 - schedule.alphas_cumprod).sqrt(), t, x0) * noise


def q_posterior_mean_variance(
    x0: torch.Tensor, xt: torch.Tensor, t: int | torch.Tensor, schedule: NoiseSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """The posterior q(x_{t-1} | x_t, x_0) = N(mutilde_t, betatilde_t I).

    mutilde_t = sqrt(alphabar_{t-1}) beta_t / (1 - alphabar_t) x_0 + sqrt(alpha_t) (1 - alphabar_{t-1}) / (1 - alphabar_t) x_t.

    Args:
        x0: data, shape ``(N, ...)``.
        xt: the noisy sample, the shape of ``x0``.
        t: time steps in 1..T (int or long tensor ``(N,)``).
        schedule: the noise schedule.

    Returns:
        ``(mean, variance)``: the mean, shape of ``x0``; the variance betatilde_t, shape ``(N, 1, ..., 1)``
        (0 at t = 1, where x_0 is known).

    Raises:
        ValueError: for t outside 1..T or a shape mismatch.

    References:
        Ho et al. (2020), eqs. (6)-(7); the NTHU lecture, slide "Decoding II".
    """
    schedule = _check_schedule(schedule)
    x0 = check_tensor(x0, "x0", min_ndim=1)
    xt = check_tensor(xt, "xt", min_ndim=1)
    _check_pair(x0, xt, "x0", "xt")
    t = _check_t(t, schedule, x0.shape[0])
    s = schedule
    c0 = s.alphas_cumprod_prev.sqrt() * s.betas / (1 - s.alphas_cumprod)
    ct = s.alphas.sqrt() * (1 - s.alphas_cumprod_prev) / (1 - s.alphas_cumprod)
    mean = _gather(c0, t, x0) * x0 + _gather(ct, t, x0) * xt
    return mean, _gather(s.posterior_variance, t, x0)


def predict_x0_from_eps(xt: torch.Tensor, t: int | torch.Tensor, eps: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """Invert eq. (4): x_0 = (x_t - sqrt(1 - alphabar_t) eps) / sqrt(alphabar_t).

    Args:
        xt: noisy sample ``(N, ...)``; t: steps in 1..T; eps: noise (predicted), shape of ``xt``; schedule.

    Returns:
        the implied x_0, shape of ``xt``.

    Raises:
        ValueError: for t outside 1..T or a shape mismatch.

    References:
        Ho et al. (2020), eq. (4) solved for x_0; the NTHU lecture, slide "Noise Predictor".
    """
    schedule = _check_schedule(schedule)
    xt = check_tensor(xt, "xt", min_ndim=1)
    eps = check_tensor(eps, "eps", min_ndim=1)
    _check_pair(xt, eps, "xt", "eps")
    t = _check_t(t, schedule, xt.shape[0])
    ac = schedule.alphas_cumprod
    return (xt - _gather((1 - ac).sqrt(), t, xt) * eps) / _gather(ac.sqrt(), t, xt)


def p_mean_from_eps(xt: torch.Tensor, t: int | torch.Tensor, eps: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """The reverse-step mean in the noise parameterisation: (x_t - beta_t / sqrt(1 - alphabar_t) eps) / sqrt(alpha_t).

    Equal to the posterior mean mutilde_t(x_t, x_0) at x_0 = predict_x0_from_eps(x_t, t, eps).

    Args:
        xt: noisy sample ``(N, ...)``; t: steps in 1..T; eps: predicted noise, shape of ``xt``; schedule.

    Returns:
        mu_theta(x_t, t), shape of ``xt``.

    Raises:
        ValueError: for t outside 1..T or a shape mismatch.

    References:
        Ho et al. (2020), eq. (11); the NTHU lecture, slide "Noise Predictor".
    """
    schedule = _check_schedule(schedule)
    xt = check_tensor(xt, "xt", min_ndim=1)
    eps = check_tensor(eps, "eps", min_ndim=1)
    _check_pair(xt, eps, "xt", "eps")
    t = _check_t(t, schedule, xt.shape[0])
    s = schedule
    coef = s.betas / (1 - s.alphas_cumprod).sqrt()
    return (xt - _gather(coef, t, xt) * eps) / _gather(s.alphas.sqrt(), t, xt)


def ddpm_loss(model: Model, x0: torch.Tensor, schedule: NoiseSchedule, generator: torch.Generator | None = None) -> torch.Tensor:
    """Algorithm 1's loss: ||eps - eps_theta(sqrt(alphabar_t) x_0 + sqrt(1 - alphabar_t) eps, t)||^2, t ~ U{1..T}.

    Args:
        model: the noise predictor ``model(x_t, t)``.
        x0: a batch of data ``(N, ...)``.
        schedule: the noise schedule.
        generator: for t and eps.

    Returns:
        the scalar mean squared error (mean over samples and coordinates).

    Raises:
        TypeError: for a non-float ``x0`` or a bad generator.

    References:
        Ho et al. (2020), eq. (14) and algorithm 1; the NTHU lecture, slide "Training & Inference Algorithms".
    """
    schedule = _check_schedule(schedule)
    x0 = check_tensor(x0, "x0", min_ndim=1)
    t = rng.randint(schedule.T, (x0.shape[0],), generator=generator, device=x0.device) + 1
    eps = rng.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    xt = q_sample(x0, t, eps, schedule)
    pred = model(xt, t)
    if pred.shape != eps.shape:
        raise ValueError(f"model(x_t, t) must return the shape of x_t {tuple(eps.shape)}, got {tuple(pred.shape)}")
    return ((eps - pred) ** 2).mean()


def _model_device_dtype(model: Model) -> tuple[torch.device, torch.dtype]:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.device, p.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) == 0:
        raise TypeError(f"shape must be a non-empty tuple of ints, got {shape!r}")
    return tuple(check_positive_int(s, "shape entry") for s in shape)


@torch.no_grad()
def ddpm_sample(
    model: Model,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
    variance: str = "beta",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 2: ancestral sampling from x_T ~ N(0, I) down to x_0 in T steps.

    x_{t-1} = (x_t - beta_t / sqrt(1 - alphabar_t) eps_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z,
    z ~ N(0, I) for t > 1 and z = 0 at t = 1.

    Args:
        model: the noise predictor ``model(x_t, t)``; sampling runs on its device and dtype.
        shape: the shape ``(N, ...)`` of the batch to draw.
        schedule: the noise schedule.
        generator: for x_T and the z's.
        return_trajectory: also return every x_t.
        variance: ``"beta"`` for sigma_t^2 = beta_t, ``"posterior"`` for sigma_t^2 = betatilde_t
            (Ho et al. found both give similar samples; section 3.2).

    Returns:
        x_0 of ``shape``; with ``return_trajectory``, also a tensor ``(T + 1, *shape)`` holding
        x_T, x_{T-1}, ..., x_0 (on the CPU).

    Raises:
        TypeError: for a bad shape or generator.
        ValueError: for an unknown ``variance``.

    References:
        Ho et al. (2020), algorithm 2 and eq. (11); the NTHU lecture, slide "Training & Inference Algorithms".
    """
    schedule = _check_schedule(schedule)
    shape = _check_shape(shape)
    variance = check_choice(variance, "variance", ("beta", "posterior"))
    device, dtype = _model_device_dtype(model)
    sig2 = schedule.betas if variance == "beta" else schedule.posterior_variance
    x = rng.randn(shape, generator=generator, device=device, dtype=dtype)
    traj = [x.cpu()] if return_trajectory else None
    for t in range(schedule.T, 0, -1):
        tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
        mean = p_mean_from_eps(x, tt, model(x, tt), schedule)
        if t > 1:
            x = mean + math.sqrt(float(sig2[t - 1])) * rng.randn(shape, generator=generator, device=device, dtype=dtype)
        else:
            x = mean
        if traj is not None:
            traj.append(x.cpu())
    if traj is not None:
        return x, torch.stack(traj)
    return x


def ddim_step(
    xt: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    schedule: NoiseSchedule,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """One DDIM step from time t to an earlier time t_prev (t_prev = 0 means x_0).

    x_{t'} = sqrt(alphabar_{t'}) x0_hat + sqrt(1 - alphabar_{t'} - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - alphabar_{t'})/(1 - alphabar_t)) sqrt(1 - alphabar_t/alphabar_{t'}).

    Args:
        xt: the sample at t ``(N, ...)``; eps: predicted noise, its shape.
        t: current step in 1..T; t_prev: the next step, in 0..t-1.
        schedule: the noise schedule.
        eta: 0 for the deterministic DDIM, 1 for DDPM-like noise.
        noise: z (needed when eta > 0), shape of ``xt``.

    Returns:
        x_{t_prev}, shape of ``xt``.

    Raises:
        ValueError: for steps out of range, a shape mismatch, or eta > 0 without noise.

    References:
        Song, Meng & Ermon (2021), eq. (12).
    """
    schedule = _check_schedule(schedule)
    xt = check_tensor(xt, "xt", min_ndim=1)
    eps = check_tensor(eps, "eps", min_ndim=1)
    _check_pair(xt, eps, "xt", "eps")
    t = int(_check_t(t, schedule, 1)[0])
    t_prev = int(_check_t(t_prev, schedule, 1, name="t_prev", allow_zero=True)[0])
    if t_prev >= t:
        raise ValueError(f"t_prev must be smaller than t={t}, got {t_prev}")
    eta = check_nonnegative_float(eta, "eta")
    ab_t = float(schedule.alphas_cumprod[t - 1])
    ab_p = 1.0 if t_prev == 0 else float(schedule.alphas_cumprod[t_prev - 1])
    sigma = eta * math.sqrt((1 - ab_p) / (1 - ab_t)) * math.sqrt(1 - ab_t / ab_p)
    x0_hat = (xt - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)
    out = math.sqrt(ab_p) * x0_hat + math.sqrt(max(1 - ab_p - sigma**2, 0.0)) * eps
    if sigma > 0:
        if noise is None:
            raise ValueError("eta > 0 needs noise")
        _check_pair(xt, check_tensor(noise, "noise", min_ndim=1), "xt", "noise")
        out = out + sigma * noise
    return out


def ddim_timesteps(T: int, n_steps: int) -> list[int]:  # noqa: N803
    """The DDIM time steps, evenly spaced and 1-based: [1 + (n-1)k, ..., 1 + k, 1] with k = T // n_steps.

    The same steps as diffusers' ``DDIMScheduler`` with ``timestep_spacing="leading"`` (shifted by one).

    Raises:
        ValueError: if ``n_steps`` > T.
    """
    T = check_positive_int(T, "T")
    n_steps = check_positive_int(n_steps, "n_steps")
    if n_steps > T:
        raise ValueError(f"n_steps must be at most T={T}, got {n_steps}")
    k = T // n_steps
    return [1 + i * k for i in range(n_steps - 1, -1, -1)]


@torch.no_grad()
def ddim_sample(
    model: Model,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    n_steps: int,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,  # noqa: N803
) -> torch.Tensor:
    """DDIM sampling in ``n_steps`` steps (deterministic for eta = 0) with a DDPM-trained noise predictor.

    Args:
        model: the noise predictor ``model(x_t, t)``.
        shape: ``(N, ...)``.
        schedule: the schedule the model was trained with.
        n_steps: the number of steps (at most T), see :func:`ddim_timesteps`.
        eta: 0 for DDIM, 1 for a DDPM-like sampler on the sub-sequence.
        generator: for x_T (and the noise if eta > 0).
        x_T: start from this ``shape`` tensor instead of drawing x_T. With eta = 0 the sampler is
            then a deterministic map x_T -> x_0: the latent space in which Song et al. interpolate
            (section 5.3).

    Returns:
        x_0 of ``shape``.

    Raises:
        ValueError: if ``n_steps`` > T or eta < 0, or ``x_T`` has another shape or device than
            the model's (it is cast to the model's dtype).

    References:
        Song, Meng & Ermon (2021), eq. (12) and section 4.2.
    """
    schedule = _check_schedule(schedule)
    shape = _check_shape(shape)
    steps = ddim_timesteps(schedule.T, n_steps)
    eta = check_nonnegative_float(eta, "eta")
    device, dtype = _model_device_dtype(model)
    if x_T is None:
        x = rng.randn(shape, generator=generator, device=device, dtype=dtype)
    else:
        if isinstance(model, nn.Module) and next(model.parameters(), None) is not None and isinstance(x_T, torch.Tensor) and x_T.device != device:
            raise ValueError(f"x_T is on {x_T.device} but the model is on {device}: move one of them")
        check_tensor(x_T, "x_T")
        if tuple(x_T.shape) != shape:
            raise ValueError(f"x_T must have shape {shape}, got {tuple(x_T.shape)}")
        x = x_T.to(device=device, dtype=dtype)
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else 0
        eps = model(x, torch.full((shape[0],), t, dtype=torch.long, device=device))
        z = rng.randn(shape, generator=generator, device=device, dtype=dtype) if eta > 0 else None
        x = ddim_step(x, eps, t, t_prev, schedule, eta=eta, noise=z)
    return x


class VariationalBound(NamedTuple):
    """The negative ELBO of a DDPM and its three parts, per example, in nats (eq. 5)."""

    total: torch.Tensor  # (N,): prior + diffusion + decoder, an upper bound on -log p_theta(x_0)
    prior: torch.Tensor  # (N,): L_T = KL(q(x_T | x_0) || N(0, I))
    diffusion: torch.Tensor  # (N,): sum over t = 2..T of L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t))
    decoder: torch.Tensor  # (N,): L_0 = -log p_theta(x_0 | x_1)


@torch.no_grad()
def variational_bound(
    model: Model,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    variance: str = "beta",
    generator: torch.Generator | None = None,
) -> VariationalBound:
    """The DDPM's variational bound on -log p_theta(x_0) for continuous data, in nats per example.

    L = L_T + sum_{t=2}^T L_{t-1} + L_0 (Ho et al. eq. 5). L_T and each L_{t-1} are KLs between
    Gaussians, in closed form; the expectation over x_t ~ q(x_t | x_0) in each L_{t-1} is estimated
    with one sample per example and per t, so ``total`` is an unbiased estimate of the bound (its
    average over many examples is accurate; one example's value is noisy). The reverse step is
    p_theta(x_{t-1} | x_t) = N(mu_theta(x_t, t), sigma_t^2 I) with mu_theta from the predicted noise
    (eq. 11). For L_0 the data are continuous, so instead of the paper's discretized decoder we use
    the Gaussian p_theta(x_0 | x_1) = N(mu_theta(x_1, 1), beta_1 I): the bound is then on a density.
    Cost: T evaluations of the model on the whole batch.

    Args:
        model: the noise predictor ``model(x_t, t)``.
        x0: data ``(N, ...)``, in the coordinates the model was trained on (for data rescaled by s,
            add sum(log s) to get the bound on the original scale).
        schedule: the noise schedule.
        variance: ``"beta"`` (sigma_t^2 = beta_t) or ``"posterior"`` (sigma_t^2 = betatilde_t), as in
            :func:`ddpm_sample`; the decoder always uses beta_1.
        generator: for the x_t samples.

    Returns:
        a :class:`VariationalBound` of float64 tensors ``(N,)``.

    Raises:
        TypeError: for a non-float ``x0`` or a bad generator.
        ValueError: for an unknown ``variance``, or a model output of the wrong shape.

    References:
        Ho et al. (2020), eqs. (5), (11)-(12) and section 3.3; the NTHU lecture, slide "Objective".
    """
    schedule = _check_schedule(schedule)
    x0 = check_tensor(x0, "x0", min_ndim=1)
    variance = check_choice(variance, "variance", ("beta", "posterior"))
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    if params:  # evaluate on the model's device and dtype; a parameter-free model gets x0 as it is
        x0 = x0.to(params[0].device, params[0].dtype)
    device, dtype = x0.device, x0.dtype
    n, d = x0.shape[0], x0[0].numel()
    flat64 = lambda a: a.double().reshape(n, -1)  # noqa: E731
    s = schedule
    sig2 = s.betas if variance == "beta" else s.posterior_variance

    abar_T = float(s.alphas_cumprod[-1])  # noqa: N806
    mean_T = math.sqrt(abar_T) * flat64(x0)
    prior = 0.5 * (d * (1 - abar_T) + (mean_T**2).sum(1) - d - d * math.log(1 - abar_T))

    def predicted_mean(t: int) -> tuple[torch.Tensor, torch.Tensor]:
        tt = torch.full((n,), t, dtype=torch.long, device=device)
        xt = q_sample(x0, tt, rng.randn(x0.shape, generator=generator, device=device, dtype=dtype), s)
        eps = model(xt, tt)
        if eps.shape != xt.shape:
            raise ValueError(f"model(x_t, t) must return the shape of x_t {tuple(xt.shape)}, got {tuple(eps.shape)}")
        return xt, p_mean_from_eps(xt, tt, eps, s)

    diffusion = torch.zeros(n, dtype=torch.float64, device=device)
    for t in range(2, s.T + 1):
        xt, mu_p = predicted_mean(t)
        mu_q, _ = q_posterior_mean_variance(x0, xt, t, s)
        v_q, v_p = float(s.posterior_variance[t - 1]), float(sig2[t - 1])
        diffusion += 0.5 * (d * (v_q / v_p - 1 + math.log(v_p / v_q)) + ((flat64(mu_q) - flat64(mu_p)) ** 2).sum(1) / v_p)

    _, mu_1 = predicted_mean(1)
    beta_1 = float(s.betas[0])
    decoder = 0.5 * (d * math.log(2 * math.pi * beta_1) + ((flat64(x0) - flat64(mu_1)) ** 2).sum(1) / beta_1)
    return VariationalBound(prior + diffusion + decoder, prior, diffusion, decoder)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer time steps (as the Transformer's positions).

    Args:
        t: integer tensor ``(N,)``.
        dim: the embedding size (even).
        max_period: the longest period, positive.

    Returns:
        ``(N, dim)`` float tensor [cos(t w_k), sin(t w_k)], w_k = max_period^(-k/(dim/2)).

    Raises:
        TypeError: if ``t`` is not an integer tensor, ``dim`` not an int or ``max_period`` not a number.
        ValueError: if ``t`` is not 1-D, ``dim`` is not positive and even, or ``max_period`` is not positive.

    References:
        Ho et al. (2020), appendix B; Vaswani et al. (2017), section 3.5.
    """
    if not isinstance(t, torch.Tensor) or t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"t must be an integer tensor of time steps, got {type(t).__name__} {getattr(t, 'dtype', '')}".rstrip())
    if t.ndim != 1:
        raise ValueError(f"t must have shape (N,), got {tuple(t.shape)}")
    check_positive_float(max_period, "max_period")
    dim = check_positive_int(dim, "dim")
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class MLPDenoiser(nn.Module):
    """A small MLP noise predictor eps_theta(x_t, t) for low-dimensional data (2-D toy sets).

    Args:
        dim: data dimension; hidden: width; n_layers: hidden layers; t_dim: time-embedding size.

    Raises:
        TypeError, ValueError: if a size is not a positive int.
    """

    def __init__(self, dim: int = 2, hidden: int = 128, n_layers: int = 3, t_dim: int = 32) -> None:
        super().__init__()
        self.t_dim = check_positive_int(t_dim, "t_dim")
        check_positive_int(n_layers, "n_layers")
        check_positive_int(hidden, "hidden")
        layers: list[nn.Module] = [nn.Linear(check_positive_int(dim, "dim") + t_dim, hidden), nn.SiLU()]
        for _ in range(n_layers - 1):
            layers += [nn.Linear(hidden, hidden), nn.SiLU()]
        layers.append(nn.Linear(hidden, dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict eps from x_t ``(N, dim)`` and t ``(N,)`` (1-based)."""
        return self.net(torch.cat([x, timestep_embedding(t, self.t_dim).to(x.dtype)], dim=1))


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int) -> None:
        super().__init__()
        self.n1 = nn.GroupNorm(8, c_in)
        self.c1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.t = nn.Linear(t_dim, c_out)
        self.n2 = nn.GroupNorm(8, c_out)
        self.c2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.c1(nn.functional.silu(self.n1(x)))
        h = h + self.t(temb)[:, :, None, None]
        h = self.c2(nn.functional.silu(self.n2(h)))
        return h + self.skip(x)


class SmallUNet(nn.Module):
    """A small U-Net noise predictor for 1x28x28 images: 28 -> 14 -> 7 and back, with skip connections.

    Each resolution has one residual block that adds a projection of the sinusoidal time embedding.

    Args:
        channels: image channels; base: channels at 28x28 (doubled at 14 and 7; a multiple of 8,
        since every GroupNorm has 8 groups); t_dim: time-embedding size.

    Raises:
        TypeError, ValueError: if a size is not a positive int, or ``base`` is not a multiple of 8.

    References:
        Ronneberger et al. (2015), U-Net; Ho et al. (2020), appendix B (a much larger version).
    """

    def __init__(self, channels: int = 1, base: int = 32, t_dim: int = 64) -> None:
        super().__init__()
        self.t_dim = check_positive_int(t_dim, "t_dim")
        b = check_positive_int(base, "base")
        if b % 8:
            raise ValueError(f"base must be a multiple of 8 (each GroupNorm splits the channels into 8 groups), got {base}")
        self.temb = nn.Sequential(nn.Linear(t_dim, 4 * b), nn.SiLU(), nn.Linear(4 * b, 4 * b))
        td = 4 * b
        self.inp = nn.Conv2d(check_positive_int(channels, "channels"), b, 3, padding=1)
        self.d1 = _ResBlock(b, b, td)
        self.down1 = nn.Conv2d(b, b, 4, stride=2, padding=1)  # 28 -> 14
        self.d2 = _ResBlock(b, 2 * b, td)
        self.down2 = nn.Conv2d(2 * b, 2 * b, 4, stride=2, padding=1)  # 14 -> 7
        self.mid = _ResBlock(2 * b, 2 * b, td)
        self.up2 = nn.ConvTranspose2d(2 * b, 2 * b, 4, stride=2, padding=1)  # 7 -> 14
        self.u2 = _ResBlock(4 * b, b, td)
        self.up1 = nn.ConvTranspose2d(b, b, 4, stride=2, padding=1)  # 14 -> 28
        self.u1 = _ResBlock(2 * b, b, td)
        self.out = nn.Sequential(nn.GroupNorm(8, b), nn.SiLU(), nn.Conv2d(b, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict eps from x_t ``(N, C, 28, 28)`` and t ``(N,)`` (1-based)."""
        temb = self.temb(timestep_embedding(t, self.t_dim).to(x.dtype))
        h0 = self.d1(self.inp(x), temb)  # b x 28
        h1 = self.d2(self.down1(h0), temb)  # 2b x 14
        h = self.mid(self.down2(h1), temb)  # 2b x 7
        h = self.u2(torch.cat([self.up2(h), h1], 1), temb)  # b x 14
        h = self.u1(torch.cat([self.up1(h), h0], 1), temb)  # b x 28
        return self.out(h)


# The chapter's MNIST noise predictor, trained once on a CPU and shipped (as data/mnist_classifier.pt is).
MNIST_DDPM_PATH = Path(__file__).resolve().parent.parent / "data" / "mnist_ddpm.pt"
MNIST_DDPM_BASE = 16  # SmallUNet(base=16): 115k parameters, quick enough to sample on a CPU


def train_mnist_ddpm(
    n_steps: int,
    base: int = MNIST_DDPM_BASE,
    batch_size: int = 64,
    lr: float = 2e-3,
    ema_decay: float = 0.999,
    seed: int = 0,
    device: torch.device | str = "cpu",
    path: str | Path | None = None,
    verbose: bool = True,
) -> tuple[SmallUNet, list[float]]:
    """Algorithm 1 on the course's 4,000 MNIST training digits, scaled to [-1, 1], T = 1000 (linear).

    Adam at ``lr`` with a cosine decay to zero; the returned model holds the exponential moving
    average (EMA) of the weights, as Ho et al. sample from (appendix B, decay 0.9999 there).

    Args:
        n_steps: optimizer steps, positive.
        base: the SmallUNet's channel width (a multiple of 8).
        batch_size: images per step.
        lr: peak learning rate; ema_decay: in [0, 1).
        seed: fixes the data order, t and the noise (a CPU ``torch.Generator``) and the initial weights.
        device: where to train.
        path: if given, save the EMA ``state_dict`` there.
        verbose: print the loss every tenth of the run.

    Returns:
        The EMA model (eval mode) and the per-step losses.

    Raises:
        TypeError, ValueError: for a non-positive ``n_steps``/``batch_size``/``lr`` or an
            ``ema_decay`` outside [0, 1).
    """
    from utils.data import load_mnist

    check_positive_int(n_steps, "n_steps")
    check_positive_int(batch_size, "batch_size")
    check_positive_float(lr, "lr")
    if check_nonnegative_float(ema_decay, "ema_decay") >= 1:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay!r}")
    torch.manual_seed(seed)
    g = rng.make_generator(seed)
    x = load_mnist("train")[0].to(device) * 2 - 1
    schedule = linear_beta_schedule(1000)
    model = SmallUNet(base=base).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
    losses, start = [], time.perf_counter()
    for step in range(n_steps):
        idx = rng.randint(len(x), (batch_size,), g, device=x.device)
        loss = ddpm_loss(model, x[idx], schedule, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - ema_decay)
        losses.append(loss.item())
        if verbose and (step + 1) % max(1, n_steps // 10) == 0:
            recent = sum(losses[-100:]) / len(losses[-100:])
            print(f"step {step + 1}/{n_steps}: loss {recent:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    ema.eval()
    if path is not None:
        torch.save(ema.state_dict(), Path(path))
    return ema, losses


def load_mnist_ddpm(device: torch.device | str = "cpu", path: str | Path | None = None) -> SmallUNet:
    """Load the shipped MNIST noise predictor (``data/mnist_ddpm.pt``), in eval mode.

    Raises:
        FileNotFoundError: if the file is missing (make it with ``python -m utils.diffusion train-mnist``).
    """
    path = MNIST_DDPM_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with: python -m utils.diffusion train-mnist")
    model = SmallUNet(base=MNIST_DDPM_BASE)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(device).eval().requires_grad_(False)


def _main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m utils.diffusion train-mnist [--steps N] [--seed S] [--out PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m utils.diffusion")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train-mnist", help="train the chapter's MNIST DDPM and write data/mnist_ddpm.pt")
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MNIST_DDPM_PATH)
    args = parser.parse_args(argv)
    train_mnist_ddpm(args.steps, seed=args.seed, path=args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    _main()
