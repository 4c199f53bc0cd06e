"""Tests of utils.mnist_models: the shipped models load and sample, the flow's units, training and the command."""

import pytest
import torch

from utils.mnist_models import TRAINED_HERE, _main, load_mnist_models, train_mnist_model

ALL_MODELS = ("vae", "flow", "ddpm", "ddim", "dcgan", "cgan", "cgan_mismatch", "acgan", "infogan")


@pytest.fixture(scope="module")
def models():
    return load_mnist_models()


def test_every_model_samples_images_in_the_unit_interval(models):
    assert tuple(models) == ALL_MODELS
    g = torch.Generator().manual_seed(0)
    for name, model in models.items():
        n = 1 if name == "ddpm" else 20  # ancestral sampling takes a second an image
        images = model.sample(n, g)
        assert images.shape == (n, 1, 28, 28), name
        assert images.min() >= 0 and images.max() <= 1 and torch.isfinite(images).all(), name


def test_decode_is_deterministic_and_conditions_on_the_label(models):
    g = torch.Generator().manual_seed(1)
    for name, model in models.items():
        if model.decode is None:
            assert name == "ddpm" and model.noise is None
            continue
        noise = model.noise(4, g)
        labels = torch.tensor([0, 1, 2, 3])
        assert torch.equal(model.decode(noise, labels), model.decode(noise, labels)), name
        changed = not torch.allclose(model.decode(noise, labels), model.decode(noise, labels.flip(0)))
        assert changed == (name in ("cgan", "cgan_mismatch", "acgan", "infogan")), name


def test_shipped_models_make_digits_the_judge_recognizes(models):
    """data/mnist_models.pt, made by `python -m utils.mnist_models train`: better than noise by a wide margin."""
    from utils.metrics import classifier_score

    g = torch.Generator().manual_seed(2)
    noise_score = classifier_score(torch.rand(500, 1, 28, 28, generator=g)).item()
    for name in ("vae", "dcgan"):
        assert classifier_score(models[name].sample(500, g)).item() > 2 * noise_score, name
    for name in TRAINED_HERE:
        assert 0 < models[name].seconds_per_step < 1, name


def test_train_mnist_model_runs_and_rejects_bad_arguments():
    for kind in TRAINED_HERE:
        network, seconds = train_mnist_model(kind, n_steps=2)
        assert not network.training and seconds > 0
    with pytest.raises(ValueError, match="kind"):
        train_mnist_model("gan")
    with pytest.raises(ValueError, match="n_steps"):
        train_mnist_model("vae", n_steps=0)


def test_missing_file_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m utils.mnist_models train"):
        load_mnist_models(path=tmp_path / "none.pt")


def test_the_command_retrains_only_the_kinds_asked_for(tmp_path):
    out = tmp_path / "models.pt"
    threads = torch.get_num_threads()  # the command sets one thread, as on the course's machine
    _main(["train", "--steps", "2", "--out", str(out)])
    before = torch.load(out, weights_only=True)
    _main(["train", "--kinds", "vae", "--steps", "2", "--seed", "1", "--out", str(out)])
    after = torch.load(out, weights_only=True)
    torch.set_num_threads(threads)
    assert set(after) == set(TRAINED_HERE)
    for kind in ("flow", "dcgan"):
        assert all(torch.equal(before[kind]["state_dict"][k], after[kind]["state_dict"][k]) for k in before[kind]["state_dict"])
    assert not all(torch.equal(before["vae"]["state_dict"][k], after["vae"]["state_dict"][k]) for k in before["vae"]["state_dict"])
    models = load_mnist_models(path=out)
    assert models["vae"].sample(2, torch.Generator().manual_seed(0)).shape == (2, 1, 28, 28)


def test_sample_asks_the_conditional_models_for_every_class_in_turn():
    from utils.mnist_models import MNISTModel

    seen = []
    fake = MNISTModel(None, lambda n, g: torch.zeros(n, 3), lambda noise, labels: seen.append(labels) or torch.zeros(len(noise), 1, 28, 28), None, 0.0)
    assert fake.sample(23, torch.Generator().manual_seed(0)).shape == (23, 1, 28, 28)
    assert torch.equal(seen[0], torch.arange(23) % 10)
    with pytest.raises(TypeError, match="generator"):
        fake.sample(2, 0)


def test_conditional_samples_are_the_classes_asked_for(models):
    """sample(n) asks for 0, 1, ..., 9, 0, ...: the judge reads those digits in the cGAN's samples."""
    from utils.classifier import load_classifier
    from utils.metrics import label_accuracy

    images = models["cgan"].sample(100, torch.Generator().manual_seed(3))
    assert label_accuracy(images, torch.arange(100) % 10, load_classifier()) > 0.8


def test_ddim_decode_maps_the_sampler_output_to_the_unit_interval(models):
    """decode(x_T) = (DDIM(x_T) + 1) / 2 clamped to [0, 1]: the sampler works in [-1, 1]."""
    from utils.diffusion import ddim_sample, linear_beta_schedule

    x_T = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(4))  # noqa: N806
    raw = ddim_sample(models["ddim"].network, (2, 1, 28, 28), linear_beta_schedule(1000), 50, x_T=x_T)
    torch.testing.assert_close(models["ddim"].decode(x_T, None), ((raw + 1) / 2).clamp(0, 1), rtol=0, atol=0)
    assert raw.min() < -0.5  # the background is near -1: without the map it would be clamped to 0 with the strokes' edges


def test_infogan_noise_draws_its_continuous_codes_on_minus_one_to_one(models):
    noise = models["infogan"].noise(2000, torch.Generator().manual_seed(5))
    codes = noise[:, models["infogan"].network.latent_dim :]
    assert codes.shape == (2000, 2) and codes.abs().max() <= 1 and codes.min() < -0.98 and codes.max() > 0.98
    assert (codes < 0).double().mean() == pytest.approx(0.5, abs=0.03)


def test_train_mnist_model_checks_the_seed_first():
    with pytest.raises(ValueError, match="seed"):
        train_mnist_model("vae", n_steps=1, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        train_mnist_model("vae", n_steps=1, seed=1.5)


def test_conditional_decode_refuses_labels_on_another_device(models):
    noise = models["cgan"].noise(2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="labels is on meta"):
        models["cgan"].decode(noise, torch.empty(2, dtype=torch.int64, device="meta"))


def test_flow_decode_maps_logit_space_back_to_grey_levels(models):
    """decode(z) = inverse_logit_transform(flow^-1(z)): the flow models logit-space images (chapter 4)."""
    from utils.flows import inverse_logit_transform

    flow = models["flow"]
    z = flow.noise(3, torch.Generator().manual_seed(6))
    with torch.no_grad():
        logits = flow.network.inverse(z)
    torch.testing.assert_close(flow.decode(z, None), inverse_logit_transform(logits), rtol=0, atol=0)
    assert logits.min() < -1 and logits.max() > 1  # logit space: a bare clamp to [0, 1] would not be the same images
