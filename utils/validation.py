"""Input checks shared by several modules (data matrices, sizes)."""

from __future__ import annotations

import torch

__all__ = ["check_data_matrix", "check_positive_int"]


def check_data_matrix(X: object, name: str = "X") -> None:
    """Check that ``X`` is a finite floating-point ``(n, d)`` tensor, one sample per row.

    Raises:
        TypeError: if ``X`` is not a torch tensor, or not floating point.
        ValueError: if ``X`` is not 2-D, or holds NaN or inf.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(X).__name__}")
    if not X.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or inf")


def check_positive_int(value: object, name: str) -> None:
    """Check that ``value`` is a positive ``int`` (not a bool).

    Raises:
        ValueError: naming ``name`` and the received value otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
