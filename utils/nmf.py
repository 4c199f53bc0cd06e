"""Non-negative matrix factorization by Lee and Seung's multiplicative updates.

Find W >= 0 ``(n, r)`` and H >= 0 ``(r, d)`` minimizing ||X - W H||_F^2 (the NTHU lecture, "Factorization for tabular X"). The updates

    H <- H * (W^T X) / (W^T W H),        W <- W * (X H^T) / (W H H^T)

keep every entry non-negative (a product of non-negative numbers) and never
increase the objective (Lee and Seung 2001, theorem 1).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from utils import rng
from utils.validation import check_data_matrix, check_positive_int, check_same_device, check_tensor

__all__ = ["NMFResult", "nmf"]

EPS = 1e-10  # keeps the denominators positive


class NMFResult(NamedTuple):
    """The factorization X ~ W H.

    Attributes:
        W: ``(n, r)`` non-negative weights (one row per sample).
        H: ``(r, d)`` non-negative parts (one row per factor).
        errors: the Frobenius error ||X - WH||_F after each iteration.
    """

    W: torch.Tensor
    H: torch.Tensor
    errors: list[float]


def nmf(
    X: torch.Tensor,
    n_components: int,
    max_iter: int = 200,
    generator: torch.Generator | None = None,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> NMFResult:
    """Factorize a non-negative matrix with multiplicative updates.

    Args:
        X: ``(n, d)`` non-negative, finite, floating point.
        n_components: r, with 1 <= r <= min(n, d) (scikit-learn's name).
        max_iter: number of (H, W) update pairs, positive (scikit-learn's name; we run all of them).
        generator: a ``torch.Generator`` (on any device) for the random initialization, scaled
            as scikit-learn's ``init="random"``: entries uniform in [0, 2 sqrt(mean(X) / r)).
        init: optional starting ``(W0, H0)``, shapes ``(n, r)`` and ``(r, d)``, non-negative
            (to compare with another implementation from the same start).

    Returns:
        An :class:`NMFResult` on X's device and dtype.

    Raises:
        TypeError: if X is not a floating-point tensor.
        TypeError: if ``n_components`` or ``max_iter`` is not an int.
        ValueError: if X is not 2-D, has negative entries, NaN or inf; if ``n_components`` or
            ``max_iter`` is out of range; if ``init`` has the wrong shapes, device or negative entries.

    References:
        Lee and Seung (1999), *Learning the parts of objects by non-negative matrix
        factorization*, Nature 401; Lee and Seung (2001), *Algorithms for non-negative
        matrix factorization*, NIPS 13, eq. (4).
    """
    check_data_matrix(X)
    if (X < 0).any():
        raise ValueError(f"X must be non-negative, its smallest entry is {X.min().item():.4g}")
    n, d = X.shape
    rank = check_positive_int(n_components, "n_components")
    if rank > min(n, d):
        raise ValueError(f"n_components must be in 1..min(n, d) = {min(n, d)}, got {rank}")
    check_positive_int(max_iter, "max_iter")
    if init is None:
        scale = 2 * (X.mean() / rank).sqrt().item()
        W = scale * rng.rand((n, rank), generator, device=X.device, dtype=torch.float64).to(X.dtype)
        H = scale * rng.rand((rank, d), generator, device=X.device, dtype=torch.float64).to(X.dtype)
    else:
        for name, t in zip(("init[0]", "init[1]"), init):
            check_tensor(t, name, ndim=2)
            check_same_device(X=X, **{name: t})
        W, H = (t.to(X).clone() for t in init)
        if W.shape != (n, rank) or H.shape != (rank, d):
            raise ValueError(f"init must be (W, H) of shapes {(n, rank)} and {(rank, d)}, got {tuple(W.shape)} and {tuple(H.shape)}")
        if (W < 0).any() or (H < 0).any():
            raise ValueError("init must be non-negative")
    errors = []
    for _ in range(max_iter):
        H = H * (W.T @ X) / (W.T @ W @ H + EPS)
        W = W * (X @ H.T) / (W @ (H @ H.T) + EPS)
        errors.append(torch.linalg.matrix_norm(X - W @ H).item())
    return NMFResult(W, H, errors)
