"""Tests for utils.translation: shapes, receptive fields, losses on hand-made tensors, tasks, measures."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from utils import rng
from utils import translation as T
from utils.gan import discriminator_loss


def _images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("noise_channels", [0, 1])
def test_unet_shape_and_range(noise_channels):
    net = T.unet_generator(channels=4, dropout=0.5, noise_channels=noise_channels)
    x = _images(3)
    z = torch.randn(3, noise_channels, 28, 28) if noise_channels else None
    out = net(x, z)
    assert out.shape == (3, 1, 28, 28)
    assert float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1


def test_unet_needs_z_when_built_with_noise():
    with pytest.raises(ValueError, match="z is required"):
        T.unet_generator(channels=4, noise_channels=2)(_images(2))


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan")])
def test_unet_rejects_bad_dropout(bad):
    with pytest.raises(ValueError):
        T.unet_generator(dropout=bad)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patchgan_receptive_field_formula_and_autograd(n_layers):
    """r = 5 * 2^n - 2 for n stride-2 4x4 convolutions and a 3x3 head; autograd sees the same patch."""
    net = T.patchgan_discriminator(in_channels=1, channels=4, n_layers=n_layers).eval()
    r = T.receptive_field(net)
    assert r == 5 * 2**n_layers - 2
    x = torch.randn(1, 1, 96, 96, requires_grad=True)
    out = net(x)
    h, w = out.shape[2:]
    out[0, 0, h // 2, w // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(dim=0)).flatten()
    assert int(rows.max() - rows.min() + 1) == r
    assert int(cols.max() - cols.min() + 1) == r


def test_patchgan_output_shape():
    assert T.patchgan_discriminator(2, 4, 2)(torch.rand(5, 2, 28, 28)).shape == (5, 1, 7, 7)


def test_receptive_field_known_values():
    assert T.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))) == 5
    assert T.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2))) == 5
    # pix2pix's 70x70 PatchGAN: C64-C128-C256 (4x4, stride 2), C512 (4x4, stride 1), a 4x4 head.
    p70 = nn.Sequential(*[nn.Conv2d(1, 1, 4, s) for s in (2, 2, 2, 1, 1)])
    assert T.receptive_field(p70) == 70
    with pytest.raises(TypeError):
        T.receptive_field("not a net")


def test_patch_discriminator_loss_averages_patches():
    real, fake = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    assert torch.allclose(T.patch_discriminator_loss(real, fake), discriminator_loss(real.reshape(-1), fake.reshape(-1)))
    assert math.isclose(T.patch_discriminator_loss(torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)).item(), math.log(4), rel_tol=1e-6)


def test_pix2pix_loss_by_hand():
    fake, target = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 0.0], [0.5, 0.5]]]])
    assert math.isclose(T.pix2pix_generator_loss(None, fake, target, lam=2.0).item(), 2 * 0.5, rel_tol=1e-6)
    logits = torch.zeros(1, 1, 2, 2)  # D = 1/2 on every patch: -log(1/2)
    assert math.isclose(T.pix2pix_generator_loss(logits, fake, target, lam=0.0).item(), math.log(2), rel_tol=1e-6)
    with pytest.raises(ValueError, match="lam"):
        T.pix2pix_generator_loss(None, fake, target, lam=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        T.pix2pix_generator_loss(None, fake, target[..., :1], lam=1.0)


def test_content_perceptual_and_srgan_losses():
    a, b = torch.zeros(2, 1, 4, 4), torch.full((2, 1, 4, 4), 0.5)
    assert math.isclose(T.content_loss(a, b).item(), 0.25)
    double = lambda t: 2 * t  # noqa: E731
    assert math.isclose(T.perceptual_loss(a, b, double).item(), 1.0)
    total = T.srgan_generator_loss(a, b, torch.zeros(2), double, adv_weight=0.1, perceptual_weight=2.0)
    assert math.isclose(total.item(), 0.25 + 2.0 + 0.1 * math.log(2), rel_tol=1e-6)
    with pytest.raises(TypeError, match="features"):
        T.perceptual_loss(a, b, "vgg")


def test_cycle_and_identity_losses_by_hand():
    x, y = torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2)
    shift_up, shift_down = (lambda t: t + 0.2), (lambda t: t - 0.2)
    assert T.cycle_consistency_loss(x, y, shift_up, shift_down).abs().item() < 1e-7  # F = G^-1
    assert math.isclose(T.cycle_consistency_loss(x, y, shift_up, lambda t: t).item(), 0.4, rel_tol=1e-6)
    assert math.isclose(T.identity_loss(x, y, shift_up, shift_down).item(), 0.4, rel_tol=1e-6)
    with pytest.raises(TypeError, match="netG"):
        T.cycle_consistency_loss(x, y, 3, shift_down)


def test_training_steps_run_and_reduce_nothing_to_nan():
    g = rng.make_generator(0)
    x = _images(4)
    netG, netD = T.unet_generator(channels=4, noise_channels=1), T.patchgan_discriminator(2, 4)
    og, od = torch.optim.Adam(netG.parameters()), torch.optim.Adam(netD.parameters())
    out = T.pix2pix_training_step(netG, netD, og, od, T.erase_lower_half(x), x, generator=g)
    assert set(out) == {"loss_d", "loss_g", "l1"} and all(math.isfinite(v) for v in out.values())
    sr, srd = T.unet_generator(channels=4), T.patchgan_discriminator(1, 4)
    out = T.srgan_training_step(sr, srd, torch.optim.Adam(sr.parameters()), torch.optim.Adam(srd.parameters()),
                                T.average_pool(x), x, features=lambda t: t)
    assert set(out) == {"loss_d", "loss_g", "mse"}
    G, F = T.unet_generator(channels=4), T.unet_generator(channels=4)
    Dx, Dy = T.patchgan_discriminator(1, 4), T.patchgan_discriminator(1, 4)
    out = T.cyclegan_training_step(G, F, Dx, Dy, torch.optim.Adam([*G.parameters(), *F.parameters()]),
                                   torch.optim.Adam([*Dx.parameters(), *Dy.parameters()]), x, T.dilate(x), identity_weight=1.0)
    assert out["cycle"] > 0


def test_tasks():
    x = _images(6)
    erased = T.erase_lower_half(x)
    assert (erased[:, :, 14:] == 0).all() and torch.equal(erased[:, :, :14], x[:, :, :14])
    low = T.average_pool(x)
    assert low.shape == (6, 1, 7, 7) and torch.allclose(low[0, 0, 0, 0], x[0, 0, :4, :4].mean())
    d = T.dilate(x)
    assert (d >= x).all() and torch.allclose(d[0, 0, 5, 5], x[0, 0, 4:7, 4:7].max())
    with pytest.raises(ValueError, match="odd"):
        T.dilate(x, 2)
    with pytest.raises(ValueError, match="divisible"):
        T.average_pool(x, 5)


def test_split_unpaired_is_disjoint_and_seeded():
    images = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1, 1).expand(10, 1, 3, 3) / 10
    labels = torch.arange(10)
    xa, la, yb, lb = T.split_unpaired(images, labels, rng.make_generator(0))
    assert len(xa) == len(yb) == 5
    assert set(la.tolist()).isdisjoint(lb.tolist())
    assert torch.equal(xa[:, 0, 0, 0] * 10, la.float())  # X keeps its images as they are
    again = T.split_unpaired(images, labels, rng.make_generator(0))
    assert torch.equal(again[1], la)
    with pytest.raises(ValueError, match="labels"):
        T.split_unpaired(images, labels[:3])


def test_measures():
    x = _images(3)
    assert torch.isinf(T.psnr(x, x)).all()
    assert torch.allclose(T.psnr(x, x + 0.1), torch.full((3,), 20.0), atol=1e-3)  # 10 log10(1 / 0.01)
    flat = torch.full((2, 1, 5, 5), 0.3)
    assert torch.equal(T.mean_gradient_magnitude(flat), torch.zeros(2))
    ramp = torch.arange(5.0).repeat(5, 1).reshape(1, 1, 5, 5) / 10
    assert torch.allclose(T.mean_gradient_magnitude(ramp), torch.tensor([0.1]))
    img = torch.tensor([0.0, 0.05, 0.5, 0.95, 1.0]).reshape(1, 1, 1, 5)
    assert torch.allclose(T.near_binary_share(img), torch.tensor([2 / 3]))
    with pytest.raises(ValueError, match="threshold"):
        T.near_binary_share(img, threshold=0.5)


@pytest.mark.parametrize(
    "net",
    [nn.Sequential(nn.Conv1d(1, 1, 3)), nn.Sequential(nn.Conv2d(1, 1, 3), nn.ConvTranspose2d(1, 1, 4, 2)),
     nn.Sequential(nn.Conv3d(1, 1, 3)), nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)),
     nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 1)),
     nn.Sequential(nn.MaxPool1d(2))],
    ids=["conv1d", "transposed", "conv3d", "adaptive-pool", "upsample", "linear", "maxpool1d"],
)
def test_receptive_field_refuses_layers_it_cannot_describe(net):
    with pytest.raises(ValueError, match="net holds a"):
        T.receptive_field(net)


def test_receptive_field_refuses_non_square_layers_and_handles_pooling():
    with pytest.raises(ValueError, match=r"kernel_size \(3, 5\)"):
        T.receptive_field(nn.Sequential(nn.Conv2d(1, 1, (3, 5))))
    with pytest.raises(ValueError, match="stride"):
        T.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, stride=(1, 2))))
    # LeNet-like: 5x5 conv (r = 5), 2x2 max pool (6, jump 2), 5x5 conv (6 + 4 * 2 = 14), 2x2 average pool (14 + 1 * 2 = 16)
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2))
    assert T.receptive_field(lenet) == 1 + 4 + 1 + 4 * 2 + 1 * 2


def test_mean_gradient_magnitude_needs_two_pixels_each_way():
    for shape in ((2, 1, 1, 5), (2, 1, 5, 1)):
        with pytest.raises(ValueError, match="images must be at least 2 x 2"):
            T.mean_gradient_magnitude(torch.rand(shape))
    assert torch.allclose(T.mean_gradient_magnitude(torch.tensor([[[[0.0, 0.3], [0.4, 0.0]]]])), torch.tensor([0.5]))


def test_psnr_uses_the_square_of_the_peak():
    x = _images(3)
    assert torch.allclose(T.psnr(255 * x, 255 * (x + 0.1), max_value=255.0), torch.full((3,), 20.0), atol=1e-3)
    assert torch.allclose(T.psnr(x, x + 0.1, max_value=2.0), torch.full((3,), 20.0 + 20 * math.log10(2)), atol=1e-3)


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def test_training_steps_check_their_arguments_before_any_step():
    x = _images(4)
    netG, netD = T.unet_generator(channels=4), T.patchgan_discriminator(2, 4)
    og, od = torch.optim.Adam(netG.parameters()), torch.optim.Adam(netD.parameters())
    before_g, before_d = _params(netG), _params(netD)
    with pytest.raises(ValueError, match="lam"):
        T.pix2pix_training_step(netG, netD, og, od, T.erase_lower_half(x), x, lam=-1.0)
    with pytest.raises(TypeError, match="opt_d"):
        T.pix2pix_training_step(netG, netD, og, None, T.erase_lower_half(x), x)
    sr, srd = T.unet_generator(channels=4), T.patchgan_discriminator(1, 4)
    osr, osrd = torch.optim.Adam(sr.parameters()), torch.optim.Adam(srd.parameters())
    before_sr = _params(srd)
    for kwargs, error, match in ((dict(adv_weight=-1.0), ValueError, "adv_weight"), (dict(perceptual_weight=float("nan")), ValueError, "perceptual_weight"),
                                 (dict(features="vgg"), TypeError, "features")):
        with pytest.raises(error, match=match):
            T.srgan_training_step(sr, srd, osr, osrd, T.average_pool(x), x, **kwargs)
    with pytest.raises(ValueError, match="same number of images"):
        T.srgan_training_step(sr, srd, osr, osrd, T.average_pool(x[:3]), x)
    assert all(torch.equal(a, b) for a, b in zip(before_g, netG.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(before_d, netD.parameters()))  # no discriminator step was taken
    assert all(torch.equal(a, b) for a, b in zip(before_sr, srd.parameters()))
    G, F = T.unet_generator(channels=4), T.unet_generator(channels=4)
    Dx, Dy = T.patchgan_discriminator(1, 4), T.patchgan_discriminator(1, 4)
    opt_g, opt_d = torch.optim.Adam([*G.parameters(), *F.parameters()]), torch.optim.Adam([*Dx.parameters(), *Dy.parameters()])
    with pytest.raises(ValueError, match="y is on meta"):
        T.cyclegan_training_step(G, F, Dx, Dy, opt_g, opt_d, x, torch.empty(4, 1, 28, 28, device="meta"))
    with pytest.raises(TypeError, match="netF"):
        T.cyclegan_training_step(G, None, Dx, Dy, opt_g, opt_d, x, x)


def test_cyclegan_step_reports_the_cycle_consistency_loss():
    """The step's cycle term is cycle_consistency_loss (L1) of the networks it starts from."""
    import copy

    torch.manual_seed(0)
    x, y = _images(4, seed=1), T.dilate(_images(4, seed=2))
    G, F = T.unet_generator(channels=4), T.unet_generator(channels=4)
    Dx, Dy = T.patchgan_discriminator(1, 4), T.patchgan_discriminator(1, 4)
    G0, F0 = copy.deepcopy(G), copy.deepcopy(F)  # train mode, as in the step: batch statistics
    with torch.no_grad():
        want = T.cycle_consistency_loss(x, y, G0, F0).item()
    out = T.cyclegan_training_step(G, F, Dx, Dy, torch.optim.Adam([*G.parameters(), *F.parameters()]),
                                   torch.optim.Adam([*Dx.parameters(), *Dy.parameters()]), x, y)
    assert out["cycle"] == pytest.approx(want, rel=1e-5)
