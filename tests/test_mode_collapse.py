"""Tests of utils.mode_collapse: the batched layers against their one-model versions, the remedies by hand."""

import math

import pytest
import torch
from torch import nn

from utils.data import ring_centres, sample_ring
from utils.gan import discriminator_loss, generator_loss
from utils.metrics import modes_covered
from utils.mode_collapse import (
    MODE_COLLAPSE_METHODS,
    EnsembleLinear,
    MinibatchStdDev,
    Pack,
    ensemble_discriminator_loss,
    ensemble_generator_loss,
    ensemble_mlp,
    train_gan_ensemble,
    unrolled_generator_loss,
)


def test_ensemble_linear_equals_one_linear_layer_per_model():
    torch.manual_seed(0)
    layer = EnsembleLinear(3, 4, 5)
    x = torch.randn(3, 7, 4)
    for s in range(3):
        single = nn.Linear(4, 5)
        with torch.no_grad():
            single.weight.copy_(layer.weight[s].T)
            single.bias.copy_(layer.bias[s, 0])
        torch.testing.assert_close(layer(x)[s], single(x[s]))


def test_ensemble_linear_initialization_bound_and_errors():
    layer = EnsembleLinear(2, 16, 3)
    assert layer.weight.abs().max() <= 0.25 and layer.bias.abs().max() <= 0.25
    with pytest.raises(ValueError, match="n_models"):
        EnsembleLinear(0, 2, 2)
    with pytest.raises(ValueError, match=r"\(2, B, 16\)"):
        layer(torch.randn(3, 5, 16))


def test_members_of_an_ensemble_do_not_share_gradients():
    torch.manual_seed(1)
    net = ensemble_mlp(3, [2, 8, 1])
    out = net(torch.randn(3, 10, 2))
    out[1].sum().backward()
    for p in net.parameters():
        assert p.grad[0].abs().max() == 0 and p.grad[2].abs().max() == 0 and p.grad[1].abs().max() > 0


def test_minibatch_std_appends_the_mean_feature_std():
    x = torch.tensor([[[0.0, 1.0], [2.0, 5.0]]])  # one model, B = 2, h = 2: stds 1 and 2
    out = MinibatchStdDev()(x)
    assert out.shape == (1, 2, 3)
    torch.testing.assert_close(out[..., 2], torch.full((1, 2), 1.5), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[..., :2], x)
    with pytest.raises(ValueError, match="B >= 2"):
        MinibatchStdDev()(torch.randn(4, 1, 3))


def test_minibatch_std_is_zero_for_a_collapsed_batch():
    out = MinibatchStdDev()(torch.ones(2, 6, 3))
    assert out[..., 3].max() < 1e-3


def test_pack_concatenates_consecutive_samples():
    x = torch.arange(24.0).reshape(2, 6, 2)  # S = 2, B = 6, d = 2
    packed = Pack(3)(x)
    assert packed.shape == (2, 2, 6)
    torch.testing.assert_close(packed[0, 1], torch.cat([x[0, 3], x[0, 4], x[0, 5]]))
    with pytest.raises(ValueError, match="multiple of the packing degree"):
        Pack(4)(x)
    with pytest.raises(ValueError, match="m"):
        Pack(0)


def test_ensemble_mlp_shapes_for_each_remedy():
    x = torch.randn(3, 8, 2)
    assert ensemble_mlp(3, [2, 16, 16, 1])(x).shape == (3, 8, 1)
    assert ensemble_mlp(3, [2, 16, 1], pack=4)(x).shape == (3, 2, 1)
    net = ensemble_mlp(3, [2, 16, 1], minibatch_std=True)
    assert net(x).shape == (3, 8, 1) and any(isinstance(m, MinibatchStdDev) for m in net)
    with pytest.raises(ValueError, match="input and an output"):
        ensemble_mlp(3, [2])


def test_ensemble_losses_are_sums_of_the_members_losses():
    torch.manual_seed(2)
    real, fake = torch.randn(3, 5, 1), torch.randn(3, 5, 1)
    want_d = sum(discriminator_loss(real[s, :, 0], fake[s, :, 0]) for s in range(3))
    want_g = sum(generator_loss(fake[s, :, 0]) for s in range(3))
    torch.testing.assert_close(ensemble_discriminator_loss(real, fake), want_d)
    torch.testing.assert_close(ensemble_generator_loss(fake), want_g)


def test_unrolled_loss_with_no_steps_is_the_generator_loss():
    torch.manual_seed(3)
    netD = ensemble_mlp(2, [2, 8, 1])
    real, fake = torch.randn(2, 6, 2), torch.randn(2, 6, 2)
    torch.testing.assert_close(unrolled_generator_loss(netD, real, fake, 0, 0.1), ensemble_generator_loss(netD(fake)))


def test_unrolled_loss_follows_one_sgd_step_by_hand_and_leaves_the_discriminator_alone():
    torch.manual_seed(4)
    netD = nn.Linear(2, 1)
    real, fake = torch.randn(6, 2), torch.randn(6, 2, requires_grad=True)
    before = [p.detach().clone() for p in netD.parameters()]
    got = unrolled_generator_loss(netD, real, fake, 1, 0.5)
    # by hand: phi_1 = phi_0 - 0.5 grad L_D(phi_0), then the generator loss at phi_1
    w, b = (p.detach().clone().requires_grad_() for p in netD.parameters())
    loss_d = discriminator_loss(real @ w.T + b, fake.detach() @ w.T + b)
    gw, gb = torch.autograd.grad(loss_d, (w, b))
    want = generator_loss((fake @ (w - 0.5 * gw).T + (b - 0.5 * gb)).reshape(-1))
    torch.testing.assert_close(got, want)
    assert all(torch.equal(p, q) for p, q in zip(before, netD.parameters()))
    # the generator's gradient flows through the unrolled steps: it differs from the k = 0 gradient
    g_unrolled = torch.autograd.grad(got, fake)[0]
    g_plain = torch.autograd.grad(unrolled_generator_loss(netD, real, fake, 0, 0.5), fake)[0]
    assert (g_unrolled - g_plain).abs().max() > 1e-4


def test_unrolled_loss_rejects_bad_arguments():
    netD = nn.Linear(2, 1)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="n_unroll"):
        unrolled_generator_loss(netD, x, x, -1, 0.1)
    with pytest.raises(TypeError, match="n_unroll"):
        unrolled_generator_loss(netD, x, x, 1.0, 0.1)
    with pytest.raises(ValueError, match="lr"):
        unrolled_generator_loss(netD, x, x, 1, 0.0)


@pytest.mark.parametrize("method", MODE_COLLAPSE_METHODS)
def test_train_gan_ensemble_runs_every_method(method):
    g = torch.Generator().manual_seed(0)
    data, _ = sample_ring(500, generator=g)
    torch.manual_seed(0)
    ens = train_gan_ensemble(method, data, 2, 6, generator=g, batch_size=16, hidden=8, n_unroll=2, n_critic=2, snapshot_every=3, snapshot_size=10)
    assert [s for s, _ in ens.snapshots] == [0, 3, 6]
    assert ens.snapshots[-1][1].shape == (2, 10, 2)
    assert len(ens.history["loss_d"]) == 6 and all(math.isfinite(v) for v in ens.history["loss_g"])
    assert ens.seconds_per_step > 0
    assert ens.netG(torch.randn(2, 5, 2)).shape == (2, 5, 2)


def test_train_gan_ensemble_members_differ_and_a_rerun_repeats():
    def run():
        torch.manual_seed(5)
        return train_gan_ensemble("vanilla", sample_ring(500, generator=torch.Generator().manual_seed(1))[0], 2, 5,
                                  generator=torch.Generator().manual_seed(2), batch_size=16, hidden=8, snapshot_every=5)
    a, b = run(), run()
    torch.testing.assert_close(a.snapshots[-1][1], b.snapshots[-1][1])
    assert (a.snapshots[-1][1][0] - a.snapshots[-1][1][1]).abs().max() > 1e-3


def test_a_short_pacgan_run_learns_the_ring():
    """A short run already puts most samples on the ring (radius 1) and covers several modes."""
    g = torch.Generator().manual_seed(0)
    data, _ = sample_ring(5000, generator=g)
    torch.manual_seed(0)
    ens = train_gan_ensemble("pacgan2", data, 2, 600, generator=g)
    with torch.no_grad():
        x = ens.netG(torch.randn(2, 2500, 2, generator=g))
    for s in range(2):
        assert (x[s].norm(dim=1) - 1).abs().median() < 0.1
        assert modes_covered(x[s], ring_centres(), 0.01, min_count=1).n_covered >= 3


def test_train_gan_ensemble_rejects_bad_arguments():
    data = torch.randn(50, 2)
    with pytest.raises(ValueError, match="method"):
        train_gan_ensemble("minibatch", data, 2, 3)
    with pytest.raises(ValueError, match="multiple of 4"):
        train_gan_ensemble("vanilla", data, 2, 3, batch_size=10)
    with pytest.raises(ValueError, match="betas"):
        train_gan_ensemble("vanilla", data, 2, 3, betas=(0.5, 1.0))
    with pytest.raises(ValueError, match="n_models"):
        train_gan_ensemble("vanilla", data, 0, 3)
    with pytest.raises(ValueError, match="data"):
        train_gan_ensemble("vanilla", torch.full((5, 2), float("nan")), 2, 3)


def test_ensemble_losses_refuse_mixed_ensembles_and_other_shapes():
    with pytest.raises(ValueError, match="same ensemble"):
        ensemble_discriminator_loss(torch.zeros(3, 5, 1), torch.zeros(2, 5, 1))
    with pytest.raises(ValueError, match="same ensemble"):
        ensemble_discriminator_loss(torch.zeros(1, 5, 1), torch.zeros(5, 1))
    with pytest.raises(ValueError, match=r"real_logits must have shape \(S, B, 1\), \(N,\) or \(N, 1\)"):
        ensemble_discriminator_loss(torch.zeros(5, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="fake_logits"):
        ensemble_generator_loss(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="fake_logits contains NaN"):
        ensemble_discriminator_loss(torch.zeros(2, 5, 1), torch.full((2, 5, 1), float("nan")))
    with pytest.raises(TypeError, match="real_logits must be a torch.Tensor"):
        ensemble_discriminator_loss([0.0], torch.zeros(1))
    # different batch sizes within one ensemble are fine (the mean is per member)
    torch.testing.assert_close(ensemble_discriminator_loss(torch.zeros(2, 4, 1), torch.zeros(2, 6, 1)), 2 * discriminator_loss(torch.zeros(4), torch.zeros(6)))


def test_ensemble_layers_check_their_input():
    layer = EnsembleLinear(2, 3, 4)
    with pytest.raises(TypeError, match="input must have dtype torch.float32"):
        layer(torch.zeros(2, 5, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="input must be a floating-point"):
        layer(torch.zeros(2, 5, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="input is on meta"):
        layer(torch.empty(2, 5, 3, device="meta"))
    layer.double()(torch.zeros(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="input must have at least 2"):
        Pack(2)(torch.zeros(4))


def test_unrolled_gradient_flows_through_the_look_ahead():
    """create_graph=True: phi_1 depends on fake, so the generator's gradient includes d phi_1 / d fake (by hand)."""
    torch.manual_seed(6)
    netD = nn.Linear(2, 1)
    real, fake = torch.randn(6, 2), torch.randn(6, 2, requires_grad=True)
    got = torch.autograd.grad(unrolled_generator_loss(netD, real, fake, 1, 0.5), fake)[0]
    w, b = (p.detach().clone().requires_grad_() for p in netD.parameters())
    gw, gb = torch.autograd.grad(discriminator_loss(real @ w.T + b, fake @ w.T + b), (w, b), create_graph=True)
    want = torch.autograd.grad(generator_loss((fake @ (w - 0.5 * gw).T + (b - 0.5 * gb)).reshape(-1)), fake)[0]
    torch.testing.assert_close(got, want)
    w1, b1 = (w - 0.5 * gw).detach(), (b - 0.5 * gb).detach()  # the same look-ahead without its graph
    frozen = torch.autograd.grad(generator_loss((fake @ w1.T + b1).reshape(-1)), fake)[0]
    assert (got - frozen).abs().max() > 1e-3


def test_unrolled_loss_checks_before_unrolling():
    netD = nn.Linear(2, 1)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="kind"):
        unrolled_generator_loss(netD, x, x, 3, 0.1, kind="wasserstein")
    with pytest.raises(TypeError, match="netD must be an nn.Module"):
        unrolled_generator_loss(lambda v: v, x, x, 1, 0.1)
    with pytest.raises(ValueError, match="fake is on meta"):
        unrolled_generator_loss(netD, x, torch.empty(4, 2, device="meta"), 1, 0.1)
    with pytest.raises(ValueError, match="real contains NaN"):
        unrolled_generator_loss(netD, torch.full((4, 2), float("nan")), x, 1, 0.1)


@pytest.mark.parametrize("method, m", [("vanilla", 1), ("pacgan2", 2), ("pacgan4", 4)])
def test_pacgan_judges_batch_size_packs_of_m_fresh_samples(monkeypatch, method, m):
    """Each step's discriminator makes B decisions on m samples each: m B real and m B generated samples."""
    import utils.mode_collapse as MC

    shapes = []
    d_loss, g_loss = MC.ensemble_discriminator_loss, MC.ensemble_generator_loss
    monkeypatch.setattr(MC, "ensemble_discriminator_loss", lambda r, f: shapes.append(("d", r.shape, f.shape)) or d_loss(r, f))
    monkeypatch.setattr(MC, "ensemble_generator_loss", lambda f, kind="non_saturating": shapes.append(("g", f.shape)) or g_loss(f, kind))
    torch.manual_seed(0)
    train_gan_ensemble(method, torch.randn(100, 2), 2, 2, generator=torch.Generator().manual_seed(0), batch_size=8, hidden=4)
    assert shapes == [("d", (2, 8, 1), (2, 8, 1)), ("g", (2, 8, 1))] * 2
