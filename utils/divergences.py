"""Divergences between discrete distributions (or densities on a grid times the cell size), in nats.

:func:`kl_divergence` and :func:`js_divergence`, with which chapter 6 checks
max_D V(D, G) = -log 4 + 2 JS(p_data || p_g) and chapter 7 shows why JS saturates at
log 2 on disjoint supports. ``kl_divergence`` here is for discrete distributions given
as probability vectors; ``torch.distributions.kl_divergence`` is for distribution objects.
"""

from __future__ import annotations

import math

import torch

from utils.validation import check_probability_vector

__all__ = ["kl_divergence", "js_divergence"]


def _distributions(p: torch.Tensor, q: torch.Tensor, names: tuple[str, str] = ("p", "q")) -> None:
    """Check two discrete distributions of one shape along the last dimension."""
    check_probability_vector(p, names[0])
    check_probability_vector(q, names[1])
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
        Cover and Thomas (2006), *Elements of Information Theory*, eq. (2.26); the AE/VAE/GAN lecture,
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
        (2014), theorem 1; the NTHU lecture, "GANs from Information Theory Perspective" and
        "Balance between g and f, Revisited II"; Prince (2023), chapter 15 (Prince's slides,
        "Quality of generated images": the quality and coverage terms).
    """
    _distributions(p, q)
    # p log(p / m) = p log 2 + p log(p / (p + q)): p + q cannot underflow where p > 0
    s = p + q
    mass = 0.5 * (p.sum(dim=-1) + q.sum(dim=-1))
    js = math.log(2.0) * mass + 0.5 * (_plogp_over_q(p, s).sum(dim=-1) + _plogp_over_q(q, s).sum(dim=-1))
    return js.clamp_min(0.0)  # p = q leaves a rounding residue of order 1e-17, of either sign
