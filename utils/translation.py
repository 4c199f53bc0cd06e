"""Image-to-image translation (chapter 10): pix2pix, a super-resolution GAN and CycleGAN at MNIST scale.

* Networks: :class:`UNet` (built by :func:`unet_generator`), a small U-Net for 28x28 grey
  images with an optional noise input and dropout; :func:`patchgan_discriminator`, a
  fully convolutional discriminator that returns one logit per image patch, and
  :func:`receptive_field`, the patch size each logit sees, by the layer formula.
* Losses: :func:`patch_discriminator_loss` and :func:`pix2pix_generator_loss`
  (adversarial + lambda L1, Isola et al. 2017); :func:`content_loss`,
  :func:`perceptual_loss` and :func:`srgan_generator_loss` (Ledig et al. 2017);
  :func:`cycle_consistency_loss` and :func:`identity_loss` (Zhu et al. 2017).
* Training steps: :func:`pix2pix_training_step`, :func:`srgan_training_step`,
  :func:`cyclegan_training_step`.
* Tasks built from the course's MNIST (all deterministic given their ``generator``):
  :func:`erase_lower_half` (paired inpainting), :func:`average_pool` (7x7 inputs for
  super-resolution), :func:`dilate` and :func:`split_unpaired` (two unpaired domains from
  DISJOINT image sets). They live here rather than in :mod:`utils.data` because they are
  transformations of images, used only by this chapter.
* Image measures: :func:`psnr`, :func:`mean_gradient_magnitude`, :func:`near_binary_share`.

Images are ``(N, C, 28, 28)`` in [0, 1] everywhere (the generators end with a sigmoid), so
the course classifier (:mod:`utils.classifier`) judges outputs directly. Adversarial terms
use the course's cross-entropy losses (:mod:`utils.gan`) on every patch logit; Zhu et al.
use least squares instead.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from utils import rng
from utils.gan import discriminator_loss, generator_loss
from utils.validation import (
    check_images,
    check_in_range,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_tensor,
)

__all__ = [
    "UNet",
    "unet_generator",
    "patchgan_discriminator",
    "receptive_field",
    "patch_discriminator_loss",
    "pix2pix_generator_loss",
    "content_loss",
    "perceptual_loss",
    "srgan_generator_loss",
    "cycle_consistency_loss",
    "identity_loss",
    "pix2pix_training_step",
    "srgan_training_step",
    "cyclegan_training_step",
    "erase_lower_half",
    "average_pool",
    "dilate",
    "split_unpaired",
    "psnr",
    "mean_gradient_magnitude",
    "near_binary_share",
]


# ----------------------------------------------------------------------------- networks


class UNet(nn.Module):
    """A two-level U-Net for 28x28 images: 28 -> 14 -> 7 -> 14 -> 28 with skip connections.

    ``forward(x, z=None)``: ``x`` is ``(N, in_channels, 28, 28)``; when the network was built
    with ``noise_channels > 0``, ``z`` is ``(N, noise_channels, 28, 28)`` noise concatenated to
    the input (pix2pix's first, abandoned, noise input). Dropout (if any) acts at the 7x7
    bottleneck and the first decoder layer, as pix2pix's dropout in the decoder. Output in [0, 1].

    Raises:
        TypeError, ValueError: for a size that is not a positive int, ``noise_channels`` < 0,
            or ``dropout`` outside [0, 1).

    References:
        Ronneberger et al. (2015), *U-Net*, figure 1; Isola et al. (2017), *Image-to-image
        translation with conditional adversarial networks*, section 3.2.1 and appendix 6.1.1.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, channels: int = 16, dropout: float = 0.0,
                 noise_channels: int = 0) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        check_positive_int(channels, "channels")
        if not isinstance(noise_channels, int) or isinstance(noise_channels, bool):
            raise TypeError(f"noise_channels must be an int, got {type(noise_channels).__name__}")
        if noise_channels < 0:
            raise ValueError(f"noise_channels must be >= 0, got {noise_channels}")
        check_in_range(dropout, "dropout", 0.0, 1.0)
        c, self.noise_channels = channels, noise_channels
        act = nn.LeakyReLU(0.2)
        self.enc1 = nn.Sequential(nn.Conv2d(in_channels + noise_channels, c, 3, 1, 1), act)  # c x 28 x 28
        self.enc2 = nn.Sequential(nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), act)  # 2c x 14 x 14
        self.enc3 = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 4, 2, 1), nn.BatchNorm2d(4 * c), act, nn.Dropout(dropout))  # 7x7
        self.dec2 = nn.Sequential(nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU(), nn.Dropout(dropout))
        self.dec1 = nn.Sequential(nn.ConvTranspose2d(4 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU())  # c x 28 x 28
        self.out = nn.Conv2d(2 * c, out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.noise_channels:
            if z is None:
                raise ValueError(f"z is required: this U-Net takes {self.noise_channels} noise channel(s)")
            x = torch.cat([x, z], dim=1)
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        d2 = self.dec2(self.enc3(e2))
        d1 = self.dec1(torch.cat([d2, e2], dim=1))
        return torch.sigmoid(self.out(torch.cat([d1, e1], dim=1)))


def unet_generator(in_channels: int = 1, channels: int = 16, dropout: float = 0.0, noise_channels: int = 0) -> UNet:
    """A small U-Net generator for 28x28 grey images (pix2pix's generator, two levels deep).

    Args:
        in_channels: channels of the source image, positive.
        channels: c, the width of the first level (then 2c, 4c), positive.
        dropout: the dropout probability in the bottleneck and decoder, in [0, 1).
        noise_channels: channels of noise z concatenated to the input (0: none).

    Returns:
        A :class:`UNet` mapping ``(N, in_channels, 28, 28)`` (and z) to ``(N, 1, 28, 28)`` in [0, 1].

    Raises:
        TypeError, ValueError: for a size that is not a positive int, ``noise_channels`` < 0,
            or ``dropout`` outside [0, 1).

    References:
        Isola et al. (2017), section 3.2.1 (U-Net with skips; noise as dropout, section 3.1).
    """
    check_in_range(dropout, "dropout", 0.0, 1.0)
    return UNet(in_channels, 1, channels, float(dropout), noise_channels)


def patchgan_discriminator(in_channels: int = 2, channels: int = 16, n_layers: int = 2) -> nn.Sequential:
    """A PatchGAN discriminator: ``n_layers`` stride-2 4x4 convolutions, then a 3x3 convolution to one logit per patch.

    For pix2pix the input is the source and the (real or generated) target concatenated
    along the channels (``in_channels = 2``): the discriminator judges a pair, so it is
    conditioned on the input. On 28x28 images with ``n_layers = 2`` it returns a 7x7 map of
    logits, each seeing an 18x18 patch (:func:`receptive_field`).

    Args:
        in_channels: input channels, positive.
        channels: width of the first layer (doubling at each layer), positive.
        n_layers: stride-2 layers, positive.

    Returns:
        An ``nn.Sequential`` mapping ``(N, in_channels, H, W)`` to ``(N, 1, H / 2^n_layers, W / 2^n_layers)`` logits.

    Raises:
        TypeError, ValueError: if a size is not a positive int.

    References:
        Isola et al. (2017), section 3.2.2 (Markovian discriminator) and appendix 6.1.2.
    """
    check_positive_int(in_channels, "in_channels")
    check_positive_int(channels, "channels")
    check_positive_int(n_layers, "n_layers")
    layers: list[nn.Module] = []
    c_in, c = in_channels, channels
    for i in range(n_layers):
        layers.append(nn.Conv2d(c_in, c, 4, 2, 1))
        if i > 0:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.LeakyReLU(0.2))
        c_in, c = c, 2 * c
    layers.append(nn.Conv2d(c_in, 1, 3, 1, 1))
    return nn.Sequential(*layers)


def receptive_field(net: nn.Module) -> int:
    """The receptive field (in input pixels, along one side) of one output unit of a chain of convolutions.

    Walks the network's ``Conv2d`` / ``MaxPool2d`` / ``AvgPool2d`` layers in order with the
    recursion ``r <- r + (k - 1) d j``, ``j <- j s`` (kernel k, stride s, dilation d, jump j:
    the distance in input pixels between neighbouring units), from ``r = 1, j = 1``.
    Other layers (activations, batch norm) act pointwise and leave both unchanged. Layers the
    recursion does not describe (transposed or non-2-D convolutions and pooling, adaptive
    pooling, upsampling, fully connected layers) and non-square kernels, strides or dilations
    are refused rather than skipped.

    Args:
        net: a module whose sub-modules are applied in registration order (e.g. ``nn.Sequential``).

    Returns:
        The side of the square patch that one output unit depends on.

    Raises:
        TypeError: if ``net`` is not an ``nn.Module``.
        ValueError: if it holds a layer the recursion does not describe, or a non-square one.

    References:
        Araujo, Norris and Sim (2019), *Computing receptive fields of convolutional neural
        networks*, Distill (the closed form for r); Isola et al. (2017), appendix 6.1.2 (the 70x70 PatchGAN).
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    r, j = 1, 1
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
            sizes = {"kernel_size": pair(m.kernel_size), "stride": pair(m.stride), "dilation": pair(getattr(m, "dilation", 1))}
            for what, (a, b) in sizes.items():
                if a != b:
                    raise ValueError(f"net must have square layers: {type(m).__name__} has {what} {(a, b)}")
            k, s, d = sizes["kernel_size"][0], sizes["stride"][0], sizes["dilation"][0]
            r += (k - 1) * d * j
            j *= s
        elif isinstance(m, _UNSUPPORTED_LAYERS):
            raise ValueError(f"net holds a {type(m).__name__}, which receptive_field does not handle (only Conv2d, MaxPool2d and AvgPool2d)")
    return r


_UNSUPPORTED_LAYERS = (
    nn.modules.conv._ConvNd,  # Conv1d, Conv3d and every transposed convolution (Conv2d is handled above)
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
    nn.modules.pooling._LPPoolNd,
    nn.Upsample,
    nn.Unfold,
    nn.Fold,
    nn.Linear,
    nn.Bilinear,
)


# ----------------------------------------------------------------------------- losses


def _flat_logits(logits: torch.Tensor, name: str) -> torch.Tensor:
    """A discriminator's output (N,), (N, 1) or a patch map (N, 1, h, w) -> one logit per entry."""
    check_tensor(logits, name, min_ndim=1)
    return logits.reshape(-1)


def _pair(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> None:
    check_same_device(**{names[0]: a, names[1]: b})
    check_tensor(a, names[0], min_ndim=1)
    check_tensor(b, names[1], min_ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def patch_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's cross-entropy averaged over every patch: real pairs -> 1, generated -> 0.

    Args:
        real_logits: ``(N, 1, h, w)`` patch logits on real (source, target) pairs (or ``(N,)``).
        fake_logits: the same on (source, generated) pairs.

    Returns:
        0-dim, in nats (log 4 when every patch logit is 0).

    Raises:
        TypeError, ValueError: on a non-float, empty or non-finite input.

    References:
        Isola et al. (2017), eq. (1) and section 3.2.2 ("average all responses").
    """
    return discriminator_loss(_flat_logits(real_logits, "real_logits"), _flat_logits(fake_logits, "fake_logits"))


def pix2pix_generator_loss(
    fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor, lam: float = 100.0
) -> torch.Tensor:
    """pix2pix's generator objective: the non-saturating adversarial loss + lambda * mean |target - fake|.

    Args:
        fake_logits: the discriminator's patch logits on (source, fake) pairs; None for L1 alone.
        fake: ``(N, C, H, W)`` the generator's outputs.
        target: ``(N, C, H, W)`` the true targets.
        lam: lambda >= 0, the L1 weight (the paper uses 100).

    Returns:
        0-dim: ``-mean log D(x, G(x)) + lam * mean |y - G(x)|``.

    Raises:
        TypeError, ValueError: on bad tensors, mismatched shapes or a negative ``lam``.

    References:
        Isola et al. (2017), eqs. (3) and (4).
    """
    _pair(fake, target, ("fake", "target"))
    lam = check_nonnegative_float(lam, "lam")
    loss = lam * (fake - target).abs().mean()
    if fake_logits is not None:
        loss = loss + generator_loss(_flat_logits(fake_logits, "fake_logits"), "non_saturating")
    return loss


def content_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SRGAN's pixel-wise content loss: the mean squared error between output and target.

    Args:
        output, target: the same shape ``(N, C, H, W)``.

    Returns:
        0-dim, mean over every pixel.

    Raises:
        TypeError, ValueError: on bad tensors or mismatched shapes.

    References:
        Ledig et al. (2017), *Photo-realistic single image super-resolution using a GAN*, eq. (4);
        Prince's slides, "Super-resolution GAN (SRGAN)" (content loss).
    """
    _pair(output, target, ("output", "target"))
    return (output - target).pow(2).mean()


def perceptual_loss(output: torch.Tensor, target: torch.Tensor, features: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The perceptual ("VGG") loss: the mean squared error between feature maps of output and target.

    Args:
        output, target: the same shape ``(N, C, H, W)``.
        features: a fixed feature network (in this course the LeNet's ``features`` in place of VGG).

    Returns:
        0-dim, mean over every feature.

    Raises:
        TypeError, ValueError: on bad tensors or mismatched shapes; TypeError if ``features`` is not callable.

    References:
        Ledig et al. (2017), eq. (5); Johnson et al. (2016), *Perceptual losses*, eq. (2);
        Prince's slides, "Super-resolution GAN (SRGAN)" (VGG/perceptual loss).
    """
    _pair(output, target, ("output", "target"))
    if not callable(features):
        raise TypeError(f"features must be callable, got {type(features).__name__}")
    return (features(output) - features(target)).pow(2).mean()


def srgan_generator_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    fake_logits: torch.Tensor | None = None,
    features: Callable[[torch.Tensor], torch.Tensor] | None = None,
    adv_weight: float = 1e-3,
    perceptual_weight: float = 1.0,
) -> torch.Tensor:
    """SRGAN's generator loss: content + perceptual_weight * perceptual + adv_weight * adversarial.

    Args:
        output: ``(N, C, H, W)`` super-resolved images.
        target: ``(N, C, H, W)`` the high-resolution originals.
        fake_logits: the discriminator's logits on ``output`` (None: no adversarial term).
        features: the feature network for the perceptual term (None: no perceptual term).
        adv_weight: weight of the non-saturating adversarial loss, >= 0 (the paper's 1e-3).
        perceptual_weight: weight of the perceptual loss, >= 0.

    Returns:
        0-dim.

    Raises:
        TypeError, ValueError: on bad tensors or negative weights.

    References:
        Ledig et al. (2017), eq. (3) (with the pixel MSE kept as a content term).
    """
    adv_weight = check_nonnegative_float(adv_weight, "adv_weight")
    perceptual_weight = check_nonnegative_float(perceptual_weight, "perceptual_weight")
    loss = content_loss(output, target)
    if features is not None:
        loss = loss + perceptual_weight * perceptual_loss(output, target, features)
    if fake_logits is not None:
        loss = loss + adv_weight * generator_loss(_flat_logits(fake_logits, "fake_logits"), "non_saturating")
    return loss


def _check_map(fn: object, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable (a network), got {type(fn).__name__}")


def cycle_consistency_loss(
    x: torch.Tensor, y: torch.Tensor, netG: Callable[[torch.Tensor], torch.Tensor], netF: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """CycleGAN's cycle loss: mean |F(G(x)) - x| + mean |G(F(y)) - y| (L1, per pixel).

    Args:
        x: ``(N, ...)`` images of domain X.
        y: ``(M, ...)`` images of domain Y.
        netG: the map X -> Y; netF: the map Y -> X.

    Returns:
        0-dim, the sum of the two directions' mean absolute errors.

    Raises:
        TypeError, ValueError: on bad tensors, or maps that are not callable.

    References:
        Zhu et al. (2017), *Unpaired image-to-image translation using cycle-consistent
        adversarial networks*, eq. (2); the NTHU lecture, "Unpaired Image-to-Image Translation II".
    """
    check_tensor(x, "x", min_ndim=1)
    check_tensor(y, "y", min_ndim=1)
    _check_map(netG, "netG")
    _check_map(netF, "netF")
    return (netF(netG(x)) - x).abs().mean() + (netG(netF(y)) - y).abs().mean()


def identity_loss(
    x: torch.Tensor, y: torch.Tensor, netG: Callable[[torch.Tensor], torch.Tensor], netF: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """CycleGAN's optional identity loss: mean |G(y) - y| + mean |F(x) - x|.

    A generator fed an image that is already in its target domain should leave it alone.

    Args:
        x: ``(N, ...)`` images of domain X; y: ``(M, ...)`` images of domain Y.
        netG: the map X -> Y; netF: the map Y -> X.

    Returns:
        0-dim.

    Raises:
        TypeError, ValueError: on bad tensors, or maps that are not callable.

    References:
        Zhu et al. (2017), section 5.2 ("Photo generation from paintings", L_identity);
        Taigman et al. (2017).
    """
    check_tensor(x, "x", min_ndim=1)
    check_tensor(y, "y", min_ndim=1)
    _check_map(netG, "netG")
    _check_map(netF, "netF")
    return (netG(y) - y).abs().mean() + (netF(x) - x).abs().mean()


# ----------------------------------------------------------------------------- training steps


def _descend(opt: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One step of ``opt`` on ``loss``; returns the loss's value."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _check_optimizers(netG: object, opt_g: object, netD: object, opt_d: object) -> None:
    """Before any step: the networks are callable and each one that is given has an optimizer."""
    _check_map(netG, "netG")
    if not isinstance(opt_g, torch.optim.Optimizer):
        raise TypeError(f"opt_g must be a torch.optim.Optimizer, got {type(opt_g).__name__}")
    if netD is not None:
        _check_map(netD, "netD")
        if not isinstance(opt_d, torch.optim.Optimizer):
            raise TypeError(f"opt_d must be a torch.optim.Optimizer when netD is given, got {type(opt_d).__name__}")


def _d_step(netD: nn.Module, opt_d: torch.optim.Optimizer, real_in: torch.Tensor, fake_in: torch.Tensor) -> float:
    return _descend(opt_d, patch_discriminator_loss(netD(real_in), netD(fake_in.detach())))


def pix2pix_training_step(
    netG: nn.Module,
    netD: nn.Module | None,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer | None,
    source: torch.Tensor,
    target: torch.Tensor,
    lam: float = 100.0,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One pix2pix iteration: a discriminator step on (source, target) vs (source, G(source)), then a generator step.

    With ``netD = None`` it is plain L1 regression (no adversary). If ``netG`` takes noise
    (``netG.noise_channels > 0``), z ~ N(0, I) is drawn with ``generator``.

    Args:
        netG: a :class:`UNet`; netD: a conditional :func:`patchgan_discriminator` or None.
        opt_g, opt_d: their optimizers (``opt_d`` None when ``netD`` is None).
        source, target: ``(B, 1, 28, 28)`` paired batches.
        lam: the L1 weight lambda, >= 0.
        generator: a ``torch.Generator`` for the noise input, or None.

    Returns:
        ``{"l1", "loss_g"}`` and, with a discriminator, ``"loss_d"``.

    Raises:
        TypeError, ValueError: on bad batches or ``lam``, or a discriminator without its optimizer;
            every argument is checked before any optimizer step.

    References:
        Isola et al. (2017), eq. (4) and section 3.3 (alternating steps).
    """
    _pair(source, target, ("source", "target"))
    check_nonnegative_float(lam, "lam")
    _check_optimizers(netG, opt_g, netD, opt_d)
    out: dict[str, float] = {}
    z = None
    if getattr(netG, "noise_channels", 0):
        z = rng.randn((len(source), netG.noise_channels, *source.shape[2:]), generator, device=source.device, dtype=source.dtype)
    fake = netG(source, z)
    if netD is not None:
        out["loss_d"] = _d_step(netD, opt_d, torch.cat([source, target], 1), torch.cat([source, fake], 1))
        fake_logits = netD(torch.cat([source, fake], 1))
    else:
        fake_logits = None
    loss_g = pix2pix_generator_loss(fake_logits, fake, target, lam)
    out["loss_g"] = _descend(opt_g, loss_g)
    out["l1"] = (fake - target).abs().mean().item()
    return out


def srgan_training_step(
    netG: nn.Module,
    netD: nn.Module | None,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer | None,
    low: torch.Tensor,
    high: torch.Tensor,
    features: Callable[[torch.Tensor], torch.Tensor] | None = None,
    adv_weight: float = 1e-3,
    perceptual_weight: float = 1.0,
) -> dict[str, float]:
    """One super-resolution iteration: nearest-upsample ``low`` to the size of ``high``, a D step, then a G step.

    The generator refines the nearest-neighbour upsampled image (pre-upsampling, as SRCNN);
    the discriminator is unconditional (high-resolution real vs generated), as in SRGAN.

    Args:
        netG: a :class:`UNet` on ``(B, 1, 28, 28)``; netD: a ``patchgan_discriminator(in_channels=1)`` or None.
        opt_g, opt_d: their optimizers.
        low: ``(B, 1, h, w)`` low-resolution inputs; high: ``(B, 1, H, W)`` the originals.
        features, adv_weight, perceptual_weight: as in :func:`srgan_generator_loss`.

    Returns:
        ``{"mse", "loss_g"}`` and, with a discriminator, ``"loss_d"``.

    Raises:
        TypeError, ValueError: on bad batches (other batch sizes or devices), weights or
            ``features``, or a discriminator without its optimizer; every argument is checked
            before any optimizer step.

    References:
        Ledig et al. (2017), eq. (3) and section 2.
    """
    check_same_device(low=low, high=high)
    check_images(low, "low")
    check_images(high, "high")
    if len(low) != len(high):
        raise ValueError(f"low and high must hold the same number of images, got {len(low)} and {len(high)}")
    check_nonnegative_float(adv_weight, "adv_weight")
    check_nonnegative_float(perceptual_weight, "perceptual_weight")
    if features is not None and not callable(features):
        raise TypeError(f"features must be callable, got {type(features).__name__}")
    _check_optimizers(netG, opt_g, netD, opt_d)
    out: dict[str, float] = {}
    fake = netG(nn.functional.interpolate(low, size=high.shape[2:], mode="nearest"))
    fake_logits = None
    if netD is not None:
        out["loss_d"] = _d_step(netD, opt_d, high, fake)
        fake_logits = netD(fake)
    loss_g = srgan_generator_loss(fake, high, fake_logits, features, adv_weight, perceptual_weight)
    out["loss_g"] = _descend(opt_g, loss_g)
    out["mse"] = (fake - high).pow(2).mean().item()
    return out


def cyclegan_training_step(
    netG: nn.Module,
    netF: nn.Module,
    netD_x: nn.Module,
    netD_y: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    cycle_weight: float = 10.0,
    identity_weight: float = 0.0,
) -> dict[str, float]:
    """One CycleGAN iteration: a step for both discriminators, then one for both generators.

    Generators' loss: adversarial(G, D_Y) + adversarial(F, D_X) + cycle_weight * cycle
    + identity_weight * identity. ``opt_g`` holds the parameters of G and F, ``opt_d``
    those of D_X and D_Y (unconditional PatchGANs with one input channel).

    Args:
        netG: X -> Y; netF: Y -> X; netD_x, netD_y: the discriminators of each domain.
        opt_g, opt_d: the optimizers.
        x: ``(B, 1, 28, 28)`` a batch of X; y: ``(B', 1, 28, 28)`` an unrelated batch of Y.
        cycle_weight: lambda of the cycle loss, >= 0 (the paper's 10).
        identity_weight: weight of the identity loss, >= 0 (0: off).

    Returns:
        ``{"loss_d", "loss_g", "cycle"}``.

    Raises:
        TypeError, ValueError: on bad batches (or batches on different devices) or weights,
            checked before any optimizer step.

    References:
        Zhu et al. (2017), eq. (3) (with cross-entropy instead of least squares).
    """
    check_same_device(x=x, y=y)
    check_images(x, "x")
    check_images(y, "y")
    cycle_weight = check_nonnegative_float(cycle_weight, "cycle_weight")
    identity_weight = check_nonnegative_float(identity_weight, "identity_weight")
    _check_optimizers(netG, opt_g, netD_y, opt_d)
    for net, name in ((netF, "netF"), (netD_x, "netD_x"), (netD_y, "netD_y")):
        _check_map(net, name)
    fake_y, fake_x = netG(x), netF(y)
    loss_d = patch_discriminator_loss(netD_y(y), netD_y(fake_y.detach())) + patch_discriminator_loss(
        netD_x(x), netD_x(fake_x.detach())
    )
    out = {"loss_d": _descend(opt_d, loss_d)}
    adv = generator_loss(netD_y(fake_y).reshape(-1)) + generator_loss(netD_x(fake_x).reshape(-1))
    cycle = (netF(fake_y) - x).abs().mean() + (netG(fake_x) - y).abs().mean()
    loss_g = adv + cycle_weight * cycle
    if identity_weight > 0:
        loss_g = loss_g + identity_weight * identity_loss(x, y, netG, netF)
    out["loss_g"] = _descend(opt_g, loss_g)
    return out | {"cycle": cycle.item()}


# ----------------------------------------------------------------------------- tasks


def erase_lower_half(images: torch.Tensor) -> torch.Tensor:
    """The paired inpainting task's source: a copy of the images with the lower half (rows H/2..H) set to 0.

    Args:
        images: ``(N, C, H, W)``.

    Returns:
        ``(N, C, H, W)``; the target is ``images`` itself.

    Raises:
        TypeError, ValueError: on a bad image batch.
    """
    check_images(images, "images")
    out = images.clone()
    out[:, :, images.shape[2] // 2 :, :] = 0.0
    return out


def average_pool(images: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """The super-resolution task's source: average-pool by ``factor`` (28x28 -> 7x7 for 4).

    Args:
        images: ``(N, C, H, W)`` with H and W divisible by ``factor``.
        factor: the downscaling factor, positive.

    Returns:
        ``(N, C, H / factor, W / factor)``, each pixel the mean of a ``factor x factor`` block.

    Raises:
        TypeError, ValueError: on a bad batch, a bad factor or sizes not divisible by it.

    References:
        Ledig et al. (2017), section 2 (low-resolution inputs: a Gaussian filter, then downsampling by r;
        here a plain average).
    """
    check_images(images, "images")
    check_positive_int(factor, "factor")
    if images.shape[2] % factor or images.shape[3] % factor:
        raise ValueError(f"images' height and width must be divisible by factor={factor}, got {tuple(images.shape[2:])}")
    return nn.functional.avg_pool2d(images, factor)


def dilate(images: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Grey-scale morphological dilation with a ``size x size`` square: each pixel becomes its neighbourhood's maximum.

    Thickens the strokes of a digit: the second domain of the unpaired task.

    Args:
        images: ``(N, C, H, W)``.
        size: the side of the structuring element, an odd positive int.

    Returns:
        ``(N, C, H, W)``, pointwise >= ``images``.

    Raises:
        TypeError, ValueError: on a bad batch or an even / non-positive ``size``.

    References:
        Serra (1982), *Image analysis and mathematical morphology* (dilation).
    """
    check_images(images, "images")
    check_positive_int(size, "size")
    if size % 2 == 0:
        raise ValueError(f"size must be odd, got {size}")
    return nn.functional.max_pool2d(images, size, stride=1, padding=size // 2)


def split_unpaired(
    images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Build the unpaired task: domain X = plain digits, domain Y = dilated digits, from DISJOINT halves.

    The images are shuffled with ``generator`` and split in two halves; the first half is
    domain X as it is, the second half is dilated (:func:`dilate`) to make domain Y. No
    image appears in both, so no (x, y) pair of the same drawing exists.

    Args:
        images: ``(N, 1, H, W)`` in [0, 1], N >= 2.
        labels: ``(N,)`` integer labels (kept only to measure label preservation).
        generator: a ``torch.Generator`` for the shuffle, or None.

    Returns:
        ``x, x_labels, y, y_labels``: ``(N // 2, 1, H, W)``, ``(N // 2,)`` and the same for Y.

    Raises:
        TypeError, ValueError: on a bad batch, mismatched lengths or N < 2.

    References:
        Zhu et al. (2017), section 1 (unpaired training data).
    """
    check_images(images, "images")
    check_tensor(labels, "labels", ndim=1, floating=False)
    if len(labels) != len(images):
        raise ValueError(f"labels must have one entry per image, got {len(labels)} for {len(images)} images")
    if len(images) < 2:
        raise ValueError(f"images must hold at least 2 images, got {len(images)}")
    perm = rng.randperm(len(images), generator, device=images.device)
    half = len(images) // 2
    a, b = perm[:half], perm[half : 2 * half]
    return images[a], labels[a], dilate(images[b]), labels[b]


# ----------------------------------------------------------------------------- measures


def psnr(output: torch.Tensor, target: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, in dB: 10 log10(max^2 / MSE).

    Args:
        output, target: the same shape ``(N, ...)``.
        max_value: the largest possible pixel value, positive.

    Returns:
        ``(N,)`` in dB (inf for a perfect image).

    Raises:
        TypeError, ValueError: on bad tensors, mismatched shapes or a bad ``max_value``.

    References:
        Ledig et al. (2017), section 3 (PSNR in dB).
    """
    _pair(output, target, ("output", "target"))
    max_value = check_positive_float(max_value, "max_value")
    mse = (output - target).pow(2).reshape(len(output), -1).mean(dim=1)
    return 10 * torch.log10(max_value**2 / mse)


def mean_gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """Sharpness of each image: the mean length of its finite-difference gradient.

    ``|grad I| = sqrt(dx^2 + dy^2)`` with forward differences, on the (H - 1) x (W - 1) grid.
    Blurry images have small gradients spread out; sharp strokes have large ones.

    Args:
        images: ``(N, C, H, W)`` with H, W >= 2.

    Returns:
        ``(N,)``, in intensity units per pixel.

    Raises:
        TypeError, ValueError: on a bad batch, or images smaller than 2 x 2 (no finite difference).
    """
    check_images(images, "images")
    if images.shape[2] < 2 or images.shape[3] < 2:
        raise ValueError(f"images must be at least 2 x 2 pixels for a finite difference, got shape {tuple(images.shape)}")
    dx = images[:, :, :-1, 1:] - images[:, :, :-1, :-1]
    dy = images[:, :, 1:, :-1] - images[:, :, :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().reshape(len(images), -1).mean(dim=1)


def near_binary_share(images: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Sharpness of each image: among its ink pixels (value > ``threshold``), the share that is saturated (> 1 - ``threshold``).

    Real MNIST strokes are mostly saturated; a blurry image has many grey ink pixels.

    Args:
        images: ``(N, C, H, W)`` in [0, 1].
        threshold: in (0, 0.5): below it a pixel is background, above 1 - threshold it is saturated ink.

    Returns:
        ``(N,)`` in [0, 1] (0 for an image with no ink pixel).

    Raises:
        TypeError, ValueError: on a bad batch or a threshold outside (0, 0.5).
    """
    check_images(images, "images", value_range=(0.0, 1.0))
    threshold = check_positive_float(threshold, "threshold")
    if threshold >= 0.5:
        raise ValueError(f"threshold must lie in (0, 0.5), got {threshold}")
    ink = images > threshold
    saturated = images > 1 - threshold
    n_ink = ink.reshape(len(images), -1).sum(dim=1)
    return saturated.reshape(len(images), -1).sum(dim=1) / n_ink.clamp(min=1)
