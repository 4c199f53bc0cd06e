"""Non-negative matrix factorization by Lee and Seung's multiplicative updates.

Find W >= 0 ``(n, r)`` and H >= 0 ``(r, d)`` minimizing ||X - W H||_F^2 (seed 004,
"Factorization for tabular X"). The updates

    H <- H * (W^T X) / (W^T W H),        W <- W * (X H^T) / (W H H^T)

keep every entry non-negative (a product of non-negative numbers) and never
increase the objective (Lee and Seung 2001, theorem 1).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from utils.validation import check_data_matrix

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
    rank: int,
    n_iter: int = 200,
    generator: torch.Generator | None = None,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> NMFResult:
    """Factorize a non-negative matrix with multiplicative updates.

    Args:
        X: ``(n, d)`` non-negative, finite, floating point.
        rank: r, with 1 <= r <= min(n, d).
        n_iter: number of (H, W) update pairs, positive.
        generator: a CPU ``torch.Generator`` for the random initialization, scaled
            as scikit-learn's ``init="random"``: entries uniform in [0, 2 sqrt(mean(X) / r)).
        init: optional starting ``(W0, H0)``, shapes ``(n, r)`` and ``(r, d)``, non-negative
            (to compare with another implementation from the same start).

    Returns:
        An :class:`NMFResult` on X's device and dtype.

    Raises:
        TypeError: if X is not a floating-point tensor.
        ValueError: if X is not 2-D, has negative entries, NaN or inf; if ``rank`` or
            ``n_iter`` is out of range; if ``init`` has the wrong shapes or negative entries.

    References:
        Lee and Seung (1999), *Learning the parts of objects by non-negative matrix
        factorization*, Nature 401; Lee and Seung (2001), *Algorithms for non-negative
        matrix factorization*, NIPS 13, eq. (4).
    """
    check_data_matrix(X)
    if (X < 0).any():
        raise ValueError(f"X must be non-negative, its smallest entry is {X.min().item():.4g}")
    n, d = X.shape
    if not isinstance(rank, int) or not 1 <= rank <= min(n, d):
        raise ValueError(f"rank must be an int in 1..min(n, d) = {min(n, d)}, got {rank!r}")
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int, got {n_iter!r}")
    if init is None:
        scale = 2 * (X.mean() / rank).sqrt().item()
        W = (scale * torch.rand(n, rank, generator=generator, dtype=torch.float64)).to(X)
        H = (scale * torch.rand(rank, d, generator=generator, dtype=torch.float64)).to(X)
    else:
        W, H = (t.to(X).clone() for t in init)
        if W.shape != (n, rank) or H.shape != (rank, d):
            raise ValueError(f"init must be (W, H) of shapes {(n, rank)} and {(rank, d)}, got {tuple(W.shape)} and {tuple(H.shape)}")
        if (W < 0).any() or (H < 0).any():
            raise ValueError("init must be non-negative")
    errors = []
    for _ in range(n_iter):
        H = H * (W.T @ X) / (W.T @ W @ H + EPS)
        W = W * (X @ H.T) / (W @ (H @ H.T) + EPS)
        errors.append(torch.linalg.matrix_norm(X - W @ H).item())
    return NMFResult(W, H, errors)
