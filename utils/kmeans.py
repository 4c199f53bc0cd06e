"""K-means clustering (Lloyd's algorithm), on any device, with batched distances.

Algorithm 10.1 of the HKUST lecture (after ISLR): start from an assignment
or from centroids, then alternate

* the centroid step: each centroid becomes the mean of its cluster's points;
* the assignment step: each point joins the cluster of its nearest centroid,

until the assignments stop changing. The objective, the *inertia*
W = sum_i ||x_i - mu_{c(i)}||^2 (ISLR eq. 10.11 up to a factor 2 per cluster),
never increases: each step minimizes it over one block of variables.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch

from utils import rng
from utils.validation import (
    check_choice,
    check_data_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_same_device,
    check_tensor,
)

__all__ = [
    "KMeansResult",
    "pairwise_sq_distances",
    "assign",
    "update_centroids",
    "inertia",
    "kmeans_plus_plus",
    "kmeans",
    "purity",
]


class KMeansResult(NamedTuple):
    """The fitted k-means.

    Attributes:
        centroids: ``(k, d)``.
        labels: ``(n,)`` int64, each point's cluster.
        inertia: scalar tensor, the sum of squared distances to the assigned centroids.
        n_iter: number of assignment steps run.
        history: the inertia after each iteration (length ``n_iter``).
    """

    centroids: torch.Tensor
    labels: torch.Tensor
    inertia: torch.Tensor
    n_iter: int
    history: list[float]


def _check_X(X: torch.Tensor, n_clusters: int | None = None) -> None:
    check_data_matrix(X)
    if n_clusters is not None:
        check_positive_int(n_clusters, "n_clusters")
        if n_clusters > X.shape[0]:
            raise ValueError(f"n_clusters must be in 1..n = {X.shape[0]}, got {n_clusters}")


def pairwise_sq_distances(X: torch.Tensor, C: torch.Tensor, batch_size: int = 16384) -> torch.Tensor:
    """Squared Euclidean distances ||x_i - c_j||^2, computed in row batches.

    Uses ||x||^2 - 2 x.c + ||c||^2 (one matrix product per batch), clamped at 0.

    Args:
        X: ``(n, d)``; C: ``(k, d)``, same device and dtype.
        batch_size: rows of X per batch (bounds the ``(batch, k)`` memory).

    Returns:
        ``(n, k)``.

    Raises:
        ValueError: if the feature dimensions differ.
    """
    if X.shape[1] != C.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but C has {C.shape[1]}")
    c_sq = (C * C).sum(dim=1)
    out = torch.empty(X.shape[0], C.shape[0], device=X.device, dtype=X.dtype)
    for s in range(0, X.shape[0], batch_size):
        xb = X[s : s + batch_size]
        out[s : s + batch_size] = ((xb * xb).sum(dim=1, keepdim=True) - 2 * xb @ C.T + c_sq).clamp_min_(0)
    return out


def assign(X: torch.Tensor, centroids: torch.Tensor, batch_size: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """The assignment step: the nearest centroid of each row of X.

    ||x - c||^2 = ||x||^2 + (||c||^2 - 2 x.c): the first term is the same for every
    centroid, so the argmin needs only the bracket, one fused matrix product per batch.
    The bracket is laid out ``(k, batch)`` so that the minimum over the k centroids
    runs along contiguous memory (about 3x faster on a CPU than ``(batch, k)``).

    Returns:
        labels: ``(n,)`` int64; sq_distances: ``(n,)``, the squared distance to that centroid.
    """
    c_sq = (centroids * centroids).sum(dim=1)
    labels = torch.empty(X.shape[0], dtype=torch.int64, device=X.device)
    d2 = torch.empty(X.shape[0], dtype=X.dtype, device=X.device)
    for s in range(0, X.shape[0], batch_size):
        xb = X[s : s + batch_size]
        partial = torch.addmm(c_sq[:, None], centroids, xb.T, alpha=-2)  # (k, batch)
        best, labels[s : s + batch_size] = partial.min(dim=0)
        d2[s : s + batch_size] = (best + (xb * xb).sum(dim=1)).clamp_min(0)
    return labels, d2


def update_centroids(
    X: torch.Tensor,
    labels: torch.Tensor,
    n_clusters: int,
    previous: torch.Tensor | None = None,
    sq_distances: torch.Tensor | None = None,
) -> torch.Tensor:
    """The centroid step: the mean of each cluster's points, ``(k, d)``.

    An empty cluster is relocated as scikit-learn does: given ``sq_distances`` (each point's
    squared distance to its centre), the e empty clusters take the e points farthest from
    their centres, which leave their old clusters. Without ``sq_distances`` an empty cluster
    keeps its ``previous`` centroid (or gets the origin when there is none).

    Args:
        X: ``(n, d)``; labels: ``(n,)`` int64 in 0..k-1; n_clusters: k.
        previous: ``(k, d)`` the centroids before this step, or None.
        sq_distances: ``(n,)`` each point's squared distance to its current centre, or None.

    References:
        scikit-learn, ``sklearn/cluster/_k_means_common.pyx``, ``_relocate_empty_clusters_dense``.
    """
    sums = torch.zeros(n_clusters, X.shape[1], device=X.device, dtype=X.dtype).index_add_(0, labels, X)
    counts = torch.bincount(labels, minlength=n_clusters)
    if sq_distances is not None:
        empty = torch.nonzero(counts == 0).flatten()  # one sync, only to know how many are empty
        if len(empty) > 0:
            far = torch.topk(sq_distances, len(empty)).indices
            old = labels[far]
            sums.index_add_(0, old, -X[far])
            counts = counts.index_add(0, old, -torch.ones_like(old))
            sums[empty] = X[far]
            counts[empty] = 1
    means = sums / counts.clamp_min(1).to(X.dtype)[:, None]
    if previous is not None:
        means = torch.where(counts[:, None] > 0, means, previous)
    return means


def inertia(X: torch.Tensor, centroids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Within-cluster sum of squares, sum_i ||x_i - mu_{labels_i}||^2 (a scalar tensor)."""
    return ((X - centroids[labels]) ** 2).sum()


def kmeans_plus_plus(X: torch.Tensor, n_clusters: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k-means++ seeding: each new centre drawn with probability proportional to D(x)^2.

    Args:
        X: ``(n, d)``; n_clusters: k in 1..n; generator: a ``torch.Generator`` (on any device).

    Returns:
        ``(k, d)`` initial centroids, rows of X.

    References:
        Arthur and Vassilvitskii (2007), *k-means++: the advantages of careful seeding*, section 2.2.
    """
    _check_X(X, n_clusters)
    n = X.shape[0]
    first = int(rng.randint(n, (1,), generator)[0])
    centres = [X[first]]
    d2 = pairwise_sq_distances(X, X[first : first + 1])[:, 0]
    for _ in range(1, n_clusters):
        total = d2.sum()
        if total <= 0:  # fewer distinct points than clusters: pick uniformly
            probs = torch.full((n,), 1.0 / n, dtype=torch.float64)
        else:
            probs = (d2 / total).double().cpu()
        idx = int(rng.multinomial(probs, 1, generator=generator)[0])
        centres.append(X[idx])
        d2 = torch.minimum(d2, pairwise_sq_distances(X, X[idx : idx + 1])[:, 0])
    return torch.stack(centres)


def kmeans(
    X: torch.Tensor,
    n_clusters: int,
    init: str | torch.Tensor = "k-means++",
    max_iter: int = 300,
    tol: float = 1e-4,
    generator: torch.Generator | None = None,
) -> KMeansResult:
    """Lloyd's k-means from k-means++, random-assignment, or given initial centroids.

    Args:
        X: ``(n, d)`` floating-point data on any device.
        n_clusters: k, with 1 <= k <= n.
        init: ``"k-means++"``; ``"random"`` (algorithm 10.1: a random cluster in
            1..k for every point, then the centroid step); or a ``(k, d)`` tensor of
            initial centroids.
        max_iter: the most assignment steps, positive.
        tol: stop when no assignment changes, or when the centroids move less than
            ``tol`` times the mean per-feature variance of X in squared norm (as
            scikit-learn does).
        generator: a ``torch.Generator`` (on any device) for the random initializations.

    An empty cluster is relocated to the point farthest from its centre (as scikit-learn
    does; see :func:`update_centroids`). On a GPU, convergence is read every 8 iterations so
    that the loop never waits for the device; the few extra iterations can only lower the
    inertia.

    Returns:
        A :class:`KMeansResult`.

    Warns:
        RuntimeWarning: if ``max_iter`` iterations end without convergence.

    Raises:
        TypeError: if X or init is not a floating-point tensor, or ``n_clusters``/``max_iter``
            is not an int (a bool is not).
        ValueError: on a wrong shape, NaN/inf in X or init, ``n_clusters`` outside 1..n, an
            unknown ``init``, init on another device, non-positive ``max_iter``, or a negative
            or NaN ``tol``.

    References:
        The HKUST lecture, algorithm 10.1; ISLR section 10.3.1; Lloyd (1982).
    """
    _check_X(X, n_clusters)
    check_positive_int(max_iter, "max_iter")
    tol = check_nonnegative_float(tol, "tol")
    if isinstance(init, torch.Tensor):
        check_tensor(init, "init")
        check_same_device(X=X, init=init)
        if init.shape != (n_clusters, X.shape[1]):
            raise ValueError(f"init centroids must have shape ({n_clusters}, {X.shape[1]}), got {tuple(init.shape)}")
        centroids = init.to(dtype=X.dtype).clone()
    else:
        check_choice(init, "init", ("k-means++", "random"))
        if init == "k-means++":
            centroids = kmeans_plus_plus(X, n_clusters, generator)
        else:
            labels = rng.randint(n_clusters, (X.shape[0],), generator, device=X.device)
            centroids = update_centroids(X, labels, n_clusters)

    # The loop never waits for the device between checks: convergence is read every
    # `check_every` iterations (every iteration on a CPU, where reading is free).
    check_every = 1 if X.device.type == "cpu" else 8
    threshold = tol * X.var(dim=0).mean()
    labels, d2 = assign(X, centroids)
    history: list[torch.Tensor] = []
    flags: list[torch.Tensor] = []
    n_iter, converged = 0, False
    for n_iter in range(1, max_iter + 1):
        new_centroids = update_centroids(X, labels, n_clusters, previous=centroids, sq_distances=d2)
        shift = ((new_centroids - centroids) ** 2).sum()
        centroids = new_centroids
        new_labels, d2 = assign(X, centroids)
        history.append(d2.sum())
        flags.append(torch.logical_or((new_labels == labels).all(), shift <= threshold))
        labels = new_labels
        if n_iter % check_every == 0 or n_iter == max_iter:
            if bool(torch.stack(flags[-check_every:]).any()):
                converged = True
                break
    if not converged:
        warnings.warn(
            f"k-means did not converge in max_iter = {max_iter} iterations (tol = {tol:g}); "
            "raise max_iter or tol",
            RuntimeWarning,
            stacklevel=2,
        )
    return KMeansResult(centroids, labels, inertia(X, centroids, labels), n_iter, torch.stack(history).tolist())


def purity(labels: torch.Tensor, classes: torch.Tensor) -> float:
    """Cluster purity: the fraction of points whose cluster's majority class is their own class.

    Args:
        labels: ``(n,)`` int cluster labels; classes: ``(n,)`` int true classes.

    Returns:
        A float in (0, 1]; 1 means every cluster holds a single class.

    Raises:
        TypeError: if labels or classes is not an integer tensor.
        ValueError: if the shapes differ or are not 1-D, the tensors are empty, or a label is negative.

    References:
        Manning, Raghavan and Schuetze (2008), *Introduction to Information Retrieval*, eq. (16.1).
    """
    for name, t in (("labels", labels), ("classes", classes)):
        check_tensor(t, name, floating=False, ndim=1)
        if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
            raise TypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
        if (t < 0).any():
            raise ValueError(f"{name} must be non-negative, got a minimum of {int(t.min())}")
    if labels.shape != classes.shape:
        raise ValueError(f"labels and classes must be non-empty 1-D tensors of one shape, got {tuple(labels.shape)} and {tuple(classes.shape)}")
    labels = labels.long().cpu()
    classes = classes.long().cpu()
    n_classes = int(classes.max()) + 1
    table = torch.zeros(int(labels.max()) + 1, n_classes, dtype=torch.int64)
    table.index_put_((labels, classes), torch.ones_like(labels), accumulate=True)
    return table.max(dim=1).values.sum().item() / labels.numel()
