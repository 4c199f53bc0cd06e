"""Principal component analysis, as on the slide: eigenvectors of the sample covariance.

The principal directions e_1, ..., e_k are the top eigenvectors of the sample
covariance S = X_c^T X_c / (n - 1) of the centred data X_c; the scores are
Z_k = X_c e_k and the proportion of variance explained by the k-th component is
lambda_k / trace(S) (the HKUST lecture, "Principal components"; ISLR section 10.2).

Sign convention: an eigenvector is defined up to sign. We flip each component
so that its entry of largest absolute value is positive (ties: the first such
entry). This makes :func:`pca` deterministic across devices and libraries.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from utils.validation import check_data_matrix, check_positive_int

__all__ = ["PCAResult", "pca", "pca_svd", "project", "reconstruct", "principal_angles"]


class PCAResult(NamedTuple):
    """The fitted PCA.

    Attributes:
        components: ``(k, d)``, orthonormal rows e_1..e_k, by decreasing variance.
        explained_variance: ``(k,)``, the eigenvalues lambda_1 >= ... >= lambda_k of S.
        explained_variance_ratio: ``(k,)``, lambda_j / trace(S).
        mean: ``(d,)``, the column means removed before the decomposition.
    """

    components: torch.Tensor
    explained_variance: torch.Tensor
    explained_variance_ratio: torch.Tensor
    mean: torch.Tensor


def _check_data(X: torch.Tensor, n_components: int, name: str = "X") -> None:
    check_data_matrix(X, name)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"{name} needs at least 2 rows (samples), got {n}")
    check_positive_int(n_components, "n_components")
    if n_components > min(n, d):
        raise ValueError(f"n_components must be in 1..min(n, d) = {min(n, d)}, got {n_components}")
    if not bool((X != X[0]).any()):
        raise ValueError(f"{name} is constant (every row the same): it has no variance to explain")


def _fix_signs(components: torch.Tensor) -> torch.Tensor:
    """Flip each row so that its largest-magnitude entry is positive."""
    idx = components.abs().argmax(dim=1, keepdim=True)
    signs = torch.sign(components.gather(1, idx))
    signs[signs == 0] = 1
    return components * signs


def pca(X: torch.Tensor, n_components: int) -> PCAResult:
    """PCA by eigen-decomposition of the sample covariance S (the slide's route).

    Args:
        X: ``(n, d)`` data, one sample per row, floating point, finite.
        n_components: k, with 1 <= k <= min(n, d).

    Returns:
        A :class:`PCAResult` on ``X``'s device and dtype.

    Raises:
        TypeError: if ``X`` is not a floating-point tensor.
        ValueError: on a wrong shape, NaN/inf, fewer than 2 rows, or ``n_components`` out of range.

    References:
        The HKUST lecture, "Principal components"; ISLR eq. (10.1)-(10.8); Jolliffe (2002).
    """
    _check_data(X, n_components)
    mean = X.mean(dim=0)
    Xc = X - mean
    S = Xc.T @ Xc / (X.shape[0] - 1)
    eigvals, eigvecs = torch.linalg.eigh(S)  # ascending
    order = torch.argsort(eigvals, descending=True)[:n_components]
    components = _fix_signs(eigvecs[:, order].T.contiguous())
    lam = eigvals[order].clamp_min(0)
    return PCAResult(components, lam, lam / torch.trace(S), mean)


def pca_svd(X: torch.Tensor, n_components: int) -> PCAResult:
    """The same PCA by the SVD of the centred data, X_c = U diag(s) V^T, lambda_j = s_j^2 / (n - 1).

    More accurate than :func:`pca` when d is large (S is never formed). Same
    arguments, returns and errors as :func:`pca`.
    """
    _check_data(X, n_components)
    mean = X.mean(dim=0)
    Xc = X - mean
    _, s, Vh = torch.linalg.svd(Xc, full_matrices=False)
    lam_all = s**2 / (X.shape[0] - 1)
    lam = lam_all[:n_components]
    return PCAResult(_fix_signs(Vh[:n_components].contiguous()), lam, lam / lam_all.sum(), mean)


def project(X: torch.Tensor, result: PCAResult) -> torch.Tensor:
    """Scores Z = (X - mean) E^T: ``(n, d)`` -> ``(n, k)``.

    Raises:
        ValueError: if ``X`` does not have ``d`` columns.
    """
    if X.ndim != 2 or X.shape[1] != result.mean.shape[0]:
        raise ValueError(f"X must have shape (n, {result.mean.shape[0]}), got {tuple(X.shape)}")
    return (X - result.mean) @ result.components.T


def reconstruct(Z: torch.Tensor, result: PCAResult) -> torch.Tensor:
    """Back to data space, X_hat = Z E + mean: ``(n, k)`` -> ``(n, d)``.

    Raises:
        ValueError: if ``Z`` does not have ``k`` columns.
    """
    k = result.components.shape[0]
    if Z.ndim != 2 or Z.shape[1] != k:
        raise ValueError(f"Z must have shape (n, {k}), got {tuple(Z.shape)}")
    return Z @ result.components + result.mean


def principal_angles(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Cosines of the principal angles between the column spaces of A and B.

    Args:
        A: ``(d, p)``, B: ``(d, q)``; full column rank.

    Returns:
        ``(min(p, q),)`` cosines in [0, 1], in decreasing order (1 means a shared direction).

    Raises:
        ValueError: if A or B is not 2-D or their row counts differ.

    References:
        Bjorck and Golub (1973), *Numerical methods for computing angles between linear subspaces*.
    """
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must be (d, p) and (d, q) with the same d, got {tuple(A.shape)} and {tuple(B.shape)}")
    Qa, _ = torch.linalg.qr(A)
    Qb, _ = torch.linalg.qr(B)
    return torch.linalg.svdvals(Qa.T @ Qb).clamp(0, 1)
