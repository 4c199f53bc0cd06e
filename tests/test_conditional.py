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
