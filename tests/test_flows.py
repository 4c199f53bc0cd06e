"""Tests of utils.flows: invertibility, log-determinants against brute force, exact densities."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import jacrev

from utils import flows as F
from utils.flows import (
    ActNorm,
    AdditiveCoupling,
    AffineCoupling,
    Flow,
    InvertibleConv1x1,
    Permute,
    Squeeze,
    bits_per_dim,
)


def _brute_log_det(layer, x: torch.Tensor) -> torch.Tensor:
    """log |det dz/dx| of one example by the full Jacobian (jacrev) and slogdet."""
    shape = x.shape

    def f(v):
        return layer(v.reshape(1, *shape))[0].reshape(-1)

    J = jacrev(f)(x.reshape(-1))
    return torch.linalg.slogdet(J)[1]


def _randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


def _vector_layers(d: int, seed: int):
    mask = [i % 2 for i in range(d)]
    perm = torch.randperm(d, generator=torch.Generator().manual_seed(seed))
    return [
        AdditiveCoupling(mask, hidden=(8,)),
        AffineCoupling(mask, hidden=(8,)),
        AffineCoupling([1 - m for m in mask], hidden=(8,)),
        Permute(perm),
        ActNorm(d),
    ]


@given(st.integers(2, 5), st.integers(0, 100))
@settings(max_examples=15, deadline=None)
def test_vector_layers_invert_and_log_det_matches_brute_force(d, seed):
    torch.manual_seed(seed)
    x = torch.randn(6, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for layer in _vector_layers(d, seed):
        layer = _randomize(layer, seed)
        z, log_det = layer(x)  # (ActNorm initializes here)
        assert torch.allclose(layer.inverse(z), x, atol=1e-10), type(layer).__name__
        brute = torch.stack([_brute_log_det(layer, xi) for xi in x])
        assert torch.allclose(log_det, brute, atol=1e-8), type(layer).__name__


def test_additive_coupling_preserves_volume():
    layer = _randomize(AdditiveCoupling([1, 0, 1, 0]), 0)
    _, log_det = layer(torch.randn(5, 4, dtype=torch.float64))
    assert torch.equal(log_det, torch.zeros(5, dtype=torch.float64))


@pytest.mark.parametrize("lu", [False, True])
def test_1x1_conv_log_det_is_hw_log_det_w(lu):
    layer = _randomize(InvertibleConv1x1(3, lu=lu, generator=torch.Generator().manual_seed(1)), 1)
    x = torch.randn(2, 3, 2, 3, dtype=torch.float64)
    z, log_det = layer(x)
    W = layer.weight_matrix()
    assert torch.allclose(log_det, 2 * 3 * torch.linalg.slogdet(W)[1].expand(2))
    assert torch.allclose(log_det, torch.stack([_brute_log_det(layer, xi) for xi in x]), atol=1e-9)
    assert torch.allclose(layer.inverse(z), x, atol=1e-10)


def test_lu_equals_plain_for_the_same_matrix():
    g = torch.Generator().manual_seed(3)
    lu = InvertibleConv1x1(4, lu=True, generator=g).double()
    plain = InvertibleConv1x1(4, lu=False).double()
    with torch.no_grad():
        plain.weight.copy_(lu.weight_matrix())
    x = torch.randn(3, 4, 2, 2, dtype=torch.float64)
    (z1, l1), (z2, l2) = lu(x), plain(x)
    assert torch.allclose(z1, z2) and torch.allclose(l1, l2)


def test_singular_w_is_rejected():
    layer = InvertibleConv1x1(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(ValueError, match="singular"):
        layer(torch.randn(1, 2, 2, 2))


def test_squeeze_round_trip_and_shape():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    z, log_det = Squeeze()(x)
    assert z.shape == (2, 4, 2, 2) and torch.equal(log_det, torch.zeros(2))
    assert torch.equal(Squeeze().inverse(z), x)
    with pytest.raises(ValueError, match="even"):
        Squeeze()(torch.zeros(1, 1, 3, 4))


def test_empty_flow_is_the_standard_normal():
    flow = Flow([], event_shape=(3,))
    x = torch.randn(10, 3)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(1)
    assert torch.allclose(flow.log_prob(x), expected, atol=1e-6)


def test_a_2d_flow_density_integrates_to_one():
    torch.manual_seed(0)
    layers = []
    for i in range(2):
        layer = _randomize(AffineCoupling([i % 2, 1 - i % 2], hidden=(16,)), i)
        with torch.no_grad():
            layer.scale.fill_(math.log(0.3))  # |log-scale| <= 0.3: the mass stays inside the grid
        layers.append(layer)
    flow = Flow(layers, event_shape=(2,)).double()
    edges = torch.linspace(-10, 10, 801, dtype=torch.float64)
    centres = (edges[1:] + edges[:-1]) / 2
    xx, yy = torch.meshgrid(centres, centres, indexing="ij")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).exp()
    mass = float(p.sum() * (edges[1] - edges[0]) ** 2)
    assert abs(mass - 1) < 1e-3, mass


def test_sample_shape_generator_and_temperature():
    flow = Flow([AffineCoupling([1, 0], hidden=(4,))], event_shape=(2,))
    a = flow.sample(5, generator=torch.Generator().manual_seed(0))
    b = flow.sample(5, generator=torch.Generator().manual_seed(0))
    assert a.shape == (5, 2) and torch.equal(a, b)
    with pytest.raises(ValueError, match="temperature"):
        flow.sample(2, temperature=0.0)


def test_bits_per_dim():
    assert float(bits_per_dim(784 * math.log(2), 784)) == pytest.approx(1.0)
    with pytest.raises(TypeError, match="n_dims"):
        bits_per_dim(1.0, 2.5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="mask"):
        AffineCoupling([1, 1, 1])
    with pytest.raises(ValueError, match="mask"):
        AdditiveCoupling([0.5, 1])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        AffineCoupling([1, 0])(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="NaN"):
        AffineCoupling([1, 0])(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="permutation"):
        Permute([0, 0, 1])
    with pytest.raises(ValueError, match="channels"):
        ActNorm(3)(torch.zeros(2, 4))


def test_dequantize_and_logit_transform():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (3, 1, 2, 2), generator=gen).float() / 255
    y = F.dequantize(x, generator=gen)
    assert bool(((y * 256).floor() == (x * 255).round()).all())  # the noise stays inside each pixel's bin
    assert bool(((y >= 0) & (y < 1)).all())
    y64 = y.double()
    z, log_det = F.logit_transform(y64)
    brute = torch.stack([torch.log(torch.autograd.functional.jacobian(lambda v: F.logit_transform(v[None])[0][0], v).reshape(4, 4).diagonal()).sum() for v in y64])
    assert torch.allclose(log_det, brute, atol=1e-10)
    assert torch.isfinite(F.logit_transform(torch.tensor([[0.0, 1.0]]))[0]).all()
    with pytest.raises(ValueError, match="x must lie in"):
        F.dequantize(torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="alpha"):
        F.logit_transform(y, alpha=0.5)


def test_conv_affine_coupling_inverse_and_log_det():
    torch.manual_seed(0)
    layer = F.ConvAffineCoupling(4, hidden=8).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(3, 4, 2, 2, dtype=torch.float64)
    z, log_det = layer(x)
    assert torch.allclose(layer.inverse(z), x, atol=1e-10)
    for v, ld in zip(x, log_det):
        jac = torch.func.jacrev(lambda u: layer(u[None])[0][0].reshape(-1))(v).reshape(16, 16)
        assert torch.allclose(torch.linalg.slogdet(jac).logabsdet, ld, atol=1e-9)
    with pytest.raises(ValueError, match="channels"):
        layer(torch.randn(1, 3, 2, 2, dtype=torch.float64))


def test_glow_mnist_samples_in_latent_shape():
    flow = F.glow_mnist(n_steps=1, hidden=8, generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 1, 28, 28)
    z, _ = flow(x)
    assert z.shape == (2, *flow.latent_shape) and torch.allclose(flow.inverse(z), x, atol=1e-4)
    assert flow.sample(3, generator=torch.Generator().manual_seed(1)).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="latent_shape"):
        F.Flow([], (1, 4, 4), latent_shape=(5, 1, 1))


def test_discrete_bits_per_dim_bounds_the_exact_discrete_nll() -> None:
    """With no layers the model is a logit-normal per pixel: P(pixel value v) is a difference of normal CDFs.

    The dequantized estimate must lie above the exact discrete NLL on average (Jensen) and close to it.
    """
    flow = F.Flow([], (1, 2, 2)).double()
    values = torch.tensor([0.0, 37.0, 128.0, 255.0], dtype=torch.float64)
    images = (values / 255).view(1, 1, 2, 2).expand(20_000, 1, 2, 2)
    estimate = F.discrete_bits_per_dim(flow, images, torch.Generator().manual_seed(0)).mean()
    alpha = 0.05

    def logit(y: torch.Tensor) -> torch.Tensor:
        y = alpha + (1 - 2 * alpha) * y
        return torch.log(y) - torch.log1p(-y)

    normal = torch.distributions.Normal(0.0, 1.0)
    p_bins = normal.cdf(logit((values + 1) / 256)) - normal.cdf(logit(values / 256))
    exact = -torch.log2(p_bins).mean()
    assert exact - 1e-3 < estimate < exact + 0.01, (estimate.item(), exact.item())


def test_inverse_logit_transform_undoes_the_logit_transform() -> None:
    y = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(F.inverse_logit_transform(F.logit_transform(y)[0]), y, atol=1e-5, rtol=0)


def test_actnorm_on_images_log_det_has_the_hw_factor():
    """On (N, C, H, W) the log-det is H * W * sum(logs): checked against the full Jacobian, with H * W = 6."""
    layer = ActNorm(2)
    x = 2.0 + 3.0 * torch.randn(5, 2, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    layer = layer.double()
    z, log_det = layer(x)  # initializes: each channel of z has mean 0 and std 1
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    with torch.no_grad():
        layer.logs.add_(torch.tensor([0.3, -0.7], dtype=torch.float64))  # away from the data's values
    z, log_det = layer(x)
    assert torch.allclose(log_det, 6 * layer.logs.sum().expand(5))
    assert torch.allclose(log_det, torch.stack([_brute_log_det(layer, xi) for xi in x]), atol=1e-9)
    assert torch.allclose(layer.inverse(z), x, atol=1e-10)


def test_actnorm_needs_two_values_per_channel_to_initialize():
    with pytest.raises(ValueError, match=r"x must hold at least 2 values per channel"):
        ActNorm(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"at least 2 values per channel"):
        ActNorm(3)(torch.randn(1, 3, 1, 1))
    layer = ActNorm(3)
    assert not bool(layer.initialized)  # the failed call did not mark it initialized
    z, _ = layer(torch.randn(1, 3, 2, 2))  # one image of 4 pixels is enough
    assert bool(layer.initialized) and torch.isfinite(z).all()
    assert torch.isfinite(layer(torch.randn(1, 3, 1, 1))[0]).all()  # after initialization any batch is fine


@pytest.mark.parametrize(
    "layer, shape",
    [
        (AdditiveCoupling([1, 0], hidden=(4,)), (3, 2)),
        (AffineCoupling([1, 0], hidden=(4,)), (3, 2)),
        (InvertibleConv1x1(2), (3, 2, 2, 2)),
        (InvertibleConv1x1(2, lu=True), (3, 2, 2, 2)),
        (F.ConvAffineCoupling(2, hidden=4), (3, 2, 2, 2)),
    ],
    ids=["additive", "affine", "1x1", "1x1-lu", "conv-affine"],
)
def test_layers_name_a_dtype_mismatch(layer, shape):
    x64 = torch.zeros(shape, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 .* got torch.float64"):
        layer(x64)
    with pytest.raises(TypeError, match=r"z must have dtype torch.float32"):
        layer.inverse(x64)
    with pytest.raises(ValueError, match="x is on meta"):
        layer(torch.empty(shape, device="meta"))
    layer.double()(x64)  # converting the layer is the fix


def test_log_prob_helpers_reject_bad_input():
    with pytest.raises(ValueError, match=r"z must have at least 2 dimension"):
        F.standard_normal_log_prob(torch.zeros(3))
    with pytest.raises(ValueError, match="z contains NaN"):
        F.standard_normal_log_prob(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="nll_nats must be finite"):
        bits_per_dim(float("nan"), 784)
    with pytest.raises(ValueError, match="nll_nats contains NaN"):
        bits_per_dim(torch.tensor([1.0, float("inf")]), 784)
    assert float(bits_per_dim(torch.tensor(784 * math.log(2)), 784)) == pytest.approx(1.0)
    assert float(bits_per_dim(0, 784)) == 0.0  # an int is a number too


def test_logit_transform_edges():
    with pytest.raises(ValueError, match=r"y must have at least 2 dimension"):
        F.logit_transform(torch.rand(3))
    with pytest.raises(ValueError, match=r"y must lie in \(0, 1\) when alpha = 0"):
        F.logit_transform(torch.tensor([[0.0, 0.5]]), alpha=0.0)
    with pytest.raises(ValueError, match=r"y must lie in \(0, 1\) when alpha = 0"):
        F.logit_transform(torch.tensor([[0.5, 1.0]]), alpha=0)
    y = torch.tensor([[0.25, 0.5]], dtype=torch.float64)
    z, log_det = F.logit_transform(y, alpha=0.0)  # alpha = 0 is the plain logit
    assert torch.allclose(z, torch.log(y / (1 - y))) and torch.isfinite(log_det).all()
    for bad in (-0.1, 0.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            F.logit_transform(y, alpha=bad)


def test_inverse_logit_transform_checks_its_input():
    y = torch.rand(4, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    for alpha in (0.0, 0.2, 0.45):
        torch.testing.assert_close(F.inverse_logit_transform(F.logit_transform(y, alpha)[0], alpha), y, atol=1e-5, rtol=0)
    for bad in (0.5, 0.7, -0.1, float("nan")):
        with pytest.raises(ValueError, match="alpha must"):
            F.inverse_logit_transform(torch.zeros(2), alpha=bad)
    with pytest.raises(ValueError, match="z contains NaN"):
        F.inverse_logit_transform(torch.tensor([0.0, float("nan")]))
    with pytest.raises(TypeError, match="z must be a floating-point"):
        F.inverse_logit_transform(torch.zeros(2, dtype=torch.int64))


def test_discrete_bits_per_dim_names_its_images():
    flow = F.Flow([], (1, 2, 2))
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        F.discrete_bits_per_dim(flow, torch.full((2, 1, 2, 2), 2.0))
    with pytest.raises(ValueError, match="images contains NaN"):
        F.discrete_bits_per_dim(flow, torch.full((2, 1, 2, 2), float("nan")))
