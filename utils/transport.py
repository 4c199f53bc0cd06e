"""Optimal transport: the Wasserstein distance as a linear program, its dual, and the 1-D closed form.

Discrete optimal transport (Prince's slides, 'Wasserstein distance'; Prince fig. 15.8): move the mass of
``p`` (on points x_1..x_n) onto ``q`` (on points y_1..y_m) with a transport
plan ``P >= 0`` whose row sums are ``p`` and column sums are ``q``, at the
least total cost ``sum_ij P_ij C_ij``. With ``C_ij = |x_i - y_j|`` the optimum
is the Wasserstein-1 (earth mover's) distance.

* :func:`cost_matrix`: ``C_ij = ||x_i - y_j||^p``.
* :func:`marginal_constraints`: the equality constraints ``A vec(P) = [p; q]``,
  built from Kronecker products with vectors of ones.
* :func:`wasserstein_lp`: the primal LP, solved with SciPy's HiGHS.
* :func:`wasserstein_dual_lp`: the Kantorovich dual, ``max p.f - q.g`` subject to
  ``f_i - g_j <= C_ij``, solved as its own LP.
* :func:`wasserstein_dual_1d_lp`: the slide's dual on a line,
  ``max sum_i (p_i - q_i) f_i`` subject to ``|f_{i+1} - f_i| <= x_{i+1} - x_i``.
* :func:`wasserstein_1d`: the closed form on the real line, the area between the two CDFs.

Tensors in, tensors out; the LPs run in float64 on the CPU (SciPy) and their
results come back on the input's device and dtype.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sparse
import torch
from scipy.optimize import linprog

from utils.validation import check_positive_float, check_positive_int, check_probability_vector, check_same_device, check_tensor

__all__ = [
    "TransportResult",
    "DualResult",
    "CriticResult",
    "cost_matrix",
    "marginal_constraints",
    "wasserstein_lp",
    "wasserstein_dual_lp",
    "wasserstein_dual_1d_lp",
    "wasserstein_1d",
]

# HiGHS's default feasibility tolerances are 1e-7; ours make the optimum good to about 1e-12.
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


# ----------------------------------------------------------------------------- results


class TransportResult(NamedTuple):
    """The primal optimum: ``distance`` (0-dim) and an optimal ``transport_plan`` (n, m)."""

    distance: torch.Tensor
    transport_plan: torch.Tensor


class DualResult(NamedTuple):
    """The Kantorovich dual optimum: ``distance`` (0-dim) and the potentials ``f`` (n,), ``g`` (m,)."""

    distance: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor


class CriticResult(NamedTuple):
    """The slide's 1-D dual optimum: ``distance`` (0-dim) and a 1-Lipschitz critic ``f`` (n,)."""

    distance: torch.Tensor
    f: torch.Tensor


# ----------------------------------------------------------------------------- input checks


def _weights(w: object, name: str, normalize: bool) -> torch.Tensor:
    """A checked 1-D weight vector, returned in float64 on the CPU and rescaled to sum exactly to 1.

    Without ``normalize`` the sum must be 1 within the course's tolerance
    (:data:`utils.validation.PROB_ATOL`); with it, any non-negative vector with a positive sum
    is accepted. Either way the float64 copy is divided by its own sum, so a float32 vector
    (whose sum is 1 only to about 1e-7) or a float64 one off by up to the tolerance gives an LP
    whose two marginals have the same mass: otherwise HiGHS, at its 1e-10 feasibility
    tolerance, reports the primal infeasible and the dual unbounded (POT likewise rescales b).
    """
    check_tensor(w, name, ndim=1)
    if normalize:
        if (w < 0).any():
            raise ValueError(f"{name} must be non-negative, got a minimum of {float(w.detach().min()):.3g}")
    else:
        check_probability_vector(w, name)
    w64 = w.detach().to(device="cpu", dtype=torch.float64)
    total = float(w64.sum())
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum, got {total:.3g}")
    return w64 / total


def _check_problem(
    p: torch.Tensor, q: torch.Tensor, cost: torch.Tensor, normalize: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pn = _weights(p, "p", normalize)
    qn = _weights(q, "q", normalize)
    check_tensor(cost, "cost", ndim=2)
    check_same_device(p=p, q=q, cost=cost)
    if cost.shape != (len(pn), len(qn)):
        raise ValueError(f"cost must have shape (len(p), len(q)) = ({len(pn)}, {len(qn)}), got {tuple(cost.shape)}")
    return pn.numpy(), qn.numpy(), cost.detach().to(device="cpu", dtype=torch.float64).numpy()


def _back(x: np.ndarray | float, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64).to(device=like.device, dtype=like.dtype)


# ----------------------------------------------------------------------------- the pieces


def cost_matrix(x: torch.Tensor, y: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """The ground cost between two point sets, ``C_ij = ||x_i - y_j||^p`` (Euclidean norm).

    Args:
        x: ``(n,)`` points on a line or ``(n, d)`` points in R^d.
        y: ``(m,)`` or ``(m, d)``, the same d.
        p: the power, positive (1 gives the Wasserstein-1 cost |i - j| of the slide).

    Returns:
        ``(n, m)``, on ``x``'s device and dtype.

    Raises:
        TypeError: if x or y is not a floating-point tensor.
        ValueError: on NaN/inf, mismatched dimensions, or ``p <= 0``.

    References:
        Prince's slides (*Understanding Deep Learning*, ch. 14-15), slide "Wasserstein distance"
        (the cost |i - j|); Peyre and Cuturi (2019),
        *Computational Optimal Transport*, chapter 2.
    """
    check_tensor(x, "x", ndim=(1, 2))
    check_tensor(y, "y", ndim=(1, 2))
    check_same_device(x=x, y=y)
    p = check_positive_float(p, "p")
    x2 = x[:, None] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    if x2.ndim != 2 or y2.ndim != 2 or x2.shape[1] != y2.shape[1]:
        raise ValueError(f"x and y must be (n,) and (m,) or (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    dist = (x2[:, None, :] - y2[None, :, :].to(x2)).norm(dim=-1)
    return dist if p == 1 else dist**p


def _marginal_constraints_sparse(n: int, m: int) -> sparse.csr_matrix:
    """Rows 0..n-1: kron(I_n, 1_m^T) (row sums of P); rows n..n+m-1: kron(1_n^T, I_m) (column sums)."""
    rows = sparse.kron(sparse.eye(n), np.ones((1, m)))
    cols = sparse.kron(np.ones((1, n)), sparse.eye(m))
    return sparse.vstack([rows, cols]).tocsr()


def marginal_constraints(n: int, m: int) -> torch.Tensor:
    """The marginal constraints of the transport LP as a matrix: ``A vec(P) = [p; q]``.

    ``vec(P)`` stacks the rows of the ``(n, m)`` plan (``P.reshape(-1)``). The first n
    rows of A are ``I_n (x) 1_m^T`` (each sums one row of P: sum_j P_ij = p_i), the last m
    are ``1_n^T (x) I_m`` (each sums one column: sum_i P_ij = q_j), where (x) is the
    Kronecker product.

    Args:
        n, m: the numbers of source and target points, positive.

    Returns:
        float64 ``(n + m, n * m)`` of zeros and ones.

    Raises:
        TypeError: if n or m is not an int (or is a bool).
        ValueError: if n or m is not positive.

    References:
        Prince's slides, slide "Wasserstein distance" (the constraints of the LP).
    """
    check_positive_int(n, "n")
    check_positive_int(m, "m")
    return torch.from_numpy(_marginal_constraints_sparse(n, m).toarray())


def _solve(c: np.ndarray, **kwargs) -> object:
    res = linprog(c, method="highs", options=_HIGHS_OPTIONS, **kwargs)
    if res.status != 0:
        raise RuntimeError(f"linprog (HiGHS) failed with status {res.status}: {res.message}")
    return res


# ----------------------------------------------------------------------------- the LPs


def wasserstein_lp(
    p: torch.Tensor, q: torch.Tensor, cost: torch.Tensor, normalize: bool = False
) -> TransportResult:
    """Solve the optimal transport LP: ``min_P sum_ij P_ij C_ij`` s.t. ``P 1 = p``, ``P^T 1 = q``, ``P >= 0``.

    Args:
        p: ``(n,)`` source weights, non-negative, summing to 1 within
            :data:`utils.validation.PROB_ATOL` (any float dtype; rescaled in float64 to sum
            exactly to 1 before the LP, so float32 weights are fine).
        q: ``(m,)`` target weights, the same.
        cost: ``(n, m)`` ground cost C (e.g. :func:`cost_matrix`).
        normalize: accept any non-negative weights with a positive sum (rescaled to sum to 1)
            instead of raising when they do not sum to 1.

    Returns:
        A :class:`TransportResult` ``(distance, transport_plan)`` (unpacks as a pair):
        distance: 0-dim, the optimal cost (the Wasserstein distance when C is a metric).
        transport_plan: ``(n, m)``, an optimal plan P (a joint distribution with marginals p, q).
        Both on ``cost``'s device and dtype.

    Raises:
        TypeError: for non-tensor or integer inputs.
        ValueError: for negative weights, sums off 1 by more than ``PROB_ATOL`` (without
            ``normalize``), NaN/inf, a cost of the wrong shape, or inputs on different devices.
        RuntimeError: if HiGHS does not report an optimum (its message is included).

    References:
        Prince (2023) fig. 15.8 and Prince's slides, slide "Wasserstein distance";
        Peyre and Cuturi (2019), chapter 2 (the Kantorovich relaxation).
    """
    pn, qn, C = _check_problem(p, q, cost, normalize)
    n, m = C.shape
    res = _solve(C.reshape(-1), A_eq=_marginal_constraints_sparse(n, m), b_eq=np.concatenate([pn, qn]), bounds=(0, None))
    plan = res.x.reshape(n, m)
    return TransportResult(_back(float(np.sum(plan * C)), cost), _back(plan, cost))


def wasserstein_dual_lp(
    p: torch.Tensor, q: torch.Tensor, cost: torch.Tensor, normalize: bool = False
) -> DualResult:
    """Solve the Kantorovich dual LP: ``max_{f, g} sum_i p_i f_i - sum_j q_j g_j`` s.t. ``f_i - g_j <= C_ij``.

    Its constraint matrix is the transpose of the primal's (:func:`marginal_constraints`,
    with the sign of the g block flipped). f and g are defined up to a common additive
    constant (p and q both sum to 1); the returned pair is shifted so that ``f[0] = 0``.
    With the 1-D cost ``|x_i - y_j|`` on one grid, some optimal pair has g = f with f
    1-Lipschitz, a "critic" with ``W = E_p f - E_q f`` (:func:`wasserstein_dual_1d_lp`
    finds one); the pair HiGHS returns here need not be that one.

    Args:
        p: ``(n,)`` source weights, non-negative, summing to 1 within
            :data:`utils.validation.PROB_ATOL` (any float dtype; rescaled in float64 to sum
            exactly to 1 before the LP, so float32 weights are fine).
        q: ``(m,)`` target weights, the same.
        cost: ``(n, m)`` ground cost C.
        normalize: accept any non-negative weights with a positive sum (rescaled to sum to 1)
            instead of raising when they do not sum to 1.

    Returns:
        A :class:`DualResult` ``(distance, f, g)``:
        distance: 0-dim, the optimal dual value (equal to the primal optimum: strong duality).
        f: ``(n,)`` potentials on the source points; g: ``(m,)`` on the target points.

    Raises:
        TypeError, ValueError: as :func:`wasserstein_lp`.
        RuntimeError: if HiGHS does not report an optimum.

    References:
        Prince's slides, slide "Wasserstein distance: dual problem"; the NTHU lecture, slide
        "Wasserstein GAN II"
        (Kantorovich-Rubinstein); Peyre and Cuturi (2019), chapter 2 (duality).
    """
    pn, qn, C = _check_problem(p, q, cost, normalize)
    n, m = C.shape
    A = _marginal_constraints_sparse(n, m).T.tocsr()  # (n*m, n+m): row (i, j) picks f_i and g_j
    A_ub = sparse.hstack([A[:, :n], -A[:, n:]]).tocsr()  # f_i - g_j <= C_ij
    res = _solve(-np.concatenate([pn, -qn]), A_ub=A_ub, b_ub=C.reshape(-1), bounds=(None, None))
    f, g = res.x[:n] - res.x[0], res.x[n:] - res.x[0]
    return DualResult(_back(float(pn @ f - qn @ g), cost), _back(f, cost), _back(g, cost))


def wasserstein_dual_1d_lp(
    p: torch.Tensor, q: torch.Tensor, x: torch.Tensor | None = None, normalize: bool = False
) -> CriticResult:
    """Solve the slide's dual on a line: ``max_f sum_i (p_i - q_i) f_i`` s.t. ``|f_{i+1} - f_i| <= x_{i+1} - x_i``.

    Both distributions live on the same sorted points ``x`` (0, 1, ..., n-1 by default,
    as on the slide, where the constraint reads ``|f_{i+1} - f_i| <= 1``). The
    constraint makes f 1-Lipschitz on the grid; f is shifted so that ``f[0] = 0``.

    Args:
        p, q: ``(n,)`` weights on the same points, non-negative, summing to 1 within
            :data:`utils.validation.PROB_ATOL` (any float dtype; rescaled in float64 to sum
            exactly to 1 before the LP, so float32 weights are fine).
        x: ``(n,)`` strictly increasing positions; None for 0..n-1.
        normalize: accept any non-negative weights with a positive sum (rescaled to sum to 1)
            instead of raising when they do not sum to 1.

    Returns:
        A :class:`CriticResult` ``(distance, f)``:
        distance: 0-dim, the optimal value (the Wasserstein-1 distance).
        f: ``(n,)``, an optimal 1-Lipschitz critic. On ``p``'s device and dtype.

    Raises:
        TypeError, ValueError: for bad weights, ``len(p) != len(q)``, or x not strictly increasing.
        RuntimeError: if HiGHS does not report an optimum.

    References:
        Prince's slides, slide "Wasserstein distance: dual problem is easier to solve".
    """
    pw = _weights(p, "p", normalize)
    qw = _weights(q, "q", normalize)
    if x is not None:
        check_tensor(x, "x", ndim=1)
    check_same_device(p=p, q=q, x=x)
    n = len(pw)
    if len(qw) != n:
        raise ValueError(f"p and q must live on the same points: len(p) = {n}, len(q) = {len(qw)}")
    if x is None:
        xs = np.arange(n, dtype=np.float64)
    else:
        check_tensor(x, "x", ndim=1)
        if x.shape != (n,):
            raise ValueError(f"x must have shape ({n},), got {tuple(x.shape)}")
        xs = x.detach().cpu().to(torch.float64).numpy()
        if n > 1 and not (np.diff(xs) > 0).all():
            raise ValueError("x must be strictly increasing")
    d = (pw - qw).numpy()
    if n == 1:
        return CriticResult(_back(0.0, p), _back(np.zeros(1), p))
    D = sparse.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n))  # (D f)_i = f_{i+1} - f_i
    gaps = np.diff(xs)
    res = _solve(-d, A_ub=sparse.vstack([D, -D]).tocsr(), b_ub=np.concatenate([gaps, gaps]), bounds=(None, None))
    f = res.x - res.x[0]
    return CriticResult(_back(float(d @ f), p), _back(f, p))


# ----------------------------------------------------------------------------- closed form


def wasserstein_1d(
    x: torch.Tensor,
    y: torch.Tensor,
    x_weights: torch.Tensor | None = None,
    y_weights: torch.Tensor | None = None,
    normalize: bool = False,
) -> torch.Tensor:
    """The Wasserstein-1 distance on the real line in closed form: ``int |F(t) - G(t)| dt``.

    F and G are the CDFs of the two weighted point sets; between consecutive sorted
    points both are constant, so the integral is a finite sum.

    Args:
        x: ``(n,)`` points of the first distribution; y: ``(m,)`` of the second.
        x_weights: ``(n,)`` non-negative weights summing to 1; None for uniform 1/n.
        y_weights: ``(m,)``; None for uniform 1/m.
        normalize: rescale the weights to sum to 1 instead of raising.

    Returns:
        0-dim, on ``x``'s device and dtype.

    Raises:
        TypeError, ValueError: for non-1-D or non-finite points, or bad weights.

    References:
        Peyre and Cuturi (2019), chapter 2 (the real line); ``scipy.stats.wasserstein_distance``.
    """
    check_tensor(x, "x", ndim=1)
    check_tensor(y, "y", ndim=1)
    for name, w in (("x_weights", x_weights), ("y_weights", y_weights)):
        if w is not None:
            check_tensor(w, name, ndim=1)
    check_same_device(x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    y = y.to(x)
    a = torch.full_like(x, 1.0 / len(x)) if x_weights is None else _weights(x_weights, "x_weights", normalize).to(x)
    b = torch.full_like(y, 1.0 / len(y)) if y_weights is None else _weights(y_weights, "y_weights", normalize).to(x)
    if a.shape != x.shape:
        raise ValueError(f"x_weights must have shape {tuple(x.shape)}, got {tuple(a.shape)}")
    if b.shape != y.shape:
        raise ValueError(f"y_weights must have shape {tuple(y.shape)}, got {tuple(b.shape)}")
    points = torch.cat([x, y])
    signed = torch.cat([a, -b])  # F - G jumps by +a_i at x_i and by -b_j at y_j
    order = torch.argsort(points)
    points, signed = points[order], signed[order]
    cdf_gap = torch.cumsum(signed, 0)[:-1]  # F - G on each interval [t_k, t_{k+1})
    return (cdf_gap.abs() * torch.diff(points)).sum()
