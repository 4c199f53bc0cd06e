"""Tests of utils.conditional: the networks' shapes, the three losses by hand, truncation, latent search, training."""

import math

import pytest
import torch
import torch.nn.functional as F

from utils.conditional import (
    CONDITIONAL_KINDS,
    N_CONTINUOUS_CODES,
    ConditionalDiscriminator,
    ConditionalGenerator,
    acgan_discriminator_loss,
    acgan_generator_loss,
    information_bound,
    matching_aware_discriminator_loss,
    one_hot,
    sample_infogan_codes,
    search_latent,
    train_conditional_gan,
    truncated_normal,
)
from utils.gan import discriminator_loss


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_networks_shapes_and_the_condition_reaches_the_output():
    torch.manual_seed(0)
    G = ConditionalGenerator(8, 10, channels=4).eval()
    z = torch.randn(5, 8)
    x = G(z, one_hot(torch.arange(5)))
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert (x - G(z, one_hot(torch.arange(5) + 5))).abs().max() > 1e-4  # the label changes the image
    D = ConditionalDiscriminator(10, 0, channels=4)
    logits, aux = D(x, one_hot(torch.arange(5)))
    assert logits.shape == (5,) and aux is None
    logits, aux = ConditionalDiscriminator(0, 12, channels=4)(x)
    assert logits.shape == (5,) and aux.shape == (5, 12)


def test_networks_reject_bad_inputs():
    G = ConditionalGenerator(8, 10, channels=4)
    with pytest.raises(ValueError, match="z must be"):
        G(torch.randn(3, 7), one_hot(torch.arange(3)))
    with pytest.raises(ValueError, match="c must be"):
        ConditionalDiscriminator(10, 0, channels=4)(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="n_aux"):
        ConditionalDiscriminator(10, -1)
    with pytest.raises(ValueError, match="labels"):
        one_hot(torch.tensor([0, 10]))
    with pytest.raises(TypeError, match="integer"):
        one_hot(torch.tensor([0.0, 1.0]))


def test_matching_aware_loss_on_hand_made_logits():
    right, fake, wrong = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    # -log sigmoid(a) = softplus(-a); -log(1 - sigmoid(a)) = softplus(a)
    want = _softplus(-2.0) + 0.5 * (_softplus(0.5) + _softplus(-1.0))
    assert matching_aware_discriminator_loss(right, fake, wrong).item() == pytest.approx(want, rel=1e-6)
    # without the wrong pairs it is the ordinary discriminator loss
    torch.testing.assert_close(matching_aware_discriminator_loss(right, fake), discriminator_loss(right, fake))
    # a discriminator that ignores the label gives the wrong pair the right pair's logit: it pays for it
    assert matching_aware_discriminator_loss(right, fake, right) > matching_aware_discriminator_loss(right, fake, -right)


def test_acgan_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.5])
    real_cls, fake_cls = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 3.0], [1.0, 1.0]])
    y_real, y_fake = torch.tensor([0, 1]), torch.tensor([1, 0])
    ce = lambda logits, y: -torch.log_softmax(logits, 1)[torch.arange(2), y].mean()  # noqa: E731
    want_d = discriminator_loss(real, fake) + ce(real_cls, y_real) + ce(fake_cls, y_fake)
    want_g = F.softplus(-fake).mean() + ce(fake_cls, y_fake)
    torch.testing.assert_close(acgan_discriminator_loss(real, fake, real_cls, fake_cls, y_real, y_fake), want_d)
    torch.testing.assert_close(acgan_generator_loss(fake, fake_cls, y_fake), want_g)


def test_information_bound_limits():
    codes = torch.arange(10)
    perfect = 50.0 * one_hot(codes)  # Q recovers every code
    uninformed = torch.zeros(10, 10)  # Q says 1/10 for every code
    assert information_bound(perfect, codes).item() == pytest.approx(math.log(10), abs=1e-6)
    assert information_bound(uninformed, codes).item() == pytest.approx(0.0, abs=1e-6)
    logits = torch.randn(200, 10, generator=torch.Generator().manual_seed(1))
    assert information_bound(logits, torch.randint(10, (200,))).item() <= math.log(10)
    with pytest.raises(ValueError, match="codes"):
        information_bound(torch.zeros(3, 10), torch.tensor([0, 1]))


def test_infogan_codes():
    c, codes, cont = sample_infogan_codes(1000, torch.Generator().manual_seed(0))
    assert c.shape == (1000, 10 + N_CONTINUOUS_CODES) and torch.equal(c[:, :10].argmax(1), codes)
    assert cont.abs().max() <= 1 and torch.bincount(codes, minlength=10).min() > 60


def test_truncated_normal_matches_scipy_truncnorm():
    scipy_stats = pytest.importorskip("scipy.stats")
    z = truncated_normal((200_000,), 1.0, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 1.0
    assert z.std().item() == pytest.approx(scipy_stats.truncnorm(-1, 1).std(), rel=0.01)
    with pytest.raises(ValueError, match="psi"):
        truncated_normal((3,), 0.0)


class _LinearGenerator(torch.nn.Module):
    """A generator whose code is identifiable from half of its image: tanh(W z), W fixed."""

    latent_dim = 6

    def __init__(self):
        super().__init__()
        self.register_buffer("W", 0.3 * torch.randn(784, 6, generator=torch.Generator().manual_seed(4)))

    def forward(self, z, c):
        return torch.tanh(z @ self.W.T).view(-1, 1, 28, 28)


def test_search_latent_completes_the_hidden_half():
    G = _LinearGenerator()
    c = one_hot(torch.tensor([3, 7]))
    target = G(torch.randn(2, 6, generator=torch.Generator().manual_seed(5)), c)
    mask = torch.zeros(1, 28, 28)
    mask[:, :14] = 1  # the top half is known
    z, images, losses = search_latent(G, c, target, mask, n_steps=300, lr=0.05, prior_weight=0.0, generator=torch.Generator().manual_seed(3))
    assert losses[-1] < 0.01 * losses[0]
    hidden_error = ((images - target) ** 2)[:, :, 14:].mean()
    assert hidden_error < 0.01 * (target[:, :, 14:] ** 2).mean()  # the unseen bottom half is recovered too
    with pytest.raises(ValueError, match="prior_weight"):
        search_latent(G, c, target, mask, prior_weight=-1.0)


@pytest.mark.parametrize("kind", CONDITIONAL_KINDS)
def test_train_conditional_gan_runs_every_kind(kind):
    images = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(40) % 10
    torch.manual_seed(0)
    out = train_conditional_gan(kind, images, labels, 4, generator=torch.Generator().manual_seed(0), batch_size=8, latent_dim=4, channels=4, eval_every=2)
    assert len(out.history["loss_d"]) == 4 and all(math.isfinite(v) for v in out.history["loss_g"])
    if kind == "infogan":
        assert "label_accuracy" not in out.history and all(v <= math.log(10) + 1e-6 for v in out.history["information_bound"])
    else:
        assert out.history["eval_step"] == [0, 2, 4] and all(0 <= a <= 1 for a in out.history["label_accuracy"])
    assert not out.netG.training and out.seconds_per_step > 0


def test_train_conditional_gan_rejects_bad_arguments():
    images, labels = torch.rand(4, 1, 28, 28), torch.arange(4)
    with pytest.raises(ValueError, match="kind"):
        train_conditional_gan("gan", images, labels, 1)
    with pytest.raises(ValueError, match="one entry per image"):
        train_conditional_gan("cgan", images, labels[:3], 1)
    with pytest.raises(ValueError, match="images"):
        train_conditional_gan("cgan", images * 2 - 1, labels, 1)


def test_load_conditional_gans_missing_file(tmp_path):
    from utils.conditional import load_conditional_gans

    with pytest.raises(FileNotFoundError, match="python -m utils.conditional train"):
        load_conditional_gans(path=tmp_path / "none.pt")


def test_shipped_models_load_and_the_cgans_obey_their_label():
    """data/conditional_gans.pt (made by `python -m utils.conditional train`) holds four working models."""
    from utils.classifier import load_classifier
    from utils.conditional import load_conditional_gans
    from utils.metrics import label_accuracy

    models = load_conditional_gans()
    assert set(models) == set(CONDITIONAL_KINDS)
    judge = load_classifier()
    labels = torch.arange(500) % 10
    z = torch.randn(500, models["cgan"].netG.latent_dim, generator=torch.Generator().manual_seed(0))
    for kind in ("cgan", "cgan_mismatch", "acgan"):
        with torch.no_grad():
            digits = (models[kind].netG(z, one_hot(labels)) + 1) / 2
        assert label_accuracy(digits, labels, judge) > 0.8, kind
        assert models[kind].history["label_accuracy"][-1] > 0.8
    info = models["infogan"]
    assert max(info.history["information_bound"]) <= math.log(10) + 1e-6


def test_the_command_retrains_only_the_kinds_asked_for(tmp_path):
    from utils.conditional import _main

    out = tmp_path / "gans.pt"
    threads = torch.get_num_threads()  # the command sets one thread, as on the course's machine
    _main(["train", "--steps", "2", "--channels", "4", "--out", str(out)])
    before = torch.load(out, weights_only=True)
    _main(["train", "--kinds", "infogan", "--steps", "2", "--channels", "4", "--seed", "0", "--out", str(out)])
    after = torch.load(out, weights_only=True)
    for kind in ("cgan", "cgan_mismatch", "acgan"):
        assert all(torch.equal(before[kind]["netG"][k], after[kind]["netG"][k]) for k in before[kind]["netG"])
    assert set(after) == {"config", *CONDITIONAL_KINDS}
    with pytest.raises(ValueError, match="retrain all four"):
        _main(["train", "--kinds", "acgan", "--steps", "3", "--channels", "4", "--out", str(out)])
    torch.set_num_threads(threads)


def test_matching_aware_loss_rejects_logits_of_another_shape():
    right = torch.zeros(4)
    with pytest.raises(ValueError, match=r"real_wrong must have shape \(N,\) or \(N, 1\)"):
        matching_aware_discriminator_loss(right, right, torch.zeros(4, 7))
    with pytest.raises(ValueError, match="real_right"):
        matching_aware_discriminator_loss(torch.zeros(4, 7), right, right)
    with pytest.raises(ValueError, match="fake_right contains NaN"):
        matching_aware_discriminator_loss(right, torch.full((4,), float("nan")), right)
    same = matching_aware_discriminator_loss(right[:, None], right[:, None], right[:, None])  # (N, 1) is accepted
    assert same.item() == pytest.approx(2 * math.log(2), rel=1e-6)  # log 2 + (log 2 + log 2) / 2


def _acgan_args(**changes):
    args = dict(real_logits=torch.zeros(3), fake_logits=torch.zeros(2), real_class_logits=torch.zeros(3, 4),
                fake_class_logits=torch.zeros(2, 4), real_labels=torch.tensor([0, 1, 3]), fake_labels=torch.tensor([2, 0]))
    return args | changes


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(real_labels=torch.tensor([0.0, 1.0, 3.0])), TypeError, "real_labels must be an integer tensor"),
        (dict(fake_labels=torch.tensor([2, 4])), ValueError, r"fake_labels must hold values in 0..3"),
        (dict(real_labels=torch.tensor([0, -1, 3])), ValueError, "real_labels"),
        (dict(real_labels=torch.tensor([0, 1])), ValueError, r"real_labels must have shape \(3,\)"),
        (dict(fake_class_logits=torch.zeros(3, 4)), ValueError, "fake_class_logits must have one row per fake logit"),
        (dict(fake_class_logits=torch.zeros(2, 5)), ValueError, "the same number of classes"),
        (dict(real_class_logits=torch.full((3, 4), float("nan"))), ValueError, "real_class_logits contains NaN"),
        (dict(real_logits=torch.tensor([0.0, float("nan"), 0.0])), ValueError, "real_logits contains NaN"),
        (dict(fake_labels=torch.empty(2, dtype=torch.int64, device="meta")), ValueError, "fake_labels is on meta"),
    ],
)
def test_acgan_losses_check_their_arguments(changes, error, match):
    with pytest.raises(error, match=match):
        acgan_discriminator_loss(**_acgan_args(**changes))
    acgan_discriminator_loss(**_acgan_args())  # the valid call
    if "fake" in match:
        a = _acgan_args(**changes)
        if "same number" not in match:
            with pytest.raises(error, match=match):
                acgan_generator_loss(a["fake_logits"], a["fake_class_logits"], a["fake_labels"])


def test_information_bound_and_codes_check_their_arguments():
    with pytest.raises(ValueError, match="codes"):
        information_bound(torch.zeros(2, 10), [0, 1])
    with pytest.raises(ValueError, match=r"codes must hold values in 0..9"):
        information_bound(torch.zeros(2, 10), torch.tensor([0, 10]))
    with pytest.raises(TypeError, match="codes must be an integer tensor"):
        information_bound(torch.zeros(2, 10), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"codes must have shape \(3,\)"):
        sample_infogan_codes(3, codes=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="n_classes"):
        one_hot(torch.tensor([0]), 0)


def test_infogan_continuous_codes_fill_minus_one_to_one():
    _, _, cont = sample_infogan_codes(4000, torch.Generator().manual_seed(1))
    assert cont.min() < -0.99 and cont.max() > 0.99 and cont.abs().max() <= 1
    assert cont.mean().abs() < 0.03 and (cont < 0).double().mean() == pytest.approx(0.5, abs=0.03)


def _rejection_reference(shape, psi, generator):
    """Today's sampler, written out: redraw every entry outside [-psi, psi] until none is left."""
    from utils import rng

    z = rng.randn(tuple(shape), generator)
    while (bad := z.abs() > psi).any():
        z[bad] = rng.randn((int(bad.sum()),), generator)
    return z


@pytest.mark.parametrize("psi", [0.05, 0.1, 0.25, 0.5, 2.0])
def test_truncated_normal_keeps_the_rejection_draws(psi):
    a = truncated_normal((500, 32), psi, torch.Generator().manual_seed(0))
    assert torch.equal(a, _rejection_reference((500, 32), psi, torch.Generator().manual_seed(0)))


def test_truncated_normal_with_a_tiny_psi_is_fast_and_right():
    scipy_stats = pytest.importorskip("scipy.stats")
    import time

    start = time.perf_counter()
    z = truncated_normal((500, 32), 1e-7, torch.Generator().manual_seed(0))
    assert time.perf_counter() - start < 5 and z.dtype == torch.float32
    assert z.abs().max() <= 1e-7 and z.std().item() == pytest.approx(1e-7 / math.sqrt(3), rel=0.02)  # ~ uniform
    z = truncated_normal((200_000,), 0.02, torch.Generator().manual_seed(1))
    assert z.abs().max() <= 0.02 and z.std().item() == pytest.approx(scipy_stats.truncnorm(-0.02, 0.02).std(), rel=0.01)


def test_truncated_normal_bounds_its_rejection_rounds(monkeypatch):
    """If the rounds run out, the entries still outside are drawn by the inverse CDF (never a hang)."""
    scipy_stats = pytest.importorskip("scipy.stats")
    from utils import conditional

    monkeypatch.setattr(conditional, "TRUNCATION_MAX_ROUNDS", 1)
    z = truncated_normal((200_000,), 1.0, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 1.0 and z.std().item() == pytest.approx(scipy_stats.truncnorm(-1, 1).std(), rel=0.01)


def test_search_latent_error_is_over_the_visible_pixels_only():
    """losses[0] is the masked MSE of the starting codes: sum over visible pixels / their number, averaged."""
    G = _LinearGenerator()
    c = one_hot(torch.tensor([3, 7]))
    target = G(torch.randn(2, 6, generator=torch.Generator().manual_seed(5)), c)
    mask = torch.zeros(2, 1, 28, 28)
    mask[0, :, :7] = 1  # a quarter of the first image
    mask[1, :, :, :21] = 1  # three quarters of the second
    _, _, losses = search_latent(G, c, target, mask, n_steps=1, generator=torch.Generator().manual_seed(3))
    from utils import rng

    start = rng.randn((2, 6), torch.Generator().manual_seed(3))
    with torch.no_grad():
        err = (G(start, c) - target) ** 2
    want = ((err * mask).flatten(1).sum(1) / mask.flatten(1).sum(1)).mean().item()
    assert losses[0] == pytest.approx(want, rel=1e-6)
    bool_mask = mask.bool()
    assert search_latent(G, c, target, bool_mask, n_steps=1, generator=torch.Generator().manual_seed(3))[2][0] == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(mask=torch.zeros(1, 28, 28)), ValueError, "mask must show at least one pixel of every target"),
        (dict(mask=torch.cat([torch.ones(1, 1, 28, 28), torch.zeros(1, 1, 28, 28)])), ValueError, "at least one pixel"),
        (dict(mask=torch.full((1, 28, 28), 0.5)), ValueError, "mask must hold only 0"),
        (dict(mask=torch.full((1, 28, 28), float("nan"))), ValueError, "mask contains NaN"),
        (dict(mask=torch.ones(28, 28)), ValueError, "mask must have"),
        (dict(mask=torch.ones(3, 1, 28, 28)), ValueError, r"mask must have shape \(1, 28, 28\) or \(2, 1, 28, 28\)"),
        (dict(mask=[1.0]), TypeError, "mask must be a torch.Tensor"),
        (dict(condition=one_hot(torch.tensor([3]))), ValueError, "condition must have one row per target"),
        (dict(condition=torch.full((2, 10), float("nan"))), ValueError, "condition contains NaN"),
        (dict(condition=torch.empty(2, 10, device="meta")), ValueError, "condition is on meta"),
        (dict(mask=torch.empty(1, 28, 28, device="meta")), ValueError, "mask is on meta"),
        (dict(netG=lambda z, c: z), TypeError, "netG must be a generator with an int latent_dim"),
    ],
)
def test_search_latent_checks_its_arguments(changes, error, match):
    args = dict(netG=_LinearGenerator(), condition=one_hot(torch.tensor([3, 7])), target=torch.zeros(2, 1, 28, 28),
                mask=torch.ones(1, 28, 28), n_steps=1) | changes
    with pytest.raises(error, match=match):
        search_latent(**args)


def test_networks_name_dtype_and_device_mismatches():
    G, D = ConditionalGenerator(4, 10, channels=4), ConditionalDiscriminator(10, 0, channels=4)
    c = one_hot(torch.arange(2))
    with pytest.raises(TypeError, match="z must have dtype torch.float32"):
        G(torch.zeros(2, 4, dtype=torch.float64), c)
    with pytest.raises(ValueError, match="c is on meta"):
        G(torch.zeros(2, 4), torch.empty(2, 10, device="meta"))
    with pytest.raises(TypeError, match="x must have dtype torch.float32"):
        D(torch.zeros(2, 1, 28, 28, dtype=torch.float64), c)
    with pytest.raises(ValueError, match="c is on meta"):
        D(torch.zeros(2, 1, 28, 28), torch.empty(2, 10, device="meta"))
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        G([[0.0] * 4] * 2, c)


def test_infogan_steps_both_maximize_the_information_bound(monkeypatch):
    """With the adversarial terms switched off, D's Q and G only maximize L_I: the bound climbs towards ln 10.

    A sign error in either step makes that network minimize L_I instead, and the bound stays near or below 0.
    """
    from utils import conditional

    monkeypatch.setattr(conditional, "discriminator_loss", lambda real, fake: 0 * (real.sum() + fake.sum()))
    monkeypatch.setattr(conditional, "generator_loss", lambda fake, kind="non_saturating": 0 * fake.sum())
    images, labels = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(64) % 10
    torch.manual_seed(0)
    out = train_conditional_gan("infogan", images, labels, 20, generator=torch.Generator().manual_seed(0), batch_size=16,
                                latent_dim=4, channels=4, lr=1e-2)
    bounds = out.history["information_bound"]
    assert sum(bounds[-3:]) / 3 > 1.5, bounds  # measured: 2.26 (ln 10 = 2.30); -0.8 or -100 with a flipped sign


def test_mismatched_pairs_never_carry_the_true_label(monkeypatch):
    """cgan_mismatch: D sees each real batch twice, with its labels and with wrong ones; no wrong label equals the true one."""
    calls = []
    forward = ConditionalDiscriminator.forward

    def spy(self, x, c=None):
        calls.append((x, c))
        return forward(self, x, c)

    monkeypatch.setattr(ConditionalDiscriminator, "forward", spy)
    images, labels = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 10
    torch.manual_seed(0)
    train_conditional_gan("cgan_mismatch", images, labels, 12, generator=torch.Generator().manual_seed(0), batch_size=16, latent_dim=4, channels=4)
    pairs = [(first[1], second[1]) for i, first in enumerate(calls) for second in calls[i + 1 : i + 3] if second[0] is first[0]]
    assert len(pairs) == 12  # one (right, wrong) pair of conditions per step
    right = torch.cat([a.argmax(1) for a, _ in pairs])
    wrong = torch.cat([b.argmax(1) for _, b in pairs])
    assert (right != wrong).all()
    assert len(set(((wrong - right) % 10).tolist())) >= 8  # the wrong label is any of the 9 others


def test_train_conditional_gan_rejects_labels_on_another_device():
    with pytest.raises(ValueError, match="labels is on meta"):
        train_conditional_gan("cgan", torch.rand(4, 1, 28, 28), torch.empty(4, dtype=torch.int64, device="meta"), 1)
