"""Tests of utils.autoencoders: shapes, training, the linear AE = PCA subspace, Jacobians, bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from utils.autoencoders import (
    Autoencoder,
    TangentVectors,
    add_noise,
    code_jacobian,
    contractive_penalty,
    conv_decoder,
    conv_encoder,
    linear_decoder,
    linear_encoder,
    mlp_decoder,
    mlp_encoder,
    reconstruction_error,
    tangent_vectors,
    train_autoencoder,
)
from utils.pca import pca_svd, principal_angles


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: one thread avoids OpenMP overhead (restored after each test)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def low_rank_data(n: int = 2000, d: int = 20, rank: int = 3, noise: float = 0.01, seed: int = 0):
    """Centred data near a random rank-`rank` subspace with distinct variances; returns (X, basis (d, rank))."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, rank, generator=g))
    scales = torch.tensor([3.0, 2.0, 1.0])[:rank]
    Z = torch.randn(n, rank, generator=g) * scales
    X = Z @ basis.T + noise * torch.randn(n, d, generator=g)
    return X - X.mean(0), basis


# ----------------------------------------------------------------------------- shapes


@settings(max_examples=10, deadline=None)
@given(k=st.integers(1, 40), n=st.integers(1, 5))
def test_builders_map_images_to_codes_and_back(k, n):
    x = torch.rand(n, 1, 28, 28)
    for enc, dec in [
        (linear_encoder(k), linear_decoder(k)),
        (mlp_encoder(k, (32,)), mlp_decoder(k, (32,))),
        (conv_encoder(k, (4, 8)), conv_decoder(k, (8, 4))),
    ]:
        model = Autoencoder(enc, dec)
        z = model.encode(x)
        assert z.shape == (n, k)
        assert model.decode(z).shape == x.shape
        assert model(x).shape == x.shape


def test_default_builders_and_other_shapes():
    x = torch.rand(3, 1, 28, 28)
    assert mlp_encoder(5)(x).shape == (3, 5)
    assert mlp_decoder(5)(torch.randn(3, 5)).shape == (3, 1, 28, 28)
    assert conv_encoder(5)(x).shape == (3, 5)
    assert conv_decoder(5)(torch.randn(3, 5)).shape == (3, 1, 28, 28)
    # non-image shapes for the MLP and linear builders; empty hidden = one layer
    assert mlp_encoder(2, (), in_shape=(6,))(torch.randn(4, 6)).shape == (4, 2)
    assert linear_decoder(2, out_shape=(3, 2))(torch.randn(4, 2)).shape == (4, 3, 2)


def test_sigmoid_decoders_stay_in_the_unit_interval():
    z = 50 * torch.randn(64, 4)
    for dec in (mlp_decoder(4, (16,)), conv_decoder(4, (8, 4))):
        out = dec(z)
        assert out.min() >= 0 and out.max() <= 1


def test_linear_builders_are_affine():
    enc, dec = linear_encoder(3, in_shape=(5,)), linear_decoder(3, out_shape=(5,))
    x, y = torch.randn(7, 5), torch.randn(7, 5)
    a = 0.3
    # f(a x + (1 - a) y) = a f(x) + (1 - a) f(y) holds exactly for an affine map
    torch.testing.assert_close(enc(a * x + (1 - a) * y), a * enc(x) + (1 - a) * enc(y))
    z, w = torch.randn(7, 3), torch.randn(7, 3)
    torch.testing.assert_close(dec(a * z + (1 - a) * w), a * dec(z) + (1 - a) * dec(w))


# ----------------------------------------------------------------------------- training


def test_linear_autoencoder_recovers_a_low_rank_subspace():
    """Baldi and Hornik (1989): a linear AE trained on MSE spans the top principal subspace."""
    X, basis = low_rank_data()
    torch.manual_seed(0)
    model = Autoencoder(linear_encoder(3, in_shape=(20,)), linear_decoder(3, out_shape=(20,)))
    history = train_autoencoder(
        model, X, n_steps=600, batch_size=200, lr=3e-2, generator=torch.Generator().manual_seed(0), schedule="cosine"
    )
    W = model.decoder[0].weight.detach()  # (d, k)
    cos_true = principal_angles(W, basis)
    cos_pca = principal_angles(W, pca_svd(X, 3).components.T)
    assert cos_true.min() > 0.999, cos_true
    assert cos_pca.min() > 0.999, cos_pca
    # PCA's error is the optimum (Eckart-Young); the AE's excess over it is tiny next to the data's variance
    pca = pca_svd(X, 3)
    pca_err = torch.mean((X - (X @ pca.components.T) @ pca.components) ** 2).item()
    err = reconstruction_error(model, X)
    assert pca_err <= err * (1 + 1e-6)
    assert err - pca_err < 1e-4 * torch.mean(X**2).item()
    assert len(history["loss"]) == 600 and history["loss"][-1] < history["loss"][0] / 100


def test_the_weights_are_not_the_eigenvectors():
    """Only the subspace is identified: the decoder's columns are neither orthonormal nor the components."""
    X, _ = low_rank_data(seed=1)
    torch.manual_seed(1)
    model = Autoencoder(linear_encoder(3, in_shape=(20,)), linear_decoder(3, out_shape=(20,)))
    train_autoencoder(model, X, 400, batch_size=200, lr=3e-2, generator=torch.Generator().manual_seed(1), schedule="cosine")
    W = model.decoder[0].weight.detach()
    E = pca_svd(X, 3).components.T
    assert principal_angles(W, E).min() > 0.99
    gram = W.T @ W
    assert not torch.allclose(gram, torch.eye(3), atol=0.05)
    assert (W.T @ E).abs().max() < 0.999 * W.norm(dim=0).max()  # no column is exactly an eigenvector


def test_denoising_linear_autoencoder_removes_noise():
    X, _ = low_rank_data(noise=0.0, seed=2)
    torch.manual_seed(2)
    g = torch.Generator().manual_seed(2)
    model = Autoencoder(linear_encoder(3, in_shape=(20,)), linear_decoder(3, out_shape=(20,)))
    train_autoencoder(model, X, 600, batch_size=200, lr=3e-2, noise_std=0.3, generator=g, schedule="cosine")
    noisy = add_noise(X, 0.3, torch.Generator().manual_seed(3))
    with torch.no_grad():
        denoised = model(noisy)
    err_noisy = torch.mean((noisy - X) ** 2).item()  # about 0.09
    err_denoised = torch.mean((denoised - X) ** 2).item()  # about 0.09 * 3/20 plus shrinkage
    assert err_noisy == pytest.approx(0.09, rel=0.05)
    assert err_denoised < 0.3 * err_noisy


def test_mlp_autoencoder_training_lowers_the_loss_and_is_reproducible():
    x = torch.rand(64, 1, 28, 28)

    def run():
        torch.manual_seed(0)
        model = Autoencoder(mlp_encoder(4, (16,)), mlp_decoder(4, (16,)))
        h = train_autoencoder(model, x, 40, batch_size=16, lr=1e-2, generator=torch.Generator().manual_seed(0))
        return model, h

    model, h = run()
    _, h2 = run()
    assert h["loss"] == h2["loss"]
    assert sum(h["loss"][-5:]) < sum(h["loss"][:5])
    assert not model.training  # left in eval mode


def test_learning_rate_schedules(monkeypatch):
    """Record the learning rate Adam uses at each step: constant, or lr (1 + cos(pi t / T)) / 2."""
    used = []
    original_step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        used.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    x = torch.rand(32, 1, 28, 28)
    n = 10
    for schedule in ("constant", "cosine"):
        used.clear()
        model = Autoencoder(linear_encoder(2), linear_decoder(2))
        train_autoencoder(model, x, n, batch_size=8, lr=1e-2, schedule=schedule)
        if schedule == "constant":
            expected = [1e-2] * n
        else:
            expected = [1e-2 * (1 + math.cos(math.pi * t / n)) / 2 for t in range(n)]
        assert used == pytest.approx(expected, rel=1e-9, abs=1e-15)


# ----------------------------------------------------------------------------- noise and errors


def test_non_int_sizes_raise_type_error():
    with pytest.raises(TypeError, match="code_dim"):
        linear_encoder(2.0)
    with pytest.raises(TypeError, match="code_dim"):
        linear_encoder(True)
    with pytest.raises(TypeError, match="n_vectors"):
        tangent_vectors(linear_encoder(2), torch.rand(1, 28, 28), 1.0)


def test_all_is_complete():
    import utils.autoencoders as m

    public = {n for n, v in vars(m).items() if not n.startswith("_") and getattr(v, "__module__", None) == m.__name__}
    assert public <= set(m.__all__)


def test_add_noise_statistics_and_reproducibility():
    x = torch.zeros(200_000)
    y = add_noise(x, 0.5, torch.Generator().manual_seed(0))
    assert y.std().item() == pytest.approx(0.5, rel=0.01)
    assert abs(y.mean().item()) < 0.01
    torch.testing.assert_close(y, add_noise(x, 0.5, torch.Generator().manual_seed(0)))
    assert not torch.equal(y, add_noise(x, 0.5, torch.Generator().manual_seed(1)))
    assert add_noise(x, 0.0) is x
    assert add_noise(x.double(), 0.1).dtype == torch.float64


def test_reconstruction_error_is_the_per_pixel_mse_for_any_batch_size():
    torch.manual_seed(0)
    model = Autoencoder(mlp_encoder(3, (8,)), mlp_decoder(3, (8,)))
    x = torch.rand(25, 1, 28, 28)
    with torch.no_grad():
        expected = nn.functional.mse_loss(model(x), x).item()
    for bs in (1, 7, 25, 1000):
        assert reconstruction_error(model, x, batch_size=bs) == pytest.approx(expected, rel=1e-5)
    assert reconstruction_error(nn.Identity(), x) == 0.0


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(0.0, 3.0), n=st.integers(1, 6))
def test_reconstruction_error_of_a_scaled_identity(scale, n):
    """x_hat = s x gives MSE = (s - 1)^2 mean(x^2), a known value."""

    class Scale(nn.Module):
        def forward(self, x):
            return scale * x

    x = torch.rand(n, 4, dtype=torch.float64)
    expected = (scale - 1) ** 2 * torch.mean(x**2).item()
    assert reconstruction_error(Scale(), x) == pytest.approx(expected, rel=1e-9, abs=1e-15)


# ----------------------------------------------------------------------------- Jacobians


def test_code_jacobian_of_a_linear_encoder_is_its_weight():
    enc = linear_encoder(4)
    x = torch.rand(1, 28, 28)
    torch.testing.assert_close(code_jacobian(enc, x), enc[1].weight)


def test_code_jacobian_matches_autograd_functional():
    torch.manual_seed(0)
    enc = mlp_encoder(3, (16,), in_shape=(10,))
    x = torch.randn(10)
    expected = torch.autograd.functional.jacobian(lambda v: enc(v[None])[0], x)
    torch.testing.assert_close(code_jacobian(enc, x), expected)


DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("gen_device", DEVICES)
def test_add_noise_draws_on_the_generators_device(device, gen_device):
    """The generator may live on any device; the noise comes back on x's device and dtype."""
    x = torch.zeros(4, 1, 28, 28, device=device, dtype=torch.float64)
    y1 = add_noise(x, 0.5, torch.Generator(device=gen_device).manual_seed(0))
    y2 = add_noise(x, 0.5, torch.Generator(device=gen_device).manual_seed(0))
    assert y1.device.type == device and y1.dtype == torch.float64
    torch.testing.assert_close(y1, y2)
    assert 0.4 < y1.std().item() < 0.6


@pytest.mark.parametrize("device", DEVICES)
def test_train_and_tangent_vectors_on_device(device):
    torch.manual_seed(0)
    X = torch.rand(64, 1, 28, 28, device=device)
    model = Autoencoder(conv_encoder(2, (4, 8)), conv_decoder(2, (8, 4))).to(device)
    hist = train_autoencoder(model, X, 5, batch_size=16, noise_std=0.1, generator=torch.Generator(device=device).manual_seed(0))
    assert len(hist["loss"]) == 5 and all(math.isfinite(v) for v in hist["loss"])
    tv = tangent_vectors(model.encoder, X[0], 2)
    assert isinstance(tv, TangentVectors) and tv.vectors.device.type == device


def test_tangent_vectors_are_orthonormal_top_singular_directions():
    torch.manual_seed(0)
    enc = conv_encoder(6, (4, 8))
    x = torch.rand(1, 28, 28)
    result = tangent_vectors(enc, x, 3)
    assert isinstance(result, TangentVectors)
    V, s = result.vectors, result.singular_values
    assert V.shape == (3, 1, 28, 28)
    Vf = V.reshape(3, -1)
    torch.testing.assert_close(Vf @ Vf.T, torch.eye(3), atol=1e-5, rtol=0)
    J = code_jacobian(enc, x)
    torch.testing.assert_close(s, torch.linalg.svdvals(J))
    # |J v_1| is the largest singular value
    assert torch.linalg.norm(J @ Vf[0]).item() == pytest.approx(s[0].item(), rel=1e-4)


def test_contractive_penalty_matches_the_sigmoid_closed_form():
    """For c = sigmoid(W x + b): ||J||_F^2 = sum_j (c_j (1 - c_j))^2 ||W_j||^2 (Rifai et al., 2011)."""
    torch.manual_seed(0)
    lin = nn.Linear(12, 5)
    enc = nn.Sequential(lin, nn.Sigmoid())
    x = torch.randn(8, 12)
    c = enc(x).detach()
    closed = ((c * (1 - c)) ** 2 * lin.weight.detach().pow(2).sum(1)).sum(1).mean()
    pen = contractive_penalty(enc, x)
    torch.testing.assert_close(pen.detach(), closed)
    pen.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("builder", [linear_encoder, linear_decoder, mlp_encoder, mlp_decoder, conv_encoder, conv_decoder])
def test_builders_reject_bad_code_dim(builder):
    with pytest.raises(ValueError, match="code_dim"):
        builder(0)
    with pytest.raises(TypeError, match="code_dim"):
        builder(2.0)


def test_builders_reject_bad_shapes_and_widths():
    with pytest.raises(ValueError, match="hidden"):
        mlp_encoder(2, (16, 0))
    with pytest.raises(ValueError, match="hidden"):
        mlp_decoder(2, (-1,))
    with pytest.raises(ValueError, match="in_shape"):
        mlp_encoder(2, in_shape=(1, 0, 28))
    with pytest.raises(ValueError, match="out_shape"):
        linear_decoder(2, out_shape=())
    with pytest.raises(ValueError, match="channels"):
        conv_encoder(2, (8,))
    with pytest.raises(ValueError, match="channels"):
        conv_decoder(2, (8, 0))
    with pytest.raises(TypeError, match="encoder and decoder"):
        Autoencoder(lambda x: x, mlp_decoder(2))


def test_train_autoencoder_rejects_bad_arguments():
    model = Autoencoder(linear_encoder(2), linear_decoder(2))
    x = torch.rand(10, 1, 28, 28)
    with pytest.raises(ValueError, match="n_steps"):
        train_autoencoder(model, x, 0)
    with pytest.raises(ValueError, match="batch_size"):
        train_autoencoder(model, x, 1, batch_size=11)
    with pytest.raises(ValueError, match="lr"):
        train_autoencoder(model, x, 1, batch_size=5, lr=0.0)
    with pytest.raises(ValueError, match="noise_std"):
        train_autoencoder(model, x, 1, batch_size=5, noise_std=-0.1)
    with pytest.raises(ValueError, match="schedule"):
        train_autoencoder(model, x, 1, batch_size=5, schedule="linear")
    with pytest.raises(ValueError, match="x_train"):
        train_autoencoder(model, torch.full((10, 1, 28, 28), math.nan), 1, batch_size=5)
    with pytest.raises(TypeError, match="x_train"):
        train_autoencoder(model, torch.ones(10, 1, 28, 28, dtype=torch.int64), 1, batch_size=5)
    with pytest.raises(TypeError, match="model"):
        train_autoencoder("model", x, 1, batch_size=5)
    with pytest.raises(ValueError, match="no parameters"):
        train_autoencoder(nn.Identity(), x, 1, batch_size=5)


def test_other_functions_reject_bad_arguments():
    with pytest.raises(ValueError, match="noise_std"):
        add_noise(torch.zeros(3), -1.0)
    with pytest.raises(TypeError, match="x"):
        add_noise(torch.zeros(3, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match="output has shape"):
        reconstruction_error(linear_encoder(2), torch.rand(4, 1, 28, 28))
    with pytest.raises(ValueError, match="batch_size"):
        reconstruction_error(nn.Identity(), torch.rand(4, 2), batch_size=0)
    with pytest.raises(ValueError, match="n_vectors"):
        tangent_vectors(linear_encoder(2), torch.rand(1, 28, 28), 3)
    with pytest.raises(ValueError, match="x"):
        code_jacobian(linear_encoder(2), torch.full((1, 28, 28), math.inf))
    with pytest.raises(ValueError, match="x"):
        contractive_penalty(linear_encoder(2), torch.empty(0, 1, 28, 28))
