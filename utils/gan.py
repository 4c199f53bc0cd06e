"""Generative adversarial networks (chapter 6): losses, the optimal discriminator, DCGAN, a training step.

:func:`discriminator_loss` and :func:`generator_loss` (``"saturating"`` or
``"non_saturating"``, the log D trick) on the discriminator's logits; :func:`value_function`
and :func:`optimal_discriminator` for discrete distributions (or densities on a grid), with
which max_D V(D, G) = -log 4 + 2 JS(p_data || p_g) is checked (the divergences live in
:mod:`utils.divergences`); DCGAN builders :func:`dcgan_generator` and
:func:`dcgan_discriminator` for 28x28 images; and :func:`gan_training_step`, one iteration
of alternating SGD with K discriminator steps. The Wasserstein GAN is :mod:`utils.wgan`.

Names: ``netG`` and ``netD`` are the two networks; ``generator`` is always a
``torch.Generator`` (the random numbers), as everywhere in the course.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from utils import rng
from utils.divergences import _distributions
from utils.validation import check_choice, check_positive_int, check_same_device, check_tensor

__all__ = [
    "GENERATOR_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "optimal_discriminator",
    "value_function",
    "dcgan_generator",
    "dcgan_discriminator",
    "gan_training_step",
]

# Notation: the discriminator network returns a logit a = f(x, phi) (Prince's slides write
# sig[f[x, phi]]), and D(x) = sig(a) is its belief that x is real. Losses take logits
# and use log sig(a) = -softplus(-a), log(1 - sig(a)) = -softplus(a), which stay finite
# where D saturates at 0 or 1. Divergences take discrete distributions (or densities on
# a grid times the cell size) along the last dimension, in nats.

GENERATOR_LOSSES = ("saturating", "non_saturating")


def _logits(a: torch.Tensor, name: str) -> torch.Tensor:
    """Check a batch of scalar network outputs (logits, or a critic's scores): (N,) or (N, 1) -> (N,)."""
    check_tensor(a, name, ndim=(1, 2))
    if a.ndim == 2:
        if a.shape[1] != 1:
            raise ValueError(f"{name} must have shape (N,) or (N, 1), got {tuple(a.shape)}")
        a = a[:, 0]
    return a


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy: ``mean_i -log D(x_i) + mean_j -log(1 - D(x*_j))``.

    Real samples carry the label 1, generated ones the label 0. The loss is minus the
    minibatch estimate of the value function V(D, G), so minimizing it maximizes V.

    Args:
        real_logits: ``(N,)`` or ``(N, 1)`` logits f(x_i, phi) on data samples.
        fake_logits: ``(M,)`` or ``(M, 1)`` logits f(x*_j, phi) on generated samples.

    Returns:
        0-dim, in nats (log 4 ~ 1.386 when D = 1/2 everywhere).

    Raises:
        TypeError: if an input is not a floating-point tensor.
        ValueError: if an input is empty or not of shape (N,) / (N, 1).

    References:
        Goodfellow et al. (2014), *Generative adversarial nets*, eq. (1); Prince (2023),
        *Understanding Deep Learning*, chapter 15 (Prince's slides, "GAN loss function", with means
        instead of sums); the AE/VAE/GAN lecture, "GAN Objective" (with weights 1/2).
    """
    real = _logits(real_logits, "real_logits")
    fake = _logits(fake_logits, "fake_logits")
    return nn.functional.softplus(-real).mean() + nn.functional.softplus(fake).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss to minimize, from the discriminator's logits on generated samples.

    * ``"saturating"``: ``mean_j log(1 - D(x*_j))``, the minimax game's own term
      (its gradient vanishes where D(x*) -> 0, i.e. where the generator is bad);
    * ``"non_saturating"``: ``mean_j -log D(x*_j)``, the "log D trick".

    Args:
        fake_logits: ``(M,)`` or ``(M, 1)`` logits f(g(z_j), phi).
        kind: ``"saturating"`` or ``"non_saturating"``.

    Returns:
        0-dim, in nats.

    Raises:
        TypeError: if ``fake_logits`` is not a floating-point tensor.
        ValueError: on a bad shape or an unknown ``kind``.

    References:
        Goodfellow et al. (2014), section 3 (the log D trick); Prince (2023), chapter 15
        (Prince's slides, "GAN training", L[theta]); the AE/VAE/GAN lecture, "Non-saturating
        Heuristic"; the HKUST lecture, "The Log D trick".
    """
    fake = _logits(fake_logits, "fake_logits")
    check_choice(kind, "kind", GENERATOR_LOSSES)
    if kind == "saturating":
        return -nn.functional.softplus(fake).mean()
    return nn.functional.softplus(-fake).mean()


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """The discriminator that maximizes V for a fixed generator: D*(x) = p_data(x) / (p_data(x) + p_g(x)).

    Works pointwise, so densities need not be normalized. Where both are 0 the value
    does not matter (it has weight 0 in V); we return 1/2.

    Args:
        p_data, p_g: the same shape, non-negative and finite (probabilities or densities).

    Returns:
        The same shape, in [0, 1].

    Raises:
        TypeError: if an input is not a floating-point tensor.
        ValueError: on mismatched shapes, negative or non-finite entries.

    References:
        Goodfellow et al. (2014), proposition 1; the AE/VAE/GAN lecture, "Why Adversarial?"; the NTHU lecture,
        "Why Jensen-Shannon Divergence? II" ([Proof]).
    """
    for name, t in (("p_data", p_data), ("p_g", p_g)):
        check_tensor(t, name, non_empty=False)
        if (t < 0).any():
            raise ValueError(f"{name} must be non-negative, got a minimum of {float(t.detach().min()):.3g}")
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {tuple(p_data.shape)} and {tuple(p_g.shape)}")
    total = p_data + p_g
    return torch.where(total > 0, p_data / torch.where(total > 0, total, torch.ones_like(total)), torch.full_like(total, 0.5))


def value_function(p_data: torch.Tensor, p_g: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """V(D, G) = sum_x p_data(x) log D(x) + p_g(x) log(1 - D(x)) for discrete distributions.

    The expectations of the minimax game, E_data log D(x) + E_{z} log(1 - D(G(z))), written
    with the generator's distribution p_g; 0 log 0 = 0.

    Args:
        p_data, p_g: the same shape ``(..., K)``, each summing to 1 along the last dimension.
        d: ``(..., K)`` (or broadcastable), discriminator outputs D(x) in [0, 1].

    Returns:
        ``(...)``, in nats; at most -log 4 + 2 JS(p_data || p_g), reached at D = D*.

    Raises:
        TypeError, ValueError: on bad distributions (see :func:`kl_divergence`) or ``d`` outside [0, 1].

    References:
        Goodfellow et al. (2014), eq. (1) and theorem 1; the GWU lecture, eq. (1); the HKUST lecture,
        "Training GANs: Minimax Game"; the NTHU lecture, "Why Jensen-Shannon Divergence? I".
    """
    _distributions(p_data, p_g, ("p_data", "p_g"))
    check_tensor(d, "d", finite=False)
    if torch.isnan(d).any() or (d < 0).any() or (d > 1).any():
        raise ValueError(f"d must lie in [0, 1], got values in [{float(d.detach().min()):.3g}, {float(d.detach().max()):.3g}]")
    return (torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)).sum(dim=-1)


# ----------------------------------------------------------------------------- DCGAN


def _dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialization: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def dcgan_generator(latent_dim: int = 64, channels: int = 32) -> nn.Sequential:
    """A DCGAN generator for 28x28 grey images: z -> 7x7 -> 14x14 -> 28x28 by transposed convolutions.

    ``(N, latent_dim)`` -> ConvT 7x7 (2c channels, 7x7) -> BN -> ReLU -> ConvT 4x4 stride 2
    (c, 14x14) -> BN -> ReLU -> ConvT 4x4 stride 2 (1, 28x28) -> tanh. Batch norm everywhere
    except the output; ReLU inside, tanh at the output (images in [-1, 1]).

    Args:
        latent_dim: the size of z ~ N(0, I), positive.
        channels: c, the width of the last hidden layer, positive.

    Returns:
        An ``nn.Sequential`` mapping ``(N, latent_dim)`` to ``(N, 1, 28, 28)`` in [-1, 1].

    Raises:
        ValueError: if a size is not a positive int.

    References:
        Radford, Metz and Chintala (2016), *DCGAN*, section 3 (architecture guidelines);
        the GWU lecture, "Good practice"; the HKUST lecture, "Architecture guidelines for stable DCGANs".
    """
    check_positive_int(latent_dim, "latent_dim")
    check_positive_int(channels, "channels")
    c = channels
    net = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(),  # 7x7
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),  # 14x14
        nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh(),  # 28x28
    )
    net.apply(_dcgan_init)
    return net


def dcgan_discriminator(channels: int = 32) -> nn.Sequential:
    """A DCGAN discriminator for 28x28 grey images: strided convolutions 28 -> 14 -> 7 -> one logit.

    ``(N, 1, 28, 28)`` -> Conv 4x4 stride 2 (c, 14x14) -> LeakyReLU(0.2) -> Conv 4x4 stride 2
    (2c, 7x7) -> BN -> LeakyReLU(0.2) -> Conv 7x7 (1 logit). No pooling, no batch norm on
    the input layer, LeakyReLU throughout; the sigmoid is left to the loss.

    Args:
        channels: c, the width of the first layer, positive.

    Returns:
        An ``nn.Sequential`` mapping ``(N, 1, 28, 28)`` in [-1, 1] to ``(N,)`` logits.

    Raises:
        ValueError: if ``channels`` is not a positive int.

    References:
        Radford et al. (2016), section 3; the GWU lecture, "Good practice"; the HKUST lecture.
    """
    check_positive_int(channels, "channels")
    c = channels
    net = nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),  # 14x14
        nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # 7x7
        nn.Conv2d(2 * c, 1, 7, 1, 0), nn.Flatten(0),  # (N,)
    )
    net.apply(_dcgan_init)
    return net


def gan_training_step(
    netG: nn.Module,
    netD: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor | Sequence[torch.Tensor],
    latent_dim: int,
    kind: str = "non_saturating",
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One iteration of alternating SGD: K discriminator steps, then one generator step.

    For each of the K real batches: draw z ~ N(0, I), take a step of ``opt_d`` on
    :func:`discriminator_loss` (netG fixed). Then draw fresh z and take a step of ``opt_g``
    on :func:`generator_loss` (netD fixed: only ``opt_g`` steps).

    Args:
        netG: the generator network, maps ``(B, latent_dim)`` to samples shaped like a real batch.
        netD: the discriminator network, maps a batch to ``(B,)`` or ``(B, 1)`` logits.
        opt_g, opt_d: optimizers over netG's and netD's parameters.
        real: one real batch ``(B, ...)`` (K = 1), or a sequence of K batches, on the networks' device.
        latent_dim: the size of z, positive.
        kind: the generator's loss, ``"non_saturating"`` or ``"saturating"``.
        generator: a ``torch.Generator`` (on any device) for the draws of z, or None.

    Returns:
        ``{"loss_d", "loss_g", "d_real", "d_fake"}``: the last discriminator loss, the generator
        loss, and the mean D(x) on the last real batch and mean D(G(z)) in the generator step.

    Raises:
        TypeError: for a non-tensor batch or a bad ``latent_dim`` type.
        ValueError: with no real batch, batches on different devices, a bad ``latent_dim``
            or an unknown ``kind``.

    References:
        Goodfellow et al. (2014), algorithm 1; the HKUST lecture, "GAN training algorithm"; the NTHU
        lecture, "Training: Alternative SGD" (K discriminator steps per generator step).
    """
    batches = [real] if isinstance(real, torch.Tensor) else list(real)
    if not batches:
        raise ValueError("real must be a batch or a non-empty sequence of K batches")
    for k, x in enumerate(batches):
        check_tensor(x, f"real[{k}]", min_ndim=1)
        check_same_device(**{"real[0]": batches[0], f"real[{k}]": x})
    check_positive_int(latent_dim, "latent_dim")
    check_choice(kind, "kind", GENERATOR_LOSSES)
    for x in batches:
        z = rng.randn((len(x), latent_dim), generator, device=x.device, dtype=x.dtype)
        with torch.no_grad():
            fake = netG(z)
        real_logits = netD(x)
        loss_d = discriminator_loss(real_logits, netD(fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    z = rng.randn((len(batches[-1]), latent_dim), generator, device=batches[-1].device, dtype=batches[-1].dtype)
    fake_logits = netD(netG(z))
    loss_g = generator_loss(fake_logits, kind)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {
        "loss_d": loss_d.item(),
        "loss_g": loss_g.item(),
        "d_real": torch.sigmoid(real_logits.detach()).mean().item(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean().item(),
    }
