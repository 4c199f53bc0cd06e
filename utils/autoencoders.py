"""Autoencoders: encoder, code, decoder, trained to reconstruct their input.

An encoder f maps an image x to a short code c = f(x); a decoder g maps the
code back, x_hat = g(c); both are trained to make x_hat close to x. With a
Gaussian likelihood x ~ N(g(c), sigma^2 I), maximizing the log-likelihood is
minimizing the squared error (the NTHU lecture, slide 'Autoencoders (AE)'). With identity
activations and that squared error the autoencoder finds the PCA subspace
(the GWU lecture, slide 'The Architecture of Autoencoder'); non-linear and convolutional
encoders reconstruct better (the AE/VAE/GAN lecture, slide 'Autoencoders').

Builders (each returns an ``nn.Module``; images are ``(N, 1, 28, 28)`` in [0, 1]):

* :func:`linear_encoder`, :func:`linear_decoder`: one affine map each, no activation.
* :func:`mlp_encoder`, :func:`mlp_decoder`: multilayer perceptrons (ReLU), sigmoid output.
* :func:`conv_encoder`, :func:`conv_decoder`: strided convolutions down, transposed
  convolutions up, sigmoid output.

Then :class:`Autoencoder` glues an encoder and a decoder, :func:`train_autoencoder`
trains it (plain or denoising) and :func:`reconstruction_error` measures it.
:func:`code_jacobian`, :func:`tangent_vectors` and :func:`contractive_penalty`
look at how the code moves with the input (the NTHU lecture, slides 'Getting Tangent Vectors').
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn
from torch.func import jacrev, vmap

from utils import rng
from utils.training import minibatches, mlp, train
from utils.validation import check_choice, check_nonnegative_float, check_positive_float, check_positive_int, check_tensor

__all__ = [
    "linear_encoder",
    "linear_decoder",
    "mlp_encoder",
    "mlp_decoder",
    "conv_encoder",
    "conv_decoder",
    "Autoencoder",
    "add_noise",
    "train_autoencoder",
    "reconstruction_error",
    "code_jacobian",
    "TangentVectors",
    "tangent_vectors",
    "contractive_penalty",
]

MNIST_SHAPE = (1, 28, 28)
LEAK = 0.2  # leaky-ReLU slope in the convolutional builders: with plain ReLU a short, fast
#             run sometimes kills every unit of the 2-code decoder and outputs a constant image


# ----------------------------------------------------------------------------- checks


def _check_shape(shape: Sequence[int], name: str) -> tuple[int, ...]:
    """A non-empty tuple of positive ints (TypeError for a non-int entry, ValueError for a bad value)."""
    shape = tuple(shape)
    if not shape:
        raise ValueError(f"{name} must be a non-empty tuple of positive ints, got {shape}")
    return tuple(check_positive_int(s, f"{name}[{i}]") for i, s in enumerate(shape))


def _check_hidden(hidden: Sequence[int], name: str = "hidden") -> tuple[int, ...]:
    """A (possibly empty) tuple of positive ints."""
    return tuple(check_positive_int(h, f"{name}[{i}]") for i, h in enumerate(tuple(hidden)))


def _model_device(model: nn.Module, fallback: torch.Tensor) -> torch.device:
    """The device of the model's first parameter (the data's device for a parameter-free model)."""
    first = next(iter(model.parameters()), None)
    return fallback.device if first is None else first.device


def _check_batch(x: object, name: str) -> torch.Tensor:
    """A non-empty finite floating-point batch ``(N, ...)`` of any trailing shape."""
    return check_tensor(x, name, min_ndim=2)


# ----------------------------------------------------------------------------- builders


def linear_encoder(code_dim: int, in_shape: Sequence[int] = MNIST_SHAPE) -> nn.Module:
    """An affine encoder c = W_e x + b_e with no activation (the AE = PCA case).

    Args:
        code_dim: k, the code size.
        in_shape: the shape of one input, e.g. ``(1, 28, 28)``.

    Returns:
        A module mapping ``(N, *in_shape)`` -> ``(N, k)``; its ``[1]`` is the ``nn.Linear``.

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim`` or a bad ``in_shape``.

    References:
        the GWU lecture, slide 'The Architecture of Autoencoder' (identity activations and MSE give PCA);
        Baldi and Hornik (1989), *Neural networks and principal component analysis*.
    """
    k = check_positive_int(code_dim, "code_dim")
    d = math.prod(_check_shape(in_shape, "in_shape"))
    return nn.Sequential(nn.Flatten(), nn.Linear(d, k))


def linear_decoder(code_dim: int, out_shape: Sequence[int] = MNIST_SHAPE) -> nn.Module:
    """An affine decoder x_hat = W_d c + b_d with no activation (the AE = PCA case).

    Its weight ``model[0].weight`` is ``(d, k)``: its columns span the decoded subspace.

    Args:
        code_dim: k, the code size.
        out_shape: the shape of one output, e.g. ``(1, 28, 28)``.

    Returns:
        A module mapping ``(N, k)`` -> ``(N, *out_shape)``.

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim`` or a bad ``out_shape``.
    """
    k = check_positive_int(code_dim, "code_dim")
    out_shape = _check_shape(out_shape, "out_shape")
    return nn.Sequential(nn.Linear(k, math.prod(out_shape)), nn.Unflatten(1, out_shape))


def mlp_encoder(code_dim: int, hidden: Sequence[int] = (512, 256), in_shape: Sequence[int] = MNIST_SHAPE) -> nn.Module:
    """A multilayer-perceptron encoder: flatten, ``hidden`` ReLU layers, then a linear code.

    Args:
        code_dim: k, the code size.
        hidden: widths of the hidden layers, first to last (may be empty).
        in_shape: the shape of one input, e.g. ``(1, 28, 28)``.

    Returns:
        A module mapping ``(N, *in_shape)`` -> ``(N, k)``.

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim`` or bad ``hidden`` / ``in_shape``.

    References:
        the GWU lecture, slide 'The Architecture of Stacked Autoencoder'; Hinton and Salakhutdinov (2006).
    """
    k = check_positive_int(code_dim, "code_dim")
    d = math.prod(_check_shape(in_shape, "in_shape"))
    return nn.Sequential(nn.Flatten(), mlp([d, *_check_hidden(hidden), k]))


def mlp_decoder(code_dim: int, hidden: Sequence[int] = (256, 512), out_shape: Sequence[int] = MNIST_SHAPE) -> nn.Module:
    """A multilayer-perceptron decoder: ``hidden`` ReLU layers, a sigmoid output, reshaped to images.

    Args:
        code_dim: k, the code size.
        hidden: widths of the hidden layers, first to last (may be empty).
        out_shape: the shape of one output, e.g. ``(1, 28, 28)``.

    Returns:
        A module mapping ``(N, k)`` -> ``(N, *out_shape)`` with values in (0, 1).

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim`` or bad ``hidden`` / ``out_shape``.
    """
    k = check_positive_int(code_dim, "code_dim")
    out_shape = _check_shape(out_shape, "out_shape")
    net = mlp([k, *_check_hidden(hidden), math.prod(out_shape)], out_activation=nn.Sigmoid())
    return nn.Sequential(net, nn.Unflatten(1, out_shape))


def conv_encoder(code_dim: int, channels: Sequence[int] = (16, 32)) -> nn.Module:
    """A convolutional encoder for 28x28 grey images: two stride-2 3x3 convolutions, then a linear code.

    28x28 -> 14x14 (``channels[0]``) -> 7x7 (``channels[1]``) -> k, with leaky ReLUs (slope 0.2).

    Args:
        code_dim: k, the code size.
        channels: the two convolutions' output channels.

    Returns:
        A module mapping ``(N, 1, 28, 28)`` -> ``(N, k)``.

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim`` or ``channels`` not two positive ints.

    References:
        the NTHU lecture, slide 'Convolutional Autoencoders' (convolution down, deconvolution / upsampling up).
    """
    k = check_positive_int(code_dim, "code_dim")
    c1, c2 = _check_two_channels(channels)
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, stride=2, padding=1),  # 28 -> 14
        nn.LeakyReLU(LEAK),
        nn.Conv2d(c1, c2, 3, stride=2, padding=1),  # 14 -> 7
        nn.LeakyReLU(LEAK),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, k),
    )


def conv_decoder(code_dim: int, channels: Sequence[int] = (32, 16), mean_pixel: float = 0.13) -> nn.Module:
    """A convolutional decoder mirroring :func:`conv_encoder`: linear, then two stride-2 transposed convolutions.

    k -> 7x7 (``channels[0]``) -> 14x14 (``channels[1]``) -> 28x28 (1 channel, sigmoid), with
    leaky ReLUs (slope 0.2) in between.

    Args:
        code_dim: k, the code size.
        channels: the channels at 7x7 and at 14x14.
        mean_pixel: the data's mean intensity in (0, 1) (MNIST: 0.13); the last layer's bias starts
            at its logit, so the untrained decoder outputs about the background, not 0.5 everywhere.
            From a bias of 0, the first Adam steps push every output logit down together (most
            pixels are 0) and can overshoot into a saturated sigmoid: every output ~ 0, zero
            gradient, a loss stuck at E[x^2] ~ 0.11 (seen with k = 2, channels (64, 32), lr 2e-3).

    Returns:
        A module mapping ``(N, k)`` -> ``(N, 1, 28, 28)`` with values in (0, 1).

    Raises:
        TypeError, ValueError: on a non-positive ``code_dim``, ``channels`` not two positive ints,
            or ``mean_pixel`` outside (0, 1).
    """
    k = check_positive_int(code_dim, "code_dim")
    c1, c2 = _check_two_channels(channels)
    mean_pixel = check_positive_float(mean_pixel, "mean_pixel")
    if mean_pixel >= 1:
        raise ValueError(f"mean_pixel must lie in (0, 1), got {mean_pixel}")
    last = nn.ConvTranspose2d(c2, 1, 4, stride=2, padding=1)  # 14 -> 28
    with torch.no_grad():
        last.bias.fill_(math.log(mean_pixel / (1 - mean_pixel)))
    return nn.Sequential(
        nn.Linear(k, c1 * 7 * 7),
        nn.LeakyReLU(LEAK),
        nn.Unflatten(1, (c1, 7, 7)),
        nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1),  # 7 -> 14
        nn.LeakyReLU(LEAK),
        last,
        nn.Sigmoid(),
    )


def _check_two_channels(channels: Sequence[int]) -> tuple[int, int]:
    channels = tuple(channels)
    if len(channels) != 2:
        raise ValueError(f"channels must be two positive ints, got {channels}")
    return check_positive_int(channels[0], "channels[0]"), check_positive_int(channels[1], "channels[1]")


# ----------------------------------------------------------------------------- the model


class Autoencoder(nn.Module):
    """An encoder and a decoder: ``forward(x) = decode(encode(x))``.

    Args:
        encoder: maps ``(N, *shape)`` -> ``(N, k)``.
        decoder: maps ``(N, k)`` -> ``(N, *shape)``.

    Raises:
        TypeError: if either is not an ``nn.Module``.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError(
                f"encoder and decoder must be nn.Module, got {type(encoder).__name__} and {type(decoder).__name__}"
            )
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code c = f(x): ``(N, *shape)`` -> ``(N, k)``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The reconstruction g(z): ``(N, k)`` -> ``(N, *shape)``."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x_hat = g(f(x)), same shape as ``x``."""
        return self.decode(self.encode(x))


# ----------------------------------------------------------------------------- training


def add_noise(x: torch.Tensor, noise_std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The denoising autoencoder's corruption: x_tilde = x + noise_std * eps, eps ~ N(0, I).

    Args:
        x: a batch, any shape, floating point.
        noise_std: sigma >= 0, in the data's units (pixel intensities in [0, 1]).
        generator: a ``torch.Generator`` on any device, for reproducible noise (None: torch's global one);
            the noise is drawn on its device and moved to ``x``'s.

    Returns:
        The noisy batch, same shape, device and dtype as ``x`` (not clipped).

    Raises:
        TypeError: if ``x`` is not a floating-point tensor.
        ValueError: if ``noise_std`` is negative or not finite.

    References:
        Vincent et al. (2008), *Extracting and composing robust features with denoising autoencoders*;
        the NTHU lecture, slide 'Learning Manifolds II'.
    """
    check_tensor(x, "x", non_empty=False)
    noise_std = check_nonnegative_float(noise_std, "noise_std")
    if noise_std == 0:
        return x
    eps = rng.randn(x.shape, generator, device=x.device, dtype=x.dtype)
    return x + noise_std * eps


def train_autoencoder(
    model: nn.Module,
    x_train: torch.Tensor,
    n_steps: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    noise_std: float = 0.0,
    generator: torch.Generator | None = None,
    desc: str = "autoencoder",
    schedule: str = "constant",
) -> dict[str, list[float]]:
    """Train an autoencoder with Adam on the mean squared error (per pixel), with a progress bar.

    With ``noise_std > 0`` it is a denoising autoencoder: the input is
    :func:`add_noise` of the batch, the target is the clean batch.

    Args:
        model: maps a batch to a batch of the same shape (e.g. :class:`Autoencoder`),
            already on its device; the batches are moved there.
        x_train: ``(N, ...)`` training data, floating point, finite.
        n_steps: Adam steps, positive (take it from ``by_profile``).
        batch_size: examples per step, in 1..N.
        lr: Adam's learning rate, positive.
        noise_std: the denoising corruption's standard deviation, >= 0.
        generator: a ``torch.Generator`` on any device, for the shuffles and the noise.
        desc: the progress bar's label.
        schedule: ``"constant"`` learning rate, or ``"cosine"``: decay from ``lr`` to 0 over
            ``n_steps`` (less minibatch noise at the end of a short run).

    Returns:
        ``{"loss": [...]}``: the training MSE at each step.

    Raises:
        TypeError, ValueError: on bad data, sizes or rates (named in the message).
        FloatingPointError: if the loss becomes NaN or inf.

    References:
        the NTHU lecture, slide 'Autoencoders (AE)': max log-likelihood under x ~ N(mu, sigma^2 I) = min squared error.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    _check_batch(x_train, "x_train")
    check_positive_int(n_steps, "n_steps")
    check_positive_int(batch_size, "batch_size")
    if batch_size > len(x_train):
        raise ValueError(f"batch_size must be at most len(x_train) = {len(x_train)}, got {batch_size}")
    check_positive_float(lr, "lr")
    check_nonnegative_float(noise_std, "noise_std")
    check_choice(schedule, "schedule", ("constant", "cosine"))
    if next(iter(model.parameters()), None) is None:
        raise ValueError("model has no parameters to train")
    device = _model_device(model, x_train)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps) if schedule == "cosine" else None
    model.train()

    def step(batch: torch.Tensor) -> dict[str, float]:
        noisy = add_noise(batch, noise_std, generator)
        loss = torch.mean((model(noisy) - batch) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return {"loss": loss.item()}

    history = train(step, minibatches(x_train, batch_size=batch_size, generator=generator, device=device), n_steps, desc=desc)
    model.eval()
    return history


@torch.no_grad()
def reconstruction_error(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error per pixel, mean over images and pixels of (x_hat - x)^2.

    Args:
        model: maps a batch to a batch of the same shape.
        x: ``(N, ...)`` data, floating point, finite.
        batch_size: images per forward pass (memory only; the result does not depend on it
            beyond floating-point rounding).

    Returns:
        The MSE as a Python float (units: squared pixel intensity).

    Raises:
        TypeError, ValueError: on bad data or ``batch_size``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    _check_batch(x, "x")
    check_positive_int(batch_size, "batch_size")
    device = _model_device(model, x)
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        out = model(xb)
        if out.shape != xb.shape:
            raise ValueError(f"model output has shape {tuple(out.shape)}, expected the input's {tuple(xb.shape)}")
        total += torch.sum((out - xb) ** 2).item()
    model.train(was_training)
    return total / x.numel()


# ----------------------------------------------------------------------------- tangent vectors


class TangentVectors(NamedTuple):
    """The result of :func:`tangent_vectors`.

    Attributes:
        vectors: ``(n_vectors, *shape)``, the top right-singular vectors of J(x) (columns of V,
            i.e. rows of V^T), orthonormal when flattened.
        singular_values: ``(min(k, d),)``, all singular values of J(x), decreasing.
    """

    vectors: torch.Tensor
    singular_values: torch.Tensor


def code_jacobian(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The Jacobian J(x) = dc/dx of the code with respect to one input, flattened.

    Args:
        encoder: maps ``(N, *shape)`` -> ``(N, k)``.
        x: one input, ``(*shape)`` (no batch dimension), floating point.

    Returns:
        ``(k, d)`` with d = prod(shape): row i is the gradient of code unit i.

    Raises:
        TypeError, ValueError: if ``x`` is not a finite floating-point tensor.

    References:
        the NTHU lecture, slide 'Getting Tangent Vectors II'.
    """
    _check_batch(x[None], "x")
    shape = x.shape

    def code_of_flat(v: torch.Tensor) -> torch.Tensor:
        return encoder(v.reshape(1, *shape))[0]

    return jacrev(code_of_flat)(x.reshape(-1))


def tangent_vectors(encoder: nn.Module, x: torch.Tensor, n_vectors: int) -> TangentVectors:
    """Directions of input space that change the code most: the top right-singular vectors of J(x).

    With J(x) = U D V^T, the tangent vectors are the columns of V (the rows of V^T) for the
    largest singular values (the slide says "rows of V": see the chapter's erratum).

    Args:
        encoder: maps ``(N, *shape)`` -> ``(N, k)``.
        x: one input, ``(*shape)``.
        n_vectors: how many, 1 <= n_vectors <= min(k, d).

    Returns:
        A :class:`TangentVectors` ``(vectors, singular_values)``:
        vectors ``(n_vectors, *shape)``, orthonormal when flattened;
        singular_values ``(min(k, d),)``, all of D, decreasing.
        Both are detached from the autograd graph (use :func:`code_jacobian` to differentiate).

    Raises:
        ValueError: if ``n_vectors`` is out of range.

    References:
        the NTHU lecture, slide 'Getting Tangent Vectors II-III'; Rifai et al. (2011), *The manifold tangent classifier*.
    """
    J = code_jacobian(encoder, x)
    check_positive_int(n_vectors, "n_vectors")
    if n_vectors > min(J.shape):
        raise ValueError(f"n_vectors must be at most min(k, d) = {min(J.shape)}, got {n_vectors}")
    _, s, Vh = torch.linalg.svd(J.detach(), full_matrices=False)
    return TangentVectors(Vh[:n_vectors].reshape(n_vectors, *x.shape), s)


def contractive_penalty(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The contractive autoencoder's penalty: mean over the batch of ||dc/dx||_F^2, computed exactly.

    Args:
        encoder: maps ``(N, *shape)`` -> ``(N, k)``; it must treat examples independently
            (no batch normalization), since the Jacobians are taken per example with ``vmap``.
        x: ``(N, *shape)``, floating point.

    Returns:
        A scalar tensor (differentiable with respect to the encoder's parameters).

    Raises:
        TypeError, ValueError: if ``x`` is not a non-empty finite floating-point batch.

    References:
        Rifai et al. (2011), *Contractive auto-encoders: explicit invariance during feature extraction*;
        Goodfellow, Bengio and Courville (2016), *Deep Learning*, section 14.7; the NTHU lecture, slide 'Learning Manifolds I'.
    """
    _check_batch(x, "x")
    shape = x.shape[1:]

    def code_of_flat(v: torch.Tensor) -> torch.Tensor:
        return encoder(v.reshape(1, *shape))[0]

    J = vmap(jacrev(code_of_flat))(x.reshape(len(x), -1))  # (N, k, d)
    return J.pow(2).sum(dim=(1, 2)).mean()
