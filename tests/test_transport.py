"""Tests of utils.transport: the transport LP, its duals and the 1-D closed form."""

import numpy as np
import ot
import pytest
import scipy.optimize
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.transport import (
    CriticResult,
    DualResult,
    TransportResult,
    cost_matrix,
    marginal_constraints,
    wasserstein_1d,
    wasserstein_dual_1d_lp,
    wasserstein_dual_lp,
    wasserstein_lp,
)

D = torch.float64


def random_simplex(n: int, g: torch.Generator, sparsity: float = 0.0) -> torch.Tensor:
    w = torch.rand(n, generator=g, dtype=D)
    if sparsity:
        w = w * (torch.rand(n, generator=g, dtype=D) > sparsity)
        w[0] += 0.1  # never all zero
    return w / w.sum()


def weights(n: int):
    """Hypothesis strategy: a probability vector of length n (some entries may be zero)."""
    return st.lists(st.integers(0, 20), min_size=n, max_size=n).filter(lambda v: sum(v) > 0).map(
        lambda v: torch.tensor(v, dtype=D) / sum(v)
    )


# ----------------------------------------------------------------------------- known values


def test_point_masses_distance_is_the_gap():
    p = torch.tensor([1.0, 0, 0, 0], dtype=D)
    q = torch.tensor([0, 0, 0, 1.0], dtype=D)
    C = cost_matrix(torch.arange(4, dtype=D), torch.arange(4, dtype=D))
    w, P = wasserstein_lp(p, q, C)
    assert w.item() == pytest.approx(3.0, abs=1e-12)
    assert P[0, 3].item() == pytest.approx(1.0, abs=1e-12)


def test_shift_by_one_bin_costs_one():
    p = torch.tensor([0.2, 0.5, 0.3, 0.0], dtype=D)
    q = torch.tensor([0.0, 0.2, 0.5, 0.3], dtype=D)
    x = torch.arange(4, dtype=D)
    assert wasserstein_lp(p, q, cost_matrix(x, x))[0].item() == pytest.approx(1.0, abs=1e-12)
    assert wasserstein_1d(x, x, p, q).item() == pytest.approx(1.0, abs=1e-12)
    assert wasserstein_dual_1d_lp(p, q)[0].item() == pytest.approx(1.0, abs=1e-12)


def test_cost_matrix_values_and_power():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=D)
    y = torch.tensor([[0.0, 0.0]], dtype=D)
    assert torch.equal(cost_matrix(x, y), torch.tensor([[0.0], [5.0]], dtype=D))
    assert torch.equal(cost_matrix(x, y, p=2), torch.tensor([[0.0], [25.0]], dtype=D))
    assert cost_matrix(torch.zeros(3), torch.zeros(5)).shape == (3, 5)


def test_marginal_constraints_are_the_kronecker_products():
    A = marginal_constraints(2, 3)
    expected = torch.tensor(
        [
            [1, 1, 1, 0, 0, 0],
            [0, 0, 0, 1, 1, 1],
            [1, 0, 0, 1, 0, 0],
            [0, 1, 0, 0, 1, 0],
            [0, 0, 1, 0, 0, 1],
        ],
        dtype=D,
    )
    assert torch.equal(A, expected)
    P = torch.rand(2, 3, dtype=D)
    assert torch.allclose(A @ P.reshape(-1), torch.cat([P.sum(1), P.sum(0)]))


# ----------------------------------------------------------------------------- against POT and SciPy


@pytest.mark.parametrize("n, m, d", [(5, 7, 1), (12, 9, 2), (30, 30, 3)])
def test_primal_and_dual_match_pot(n, m, d):
    g = torch.Generator().manual_seed(n * m)
    x = torch.randn(n, d, generator=g, dtype=D)
    y = torch.randn(m, d, generator=g, dtype=D) + 0.5
    p, q = random_simplex(n, g), random_simplex(m, g, sparsity=0.3)
    C = cost_matrix(x, y)
    expected = ot.emd2(p.numpy(), q.numpy(), C.numpy())
    w, P = wasserstein_lp(p, q, C)
    wd, f, gg = wasserstein_dual_lp(p, q, C)
    assert abs(w.item() - expected) < 1e-9
    assert abs(wd.item() - expected) < 1e-9  # strong duality
    # the plan is feasible: marginals and non-negativity
    assert torch.allclose(P.sum(1), p, atol=1e-10) and torch.allclose(P.sum(0), q, atol=1e-10)
    assert (P >= -1e-12).all()
    # the potentials are feasible, and tight wherever mass moves (complementary slackness)
    slack = C - (f[:, None] - gg[None, :])
    assert slack.min().item() > -1e-9
    assert slack[P > 1e-9].abs().max().item() < 1e-9
    assert f[0].item() == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_closed_form_matches_scipy_and_the_lp(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(9, generator=g, dtype=D)
    y = 2 * torch.randn(6, generator=g, dtype=D)
    a, b = random_simplex(9, g), random_simplex(6, g)
    expected = scipy.stats.wasserstein_distance(x.numpy(), y.numpy(), a.numpy(), b.numpy())
    assert abs(wasserstein_1d(x, y, a, b).item() - expected) < 1e-12
    assert abs(wasserstein_lp(a, b, cost_matrix(x, y))[0].item() - expected) < 1e-9
    # uniform weights by default
    expected_uniform = scipy.stats.wasserstein_distance(x.numpy(), y.numpy())
    assert abs(wasserstein_1d(x, y).item() - expected_uniform) < 1e-12


def test_slide_dual_on_a_grid_is_one_lipschitz_and_tight():
    g = torch.Generator().manual_seed(7)
    n = 15
    p, q = random_simplex(n, g), random_simplex(n, g)
    x = torch.cumsum(0.5 + torch.rand(n, generator=g, dtype=D), 0)  # uneven but increasing grid
    w, f = wasserstein_dual_1d_lp(p, q, x)
    assert abs(w.item() - scipy.stats.wasserstein_distance(x.numpy(), x.numpy(), p.numpy(), q.numpy())) < 1e-9
    assert (f.diff().abs() <= x.diff() + 1e-12).all()
    # E_p f - E_q f is the reported value
    assert abs(((p - q) @ f).item() - w.item()) < 1e-12


def test_device_and_dtype_follow_the_inputs():
    p = torch.tensor([0.5, 0.5])
    C = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    w, P = wasserstein_lp(p, p, C)
    assert w.dtype == torch.float32 and P.dtype == torch.float32
    assert w.item() == 0.0


# ----------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(weights(6), weights(6))
def test_symmetry(p, q):
    x = torch.arange(6, dtype=D)
    C = cost_matrix(x, x)
    assert abs(wasserstein_lp(p, q, C)[0].item() - wasserstein_lp(q, p, C)[0].item()) < 1e-9


@settings(max_examples=25, deadline=None)
@given(weights(7))
def test_distance_to_itself_is_zero(p):
    x = torch.linspace(0, 1, 7, dtype=D)
    w, P = wasserstein_lp(p, p, cost_matrix(x, x))
    assert abs(w.item()) < 1e-12
    assert wasserstein_1d(x, x, p, p).item() == pytest.approx(0.0, abs=1e-15)


@settings(max_examples=25, deadline=None)
@given(weights(5), weights(5), weights(5))
def test_triangle_inequality(p, q, r):
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.5, 1.5], [-1.0, 0.5]], dtype=D)
    C = cost_matrix(pts, pts)
    w = lambda a, b: wasserstein_lp(a, b, C)[0].item()  # noqa: E731
    assert w(p, r) <= w(p, q) + w(q, r) + 1e-9


@settings(max_examples=25, deadline=None)
@given(weights(6), weights(6), st.floats(0.1, 5.0))
def test_primal_equals_dual_equals_closed_form(p, q, scale):
    x = scale * torch.arange(6, dtype=D)
    wp = wasserstein_lp(p, q, cost_matrix(x, x))[0].item()
    wd = wasserstein_dual_lp(p, q, cost_matrix(x, x))[0].item()
    w1 = wasserstein_dual_1d_lp(p, q, x)[0].item()
    wc = wasserstein_1d(x, x, p, q).item()
    assert max(abs(wp - wd), abs(wp - w1), abs(wp - wc)) < 1e-9


# ----------------------------------------------------------------------------- bad inputs


def test_rejects_negative_weights():
    C = torch.zeros(2, 2, dtype=D)
    with pytest.raises(ValueError, match="p must be non-negative"):
        wasserstein_lp(torch.tensor([1.5, -0.5], dtype=D), torch.tensor([0.5, 0.5], dtype=D), C)


def test_rejects_weights_not_summing_to_one_unless_normalize():
    C = cost_matrix(torch.arange(2.0, dtype=D), torch.arange(2.0, dtype=D))
    p, q = torch.tensor([2.0, 0.0], dtype=D), torch.tensor([0.0, 1.0], dtype=D)
    with pytest.raises(ValueError, match="p must sum to 1"):
        wasserstein_lp(p, q, C)
    assert wasserstein_lp(p, q, C, normalize=True)[0].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="q must sum to 1"):
        wasserstein_dual_lp(q, 3 * q, C)
    with pytest.raises(ValueError, match="y_weights must sum to 1"):
        wasserstein_1d(torch.arange(2.0), torch.arange(2.0), None, torch.tensor([0.3, 0.3]))


def test_rejects_cost_of_wrong_shape_and_nan():
    p = torch.tensor([0.5, 0.5], dtype=D)
    with pytest.raises(ValueError, match=r"cost must have shape"):
        wasserstein_lp(p, p, torch.zeros(2, 3, dtype=D))
    with pytest.raises(ValueError, match="cost contains NaN"):
        wasserstein_lp(p, p, torch.tensor([[0.0, float("nan")], [1.0, 0.0]], dtype=D))
    with pytest.raises(ValueError, match="p contains NaN"):
        wasserstein_lp(torch.tensor([float("nan"), 0.5], dtype=D), p, torch.zeros(2, 2, dtype=D))


def test_rejects_non_tensors_and_integers():
    with pytest.raises(TypeError, match="p must be a torch.Tensor"):
        wasserstein_lp([0.5, 0.5], torch.tensor([0.5, 0.5]), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="x must be a floating-point"):
        cost_matrix(torch.arange(3), torch.arange(3.0))


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="x and y must be"):
        cost_matrix(torch.zeros(3, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="p must be positive"):
        cost_matrix(torch.zeros(3), torch.zeros(3), p=0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        marginal_constraints(0, 3)
    with pytest.raises(TypeError, match="m must be a positive int"):
        marginal_constraints(2, True)
    with pytest.raises(ValueError, match="same points"):
        wasserstein_dual_1d_lp(torch.tensor([1.0]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="x must be strictly increasing"):
        wasserstein_dual_1d_lp(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]), torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        wasserstein_1d(torch.zeros(3, 2), torch.zeros(3))


def test_solver_failure_is_reported_with_its_message(monkeypatch):
    def failing(*args, **kwargs):
        return scipy.optimize.OptimizeResult(status=2, message="The problem is infeasible. (HiGHS Status 8)", x=None)

    monkeypatch.setattr("utils.transport.linprog", failing)
    p = torch.tensor([0.5, 0.5], dtype=D)
    with pytest.raises(RuntimeError, match="infeasible"):
        wasserstein_lp(p, p, torch.zeros(2, 2, dtype=D))


# ----------------------------------------------------------------------------- float32 and sums within the tolerance


@pytest.mark.parametrize("seed", range(3))
def test_float32_weights_match_pot(seed):
    """float32 weights sum to 1 only to about 1e-7; HiGHS at 1e-10 used to call that infeasible."""
    g = torch.Generator().manual_seed(100 + seed)
    n, m = 40, 35
    x = torch.randn(n, 2, generator=g)
    y = torch.randn(m, 2, generator=g) + 1.0
    p = torch.rand(n, generator=g)
    q = torch.rand(m, generator=g)
    p, q = p / p.sum(), q / q.sum()  # float32
    assert p.dtype == torch.float32
    C = cost_matrix(x, y)
    expected = ot.emd2(p.double().numpy(), q.double().numpy(), C.double().numpy())
    w, P = wasserstein_lp(p, q, C)
    wd, f, gg = wasserstein_dual_lp(p, q, C)
    assert w.dtype == torch.float32 and P.dtype == torch.float32
    assert abs(w.item() - expected) < 1e-5 * max(1.0, expected)
    assert abs(wd.item() - expected) < 1e-5 * max(1.0, expected)
    grid = torch.arange(n, dtype=torch.float32)
    w1, _ = wasserstein_dual_1d_lp(p, p.flip(0), grid)
    assert abs(w1.item() - wasserstein_1d(grid.double(), grid.double(), p.double(), p.flip(0).double(), normalize=True).item()) < 1e-5


def test_float64_sums_off_within_the_tolerance_are_rescaled():
    """Sums 1 + 5e-5 and 1 - 5e-5 pass the check (PROB_ATOL = 1e-4); the LP sees each rescaled to 1."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(10, 2, generator=g, dtype=D)
    p, q = random_simplex(10, g), random_simplex(10, g)
    C = cost_matrix(x, x + 0.3)
    expected = ot.emd2(p.numpy(), q.numpy(), C.numpy())
    p_off, q_off = p * (1 + 5e-5), q * (1 - 5e-5)
    assert abs(wasserstein_lp(p_off, q_off, C).distance.item() - expected) < 1e-9
    assert abs(wasserstein_dual_lp(p_off, q_off, C).distance.item() - expected) < 1e-9
    grid = torch.arange(10, dtype=D)
    assert abs(wasserstein_dual_1d_lp(p_off, q_off).distance.item() - wasserstein_1d(grid, grid, p, q).item()) < 1e-9
    with pytest.raises(ValueError, match="p must sum to 1"):
        wasserstein_lp(p * 1.01, q, C)


def test_results_are_named_tuples():
    p = torch.tensor([0.25, 0.75], dtype=D)
    q = torch.tensor([0.5, 0.5], dtype=D)
    C = cost_matrix(torch.arange(2, dtype=D), torch.arange(2, dtype=D))
    primal = wasserstein_lp(p, q, C)
    assert isinstance(primal, TransportResult) and primal._fields == ("distance", "transport_plan")
    dist, plan = primal
    assert dist is primal.distance and plan is primal.transport_plan
    assert primal.distance.item() == pytest.approx(0.25)
    dual = wasserstein_dual_lp(p, q, C)
    assert isinstance(dual, DualResult) and dual._fields == ("distance", "f", "g")
    critic = wasserstein_dual_1d_lp(p, q)
    assert isinstance(critic, CriticResult) and critic._fields == ("distance", "f")
    assert critic.distance.item() == pytest.approx(0.25)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))])
def test_results_on_the_inputs_device(device):
    p = torch.tensor([0.5, 0.5], device=device)
    C = torch.tensor([[0.0, 1.0], [1.0, 0.0]], device=device)
    w, P = wasserstein_lp(p, p.flip(0), C)
    assert w.device.type == device and P.device.type == device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_mixed_devices_are_rejected():
    p = torch.tensor([0.5, 0.5])
    with pytest.raises(ValueError, match="device"):
        wasserstein_lp(p, p.cuda(), torch.zeros(2, 2))
