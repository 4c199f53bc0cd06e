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
