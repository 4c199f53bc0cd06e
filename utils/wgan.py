"""The Wasserstein GAN (chapter 7): the critic's and generator's losses, weight clipping, the gradient penalty.

The critic f of a Wasserstein GAN has no sigmoid: it is a real-valued "regressor"
whose value gap E_data f - E_model f estimates W1 once f is (close to) 1-Lipschitz
(Kantorovich-Rubinstein; the NTHU lecture, "Wasserstein GAN II"). Two ways to keep f
Lipschitz: clip every weight to [-c, c] (Arjovsky et al. 2017, algorithm 1; Prince's
slides use c = 0.01; the NTHU lecture calls it "gradient clipping" but clips the weights),
or penalize (||grad f(x_hat)|| - 1)^2 on random interpolates x_hat (Gulrajani et al. 2017).
"""

from __future__ import annotations

import torch
from torch import nn

from utils import rng
from utils.gan import _logits
from utils.validation import check_positive_float, check_same_device, check_tensor

__all__ = ["wgan_critic_loss", "wgan_generator_loss", "clip_weights", "critic_gradient_norm", "gradient_penalty"]


def wgan_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss to minimize: ``mean f(fake) - mean f(real)`` (minus the dual value).

    Args:
        real_scores: ``(N,)`` or ``(N, 1)`` critic outputs on data samples.
        fake_scores: ``(M,)`` or ``(M, 1)`` critic outputs on generated samples.

    Returns:
        0-dim; its negative is the critic's estimate of W1 (when the critic is 1-Lipschitz).

    Raises:
        TypeError: if an input is not a floating-point tensor.
        ValueError: if either input is empty, holds NaN/inf, or is not of shape (N,) / (N, 1).

    References:
        Arjovsky, Chintala and Bottou (2017), *Wasserstein GAN*, eq. (3) and algorithm 1;
        Prince's slides, slide "Wasserstein loss function"; the NTHU lecture, slide "Alternate SGD for W-GAN".
    """
    return _logits(fake_scores, "fake_scores").mean() - _logits(real_scores, "real_scores").mean()


def wgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss to minimize: ``-mean f(g(z))``.

    Args:
        fake_scores: ``(M,)`` or ``(M, 1)`` critic outputs on generated samples.

    Returns:
        0-dim.

    Raises:
        TypeError: if the input is not a floating-point tensor.
        ValueError: if the input is empty, holds NaN/inf, or is not of shape (M,) / (M, 1).

    References:
        Arjovsky et al. (2017), algorithm 1, line 10; the NTHU lecture, slide "Alternate SGD for W-GAN".
    """
    return -_logits(fake_scores, "fake_scores").mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float = 0.01) -> nn.Module:
    """Clip every parameter of ``module`` to [-c, c], in place (WGAN's Lipschitz heuristic).

    Args:
        module: the critic.
        c: the clipping threshold, positive (0.01 in the paper and on Prince's slides).

    Returns:
        The same module, for chaining.

    Raises:
        TypeError: if ``c`` is not a real number (``True`` is not a threshold).
        ValueError: if ``c`` is not positive and finite.

    References:
        Arjovsky et al. (2017), algorithm 1, line 8; the NTHU lecture, slide "Why Gradient Clipping?"
        (the slide's clip(w) = max(min(w, tau), -tau), applied to the weights).
    """
    c = check_positive_float(c, "c")
    for param in module.parameters():
        param.clamp_(-c, c)
    return module


def critic_gradient_norm(critic: nn.Module, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """The norm of the critic's input gradient at each point, ``||grad_x f(x_k)||``.

    Args:
        critic: maps ``(N, ...)`` to ``(N,)`` or ``(N, 1)`` scores.
        x: ``(N, ...)`` points (not modified).
        create_graph: keep the graph so the norms can be differentiated (for a penalty).

    Returns:
        ``(N,)`` gradient norms (1 everywhere for a 1-Lipschitz critic that is optimal).

    Raises:
        ValueError: if ``x`` is empty or the critic's output does not have one score per point.

    References:
        Gulrajani et al. (2017), *Improved Training of Wasserstein GANs*, proposition 1.
    """
    check_tensor(x, "x", min_ndim=2)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x)
        if scores.numel() != len(x):
            raise ValueError(f"the critic must return one score per point, got shape {tuple(scores.shape)} for {len(x)} points")
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=create_graph)
    return grad.reshape(len(x), -1).norm(dim=1)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP's penalty ``mean_k (||grad f(x_hat_k)|| - 1)^2`` at ``x_hat = eps x_real + (1 - eps) x_fake``.

    Multiply by lambda (10 in the paper) and add it to :func:`wgan_critic_loss`. The
    result is differentiable with respect to the critic's parameters.

    Args:
        critic: maps ``(N, ...)`` to ``(N,)`` or ``(N, 1)`` scores.
        real: ``(N, ...)`` data samples.
        fake: ``(N, ...)`` generated samples (detached inside).
        eps: ``(N,)`` interpolation weights in [0, 1]; None draws eps ~ U[0, 1] per sample.
        generator: a ``torch.Generator`` (on any device) for the draw of eps.

    Returns:
        0-dim.

    Raises:
        TypeError: if real, fake or eps is not a floating-point tensor.
        ValueError: if real or fake holds NaN/inf, they differ in shape or device, or eps is
            not ``(N,)`` in [0, 1].

    References:
        Gulrajani et al. (2017), eq. (3) and algorithm 1, lines 6-7; the NTHU lecture, slide "Improved W-GAN II".
    """
    check_tensor(real, "real", min_ndim=2)
    check_tensor(fake, "fake", min_ndim=2)
    check_same_device(real=real, fake=fake, eps=eps)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    n = len(real)
    if eps is None:
        eps = rng.rand((n,), generator, device=real.device, dtype=real.dtype)
    check_tensor(eps, "eps")
    if eps.shape != (n,) or (eps < 0).any() or (eps > 1).any():
        raise ValueError(f"eps must have shape ({n},) with values in [0, 1], got shape {tuple(eps.shape)}")
    e = eps.to(real).reshape(n, *([1] * (real.ndim - 1)))
    x_hat = e * real.detach() + (1 - e) * fake.detach()
    return ((critic_gradient_norm(critic, x_hat, create_graph=True) - 1) ** 2).mean()
