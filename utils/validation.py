"""The course's one input-checking policy: every public function of ``utils`` calls these.

The rule, everywhere:

* **TypeError** when an argument has the wrong *type*: not a tensor, an integer tensor
  where floats are needed, a float or a bool where a count is needed.
* **ValueError** when it has the right type but a wrong *value*: shape, NaN or inf,
  non-positive size, probabilities that do not sum to 1, tensors on different devices.

Each message names the argument, what was expected and what was received, so a
student reading a traceback knows which argument to fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "PROB_ATOL",
    "MATRIX_RTOL",
    "check_tensor",
    "check_data_matrix",
    "check_images",
    "check_positive_int",
    "check_positive_float",
    "check_nonnegative_float",
    "check_probability_vector",
    "check_finite_float",
    "check_in_range",
    "check_labels",
    "check_covariance",
    "check_same_device",
    "check_module_input",
    "check_choice",
]

PROB_ATOL = 1e-4  # how far from 1 a probability vector (or a row of one) may sum, everywhere
MATRIX_RTOL = 1e-5  # how far from symmetric and PSD a covariance may be, relative to its largest entry (float32 round-off)


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    floating: bool = True,
    finite: bool = True,
    non_empty: bool = True,
) -> torch.Tensor:
    """Check a tensor argument and return it unchanged.

    Args:
        x: the argument.
        name: its name, for messages.
        ndim: the number of dimensions it must have (an int, or several allowed ints).
        min_ndim: the least number of dimensions.
        floating: it must have a floating-point dtype.
        finite: it must hold no NaN or inf (floating tensors only).
        non_empty: it must have at least one element.

    Returns:
        ``x``.

    Raises:
        TypeError: if ``x`` is not a torch tensor, or (with ``floating``) not floating point.
        ValueError: for a wrong number of dimensions, no elements, or NaN/inf.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(x.shape)}")
    if non_empty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_data_matrix(X: object, name: str = "X") -> torch.Tensor:
    """Check a finite floating-point ``(n, d)`` data matrix, one sample per row, n and d positive.

    Raises:
        TypeError: if ``X`` is not a floating-point tensor.
        ValueError: if it is not 2-D, is empty, or holds NaN or inf.
    """
    X = check_tensor(X, name, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n, d > 0, got {tuple(X.shape)}")
    return X


def check_images(
    x: object, name: str = "images", shape: Sequence[int] | None = None, value_range: tuple[float, float] | None = None
) -> torch.Tensor:
    """Check a non-empty finite floating-point batch of images ``(N, C, H, W)``.

    Args:
        x: the batch.
        name: its name, for messages.
        shape: the required ``(C, H, W)`` of one image (None: any).
        value_range: ``(lo, hi)`` that every pixel must lie in, with a tolerance of 1e-3
            (None: any value).

    Raises:
        TypeError: if ``x`` is not a floating-point tensor.
        ValueError: for another number of dimensions, another image shape, NaN/inf, or
            pixels outside ``value_range``.
    """
    x = check_tensor(x, name, ndim=4)
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    if value_range is not None:
        lo, hi = float(x.min()), float(x.max())
        if lo < value_range[0] - 1e-3 or hi > value_range[1] + 1e-3:
            raise ValueError(f"{name} must lie in [{value_range[0]:g}, {value_range[1]:g}], got values in [{lo:.3g}, {hi:.3g}]")
    return x


def check_positive_int(value: object, name: str) -> int:
    """Check a count or a size: a positive ``int`` (a bool is not a count).

    Raises:
        TypeError: if ``value`` is not an int, or is a bool.
        ValueError: if it is zero or negative.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def _check_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.dtype == torch.bool:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive_float(value: object, name: str) -> float:
    """Check a finite number > 0 (a rate, a scale, a standard deviation that must not vanish).

    Raises:
        TypeError: if ``value`` is not a real number (a bool is not).
        ValueError: if it is NaN, infinite, zero or negative.
    """
    v = _check_real(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be positive, got {v}")
    return v


def check_nonnegative_float(value: object, name: str) -> float:
    """Check a finite number >= 0 (a noise level, a tolerance).

    Raises:
        TypeError: if ``value`` is not a real number (a bool is not).
        ValueError: if it is NaN, infinite or negative.
    """
    v = _check_real(value, name)
    if v < 0:
        raise ValueError(f"{name} must be non-negative, got {v}")
    return v


def check_finite_float(value: object, name: str) -> float:
    """Check a finite real number of any sign (a log-likelihood, a period) and return it as a float.

    Raises:
        TypeError: if ``value`` is not a real number (a bool is not).
        ValueError: if it is NaN or infinite.
    """
    return _check_real(value, name)


def check_in_range(
    value: object, name: str, low: float, high: float, *, low_closed: bool = True, high_closed: bool = False
) -> float:
    """Check a finite number in an interval, ``[low, high)`` by default (a margin, a probability, a decay).

    Args:
        value: the argument.
        name: its name, for messages.
        low, high: the bounds.
        low_closed, high_closed: whether each bound is allowed.

    Returns:
        ``value`` as a float.

    Raises:
        TypeError: if ``value`` is not a real number (a bool is not).
        ValueError: if it is NaN, infinite or outside the interval (the message shows the interval).
    """
    v = _check_real(value, name)
    above = v >= low if low_closed else v > low
    below = v <= high if high_closed else v < high
    if not (above and below):
        interval = f"{'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
        raise ValueError(f"{name} must lie in {interval}, got {v}")
    return v


def check_labels(labels: object, name: str = "labels", n: int | None = None, n_classes: int | None = None) -> torch.Tensor:
    """Check class labels (or codes, cluster indices): an integer tensor ``(n,)`` with values in 0..n_classes-1.

    Args:
        labels: the argument.
        name: its name, for messages.
        n: the length it must have (None: any).
        n_classes: K, the number of classes: every value must lie in 0..K-1 (None: only >= 0).

    Returns:
        ``labels``.

    Raises:
        TypeError: if ``labels`` is not a tensor, or has a floating, complex or bool dtype.
        ValueError: if it is not 1-D, has another length than ``n``, or holds a value outside the range.
    """
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got {type(labels).__name__} {getattr(labels, 'dtype', '')}".rstrip())
    if labels.ndim != 1 or (n is not None and len(labels) != n):
        want = "(N,)" if n is None else f"({n},)"
        raise ValueError(f"{name} must have shape {want}, got {tuple(labels.shape)}")
    if len(labels):
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or (n_classes is not None and hi >= n_classes):
            want = "non-negative" if n_classes is None else f"in 0..{n_classes - 1}"
            raise ValueError(f"{name} must hold values {want}, got values in {lo}..{hi}")
    return labels


def check_covariance(sigma: object, name: str, size: int | None = None, rtol: float = MATRIX_RTOL) -> torch.Tensor:
    """Check a covariance matrix: finite, square, symmetric and positive semi-definite, within a tolerance.

    Round-off is allowed: an asymmetry or a negative eigenvalue of at most ``rtol`` times the
    largest absolute entry (computed in float64) passes.

    Args:
        sigma: the ``(F, F)`` floating-point matrix.
        name: its name, for messages.
        size: F, if it is fixed (None: any).
        rtol: the relative tolerance (:data:`MATRIX_RTOL` by default).

    Returns:
        ``sigma``.

    Raises:
        TypeError: if ``sigma`` is not a floating-point tensor.
        ValueError: if it is not square (of ``size``), holds NaN/inf, is not symmetric or has a
            negative eigenvalue beyond the tolerance.
    """
    check_tensor(sigma, name, ndim=2)
    if sigma.shape[0] != sigma.shape[1] or (size is not None and sigma.shape[0] != size):
        want = "(F, F)" if size is None else f"({size}, {size})"
        raise ValueError(f"{name} must be a square matrix {want}, got shape {tuple(sigma.shape)}")
    s = sigma.detach().double()
    tol = rtol * max(float(s.abs().max()), 1e-300)
    asymmetry = float((s - s.T).abs().max())
    if asymmetry > tol:
        raise ValueError(f"{name} must be symmetric (within {rtol:g} of its largest entry), got an asymmetry of {asymmetry:.3g}")
    lowest = float(torch.linalg.eigvalsh((s + s.T) / 2).min())
    if lowest < -tol:
        raise ValueError(f"{name} must be positive semi-definite (within {rtol:g} of its largest entry), got an eigenvalue of {lowest:.3g}")
    return sigma


def check_probability_vector(p: object, name: str, atol: float = PROB_ATOL) -> torch.Tensor:
    """Check probabilities along the last dimension: finite, non-negative, summing to 1 within ``atol``.

    Args:
        p: ``(..., K)`` floating-point tensor, K > 0.
        name: its name, for messages.
        atol: the tolerance on each sum (the course's one tolerance, :data:`PROB_ATOL`, by default).

    Returns:
        ``p``.

    Raises:
        TypeError: if ``p`` is not a floating-point tensor.
        ValueError: for no dimension, an empty last dimension, NaN/inf, negative entries,
            or a sum off 1 by more than ``atol``.
    """
    p = check_tensor(p, name, min_ndim=1)
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(p.detach().min()):.3g}")
    worst = float((p.detach().sum(dim=-1) - 1).abs().max())
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along its last dimension (within {atol:g}), got a sum off by {worst:.3g}")
    return p


def check_same_device(**tensors: torch.Tensor | None) -> None:
    """Check that every given tensor lives on one device (None and non-tensor entries are skipped).

    Called as ``check_same_device(x=x, centroids=init)``: the message names both arguments,
    so mixed CPU and CUDA inputs fail clearly instead of with a raw torch error or a silent copy.

    Raises:
        ValueError: naming the first two arguments whose devices differ.
    """
    first: tuple[str, torch.device] | None = None
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):  # None, or a wrong type that check_tensor reports
            continue
        if first is None:
            first = (name, t.device)
        elif t.device != first[1]:
            raise ValueError(
                f"{name} is on {t.device} but {first[0]} is on {first[1]}: move them to one device (e.g. with .to({first[0]}.device))"
            )


def check_module_input(x: torch.Tensor, name: str, module: torch.nn.Module) -> None:
    """Check that a tensor can enter a module: on the device and of the dtype of its parameters.

    torch would fail inside the layer with "expected scalar type Float but found Double" (or a
    device error); this names the argument instead. Nothing is cast: convert one side yourself.
    A module without parameters (or a non-tensor ``x``, which :func:`check_tensor` reports)
    passes.

    Raises:
        ValueError: if ``x`` is on another device than the module's parameters.
        TypeError: if ``x`` has another floating-point dtype than the module's parameters.
    """
    p = next(module.parameters(), None)
    if p is None or not isinstance(x, torch.Tensor):
        return
    if x.device != p.device:
        raise ValueError(f"{name} is on {x.device} but the {type(module).__name__}'s parameters are on {p.device}: move one of them")
    if x.is_floating_point() and x.dtype != p.dtype:
        raise TypeError(
            f"{name} must have dtype {p.dtype} (the {type(module).__name__}'s parameters), got {x.dtype}: "
            f"convert one of them ({name}.to({p.dtype}) or module.to({x.dtype}))"
        )


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices`` (a string option such as ``init`` or ``kind``).

    Raises:
        ValueError: naming the allowed values and the received one.
    """
    if value not in tuple(choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value  # type: ignore[return-value]
