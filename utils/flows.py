"""Normalizing flows: invertible layers with cheap log-determinants, stacked into an exact density.

A flow maps data x to a code z = f(x) with an invertible f and a standard-normal base
density, so the change of variables gives the exact log-likelihood

    log p(x) = log N(f(x); 0, I) + log |det J_f(x)|

(the NTHU lecture, "Flow-based Models": the first term pulls every x towards 0, the second
keeps the volume from collapsing). Every layer here has

* ``forward(x) -> (z, log_det)``: the layer's output and log |det dz/dx| per example, in nats;
* ``inverse(z) -> x``: the exact inverse,

and a Jacobian whose determinant costs O(d), not the O(d^3) of a dense one:

* :class:`AdditiveCoupling` (NICE, Dinh et al. 2015, eq. 5-6): log-det 0;
* :class:`AffineCoupling` (RealNVP, Dinh et al. 2017, eq. 6-7): log-det = sum of log-scales;
* :class:`ActNorm` (Glow, Kingma and Dhariwal 2018, table 1): a per-channel affine map,
  initialized from the first batch so its output has zero mean and unit variance;
* :class:`InvertibleConv1x1` (Glow, section 3.2; the NTHU lecture, "Glow"): a learned
  channel-mixing matrix W with log-det H * W * log |det W|, plain or LU-parameterized
  (W = P L (U + diag(s)), so the log-det is sum log |s| and W is invertible by construction);
* :class:`ConvAffineCoupling`: RealNVP's affine coupling for images, half of the channels
  conditioning a scale and shift of the other half through a small convolutional network;
* :class:`Permute` and :class:`Squeeze` (log-det 0).

For images of integers, :func:`dequantize` adds uniform noise (a density on [0, 1]^D) and
:func:`logit_transform` maps [0, 1] to the real line, each with its log-det, so that
:func:`bits_per_dim` reports the discrete data's negative log-likelihood;
:func:`discrete_bits_per_dim` does the three steps for a flow on images, and
:func:`inverse_logit_transform` turns its samples back into grey levels.

:class:`Flow` stacks them and gives ``log_prob`` and ``sample``. Inputs are ``(N, d)``
vectors for the vector layers and ``(N, C, H, W)`` images for ActNorm and the 1x1 convolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from utils import rng
from utils.training import mlp
from utils.validation import (
    check_finite_float,
    check_images,
    check_in_range,
    check_module_input,
    check_positive_int,
    check_tensor,
)

__all__ = [
    "AdditiveCoupling",
    "AffineCoupling",
    "ActNorm",
    "InvertibleConv1x1",
    "Permute",
    "Squeeze",
    "ConvAffineCoupling",
    "Flow",
    "glow_mnist",
    "dequantize",
    "logit_transform",
    "inverse_logit_transform",
    "discrete_bits_per_dim",
    "standard_normal_log_prob",
    "bits_per_dim",
]

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over every dimension but the first: ``(N, ...)`` -> ``(N,)``, in nats.

    Raises:
        TypeError: if ``z`` is not a floating-point tensor.
        ValueError: if it has fewer than 2 dimensions (one example per row), is empty or holds NaN/inf.
    """
    check_tensor(z, "z", min_ndim=2)
    return -0.5 * (z.pow(2) + LOG_2PI).flatten(1).sum(dim=1)


def bits_per_dim(nll_nats: torch.Tensor | float, n_dims: int) -> torch.Tensor:
    """Convert a negative log-likelihood per example in nats to bits per dimension: nll / (D ln 2).

    Args:
        nll_nats: the NLL of one example (or a tensor of them), in nats.
        n_dims: D, the number of dimensions of one example (784 for MNIST).

    Returns:
        The same shape, in bits per dimension.

    Raises:
        TypeError: if ``nll_nats`` is not a real number or a tensor, or ``n_dims`` is not an int.
        ValueError: if ``nll_nats`` holds NaN or inf, or ``n_dims`` is not positive.
    """
    if isinstance(nll_nats, torch.Tensor):
        check_tensor(nll_nats, "nll_nats", floating=False, non_empty=False)
    else:
        check_finite_float(nll_nats, "nll_nats")
    check_positive_int(n_dims, "n_dims")
    return torch.as_tensor(nll_nats) / (n_dims * math.log(2.0))


def dequantize(x: torch.Tensor, generator: torch.Generator | None = None, levels: int = 256) -> torch.Tensor:
    """Uniform dequantization: y = (k + u) / levels for pixel values x = k / (levels - 1), u ~ U[0, 1).

    A continuous density on y in [0, 1)^D gives the discrete x a probability of at least
    exp(E_u log p(y)) / levels^D (Theis et al. 2016, section 3.1): so the discrete NLL in nats is
    at most the continuous one plus D log(levels), the correction inside :func:`bits_per_dim`'s usual use.

    Args:
        x: images ``(N, ...)`` with values k / (levels - 1), k in 0..levels-1 (e.g. MNIST in [0, 1]).
        generator: for u.
        levels: the number of pixel values, at least 2.

    Returns:
        y, the shape of ``x``, in [0, 1).

    Raises:
        TypeError, ValueError: for a bad tensor, values outside [0, 1] or a bad ``levels``.

    References:
        Dinh et al. (2017), section 4.1; Theis, van den Oord and Bethge (2016), section 3.1.
    """
    check_tensor(x, "x", min_ndim=1)
    check_positive_int(levels, "levels")
    if levels < 2:
        raise ValueError(f"levels must be at least 2, got {levels}")
    if bool((x < 0).any()) or bool((x > 1).any()):
        raise ValueError("x must lie in [0, 1]")
    k = torch.round(x * (levels - 1))
    return (k + rng.rand(x.shape, generator, device=x.device, dtype=x.dtype)) / levels


def _check_alpha(alpha: float) -> float:
    return check_in_range(alpha, "alpha", 0.0, 0.5)


def logit_transform(y: torch.Tensor, alpha: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Map [0, 1] to the real line: z = logit(alpha + (1 - 2 alpha) y), with its log-det.

    The squeeze into [alpha, 1 - alpha] keeps z finite at y = 0 or 1 (for alpha > 0). Per
    dimension, dz/dy = (1 - 2 alpha) / (y' (1 - y')) with y' = alpha + (1 - 2 alpha) y.

    Args:
        y: ``(N, ...)`` in [0, 1], at least 2-D (one example per row); in (0, 1) if alpha = 0.
        alpha: in [0, 0.5).

    Returns:
        (z of the shape of ``y``, log |det dz/dy| ``(N,)`` in nats).

    Raises:
        TypeError: if ``y`` is not a floating-point tensor or ``alpha`` not a number.
        ValueError: for a 1-D, empty or non-finite ``y``, values outside [0, 1] (0 or 1 with
            alpha = 0, which would map to -inf or inf), or ``alpha`` outside [0, 0.5).

    References:
        Dinh et al. (2017), section 4.1 (alpha = 0.05).
    """
    check_tensor(y, "y", min_ndim=2)
    _check_alpha(alpha)
    if bool((y < 0).any()) or bool((y > 1).any()):
        raise ValueError("y must lie in [0, 1]")
    if alpha == 0 and (bool((y == 0).any()) or bool((y == 1).any())):
        raise ValueError("y must lie in (0, 1) when alpha = 0: y = 0 or 1 maps to -inf or inf (use alpha > 0)")
    y = alpha + (1 - 2 * alpha) * y
    z = torch.log(y) - torch.log1p(-y)
    log_det = (math.log(1 - 2 * alpha) - torch.log(y) - torch.log1p(-y)).flatten(1).sum(1)
    return z, log_det


def _check_vectors(x: torch.Tensor, d: int, name: str, layer: nn.Module) -> None:
    check_module_input(x, name, layer)
    check_tensor(x, name, ndim=2)
    if x.shape[1] != d:
        raise ValueError(f"{name} must have shape (N, {d}), got {tuple(x.shape)}")


def _check_mask(mask: Sequence[int] | torch.Tensor) -> torch.Tensor:
    mask = torch.as_tensor(mask, dtype=torch.float32)
    if mask.ndim != 1 or len(mask) < 2 or not torch.all((mask == 0) | (mask == 1)):
        raise ValueError(f"mask must be a 1-D 0/1 vector of length >= 2, got {mask.tolist()}")
    if mask.sum() == 0 or mask.sum() == len(mask):
        raise ValueError("mask must keep some coordinates fixed (1) and transform others (0)")
    return mask


class AdditiveCoupling(nn.Module):
    """NICE's additive coupling: z = x_a + mask-complement * t(x_a), with x_a = mask * x.

    The coordinates where ``mask`` is 1 pass unchanged and condition a shift t of the others:
    the Jacobian is triangular with ones on its diagonal, so log |det J| = 0 (volume-preserving).

    Args:
        mask: ``(d,)`` of 0 and 1, both present.
        hidden: widths of the shift network's hidden layers.

    Raises:
        ValueError: for a mask that is not a 0/1 vector with both values; in forward/inverse, for
            an input that is not ``(N, d)``, holds NaN/inf or is on another device than the layer.
        TypeError: in forward/inverse, for an input of another dtype than the layer's parameters.

    References:
        Dinh, Krueger and Bengio (2015), *NICE*, eq. (5)-(6).
    """

    def __init__(self, mask: Sequence[int] | torch.Tensor, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.register_buffer("mask", _check_mask(mask))
        d = len(self.mask)
        self.shift = mlp([d, *hidden, d])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, d)`` -> (z ``(N, d)``, log_det ``(N,)`` of zeros)."""
        _check_vectors(x, len(self.mask), "x", self)
        z = x + (1 - self.mask) * self.shift(self.mask * x)
        return z, torch.zeros(len(x), dtype=x.dtype, device=x.device)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, d)`` -> x ``(N, d)``: subtract the same shift (it sees only unchanged coordinates)."""
        _check_vectors(z, len(self.mask), "z", self)
        return z - (1 - self.mask) * self.shift(self.mask * z)


class AffineCoupling(nn.Module):
    """RealNVP's affine coupling: z = x_a + (1 - mask) * (x * exp(s(x_a)) + t(x_a)).

    The masked coordinates x_a = mask * x pass unchanged; the others are scaled by exp(s) and
    shifted by t, both functions of x_a only. The Jacobian is triangular, its diagonal is
    exp(s) on the transformed coordinates, so log |det J| = sum of s over them. The log-scale
    is bounded with tanh (times a learned factor) to keep early training stable.

    Args:
        mask: ``(d,)`` of 0 and 1, both present.
        hidden: widths of the scale-and-shift network's hidden layers.

    Raises:
        ValueError: for a mask that is not a 0/1 vector with both values; in forward/inverse, for
            an input that is not ``(N, d)``, holds NaN/inf or is on another device than the layer.
        TypeError: in forward/inverse, for an input of another dtype than the layer's parameters.

    References:
        Dinh, Sohl-Dickstein and Bengio (2017), *Density estimation using Real NVP*, eq. (6)-(9).
    """

    def __init__(self, mask: Sequence[int] | torch.Tensor, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.register_buffer("mask", _check_mask(mask))
        d = len(self.mask)
        self.net = mlp([d, *hidden, 2 * d])
        self.scale = nn.Parameter(torch.zeros(d))

    def _s_t(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(x_a).chunk(2, dim=1)
        keep = 1 - self.mask
        return keep * self.scale.exp() * torch.tanh(s), keep * t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, d)`` -> (z ``(N, d)``, log_det ``(N,)``) in nats."""
        _check_vectors(x, len(self.mask), "x", self)
        s, t = self._s_t(self.mask * x)
        return x * s.exp() + t, s.sum(dim=1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, d)`` -> x ``(N, d)``: x = (z - t) * exp(-s), with s, t from the unchanged coordinates."""
        _check_vectors(z, len(self.mask), "z", self)
        s, t = self._s_t(self.mask * z)
        return (z - t) * (-s).exp()


class Permute(nn.Module):
    """A fixed permutation of the coordinates (log-det 0), so every coordinate gets transformed.

    Args:
        permutation: ``(d,)``, a permutation of 0..d-1.

    Raises:
        ValueError: if it is not a permutation.
    """

    def __init__(self, permutation: Sequence[int] | torch.Tensor) -> None:
        super().__init__()
        perm = torch.as_tensor(permutation, dtype=torch.int64)
        if perm.ndim != 1 or not torch.equal(perm.sort().values, torch.arange(len(perm))):
            raise ValueError(f"permutation must be a permutation of 0..d-1, got {perm.tolist()}")
        self.register_buffer("perm", perm)
        self.register_buffer("inv", torch.argsort(perm))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, d)`` -> (x[:, perm], zeros ``(N,)``)."""
        _check_vectors(x, len(self.perm), "x", self)
        return x[:, self.perm], torch.zeros(len(x), dtype=x.dtype, device=x.device)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, d)`` -> z[:, perm^-1]."""
        _check_vectors(z, len(self.perm), "z", self)
        return z[:, self.inv]


class ActNorm(nn.Module):
    """Glow's activation normalization: z = (x - b) * exp(logs), one (b, logs) per channel.

    On the first forward pass, b and logs are set from the batch so that each channel of z has
    zero mean and unit variance (data-dependent initialization); then they are ordinary
    parameters. Works on ``(N, C)`` vectors and ``(N, C, H, W)`` images; the log-det is
    (H * W) * sum(logs) per example (H * W = 1 for vectors).

    Args:
        n_channels: C.

    Raises:
        ValueError: in forward, if the first batch has fewer than 2 values per channel
            (N * H * W < 2: no standard deviation to initialize from), or for a bad input.

    References:
        Kingma and Dhariwal (2018), *Glow*, section 3.1 and table 1.
    """

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        check_positive_int(n_channels, "n_channels")
        self.bias = nn.Parameter(torch.zeros(n_channels))
        self.logs = nn.Parameter(torch.zeros(n_channels))
        self.register_buffer("initialized", torch.tensor(False))

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        check_tensor(x, "x", ndim=(2, 4))
        if x.shape[1] != len(self.bias):
            raise ValueError(f"x must have {len(self.bias)} channels in dimension 1, got shape {tuple(x.shape)}")
        return (1, -1) + (1,) * (x.ndim - 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C[, H, W])`` -> (z, log_det ``(N,)``)."""
        shape = self._shape(x)
        if not bool(self.initialized):
            if x.numel() // x.shape[1] < 2:
                raise ValueError(
                    f"x must hold at least 2 values per channel (N * H * W >= 2) for ActNorm's first, initializing batch, "
                    f"got shape {tuple(x.shape)}"
                )
            with torch.no_grad():
                dims = [0] + list(range(2, x.ndim))
                self.bias.copy_(x.mean(dim=dims))
                self.logs.copy_(-torch.log(x.std(dim=dims) + 1e-6))
                self.initialized.fill_(True)
        z = (x - self.bias.view(shape)) * self.logs.exp().view(shape)
        pixels = math.prod(x.shape[2:])
        return z, (pixels * self.logs.sum()).expand(len(x)).to(x.dtype)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, C[, H, W])`` -> x = z * exp(-logs) + b."""
        shape = self._shape(z)
        return z * (-self.logs).exp().view(shape) + self.bias.view(shape)


class InvertibleConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution: mix channels with a C x C matrix W at every pixel.

    log |det J| = H * W * log |det W| per example (the NTHU lecture, "Glow": det(W)^(H.W)).
    With ``lu=True``, W = P L (U + diag(s)) (P a fixed permutation, L unit lower triangular, U
    strictly upper triangular): log |det W| = sum log |s| costs O(C), and W stays invertible as
    long as no s_i is 0. Both start from a random rotation.

    Args:
        n_channels: C.
        lu: use the LU parameterization.
        generator: a ``torch.Generator`` for the random initial rotation.

    Raises:
        ValueError: in ``forward``/``inverse``, if W is singular (plain version), or for an input
            that is not ``(N, C, H, W)``, holds NaN/inf or is on another device than the layer.
        TypeError: in ``forward``/``inverse``, for an input of another dtype than the layer's parameters.

    References:
        Kingma and Dhariwal (2018), *Glow*, section 3.2 and eq. (10)-(11).
    """

    def __init__(self, n_channels: int, lu: bool = False, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_positive_int(n_channels, "n_channels")
        q, _ = torch.linalg.qr(rng.randn((n_channels, n_channels), generator, dtype=torch.float64))
        self.lu = bool(lu)
        if not self.lu:
            self.weight = nn.Parameter(q.float())
            return
        P, L, U = torch.linalg.lu(q)
        s = torch.diagonal(U)
        self.register_buffer("P", P.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(n_channels, n_channels), -1))
        self.L = nn.Parameter(L.float())
        self.U = nn.Parameter(torch.triu(U, 1).float())
        self.log_s = nn.Parameter(s.abs().log().float())

    def weight_matrix(self) -> torch.Tensor:
        """W, ``(C, C)``."""
        if not self.lu:
            return self.weight
        C = len(self.log_s)
        L = self.L * self.lower_mask + torch.eye(C, device=self.L.device, dtype=self.L.dtype)
        U = self.U * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.P @ L @ U

    def log_abs_det(self) -> torch.Tensor:
        """log |det W|, a 0-dim tensor: sum log |s| with LU, slogdet otherwise.

        Raises:
            ValueError: if W is singular.
        """
        if self.lu:
            return self.log_s.sum()
        sign, logabs = torch.linalg.slogdet(self.weight)
        if sign == 0 or not torch.isfinite(logabs):
            raise ValueError("the 1x1 convolution's W is singular: the layer is not invertible")
        return logabs

    def _check(self, x: torch.Tensor, name: str) -> None:
        check_module_input(x, name, self)
        check_tensor(x, name, ndim=4)
        C = self.weight_matrix().shape[0]
        if x.shape[1] != C:
            raise ValueError(f"{name} must have {C} channels, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, H, W)`` -> (z = W x at every pixel, log_det ``(N,)`` = H W log |det W|)."""
        self._check(x, "x")
        log_det = self.log_abs_det() * x.shape[2] * x.shape[3]
        z = torch.einsum("ij,njhw->nihw", self.weight_matrix(), x)
        return z, log_det.expand(len(x)).to(x.dtype)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> x = W^-1 z at every pixel."""
        self._check(z, "z")
        self.log_abs_det()  # raises if W is singular
        return torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.weight_matrix()), z)


class Squeeze(nn.Module):
    """Trade space for channels: ``(N, C, H, W)`` -> ``(N, 4C, H/2, W/2)`` (log-det 0).

    References:
        Dinh et al. (2017), section 3.6 (the squeezing operation).
    """

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, H, W)`` with even H, W -> (``(N, 4C, H/2, W/2)``, zeros ``(N,)``)."""
        check_tensor(x, "x", ndim=4)
        n, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"x must have even height and width, got shape {tuple(x.shape)}")
        z = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)
        return z, torch.zeros(n, dtype=x.dtype, device=x.device)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, 4C, H, W)`` -> ``(N, C, 2H, 2W)``."""
        check_tensor(z, "z", ndim=4)
        n, c4, h, w = z.shape
        if c4 % 4:
            raise ValueError(f"z must have a multiple of 4 channels, got shape {tuple(z.shape)}")
        c = c4 // 4
        return z.reshape(n, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c, 2 * h, 2 * w)


class ConvAffineCoupling(nn.Module):
    """RealNVP's affine coupling for images: the first half of the channels scales and shifts the rest.

    z_a = x_a, z_b = x_b * exp(s(x_a)) + t(x_a), with s, t from a small CNN (3x3, 1x1, 3x3
    convolutions; the last one starts at zero, so the layer starts as the identity). The
    Jacobian is block-triangular with diagonal exp(s): log |det J| = sum of s over the channels,
    height and width of x_b. The log-scale is bounded with tanh times a learned factor.

    Args:
        n_channels: C, at least 2 (the first C // 2 condition the others).
        hidden: the CNN's width.

    Raises:
        TypeError, ValueError: for bad sizes; in forward/inverse, for an input that is not
            ``(N, C, H, W)``, holds NaN/inf, or has another device or dtype than the layer.

    References:
        Dinh et al. (2017), section 3.4-3.5 (channel-wise masking); Kingma and Dhariwal (2018), table 1.
    """

    def __init__(self, n_channels: int, hidden: int = 32) -> None:
        super().__init__()
        check_positive_int(n_channels, "n_channels")
        check_positive_int(hidden, "hidden")
        if n_channels < 2:
            raise ValueError(f"n_channels must be at least 2, got {n_channels}")
        self.n_channels, self.c_a = n_channels, n_channels // 2
        c_b = n_channels - self.c_a
        self.net = nn.Sequential(
            nn.Conv2d(self.c_a, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, 2 * c_b, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.zeros(1, c_b, 1, 1))

    def _s_t(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(x_a).chunk(2, dim=1)
        return self.scale.exp() * torch.tanh(s), t

    def _check(self, x: torch.Tensor, name: str) -> None:
        check_module_input(x, name, self)
        check_tensor(x, name, ndim=4)
        if x.shape[1] != self.n_channels:
            raise ValueError(f"{name} must have {self.n_channels} channels, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, H, W)`` -> (z, log_det ``(N,)``) in nats."""
        self._check(x, "x")
        x_a, x_b = x[:, : self.c_a], x[:, self.c_a :]
        s, t = self._s_t(x_a)
        return torch.cat([x_a, x_b * s.exp() + t], dim=1), s.flatten(1).sum(1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> x: x_b = (z_b - t) exp(-s), with s, t from the unchanged z_a = x_a."""
        self._check(z, "z")
        z_a, z_b = z[:, : self.c_a], z[:, self.c_a :]
        s, t = self._s_t(z_a)
        return torch.cat([z_a, (z_b - t) * (-s).exp()], dim=1)


class Flow(nn.Module):
    """A stack of invertible layers with a standard-normal base: an exact density model.

    Args:
        layers: modules with ``forward(x) -> (z, log_det)`` and ``inverse(z) -> x``.
        event_shape: the shape of one example, e.g. ``(2,)`` or ``(1, 28, 28)``.
        latent_shape: the shape of its code z, if the layers reshape it (a :class:`Squeeze` does);
            ``event_shape`` by default.

    References:
        Rezende and Mohamed (2015), *Variational inference with normalizing flows*, eq. (1)-(3);
        the NTHU lecture, "Flow-based Models".
    """

    def __init__(self, layers: Sequence[nn.Module], event_shape: Sequence[int], latent_shape: Sequence[int] | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.event_shape = tuple(event_shape)
        self.latent_shape = self.event_shape if latent_shape is None else tuple(latent_shape)
        for name, shape in (("event_shape", self.event_shape), ("latent_shape", self.latent_shape)):
            for i, size in enumerate(shape):
                check_positive_int(size, f"{name}[{i}]")
        if math.prod(self.latent_shape) != math.prod(self.event_shape):
            raise ValueError(f"latent_shape {self.latent_shape} must hold as many numbers as event_shape {self.event_shape}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x ``(N, *event_shape)`` -> (z, total log |det J| ``(N,)``)."""
        check_tensor(x, "x")
        if tuple(x.shape[1:]) != self.event_shape:
            raise ValueError(f"x must have shape (N, {', '.join(map(str, self.event_shape))}), got {tuple(x.shape)}")
        log_det = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """z -> x, through the layers in reverse order."""
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = log N(f(x); 0, I) + log |det J_f(x)|, ``(N,)`` in nats."""
        z, log_det = self(x)
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Draw n examples: z ~ N(0, temperature^2 I) of ``latent_shape``, x = f^-1(z). ``(n, *event_shape)``.

        Raises:
            TypeError, ValueError: for a bad ``n`` or ``temperature``.
        """
        check_positive_int(n, "n")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        p = next(self.parameters(), None)
        device, dtype = (p.device, p.dtype) if p is not None else ("cpu", torch.float32)
        z = temperature * rng.randn((n, *self.latent_shape), generator, device=device, dtype=dtype)
        return self.inverse(z)


def glow_mnist(n_steps: int = 4, hidden: int = 32, generator: torch.Generator | None = None) -> Flow:
    """A small single-scale Glow for 1x28x28 images in logit space.

    Squeeze to 4x14x14, then ``n_steps`` Glow steps (ActNorm, LU 1x1 convolution, affine
    coupling), a second squeeze to 16x7x7 and ``n_steps`` more. Unlike Glow it does not factor
    half of the variables out at each scale (a simplification: one scale of latents, 784 of them).

    Args:
        n_steps: Glow steps per scale, positive.
        hidden: the coupling CNNs' width.
        generator: for the 1x1 convolutions' initial rotations.

    References:
        Kingma and Dhariwal (2018), *Glow*, figure 2 (one step of flow) and section 3.
    """
    check_positive_int(n_steps, "n_steps")
    layers: list[nn.Module] = []
    for channels in (4, 16):
        layers.append(Squeeze())
        for _ in range(n_steps):
            layers += [ActNorm(channels), InvertibleConv1x1(channels, lu=True, generator=generator), ConvAffineCoupling(channels, hidden)]
    return Flow(layers, (1, 28, 28), latent_shape=(16, 7, 7))


def discrete_bits_per_dim(flow: Flow, images: torch.Tensor, generator: torch.Generator | None = None, alpha: float = 0.05) -> torch.Tensor:
    """A flow's negative log-likelihood of 8-bit images, in bits per dimension (chapter 4's unit).

    Dequantize (uniform noise), apply :func:`logit_transform`, add the flow's log-density, the
    transform's log-determinant and the D log 256 that turns a density on [0, 1]^D into a
    probability of 256-level pixels. In expectation over the noise it is an upper bound on the
    NLL of the discrete images (Theis et al. 2016, section 3.1; Dinh et al. 2017, section 4.1).

    Args:
        flow: a :class:`Flow` on logit-space images (``glow_mnist``).
        images: ``(N, C, H, W)`` grey levels in [0, 1].
        generator: for the dequantization noise.
        alpha: the logit transform's margin.

    Returns:
        ``(N,)`` bits per dimension.

    Raises:
        TypeError, ValueError: for a bad ``images`` batch (values outside [0, 1]), a bad ``alpha``,
            or images the flow's layers reject (another shape, device or dtype).
    """
    check_images(images, "images", value_range=(0.0, 1.0))
    z, log_det = logit_transform(dequantize(images, generator=generator), alpha)
    n_dims = images[0].numel()
    return bits_per_dim(-(flow.log_prob(z) + log_det) + n_dims * math.log(256), n_dims)


def inverse_logit_transform(z: torch.Tensor, alpha: float = 0.05) -> torch.Tensor:
    """Undo :func:`logit_transform`: logit-space values (a flow's samples) -> grey levels in [0, 1], any shape.

    Args:
        z: logit-space values, any shape.
        alpha: the margin :func:`logit_transform` used, in [0, 0.5).

    Returns:
        (sigmoid(z) - alpha) / (1 - 2 alpha), clamped to [0, 1], the shape of ``z``.

    Raises:
        TypeError: if ``z`` is not a floating-point tensor or ``alpha`` not a number.
        ValueError: for an empty or non-finite ``z``, or ``alpha`` outside [0, 0.5).
    """
    check_tensor(z, "z")
    _check_alpha(alpha)
    return ((torch.sigmoid(z) - alpha) / (1 - 2 * alpha)).clamp(0, 1)
