"""The variational autoencoder: the ELBO, its closed-form KL term, the reparameterization trick, IWAE.

A latent-variable model p(x) = integral p(x|z) p(z) dz with p(z) = N(0, I) is
trained by maximizing, for each example, the evidence lower bound (ELBO)

    ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x),

where q(z|x) = N(mu(x), diag(exp(logvar(x)))) is the encoder (the HKUST lecture, slide
"Variational Autoencoders", the derivation step by step; Kingma and Welling 2014, eq. 3 and 10).
After training, log p(x) itself is estimated by importance sampling with the
encoder as proposal, the IWAE bound (Burda et al. 2016, eq. 8).

A *model* here is any object with two methods (duck typing, no base class):

* ``encode(x) -> (mu, logvar)``: the encoder's diagonal Gaussian, each ``(N, d)``;
* ``log_px_given_z(x, z) -> (..., N)``: log p(x|z) summed over the data dimensions,
  for ``z`` of shape ``(N, d)`` or ``(S, N, d)`` (S samples per example).

:class:`VAE` (an MLP encoder and decoder) and :class:`utils.ppca.LinearGaussianModel` (probabilistic
PCA with a linear encoder, where log p(x) and the posterior are exact) both have them.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from utils.training import mlp
from utils import rng
from utils.validation import (
    check_choice,
    check_module_input,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_tensor,
)

__all__ = [
    "LatentVariableModel",
    "gaussian_kl",
    "reparameterize",
    "log_mean_exp",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "standard_normal_log_prob",
    "diagonal_normal_log_prob",
    "ELBOTerms",
    "elbo",
    "log_importance_weights",
    "iwae_log_likelihood",
    "VAE",
]

LOG_2PI = math.log(2 * math.pi)


class LatentVariableModel(Protocol):
    """What :func:`elbo` and :func:`iwae_log_likelihood` need from a model."""

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor: ...


# ----------------------------------------------------------------------------- checks


def _check_same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    # utils.validation has no shape-equality check; the device check is its own.
    check_same_device(**{name_a: a, name_b: b})
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a}, {tuple(a.shape)}, got {tuple(b.shape)}")


# ----------------------------------------------------------------------------- the pieces


def gaussian_kl(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    mu2: torch.Tensor | None = None,
    logvar2: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL divergence between diagonal Gaussians, in closed form, summed over the last dimension.

    With only ``mu`` and ``logvar``: KL(N(mu, diag(exp(logvar))) || N(0, I))
    = 1/2 * sum_j (exp(logvar_j) + mu_j^2 - 1 - logvar_j).
    With ``mu2`` and ``logvar2`` too: KL(N(mu, exp(logvar)) || N(mu2, exp(logvar2)))
    = 1/2 * sum_j (logvar2_j - logvar_j + (exp(logvar_j) + (mu_j - mu2_j)^2) / exp(logvar2_j) - 1).

    Args:
        mu, logvar: ``(..., d)``, the first Gaussian's mean and log-variance (log sigma^2).
        mu2, logvar2: ``(..., d)``, the second Gaussian's (both or neither); N(0, I) when omitted.

    Returns:
        ``(...)``: the KL divergence in nats, one per row.

    Raises:
        TypeError: for a non-tensor or a non-floating tensor.
        ValueError: for mismatched shapes or devices, NaN/inf, or only one of ``mu2``/``logvar2``.

    References:
        Kingma and Welling (2014), *Auto-Encoding Variational Bayes*, appendix B;
        the NTHU lecture, slide "Maximizing Lower Bound": its loss exp(sigma) - (1 + sigma) + ||mu||^2
        is twice this KL, with its sigma standing for the log-variance.
    """
    check_tensor(mu, "mu", min_ndim=1)
    check_tensor(logvar, "logvar", min_ndim=1)
    _check_same_shape(mu, logvar, "mu", "logvar")
    if (mu2 is None) != (logvar2 is None):
        raise ValueError("give both mu2 and logvar2, or neither (for the standard normal)")
    if mu2 is None:
        return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(-1)
    check_tensor(mu2, "mu2", min_ndim=1)
    check_tensor(logvar2, "logvar2", min_ndim=1)
    _check_same_shape(mu, mu2, "mu", "mu2")
    _check_same_shape(mu, logvar2, "mu", "logvar2")
    return 0.5 * (logvar2 - logvar + (logvar.exp() + (mu - mu2).pow(2)) / logvar2.exp() - 1.0).sum(-1)


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw z ~ N(mu, diag(exp(logvar))) as z = mu + sigma * eps, eps ~ N(0, I), differentiable in mu and logvar.

    Args:
        mu, logvar: ``(..., d)``, the mean and log-variance.
        n_samples: None for one sample per row (output shaped like ``mu``), or S for
            ``(S, ..., d)``.
        generator: a ``torch.Generator`` on any device, for reproducible draws: the noise is
            drawn on the generator's device and moved to ``mu``'s (:mod:`utils.rng`), so a CPU
            generator gives the same z on a CPU and on a GPU.

    Returns:
        ``(..., d)`` or ``(S, ..., d)``: the samples; gradients flow to ``mu`` and ``logvar``
        (dz/dmu = 1, dz/dsigma = eps).

    Raises:
        TypeError: for a non-tensor, a non-floating tensor, or a non-int ``n_samples``.
        ValueError: for NaN/inf, mismatched shapes or devices, or a non-positive ``n_samples``.

    References:
        Kingma and Welling (2014), section 2.4; the AE/VAE/GAN lecture, slide "Reparameterization
        Trick" (printed there as z = sigma + mu * eps, a typo for z = mu + sigma * eps).
    """
    check_tensor(mu, "mu", min_ndim=1)
    check_tensor(logvar, "logvar", min_ndim=1)
    _check_same_shape(mu, logvar, "mu", "logvar")
    shape = mu.shape
    if n_samples is not None:
        check_positive_int(n_samples, "n_samples")
        shape = (n_samples, *mu.shape)
    eps = rng.randn(shape, generator, device=mu.device, dtype=mu.dtype)
    return mu + (0.5 * logvar).exp() * eps


def log_mean_exp(a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(mean(exp(a))) along ``dim``, computed stably as logsumexp(a) - log(n).

    Subtracting the maximum before exponentiating (inside ``torch.logsumexp``) keeps
    log-weights of -500 nats, whose exp underflows to 0, from giving -inf.

    Args:
        a: a floating tensor (may contain -inf, not NaN or +inf).
        dim: the dimension to average over (its size n must be positive).

    Returns:
        ``a`` with ``dim`` removed.

    Raises:
        TypeError: for a non-floating tensor.
        ValueError: for NaN or +inf entries, or an empty ``dim``.

    References:
        Burda, Grosse and Salakhutdinov (2016), *Importance Weighted Autoencoders*, eq. 8.
    """
    check_tensor(a, "a", finite=False, non_empty=False)
    # -inf is a legal log-weight (a zero weight), so check_tensor's finiteness test is too strict here
    if torch.isnan(a).any() or (a == math.inf).any():
        raise ValueError("a contains NaN or +inf")
    n = a.shape[dim]
    if n == 0:
        raise ValueError(f"a has size 0 along dim={dim}")
    return torch.logsumexp(a, dim=dim) - math.log(n)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bern(x; sigmoid(logits)) summed over the last dimension: sum x*l - softplus(l).

    This is minus the binary cross-entropy (``F.binary_cross_entropy_with_logits``,
    summed), written so that ``x`` of shape ``(N, D)`` broadcasts against ``logits`` of
    shape ``(S, N, D)``.

    Args:
        x: ``(..., D)`` in [0, 1] (binary for a proper likelihood).
        logits: ``(..., D)``, broadcastable with ``x``: the decoder's log-odds.

    Returns:
        The broadcast shape without its last dimension, in nats.

    Raises:
        TypeError: for a non-tensor or a non-floating tensor.
        ValueError: if ``x`` leaves [0, 1], for NaN/inf, different devices, or different last dimensions.

    References:
        The AE/VAE/GAN lecture, slide "Outputting a Distribution" (Bern(x; r(z))); Kingma and
        Welling (2014), appendix C.1.
    """
    check_tensor(x, "x", min_ndim=1)
    check_tensor(logits, "logits", min_ndim=1)
    check_same_device(x=x, logits=logits)
    if x.shape[-1] != logits.shape[-1]:
        raise ValueError(f"x and logits must share their last dimension, got {x.shape[-1]} and {logits.shape[-1]}")
    if (x < 0).any() or (x > 1).any():
        raise ValueError("x must lie in [0, 1] for a Bernoulli likelihood")
    return _bernoulli_log_likelihood(x, logits)


def _bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    # Unchecked: the models call this on (S, N, D) logits, where a NaN scan would cost half as much again.
    return (x * logits - F.softplus(logits)).sum(-1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mean, sigma^2 I) summed over the last dimension.

    Equals -||x - mean||^2 / (2 sigma^2) - D log sigma - D/2 log(2 pi): with a fixed sigma,
    maximizing it is minimizing the squared error (the NTHU lecture, slide "Why Do AE and VAE Give
    Blurry Images?").

    Args:
        x: ``(..., D)``.
        mean: ``(..., D)``, broadcastable with ``x``.
        log_sigma: a float or a tensor broadcastable with ``x`` (one sigma per pixel or shared).

    Returns:
        The broadcast shape without its last dimension, in nats.

    Raises:
        TypeError: for a non-tensor, a non-floating tensor, or a ``log_sigma`` that is neither a
            real number nor a floating tensor.
        ValueError: for NaN/inf, different devices, or different last dimensions.

    References:
        The AE/VAE/GAN lecture, slide "Outputting a Distribution" (N(x; mu(z), Sigma(z))); Kingma
        and Welling (2014), appendix C.2.
    """
    check_tensor(x, "x", min_ndim=1)
    check_tensor(mean, "mean", min_ndim=1)
    check_same_device(x=x, mean=mean)
    if isinstance(log_sigma, torch.Tensor):
        check_tensor(log_sigma, "log_sigma")
        check_same_device(x=x, log_sigma=log_sigma)
    elif isinstance(log_sigma, bool) or not isinstance(log_sigma, (int, float)):
        raise TypeError(f"log_sigma must be a real number or a floating tensor, got {type(log_sigma).__name__} {log_sigma!r}")
    elif not math.isfinite(log_sigma):
        raise ValueError(f"log_sigma must be finite, got {log_sigma}")
    if x.shape[-1] != mean.shape[-1]:
        raise ValueError(f"x and mean must share their last dimension, got {x.shape[-1]} and {mean.shape[-1]}")
    return _gaussian_log_likelihood(x, mean, log_sigma)


def _gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor | float) -> torch.Tensor:
    # Unchecked, for the models' inner loops.
    log_sigma = torch.as_tensor(log_sigma, dtype=mean.dtype, device=mean.device)
    per_dim = -0.5 * ((x - mean) / log_sigma.exp()).pow(2) - log_sigma - 0.5 * LOG_2PI
    return per_dim.sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dimension (the prior p(z)).

    Args:
        z: ``(..., d)`` codes.

    Returns:
        ``(...)`` in nats.

    Raises:
        TypeError: for a non-tensor or a non-floating tensor.
        ValueError: for no dimension or NaN/inf.
    """
    check_tensor(z, "z", min_ndim=1)
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def diagonal_normal_log_prob(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension; ``z`` may carry extra leading dims.

    Args:
        z: ``(..., d)`` codes, broadcastable against ``mu`` (e.g. ``(S, N, d)`` for ``(N, d)``).
        mu, logvar: ``(..., d)``, the Gaussian's mean and log-variance.

    Returns:
        The broadcast shape without its last dimension, in nats.

    Raises:
        TypeError: for a non-tensor or a non-floating tensor.
        ValueError: for NaN/inf, mismatched ``mu``/``logvar`` shapes, or different devices.
    """
    check_tensor(z, "z", min_ndim=1)
    check_tensor(mu, "mu", min_ndim=1)
    check_tensor(logvar, "logvar", min_ndim=1)
    _check_same_shape(mu, logvar, "mu", "logvar")
    check_same_device(z=z, mu=mu)
    return -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + LOG_2PI).sum(-1)


# ----------------------------------------------------------------------------- objectives


class ELBOTerms(NamedTuple):
    """Per-example terms of the ELBO, each ``(N,)`` in nats.

    Attributes:
        elbo: reconstruction - kl, a lower bound on log p(x).
        reconstruction: a one-sample estimate of E_q[log p(x|z)].
        kl: KL(q(z|x) || p(z)) in closed form.
    """

    elbo: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def elbo(model: LatentVariableModel, x: torch.Tensor, generator: torch.Generator | None = None) -> ELBOTerms:
    """The ELBO of each example: one reparameterized sample for E_q[log p(x|z)], the KL in closed form.

    Args:
        model: has ``encode`` and ``log_px_given_z`` (see the module docstring).
        x: ``(N, ...)``, a batch the model accepts.
        generator: a ``torch.Generator`` on any device, for the sample of z (see :mod:`utils.rng`).

    Returns:
        :class:`ELBOTerms` with ``elbo``, ``reconstruction`` and ``kl``, each ``(N,)``.
        Train by minimizing ``-terms.elbo.mean()``.

    Raises:
        TypeError, ValueError: as the model's ``encode`` and ``log_px_given_z`` raise for a bad ``x``.

    References:
        The HKUST lecture, slide "Variational Autoencoders" (the lower bound L(x, theta, phi));
        Kingma and Welling (2014), eq. 10.
    """
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, generator=generator)
    reconstruction = model.log_px_given_z(x, z)
    kl = gaussian_kl(mu, logvar)
    return ELBOTerms(reconstruction - kl, reconstruction, kl)


def log_importance_weights(
    model: LatentVariableModel,
    x: torch.Tensor,
    k: int,
    batch: int = 100,
    generator: torch.Generator | None = None,
    proposal: str = "encoder",
) -> torch.Tensor:
    """Log importance weights log p(x, z_j) - log r(z_j) for k draws z_j from a proposal r.

    With ``proposal="encoder"``, r = q(z|x) and the weights are p(x|z) p(z) / q(z|x);
    with ``proposal="prior"``, r = p(z) and the weights are p(x|z): the AE/VAE/GAN lecture's
    naive Monte-Carlo estimate. Either way mean_j w_j is an unbiased estimate of p(x).

    Args:
        model: has ``encode`` and ``log_px_given_z``.
        x: ``(N, ...)`` examples.
        k: samples per example, positive.
        batch: examples processed together (``batch * k`` decoder passes at a time).
        generator: a ``torch.Generator`` on any device (see :mod:`utils.rng`).
        proposal: ``"encoder"`` or ``"prior"``.

    Returns:
        ``(N, k)`` log-weights in nats.

    Raises:
        TypeError: for a non-int ``k`` or ``batch``.
        ValueError: for a non-positive ``k`` or ``batch``, or an unknown ``proposal``.

    References:
        Burda et al. (2016), eq. 8; the AE/VAE/GAN lecture, slides "Naïve Sampling (Monte-Carlo)"
        and "The Encoder".
    """
    check_positive_int(k, "k")
    check_positive_int(batch, "batch")
    check_choice(proposal, "proposal", ("encoder", "prior"))
    chunks = []
    for start in range(0, len(x), batch):
        xb = x[start : start + batch]
        mu, logvar = model.encode(xb)
        if proposal == "encoder":
            z = reparameterize(mu, logvar, n_samples=k, generator=generator)  # (k, B, d)
            log_w = model.log_px_given_z(xb, z) + standard_normal_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)
        else:
            z = rng.randn((k, *mu.shape), generator, device=mu.device, dtype=mu.dtype)
            log_w = model.log_px_given_z(xb, z)
        chunks.append(log_w.transpose(0, 1))
    return torch.cat(chunks, dim=0)


@torch.no_grad()
def iwae_log_likelihood(
    model: LatentVariableModel,
    x: torch.Tensor,
    k: int,
    batch: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The importance-weighted bound L_k = E[log (1/k) sum_j p(x, z_j) / q(z_j|x)] <= log p(x), one draw per example.

    L_1 is the ELBO; L_k grows with k and tends to log p(x) as k -> infinity
    (Burda et al. 2016, theorem 1). Evaluated without gradients.

    Args:
        model: has ``encode`` and ``log_px_given_z``.
        x: ``(N, ...)`` examples.
        k: importance samples per example (5000 in the IWAE paper's evaluation).
        batch: examples processed together; memory grows as ``batch * k * D``.
        generator: a ``torch.Generator`` on any device (see :mod:`utils.rng`).

    Returns:
        ``(N,)``: the estimate of log p(x) for each example, in nats (negate for the NLL).

    Raises:
        TypeError, ValueError: as :func:`log_importance_weights`.

    References:
        Burda, Grosse and Salakhutdinov (2016), *Importance Weighted Autoencoders*, eq. 8 and section 5.
    """
    return log_mean_exp(log_importance_weights(model, x, k, batch=batch, generator=generator), dim=1)


# ----------------------------------------------------------------------------- models


class VAE(nn.Module):
    """A variational autoencoder with MLP encoder and decoder and a Bernoulli or Gaussian decoder.

    Encoder: x (flattened to ``data_dim``) -> hidden -> (mu, logvar), each ``latent_dim``.
    Decoder: z -> reversed hidden -> ``data_dim`` outputs: Bernoulli logits, or the
    pre-sigmoid mean of a Gaussian with a fixed standard deviation ``sigma``.

    Args:
        data_dim: size of a flattened example (784 for MNIST).
        latent_dim: size of z.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        sigma: the Gaussian decoder's fixed standard deviation (ignored for Bernoulli).

    Raises:
        TypeError: for a non-int size or a non-real sigma.
        ValueError: for non-positive sizes, an unknown likelihood or a non-positive sigma.

    References:
        Kingma and Welling (2014), appendix C; the GWU lecture, slide "The Architecture of
        Variational Autoencoder".
    """

    def __init__(
        self,
        data_dim: int = 784,
        latent_dim: int = 20,
        hidden: tuple[int, ...] = (512,),
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
    ) -> None:
        super().__init__()
        check_positive_int(data_dim, "data_dim")
        check_positive_int(latent_dim, "latent_dim")
        for i, width in enumerate(hidden):
            check_positive_int(width, f"hidden[{i}]")
        check_choice(likelihood, "likelihood", ("bernoulli", "gaussian"))
        sigma = check_positive_float(sigma, "sigma")
        self.data_dim, self.latent_dim, self.likelihood, self.sigma = data_dim, latent_dim, likelihood, sigma
        self.encoder = mlp([data_dim, *hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden), data_dim])

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", min_ndim=1)
        check_same_device(model=next(self.parameters()), x=x)
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.data_dim:
            raise ValueError(f"x must hold {self.data_dim} values per example, got {x.shape[1]}")
        return x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): ``(N, ...)`` examples -> (mu, logvar), each ``(N, latent_dim)``."""
        mu, logvar = self.encoder(self._flat(x)).chunk(2, dim=-1)
        return mu, logvar

    def _check_codes(self, z: torch.Tensor) -> None:
        check_module_input(z, "z", self)
        check_tensor(z, "z", min_ndim=1)
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"z must have shape (..., {self.latent_dim}), got {tuple(z.shape)}")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's raw output for ``(..., latent_dim)`` codes: ``(..., data_dim)`` logits.

        Raises:
            TypeError: for a non-tensor ``z``, or one of another dtype than the model's parameters.
            ValueError: for NaN/inf, another last dimension than ``latent_dim``, or another device.
        """
        self._check_codes(z)
        return self.decoder(z)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[x|z] in [0, 1] (Bernoulli probabilities or the Gaussian's mean): ``(..., data_dim)``.

        Raises:
            TypeError, ValueError: as :meth:`decode`.
        """
        self._check_codes(z)
        return torch.sigmoid(self.decoder(z))

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats: x ``(N, ...)``, z ``(N, d)`` or ``(S, N, d)`` -> ``(N,)`` or ``(S, N)``.

        Raises:
            TypeError: for a non-tensor or a non-floating ``x`` or ``z``.
            ValueError: for a Bernoulli decoder, if ``x`` leaves [0, 1]; for NaN/inf, another
                ``data_dim`` or another device than the model's.
        """
        x = self._flat(x)
        check_tensor(z, "z", min_ndim=2)
        check_same_device(x=x, z=z)
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            if (x < 0).any() or (x > 1).any():
                raise ValueError("x must lie in [0, 1] for a Bernoulli decoder")
            return _bernoulli_log_likelihood(x, out)
        return _gaussian_log_likelihood(x, torch.sigmoid(out), math.log(self.sigma))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct: decode the encoder's mean. ``(N, ...)`` -> ``(N, data_dim)`` in [0, 1]."""
        mu, _ = self.encode(x)
        return self.decode_mean(mu)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode n codes from the prior N(0, I): ``(n, data_dim)`` decoder means in [0, 1].

        Args:
            n: how many samples, positive.
            generator: a ``torch.Generator`` on any device; the codes are drawn there and moved
                to the model's device (:mod:`utils.rng`).

        Raises:
            TypeError: for a non-int ``n``.
            ValueError: for a non-positive ``n``.
        """
        check_positive_int(n, "n")
        p = next(self.parameters())
        z = rng.randn((n, self.latent_dim), generator, device=p.device, dtype=p.dtype)
        return self.decode_mean(z)
