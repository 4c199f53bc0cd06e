"""Generative adversarial networks: losses, the optimal discriminator, divergences, models.

The original GAN (chapter 6): :func:`discriminator_loss` and :func:`generator_loss`
(``"saturating"`` or ``"non_saturating"``, the log D trick) on the discriminator's logits;
:func:`value_function`, :func:`optimal_discriminator`, :func:`kl_divergence` and
:func:`js_divergence` for discrete distributions (or densities on a grid), with which
max_D V(D, G) = -log 4 + 2 JS(p_data || p_g) is checked; DCGAN builders
:func:`dcgan_generator` and :func:`dcgan_discriminator` for 28x28 images; and
:func:`gan_training_step`, one iteration of alternating SGD with K discriminator steps.

The Wasserstein GAN (chapter 7): :func:`wgan_critic_loss` and :func:`wgan_generator_loss`
on the critic's raw scores (no sigmoid), :func:`clip_weights` (WGAN), :func:`critic_gradient_norm`
and :func:`gradient_penalty` (WGAN-GP).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from utils.validation import check_positive_int

# ============================================================== the original GAN (chapter 6)

# Notation: the discriminator network returns a logit a = f(x, phi) (seed 000 writes
# sig[f[x, phi]]), and D(x) = sig(a) is its belief that x is real. Losses take logits
# and use log sig(a) = -softplus(-a), log(1 - sig(a)) = -softplus(a), which stay finite
# where D saturates at 0 or 1. Divergences take discrete distributions (or densities on
# a grid times the cell size) along the last dimension, in nats.

GENERATOR_LOSSES = ("saturating", "non_saturating")


def _logits(a: torch.Tensor, name: str) -> torch.Tensor:
    """Check a batch of scalar network outputs (logits, or a critic's scores): (N,) or (N, 1) -> (N,)."""
    if not isinstance(a, torch.Tensor) or not a.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {getattr(a, 'dtype', type(a).__name__)}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or len(a) == 0:
        raise ValueError(f"{name} must have shape (N,) or (N, 1) with N > 0, got {tuple(a.shape)}")
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
        *Understanding Deep Learning*, chapter 15 (seed 000, "GAN loss function", with means
        instead of sums); seed 001, "GAN Objective" (with weights 1/2).
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
        (seed 000, "GAN training", L[theta]); seed 001, "Non-saturating Heuristic"; seed 003, "The Log D trick".
    """
    fake = _logits(fake_logits, "fake_logits")
    if kind == "saturating":
        return -nn.functional.softplus(fake).mean()
    if kind == "non_saturating":
        return nn.functional.softplus(-fake).mean()
    raise ValueError(f"kind must be one of {GENERATOR_LOSSES}, got {kind!r}")


def _distributions(p: torch.Tensor, q: torch.Tensor, names: tuple[str, str] = ("p", "q"), atol: float = 1e-4) -> None:
    """Check two discrete distributions along the last dimension."""
    for name, t in zip(names, (p, q)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got {getattr(t, 'dtype', type(t).__name__)}")
        if t.ndim == 0 or t.shape[-1] == 0:
            raise ValueError(f"{name} must have at least one dimension of positive size, got shape {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or inf")
        if (t < 0).any():
            raise ValueError(f"{name} must be non-negative, got a minimum of {float(t.detach().min()):.3g}")
        sums = t.detach().sum(dim=-1)
        worst = float((sums - 1).abs().max())
        if worst > atol:
            raise ValueError(
                f"{name} must sum to 1 along its last dimension (within {atol:g}), got sums off by up to {worst:.3g}; "
                "for a density on a grid, multiply by the cell size and normalize"
            )
    if p.shape != q.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")


def _plogp_over_q(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Entry-wise p log(p / q) with 0 log(0 / q) = 0, with finite gradients where p = 0."""
    pos = p > 0
    one = torch.ones_like(p)
    safe_p = torch.where(pos, p, one)
    safe_q = torch.where(pos, q, one)
    return torch.where(pos, safe_p * (torch.log(safe_p) - torch.log(safe_q)), torch.zeros_like(p))


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) = sum_x p(x) log(p(x) / q(x)) of discrete distributions, in nats.

    Args:
        p, q: the same shape ``(..., K)``, non-negative, each summing to 1 along the last
            dimension (within 1e-4). A density on a grid: multiply by the cell size first.

    Returns:
        ``(...)``: one value per distribution; ``inf`` where q = 0 but p > 0.

    Raises:
        TypeError: if p or q is not a floating-point tensor.
        ValueError: on mismatched shapes, negative or non-finite entries, or sums other than 1.

    References:
        Cover and Thomas (2006), *Elements of Information Theory*, eq. (2.26); seed 001,
        "Why Adversarial?" (KL, JS and reverse KL).
    """
    _distributions(p, q)
    return _plogp_over_q(p, q).sum(dim=-1)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence JS(p || q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, in nats.

    Symmetric, 0 iff p = q, at most log 2, with log 2 exactly when the supports are
    disjoint. Equals SciPy's ``jensenshannon(p, q) ** 2`` (natural log).

    Args:
        p, q: the same shape ``(..., K)``, non-negative, each summing to 1 along the last
            dimension (within 1e-4).

    Returns:
        ``(...)``: one value per pair, in [0, log 2].

    Raises:
        TypeError: if p or q is not a floating-point tensor.
        ValueError: on mismatched shapes, negative or non-finite entries, or sums other than 1.

    References:
        Lin (1991), *Divergence measures based on the Shannon entropy*; Goodfellow et al.
        (2014), theorem 1; seed 004, "GANs from Information Theory Perspective" and
        "Balance between g and f, Revisited II"; Prince (2023), chapter 15 (seed 000,
        "Quality of generated images": the quality and coverage terms).
    """
    _distributions(p, q)
    # p log(p / m) = p log 2 + p log(p / (p + q)): p + q cannot underflow where p > 0
    s = p + q
    mass = 0.5 * (p.sum(dim=-1) + q.sum(dim=-1))
    js = math.log(2.0) * mass + 0.5 * (_plogp_over_q(p, s).sum(dim=-1) + _plogp_over_q(q, s).sum(dim=-1))
    return js.clamp_min(0.0)  # p = q leaves a rounding residue of order 1e-17, of either sign


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
        Goodfellow et al. (2014), proposition 1; seed 001, "Why Adversarial?"; seed 004,
        "Why Jensen-Shannon Divergence? II" ([Proof]).
    """
    for name, t in (("p_data", p_data), ("p_g", p_g)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got {getattr(t, 'dtype', type(t).__name__)}")
        if not torch.isfinite(t).all() or (t < 0).any():
            raise ValueError(f"{name} must be finite and non-negative")
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
        Goodfellow et al. (2014), eq. (1) and theorem 1; seed 002, eq. (1); seed 003,
        "Training GANs: Minimax Game"; seed 004, "Why Jensen-Shannon Divergence? I".
    """
    _distributions(p_data, p_g, ("p_data", "p_g"))
    if not isinstance(d, torch.Tensor) or not d.is_floating_point():
        raise TypeError(f"d must be a floating-point torch.Tensor, got {getattr(d, 'dtype', type(d).__name__)}")
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
        seed 002, "Good practice"; seed 003, "Architecture guidelines for stable DCGANs".
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
        Radford et al. (2016), section 3; seed 002, "Good practice"; seed 003.
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
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor | Sequence[torch.Tensor],
    latent_dim: int,
    kind: str = "non_saturating",
    rng: torch.Generator | None = None,
) -> dict[str, float]:
    """One iteration of alternating SGD: K discriminator steps, then one generator step.

    For each of the K real batches: draw z ~ N(0, I), take a step of ``opt_d`` on
    :func:`discriminator_loss` (the generator fixed). Then draw fresh z and take a step
    of ``opt_g`` on :func:`generator_loss` (the discriminator fixed: only ``opt_g`` steps).

    Args:
        generator: maps ``(B, latent_dim)`` to samples shaped like a real batch.
        discriminator: maps a batch to ``(B,)`` or ``(B, 1)`` logits.
        opt_g, opt_d: optimizers over the generator's and the discriminator's parameters.
        real: one real batch ``(B, ...)`` (K = 1), or a sequence of K batches.
        latent_dim: the size of z, positive.
        kind: the generator's loss, ``"non_saturating"`` or ``"saturating"``.
        rng: a ``torch.Generator`` for the draws of z (on the real batch's device), or None.

    Returns:
        ``{"loss_d", "loss_g", "d_real", "d_fake"}``: the last discriminator loss, the generator
        loss, and the mean D(x) on the last real batch and mean D(G(z)) in the generator step.

    Raises:
        ValueError: with no real batch, a bad ``latent_dim`` or an unknown ``kind``.

    References:
        Goodfellow et al. (2014), algorithm 1; seed 003, "GAN training algorithm"; seed 004,
        "Training: Alternative SGD" (K discriminator steps per generator step).
    """
    batches = [real] if isinstance(real, torch.Tensor) else list(real)
    if not batches:
        raise ValueError("real must be a batch or a non-empty sequence of K batches")
    check_positive_int(latent_dim, "latent_dim")
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"kind must be one of {GENERATOR_LOSSES}, got {kind!r}")
    for x in batches:
        z = torch.randn(len(x), latent_dim, generator=rng, device=x.device)
        with torch.no_grad():
            fake = generator(z)
        real_logits = discriminator(x)
        loss_d = discriminator_loss(real_logits, discriminator(fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    z = torch.randn(len(batches[-1]), latent_dim, generator=rng, device=batches[-1].device)
    fake_logits = discriminator(generator(z))
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



# ============================================================== the Wasserstein GAN (chapter 7)

# The critic f of a Wasserstein GAN has no sigmoid: it is a real-valued "regressor"
# whose value gap E_data f - E_model f estimates W1 once f is (close to) 1-Lipschitz
# (Kantorovich-Rubinstein; seed 004, "Wasserstein GAN II"). Two ways to keep f
# Lipschitz: clip every weight to [-c, c] (Arjovsky et al. 2017, algorithm 1; seed 000
# uses c = 0.01; seed 004 calls it "gradient clipping" but clips the weights), or
# penalize (||grad f(x_hat)|| - 1)^2 on random interpolates x_hat (Gulrajani et al. 2017).


def wgan_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss to minimize: ``mean f(fake) - mean f(real)`` (minus the dual value).

    Args:
        real_scores: ``(N,)`` or ``(N, 1)`` critic outputs on data samples.
        fake_scores: ``(M,)`` or ``(M, 1)`` critic outputs on generated samples.

    Returns:
        0-dim; its negative is the critic's estimate of W1 (when the critic is 1-Lipschitz).

    Raises:
        ValueError: if either input is empty or not of shape (N,) / (N, 1).

    References:
        Arjovsky, Chintala and Bottou (2017), *Wasserstein GAN*, eq. (3) and algorithm 1;
        seed 000, "Wasserstein loss function"; seed 004, "Alternate SGD for W-GAN".
    """
    return _logits(fake_scores, "fake_scores").mean() - _logits(real_scores, "real_scores").mean()


def wgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss to minimize: ``-mean f(g(z))``.

    Args:
        fake_scores: ``(M,)`` or ``(M, 1)`` critic outputs on generated samples.

    Returns:
        0-dim.

    Raises:
        ValueError: if the input is empty or not of shape (M,) / (M, 1).

    References:
        Arjovsky et al. (2017), algorithm 1, line 10; seed 004, "Alternate SGD for W-GAN".
    """
    return -_logits(fake_scores, "fake_scores").mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float = 0.01) -> nn.Module:
    """Clip every parameter of ``module`` to [-c, c], in place (WGAN's Lipschitz heuristic).

    Args:
        module: the critic.
        c: the clipping threshold, positive (0.01 in the paper and on seed 000's slide).

    Returns:
        The same module, for chaining.

    Raises:
        ValueError: if ``c`` is not positive and finite.

    References:
        Arjovsky et al. (2017), algorithm 1, line 8; seed 004, "Why Gradient Clipping?"
        (the slide's clip(w) = max(min(w, tau), -tau), applied to the weights).
    """
    if not (isinstance(c, (int, float)) and 0 < c < float("inf")):
        raise ValueError(f"c must be a positive finite number, got {c!r}")
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
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty (N, ...) tensor, got {getattr(x, 'shape', type(x).__name__)}")
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
        generator: a ``torch.Generator`` for the draw of eps.

    Returns:
        0-dim.

    Raises:
        ValueError: if real and fake differ in shape, or eps is not ``(N,)`` in [0, 1].

    References:
        Gulrajani et al. (2017), eq. (3) and algorithm 1, lines 6-7; seed 004, "Improved W-GAN II".
    """
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor) or real.shape != fake.shape:
        raise ValueError(
            f"real and fake must be tensors of the same shape, got {getattr(real, 'shape', None)} and {getattr(fake, 'shape', None)}"
        )
    n = len(real)
    if eps is None:
        eps = torch.rand(n, generator=generator, device="cpu" if generator is None else generator.device)
    if eps.shape != (n,) or not torch.isfinite(eps).all() or (eps < 0).any() or (eps > 1).any():
        raise ValueError(f"eps must have shape ({n},) with values in [0, 1], got shape {tuple(eps.shape)}")
    e = eps.to(real).reshape(n, *([1] * (real.ndim - 1)))
    x_hat = e * real.detach() + (1 - e) * fake.detach()
    return ((critic_gradient_norm(critic, x_hat, create_graph=True) - 1) ** 2).mean()
