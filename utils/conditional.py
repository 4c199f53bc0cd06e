"""Conditional GANs (chapter 9): the cGAN and its matching-aware discriminator, ACGAN, InfoGAN.

Networks: :class:`ConditionalGenerator` ``G(z, c)`` and :class:`ConditionalDiscriminator`
``D(x, c)``, chapter 6's DCGAN with the condition ``c`` (a one-hot label, or InfoGAN's codes)
concatenated to the noise and broadcast as extra input planes of the discriminator, and an
optional auxiliary head (ACGAN's class, InfoGAN's Q). Losses: :func:`matching_aware_discriminator_loss`
(the three kinds of pairs), :func:`acgan_discriminator_loss`, :func:`acgan_generator_loss` and
:func:`information_bound` (InfoGAN's L_I).
Sampling and editing: :func:`truncated_normal` (the truncation trick) and :func:`search_latent`
(complete a masked digit by searching the code). :func:`train_conditional_gan` trains one of
:data:`CONDITIONAL_KINDS`; ``python -m utils.conditional train`` trains all four and saves
them in ``data/conditional_gans.pt``, which :func:`load_conditional_gans` reads.

The judge of every model is the course's MNIST classifier (:mod:`utils.classifier`).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from utils import rng
from utils.classifier import N_CLASSES, load_classifier
from utils.data import DATA_DIR, load_mnist
from utils.gan import _dcgan_init, _logits, dcgan_generator, discriminator_loss, generator_loss
from utils.metrics import label_accuracy
from utils.training import train
from utils.validation import (
    check_choice,
    check_images,
    check_labels,
    check_module_input,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_tensor,
)

__all__ = [
    "CONDITIONAL_KINDS",
    "N_CONTINUOUS_CODES",
    "CONDITIONAL_GANS_PATH",
    "TRUNCATION_MIN_PSI",
    "TRUNCATION_MAX_ROUNDS",
    "INFOGAN_LR_G",
    "ConditionalGenerator",
    "ConditionalDiscriminator",
    "one_hot",
    "matching_aware_discriminator_loss",
    "acgan_discriminator_loss",
    "acgan_generator_loss",
    "information_bound",
    "sample_infogan_codes",
    "truncated_normal",
    "search_latent",
    "TrainedConditionalGAN",
    "train_conditional_gan",
    "load_conditional_gans",
]

CONDITIONAL_KINDS = ("cgan", "cgan_mismatch", "acgan", "infogan")
N_CONTINUOUS_CODES = 2  # InfoGAN's continuous codes on MNIST (rotation and width in Chen et al., figure 2)
INFOGAN_LR_G = 1e-3  # InfoGAN's generator step size on MNIST (Chen et al., appendix C.1; 2e-4 for D and Q)
CONDITIONAL_GANS_PATH = DATA_DIR / "conditional_gans.pt"
TRUNCATION_MIN_PSI = 0.05  # below it, truncated_normal draws by the inverse CDF (rejection would keep < 4 % of a round)
TRUNCATION_MAX_ROUNDS = 1000  # rejection rounds before truncated_normal draws the rest by the inverse CDF


def one_hot(labels: torch.Tensor, n_classes: int = N_CLASSES) -> torch.Tensor:
    """``(N,)`` int labels in 0..n_classes-1 -> ``(N, n_classes)`` float one-hot rows.

    Raises:
        TypeError: if labels is not an integer tensor, or ``n_classes`` not an int.
        ValueError: if labels is not 1-D or holds a value outside 0..n_classes-1, or ``n_classes`` < 1.
    """
    check_positive_int(n_classes, "n_classes")
    check_labels(labels, "labels", n_classes=n_classes)
    return F.one_hot(labels, n_classes).float()


class ConditionalGenerator(nn.Module):
    """``G(z, c)``: chapter 6's DCGAN generator applied to the concatenation ``[z, c]``.

    Args:
        latent_dim: the size of z ~ N(0, I), positive.
        cond_dim: the size of the condition c (10 for a one-hot label; 10 + 2 for InfoGAN's codes), positive.
        channels: the DCGAN width, positive.

    Forward: ``z (N, latent_dim)``, ``c (N, cond_dim)`` -> ``(N, 1, 28, 28)`` in [-1, 1]; c is cast
    to z's dtype. It raises TypeError for a non-tensor or a z of another dtype than the network's,
    ValueError for other shapes or for z or c on another device.

    References:
        Mirza and Osindero (2014), *Conditional generative adversarial nets*, section 3.2 (the
        condition fed to both networks); the AE/VAE/GAN lecture, slide "Conditional GANs".
    """

    def __init__(self, latent_dim: int = 32, cond_dim: int = N_CLASSES, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.cond_dim = check_positive_int(cond_dim, "cond_dim")
        self.net = dcgan_generator(latent_dim + cond_dim, channels)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        check_module_input(z, "z", self)
        check_same_device(z=z, c=c)
        check_tensor(z, "z", finite=False)
        check_tensor(c, "c", finite=False, floating=False)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or c.shape != (len(z), self.cond_dim):
            raise ValueError(f"z must be (N, {self.latent_dim}) and c (N, {self.cond_dim}), got {tuple(z.shape)} and {tuple(c.shape)}")
        return self.net(torch.cat([z, c.to(z)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """``D(x, c)``: a DCGAN discriminator that sees the condition as extra input planes, plus an optional head.

    ``x (N, 1, 28, 28)`` and ``c (N, cond_dim)`` (broadcast to ``cond_dim`` constant 28x28 planes
    and stacked with the image) -> Conv 4x4/2 (14x14) -> LeakyReLU -> Conv 4x4/2 (7x7) -> BN ->
    LeakyReLU -> two 7x7 convolutions on the same features: one real/fake logit, and ``n_aux``
    auxiliary outputs (ACGAN's class logits; InfoGAN's Q: code logits and continuous-code means).

    Args:
        cond_dim: the size of c given to D, >= 0 (0: D does not see a condition, as in ACGAN and InfoGAN).
        n_aux: the auxiliary head's size, >= 0 (0: no head).
        channels: the DCGAN width, positive.

    Forward: returns ``(logits (N,), aux (N, n_aux) or None)``; c is cast to x's dtype. It raises
    TypeError for a non-tensor or an x of another dtype than the network's, ValueError for other
    shapes or for x or c on another device.

    References:
        Radford et al. (2016); Mirza and Osindero (2014); Odena et al. (2017), *ACGAN*, section 3;
        Chen et al. (2016), *InfoGAN*, section 6 (Q shares all convolutional layers with D).
    """

    def __init__(self, cond_dim: int = N_CLASSES, n_aux: int = 0, channels: int = 32) -> None:
        super().__init__()
        for value, name in ((cond_dim, "cond_dim"), (n_aux, "n_aux")):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        c = check_positive_int(channels, "channels")
        self.cond_dim, self.n_aux = cond_dim, n_aux
        self.trunk = nn.Sequential(
            nn.Conv2d(1 + cond_dim, c, 4, 2, 1), nn.LeakyReLU(0.2),  # 14x14
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # 7x7
        )
        self.source = nn.Conv2d(2 * c, 1, 7)
        self.aux = nn.Conv2d(2 * c, n_aux, 7) if n_aux else None
        self.apply(_dcgan_init)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_module_input(x, "x", self)
        check_same_device(x=x, c=c)
        check_tensor(x, "x", finite=False)
        if c is not None:
            check_tensor(c, "c", finite=False, floating=False)
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"x must be (N, 1, 28, 28), got {tuple(x.shape)}")
        if self.cond_dim:
            if c is None or c.shape != (len(x), self.cond_dim):
                raise ValueError(f"c must be (N, {self.cond_dim}), got {None if c is None else tuple(c.shape)}")
            x = torch.cat([x, c.to(x)[:, :, None, None].expand(-1, -1, 28, 28)], dim=1)
        h = self.trunk(x)
        return self.source(h).flatten(), None if self.aux is None else self.aux(h).flatten(1)


def matching_aware_discriminator_loss(
    real_right: torch.Tensor, fake_right: torch.Tensor, real_wrong: torch.Tensor | None = None
) -> torch.Tensor:
    """The conditional discriminator's loss over the three kinds of pairs, on logits.

    ``(x, y)`` a real image with its label -> true; ``(G(z, y), y)`` a generated image with the
    label it was made for -> false; ``(x, y')`` a real image with a wrong label -> false.
    Without ``real_wrong`` it is the ordinary :func:`utils.gan.discriminator_loss` on the first
    two, and nothing makes D check the label: a discriminator that ignores y loses nothing as
    long as it tells real images from generated ones. With it (GAN-CLS),

        L_D = -log D(x, y) - 1/2 [log(1 - D(x, y')) + log(1 - D(G(z, y), y))].

    Args:
        real_right, fake_right, real_wrong: logits ``(N,)`` (or ``(N, 1)``) for the three kinds of pairs.

    Returns:
        0-dim, the batch mean, in nats.

    Raises:
        TypeError, ValueError: on non-tensor, empty or non-finite logits, or logits of another
            shape than ``(N,)`` or ``(N, 1)``.

    References:
        Reed et al. (2016), *Generative adversarial text to image synthesis*, algorithm 1 (the
        matching-aware discriminator); the NTHU lecture, slides "Conditional GAN I/II".
    """
    if real_wrong is None:
        return discriminator_loss(real_right, fake_right)
    for value, name in ((real_right, "real_right"), (fake_right, "fake_right"), (real_wrong, "real_wrong")):
        _logits(value, name)  # (N,) or (N, 1), finite, as discriminator_loss checks its two
    true = F.binary_cross_entropy_with_logits(real_right.flatten(), torch.ones_like(real_right.flatten()))
    false_fake = F.binary_cross_entropy_with_logits(fake_right.flatten(), torch.zeros_like(fake_right.flatten()))
    false_wrong = F.binary_cross_entropy_with_logits(real_wrong.flatten(), torch.zeros_like(real_wrong.flatten()))
    return true + 0.5 * (false_wrong + false_fake)


def acgan_discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_class_logits: torch.Tensor,
    fake_class_logits: torch.Tensor,
    real_labels: torch.Tensor,
    fake_labels: torch.Tensor,
) -> torch.Tensor:
    """ACGAN's discriminator loss: the real/fake term plus the class term on real and generated images.

    Odena et al. write L_S (the log-likelihood of the right source) and L_C (of the right class);
    D maximizes L_S + L_C. As a loss to minimize:
    ``BCE(real -> 1, fake -> 0) + CE(real classes) + CE(fake classes)``.

    Args:
        real_logits, fake_logits: ``(N,)`` (or ``(N, 1)``) source logits; N and M may differ.
        real_class_logits, fake_class_logits: ``(N, K)`` and ``(M, K)`` class logits.
        real_labels, fake_labels: ``(N,)`` and ``(M,)`` int labels in 0..K-1 (the real ones; those G was asked for).

    Returns:
        0-dim, in nats.

    Raises:
        TypeError: for non-tensors, integer logits or float labels.
        ValueError: for empty or non-finite logits, mismatched batch sizes or K, labels outside
            0..K-1, or inputs on different devices.

    References:
        Odena, Olah and Shlens (2017), *Conditional image synthesis with auxiliary classifier GANs*,
        eqs. (2)-(3); Prince's slides, "Conditional generation" (ACGAN).
    """
    k = _check_class_term(real_logits, real_class_logits, real_labels, "real")
    if _check_class_term(fake_logits, fake_class_logits, fake_labels, "fake") != k:
        raise ValueError(f"real_class_logits and fake_class_logits must have the same number of classes, got {k} and {fake_class_logits.shape[1]}")
    return (discriminator_loss(real_logits, fake_logits) + F.cross_entropy(real_class_logits, real_labels)
            + F.cross_entropy(fake_class_logits, fake_labels))


def _check_class_term(logits: torch.Tensor, class_logits: torch.Tensor, labels: torch.Tensor, which: str) -> int:
    """Check one ACGAN term's source logits (N,), class logits (N, K) and labels (N,) in 0..K-1; returns K."""
    check_same_device(**{f"{which}_logits": logits, f"{which}_class_logits": class_logits, f"{which}_labels": labels})
    n = len(_logits(logits, f"{which}_logits"))
    check_tensor(class_logits, f"{which}_class_logits", ndim=2)
    if class_logits.shape[0] != n:
        raise ValueError(f"{which}_class_logits must have one row per {which} logit ({n}), got shape {tuple(class_logits.shape)}")
    check_labels(labels, f"{which}_labels", n=n, n_classes=class_logits.shape[1])
    return class_logits.shape[1]


def acgan_generator_loss(fake_logits: torch.Tensor, fake_class_logits: torch.Tensor, fake_labels: torch.Tensor) -> torch.Tensor:
    """ACGAN's generator loss: G maximizes L_C - L_S; here ``-log D(G(z, y)) + CE(class of G(z, y), y)``.

    The non-saturating form replaces -L_S's log(1 - D) by -log D, as in chapter 6.

    Args:
        fake_logits: ``(M,)`` (or ``(M, 1)``) source logits on generated images.
        fake_class_logits: ``(M, K)`` their class logits.
        fake_labels: ``(M,)`` int labels in 0..K-1, those G was asked for.

    Returns:
        0-dim, in nats.

    Raises:
        TypeError, ValueError: as :func:`acgan_discriminator_loss`.

    References:
        Odena et al. (2017), eqs. (2)-(3).
    """
    _check_class_term(fake_logits, fake_class_logits, fake_labels, "fake")
    return generator_loss(fake_logits) + F.cross_entropy(fake_class_logits, fake_labels)


def information_bound(code_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """InfoGAN's variational lower bound on I(c; G(z, c)) for a uniform categorical code, in nats.

    L_I = E[log Q(c | G(z, c))] + H(c), with H(c) = log K for c uniform over K values. Since
    E[log Q] <= E[log p(c | x)] (Gibbs) and I = H(c) - H(c | x), L_I <= I(c; G(z, c)) <= H(c) = log K.
    Estimated on a batch of generated images and the codes they were made from.

    Args:
        code_logits: ``(N, K)`` Q's logits for the code of each generated image.
        codes: ``(N,)`` int codes in 0..K-1 that generated them (drawn uniformly).

    Returns:
        0-dim: L_I, at most log K (in nats; log 10 = 2.303 for MNIST's 10-way code).

    Raises:
        TypeError, ValueError: on bad shapes or codes out of range.

    References:
        Chen et al. (2016), *InfoGAN*, lemma 5.1 and eq. (5); Prince's slides, "InfoGAN" (figure 15.15).
    """
    check_same_device(code_logits=code_logits, codes=codes)
    check_tensor(code_logits, "code_logits", min_ndim=2)
    if not isinstance(codes, torch.Tensor) or code_logits.ndim != 2 or codes.shape != (len(code_logits),):
        raise ValueError(f"code_logits must be (N, K) and codes (N,), got {tuple(code_logits.shape)} and {tuple(getattr(codes, 'shape', ()))}")
    k = code_logits.shape[1]
    check_labels(codes, "codes", n=len(code_logits), n_classes=k)
    return -F.cross_entropy(code_logits, codes) + math.log(k)


def sample_infogan_codes(
    n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu", codes: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """InfoGAN's codes: a uniform 10-way categorical code and :data:`N_CONTINUOUS_CODES` codes uniform on [-1, 1].

    Args:
        n: the number of codes, positive.
        generator: a ``torch.Generator`` for the draws.
        device: where to put them.
        codes: ``(n,)`` categorical codes to use instead of drawing them.

    Returns:
        ``(c, codes, continuous)``: the generator's condition ``(n, 10 + 2)`` on ``device``, the
        categorical codes ``(n,)`` (the given ones as they are) and the continuous codes ``(n, 2)``.

    Raises:
        TypeError, ValueError: for a bad ``n``, or ``codes`` that are not ``(n,)`` ints in 0..9.
    """
    check_positive_int(n, "n")
    if codes is None:
        codes = rng.randint(N_CLASSES, (n,), generator, device=device)
    else:
        check_labels(codes, "codes", n=n, n_classes=N_CLASSES)
    continuous = 2 * rng.rand((n, N_CONTINUOUS_CODES), generator, device=device) - 1
    return torch.cat([one_hot(codes).to(continuous), continuous], dim=1), codes, continuous


def truncated_normal(shape: tuple[int, ...], psi: float, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Draws of N(0, 1) conditioned on |z| <= psi, entry by entry, by resampling (the truncation trick).

    Smaller psi keeps the codes near the mode of the prior, where the generator was trained
    most: samples become more typical and less varied. For psi >= :data:`TRUNCATION_MIN_PSI`,
    entries outside [-psi, psi] are redrawn until none is left (a round keeps a share
    erf(psi / sqrt 2) of them: 4 % at psi = 0.05, so :data:`TRUNCATION_MAX_ROUNDS` = 1,000 rounds
    leave none; if some were left, they would be drawn as below). For a smaller psi, where
    rejection would take thousands of rounds, every entry is drawn by the inverse CDF,
    z = sqrt(2) erfinv((2u - 1) erf(psi / sqrt 2)) with u ~ U[0, 1) in float64.

    Args:
        shape: the output shape.
        psi: the threshold, positive (psi -> infinity is the plain normal).
        generator: a ``torch.Generator`` for the draws.
        device: where to put them.

    Returns:
        float32 tensor of ``shape`` with every |entry| <= psi.

    Raises:
        TypeError, ValueError: if psi is not a positive number.

    References:
        Brock, Donahue and Simonyan (2019), *BigGAN*, section 3.1; Prince's slides, "Processes for
        high-quality image generation" (truncation).
    """
    psi = check_positive_float(psi, "psi")
    if psi < TRUNCATION_MIN_PSI:
        return _truncated_normal_inverse_cdf(rng.rand(tuple(shape), generator, device=device, dtype=torch.float64), psi).float()
    z = rng.randn(tuple(shape), generator, device=device)
    for _ in range(TRUNCATION_MAX_ROUNDS):
        bad = z.abs() > psi
        n_bad = int(bad.sum())
        if n_bad == 0:
            return z
        z[bad] = rng.randn((n_bad,), generator, device=device)
    bad = z.abs() > psi
    z[bad] = _truncated_normal_inverse_cdf(rng.rand((int(bad.sum()),), generator, device=device, dtype=torch.float64), psi).to(z.dtype)
    return z


def _truncated_normal_inverse_cdf(u: torch.Tensor, psi: float) -> torch.Tensor:
    """N(0, 1) restricted to [-psi, psi] from uniforms u in [0, 1): sqrt(2) erfinv((2u - 1) erf(psi / sqrt 2))."""
    return (math.sqrt(2) * torch.erfinv((2 * u - 1) * math.erf(psi / math.sqrt(2)))).clamp(-psi, psi)


def search_latent(
    netG: nn.Module,
    condition: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    n_steps: int = 300,
    lr: float = 0.05,
    prior_weight: float = 1e-3,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Find codes whose images match a constraint on the visible pixels: argmin_z ||mask (G(z, c) - target)||^2.

    Adam on z from a random start; the small ``prior_weight * ||z||^2`` keeps z where the
    generator was trained (z ~ N(0, I)). The generator's weights are not changed.

    Args:
        netG: ``G(z, c)``, e.g. :class:`ConditionalGenerator` (in eval mode).
        condition: ``(N, cond_dim)`` the condition of each search (a one-hot label).
        target: ``(N, 1, 28, 28)`` in [-1, 1], the images whose visible part is the constraint.
        mask: ``(N, 1, 28, 28)`` or ``(1, 28, 28)``, 1 where a pixel is constrained, 0 elsewhere.
        n_steps: Adam steps, positive.
        lr: Adam's step size, positive.
        prior_weight: the weight of ||z||^2 / latent_dim, >= 0.
        generator: a ``torch.Generator`` for the starting codes.

    Returns:
        ``(z, images, losses)``: the codes ``(N, latent_dim)``, their images ``G(z, c)`` and the
        masked mean squared error per step (averaged over the N searches).

    Raises:
        TypeError: for a ``netG`` without an int ``latent_dim``, or a non-tensor argument.
        ValueError: for a bad ``target``, a ``condition`` that is not ``(N, cond_dim)`` and finite,
            a mask of another shape, with values other than 0 and 1 or with no visible pixel for
            some search (its error would be 0 / 0), inputs on different devices, or bad numbers.

    References:
        The NTHU lecture, "Finding codes for images with constraints"; Yeh et al. (2017),
        *Semantic image inpainting with deep generative models*, section 3.
    """
    check_images(target, "target", shape=(1, 28, 28), value_range=(-1.0, 1.0))
    check_same_device(target=target, condition=condition, mask=mask)
    check_tensor(condition, "condition", ndim=2)
    if len(condition) != len(target):
        raise ValueError(f"condition must have one row per target ({len(target)}), got shape {tuple(condition.shape)}")
    check_tensor(mask, "mask", ndim=(3, 4), floating=False)
    if mask.is_complex() or tuple(mask.shape) not in ((1, 28, 28), (1, 1, 28, 28), (len(target), 1, 28, 28)):
        raise ValueError(f"mask must have shape (1, 28, 28) or ({len(target)}, 1, 28, 28), got {tuple(mask.shape)}")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must hold only 0 (hidden) and 1 (visible)")
    if int((mask != 0).reshape(-1, 784).sum(1).min()) == 0:
        raise ValueError("mask must show at least one pixel of every target (a search with no visible pixel has an error of 0 / 0)")
    if not isinstance(getattr(netG, "latent_dim", None), int):
        raise TypeError(f"netG must be a generator with an int latent_dim (a ConditionalGenerator), got {type(netG).__name__}")
    check_positive_int(n_steps, "n_steps")
    lr = check_positive_float(lr, "lr")
    prior_weight = check_nonnegative_float(prior_weight, "prior_weight")
    mask = mask.to(target).expand_as(target)
    z = rng.randn((len(target), netG.latent_dim), generator, device=target.device).requires_grad_()
    opt = torch.optim.Adam([z], lr=lr)
    losses = []
    for _ in range(n_steps):
        image = netG(z, condition)
        mse = ((image - target) ** 2 * mask).flatten(1).sum(1) / mask.flatten(1).sum(1)
        loss = mse.mean() + prior_weight * (z**2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(mse.mean().item())
    with torch.no_grad():
        return z.detach(), netG(z, condition), losses


class TrainedConditionalGAN(NamedTuple):
    """What :func:`train_conditional_gan` returns (and :func:`load_conditional_gans` rebuilds)."""

    netG: ConditionalGenerator
    netD: ConditionalDiscriminator
    history: dict[str, list[float]]  # per step: losses; "eval_step", "label_accuracy" at each evaluation
    seconds_per_step: float


def _networks(kind: str, latent_dim: int, channels: int) -> tuple[ConditionalGenerator, ConditionalDiscriminator]:
    if kind == "infogan":
        return (ConditionalGenerator(latent_dim, N_CLASSES + N_CONTINUOUS_CODES, channels),
                ConditionalDiscriminator(0, N_CLASSES + N_CONTINUOUS_CODES, channels))
    if kind == "acgan":
        return ConditionalGenerator(latent_dim, N_CLASSES, channels), ConditionalDiscriminator(0, N_CLASSES, channels)
    return ConditionalGenerator(latent_dim, N_CLASSES, channels), ConditionalDiscriminator(N_CLASSES, 0, channels)


@torch.no_grad()
def _label_accuracy(netG: ConditionalGenerator, z: torch.Tensor, labels: torch.Tensor, classifier: nn.Module) -> float:
    netG.eval()
    images = ((netG(z, one_hot(labels)) + 1) / 2).clamp(0, 1)
    netG.train()
    return label_accuracy(images, labels, classifier)


def train_conditional_gan(
    kind: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    n_steps: int,
    generator: torch.Generator | None = None,
    batch_size: int = 64,
    latent_dim: int = 32,
    channels: int = 32,
    lr: float = 2e-4,
    lr_g: float | None = None,
    info_weight: float = 1.0,
    eval_every: int | None = None,
    desc: str | None = None,
) -> TrainedConditionalGAN:
    """Train one conditional GAN on labelled images with Adam(lr, (0.5, 0.999)), one D step per G step.

    * ``"cgan"``: D sees (image, label) pairs, true for real pairs and false for generated ones;
    * ``"cgan_mismatch"``: also real images with a wrong label, false (:func:`matching_aware_discriminator_loss`);
    * ``"acgan"``: D does not see the label; it predicts it (:func:`acgan_discriminator_loss`, :func:`acgan_generator_loss`);
    * ``"infogan"``: no labels at all; G gets a 10-way code and 2 continuous codes, and both
      networks maximize ``info_weight`` times :func:`information_bound` (plus the continuous codes'
      Gaussian log-likelihood with unit variance, i.e. minus half their squared error).

    Args:
        kind: one of :data:`CONDITIONAL_KINDS`.
        images: ``(N, 1, 28, 28)`` in [0, 1] (mapped to [-1, 1] here).
        labels: ``(N,)`` int labels in 0..9 (not used by ``"infogan"``).
        n_steps: generator steps, positive.
        generator: a ``torch.Generator`` for batches and noise (initial weights: the global RNG).
        batch_size, latent_dim, channels: sizes, positive.
        lr: Adam's step size, positive (the discriminator's, and the generator's unless ``lr_g`` is given).
        lr_g: the generator's step size, positive (Chen et al. use 1e-3 for InfoGAN's generator, 2e-4 for D).
        info_weight: lambda for InfoGAN, positive (1 in Chen et al. for discrete codes).
        eval_every: measure the label accuracy of 500 generated digits (50 per class, fixed
            noise) with the course's classifier every this many steps (None: never; ignored
            for ``"infogan"``, which has no labels).
        desc: the progress bar's label.

    Returns:
        A :class:`TrainedConditionalGAN` with the networks in eval mode on ``images``' device.

    Raises:
        TypeError, ValueError: on bad images, labels (or labels on another device than the
            images), kind or sizes.

    References:
        Mirza and Osindero (2014); Reed et al. (2016), algorithm 1; Odena et al. (2017); Chen et al. (2016).
    """
    check_choice(kind, "kind", CONDITIONAL_KINDS)
    check_images(images, "images", shape=(1, 28, 28), value_range=(0.0, 1.0))
    check_same_device(images=images, labels=labels)
    one_hot(labels)
    if len(labels) != len(images):
        raise ValueError(f"labels must have one entry per image, got {len(labels)} for {len(images)} images")
    for value, name in ((n_steps, "n_steps"), (batch_size, "batch_size"), (latent_dim, "latent_dim"), (channels, "channels")):
        check_positive_int(value, name)
    lr = check_positive_float(lr, "lr")
    lr_g = lr if lr_g is None else check_positive_float(lr_g, "lr_g")
    info_weight = check_positive_float(info_weight, "info_weight")
    if eval_every is not None:
        check_positive_int(eval_every, "eval_every")
    device = images.device
    data = images * 2 - 1
    labels = labels.to(device)
    netG, netD = (net.to(device) for net in _networks(kind, latent_dim, channels))
    opt_g = torch.optim.Adam(netG.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(netD.parameters(), lr=lr, betas=(0.5, 0.999))
    classifier = load_classifier(device) if eval_every and kind != "infogan" else None
    eval_labels = torch.arange(500, device=device) % N_CLASSES
    eval_z = rng.randn((500, latent_dim), generator, device=device)
    evals: dict[str, list[float]] = {"eval_step": [], "label_accuracy": []}

    def fake_condition(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if kind == "infogan":
            return sample_infogan_codes(n, generator, device)
        y = rng.randint(N_CLASSES, (n,), generator, device=device)
        return one_hot(y), y, None

    def information_term(q: torch.Tensor, codes: torch.Tensor, continuous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """L_I for the categorical code plus the continuous codes' Gaussian log-likelihood (up to a constant)."""
        bound = information_bound(q[:, :N_CLASSES], codes)
        return bound - 0.5 * ((q[:, N_CLASSES:] - continuous) ** 2).sum(1).mean(), bound

    def step(i: int) -> dict[str, float]:
        if classifier is not None and i % eval_every == 0:
            evals["eval_step"].append(i)
            evals["label_accuracy"].append(_label_accuracy(netG, eval_z, eval_labels, classifier))
        idx = rng.randint(len(data), (batch_size,), generator, device=device)
        real, y_real = data[idx], labels[idx]
        z = rng.randn((batch_size, latent_dim), generator, device=device)
        c_fake, y_fake, continuous = fake_condition(batch_size)
        with torch.no_grad():
            fake = netG(z, c_fake)
        out: dict[str, float] = {}
        # --- discriminator step
        if kind in ("cgan", "cgan_mismatch"):
            real_logits, _ = netD(real, one_hot(y_real))
            fake_logits, _ = netD(fake, c_fake)
            wrong_logits = None
            if kind == "cgan_mismatch":
                y_wrong = (y_real + rng.randint(N_CLASSES - 1, (batch_size,), generator, device=device) + 1) % N_CLASSES
                wrong_logits, _ = netD(real, one_hot(y_wrong))
            loss_d = matching_aware_discriminator_loss(real_logits, fake_logits, wrong_logits)
        elif kind == "acgan":
            (real_logits, real_cls), (fake_logits, fake_cls) = netD(real), netD(fake)
            loss_d = acgan_discriminator_loss(real_logits, fake_logits, real_cls, fake_cls, y_real, y_fake)
        else:
            (real_logits, _), (fake_logits, q) = netD(real), netD(fake)
            loss_d = discriminator_loss(real_logits, fake_logits) - info_weight * information_term(q, y_fake, continuous)[0]
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # --- generator step
        z = rng.randn((batch_size, latent_dim), generator, device=device)
        c_fake, y_fake, continuous = fake_condition(batch_size)
        fake = netG(z, c_fake)
        if kind in ("cgan", "cgan_mismatch"):
            loss_g = generator_loss(netD(fake, c_fake)[0])
        elif kind == "acgan":
            loss_g = acgan_generator_loss(*netD(fake), y_fake)
        else:
            fake_logits, q = netD(fake)
            term, bound = information_term(q, y_fake, continuous)
            loss_g = generator_loss(fake_logits) - info_weight * term
            out["information_bound"] = bound.item()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), **out}

    start = time.perf_counter()
    history = train(step, None, n_steps, desc=desc or kind)
    seconds = (time.perf_counter() - start) / n_steps
    if classifier is not None:
        evals["eval_step"].append(n_steps)
        evals["label_accuracy"].append(_label_accuracy(netG, eval_z, eval_labels, classifier))
        history.update(evals)
    return TrainedConditionalGAN(netG.eval(), netD.eval(), history, seconds)


def load_conditional_gans(device: torch.device | str | None = None, path: str | Path | None = None) -> dict[str, TrainedConditionalGAN]:
    """Load the four conditional GANs that ``python -m utils.conditional train`` saved (``data/conditional_gans.pt``).

    Args:
        device: where to put the networks (None: the CPU).
        path: the file; ``data/conditional_gans.pt`` by default.

    Returns:
        kind -> :class:`TrainedConditionalGAN`, networks in eval mode with frozen parameters; the
        history and time per step are those of the training run that made the file.

    Raises:
        FileNotFoundError: if the file is missing (make it with ``python -m utils.conditional train``).
    """
    path = CONDITIONAL_GANS_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m utils.conditional train`")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    config = saved["config"]
    out = {}
    for kind in CONDITIONAL_KINDS:
        netG, netD = _networks(kind, config["latent_dim"], config["channels"])
        netG.load_state_dict(saved[kind]["netG"])
        netD.load_state_dict(saved[kind]["netD"])
        device = "cpu" if device is None else device
        out[kind] = TrainedConditionalGAN(netG.eval().requires_grad_(False).to(device), netD.eval().requires_grad_(False).to(device),
                                          saved[kind]["history"], saved[kind]["seconds_per_step"])
    return out


def _main(argv: list[str] | None = None) -> None:
    """``python -m utils.conditional train [--kinds K ...] [--steps N] [--seed S] [--out FILE]``: train and save the models.

    With ``--kinds``, only those models are retrained and replace their entries in an existing ``--out`` file.
    """
    parser = argparse.ArgumentParser(prog="python -m utils.conditional")
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--kinds", nargs="+", choices=CONDITIONAL_KINDS, default=list(CONDITIONAL_KINDS))
    parser.add_argument("--steps", type=int, default=5000, help="generator steps per model (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--out", type=Path, default=CONDITIONAL_GANS_PATH)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    images, labels = load_mnist("train")
    config = {"latent_dim": 32, "channels": args.channels, "steps": args.steps, "seed": args.seed}
    saved: dict[str, object] = {"config": config}
    if set(args.kinds) != set(CONDITIONAL_KINDS):
        saved = torch.load(args.out, map_location="cpu", weights_only=True)
        if saved["config"] != config:
            raise ValueError(f"{args.out} was made with {saved['config']}, not {config}: retrain all four models")
    for kind in args.kinds:
        torch.manual_seed(args.seed)
        trained = train_conditional_gan(kind, images, labels, args.steps, generator=torch.Generator().manual_seed(args.seed),
                                        channels=args.channels, lr_g=INFOGAN_LR_G if kind == "infogan" else None,
                                        eval_every=max(1, args.steps // 20))
        saved[kind] = {"netG": trained.netG.state_dict(), "netD": trained.netD.state_dict(),
                       "history": trained.history, "seconds_per_step": trained.seconds_per_step}
        accuracy = trained.history.get("label_accuracy", [float("nan")])[-1]
        print(f"{kind}: {1000 * trained.seconds_per_step:.0f} ms per step, label accuracy {accuracy:.3f}", flush=True)
    tmp = args.out.with_suffix(".tmp")
    torch.save(saved, tmp)
    tmp.replace(args.out)  # atomic: a crash never leaves half a file
    print(f"saved {args.out}")


if __name__ == "__main__":
    _main()
