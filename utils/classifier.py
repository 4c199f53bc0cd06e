"""The course's MNIST classifier: a small LeNet, its weights, its probabilities and features.

It is the judge of every MNIST generator in the course (the classifier score of
chapter 6, the label accuracy of the conditional GANs), trained once on the course's
4,000 MNIST training images. The weights ship in ``data/mnist_classifier.pt`` (loaded
with ``torch.load(weights_only=True)``); to remake them (fixed seed, about a minute on
2 CPU cores)::

    python -m utils.classifier train-classifier
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from utils import rng
from utils.data import DATA_DIR
from utils.validation import check_images, check_module_input, check_positive_int

__all__ = ["MNIST_CLASSIFIER_PATH", "N_CLASSES", "LeNet", "load_classifier", "class_probabilities", "classifier_features", "train_classifier"]

MNIST_CLASSIFIER_PATH = DATA_DIR / "mnist_classifier.pt"
N_CLASSES = 10


class LeNet(nn.Module):
    """A LeNet-5-style CNN for 28x28 grey digits: two conv + max-pool stages, three linear layers.

    Input ``(N, 1, 28, 28)`` in [0, 1]; output ``(N, 10)`` logits.

    References:
        LeCun et al. (1998), *Gradient-based learning applied to document recognition*, figure 2.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 6 x 14 x 14
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 5 x 5
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, N_CLASSES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """The 84 features before the last linear layer (after its ReLU): ``(N, 84)``."""
        return self.head[:-1](self.features(x))


def _check_mnist(images: torch.Tensor, name: str = "images") -> None:
    """(N, 1, 28, 28) in [0, 1]: a tanh generator's output must be mapped with (x + 1) / 2 first."""
    check_images(images, name, shape=(1, 28, 28), value_range=(0.0, 1.0))


def load_classifier(device: torch.device | str | None = None, path: str | Path | None = None) -> LeNet:
    """Load the course's MNIST classifier (``data/mnist_classifier.pt``), in eval mode.

    Args:
        device: where to put it (None: the CPU).
        path: the weights file; ``data/mnist_classifier.pt`` by default.

    Returns:
        A :class:`LeNet` in eval mode with its parameters frozen.

    Raises:
        FileNotFoundError: if the weights file is missing (make it with
            ``python -m utils.classifier train-classifier``).
    """
    path = MNIST_CLASSIFIER_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m utils.classifier train-classifier`")
    model = LeNet()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval().requires_grad_(False)
    return model.to("cpu" if device is None else device)


@torch.no_grad()
def class_probabilities(images: torch.Tensor, classifier: nn.Module | None = None, batch_size: int = 500) -> torch.Tensor:
    """p(y | x) for each image under the classifier.

    Args:
        images: ``(N, 1, 28, 28)`` in [0, 1].
        classifier: a model mapping images to ``(N, 10)`` logits; the course's
            :func:`load_classifier` on the images' device when None.
        batch_size: images per forward pass, positive.

    Returns:
        ``(N, 10)`` probabilities, rows summing to 1, on the images' device.

    Raises:
        TypeError, ValueError: on a bad ``images`` tensor (shape, NaN, values outside [0, 1]), or
            images of another device or dtype than the classifier's parameters.
    """
    _check_mnist(images)
    check_positive_int(batch_size, "batch_size")
    if classifier is None:
        classifier = load_classifier(images.device)
    if isinstance(classifier, nn.Module):
        check_module_input(images, "images", classifier)
    chunks = [torch.softmax(classifier(images[i : i + batch_size]), dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(chunks)


@torch.no_grad()
def classifier_features(images: torch.Tensor, classifier: LeNet | None = None, batch_size: int = 500) -> torch.Tensor:
    """The classifier's penultimate-layer features of each image: the course's stand-in for Inception features.

    Args:
        images: ``(N, 1, 28, 28)`` in [0, 1].
        classifier: a :class:`LeNet` (or any model with a ``penultimate`` method); the course's
            :func:`load_classifier` on the images' device when None.
        batch_size: images per forward pass, positive.

    Returns:
        ``(N, 84)`` non-negative features (after a ReLU), on the images' device.

    Raises:
        TypeError, ValueError: on a bad ``images`` tensor (shape, NaN, values outside [0, 1]), or
            images of another device or dtype than the classifier's parameters.

    References:
        Heusel et al. (2017), *GANs trained by a two time-scale update rule* (FID on a classifier's
        last hidden layer); Odena et al. (2017), section 4.2 (diversity within a class).
    """
    _check_mnist(images)
    check_positive_int(batch_size, "batch_size")
    if classifier is None:
        classifier = load_classifier(images.device)
    if isinstance(classifier, nn.Module):
        check_module_input(images, "images", classifier)
    return torch.cat([classifier.penultimate(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def _random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero padding): light data augmentation."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dy, dx = rng.randint(2 * max_shift + 1, (2, n), generator, device=x.device)
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def train_classifier(
    path: str | Path | None = None, epochs: int = 20, seed: int = 0, verbose: bool = True, n_train: int | None = None
) -> tuple[LeNet, float]:
    """Train the LeNet on the 4,000 training images and save its weights.

    Adam with a one-cycle learning-rate schedule (peak 3e-3), batches of 64,
    random shifts of up to 2 pixels; fixed ``seed``. About a minute on 2 CPU cores.

    Args:
        path: where to save the ``state_dict``; ``data/mnist_classifier.pt`` by default.
        epochs: passes over the training set, positive.
        seed: the random seed.
        verbose: print the test accuracy after each epoch.
        n_train: train on a random subset of this many images (for quick tests); None: all 4,000.

    Returns:
        The trained model (eval mode) and its accuracy on the 1,000 test images.

    Raises:
        ValueError: if ``epochs`` or ``n_train`` is not a positive int.
    """
    from utils.data import load_mnist
    from utils.device import seed_everything

    check_positive_int(epochs, "epochs")
    seed_everything(seed)
    g = rng.make_generator(seed)
    x, y = load_mnist("train")
    if n_train is not None:
        if not isinstance(n_train, int) or not 64 <= n_train <= len(x):
            raise ValueError(f"n_train must be an int in 64..{len(x)}, got {n_train!r}")
        keep = rng.randperm(len(x), g)[:n_train]
        x, y = x[keep], y[keep]
    x_test, y_test = load_mnist("test")
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    steps_per_epoch = len(x) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps_per_epoch)
    accuracy = 0.0
    for epoch in range(epochs):
        model.train()
        perm = rng.randperm(len(x), g)
        for i in range(steps_per_epoch):
            idx = perm[i * batch : (i + 1) * batch]
            loss = nn.functional.cross_entropy(model(_random_shift(x[idx], 2, g)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            accuracy = float((model(x_test).argmax(dim=1) == y_test).float().mean())
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.3f}, test accuracy {accuracy:.3f}")
    path = MNIST_CLASSIFIER_PATH if path is None else Path(path)
    torch.save(model.state_dict(), path)
    model.requires_grad_(False)
    return model, accuracy


def _main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m utils.classifier train-classifier [--epochs N] [--seed S] [--out PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m utils.classifier")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train-classifier", help="train the MNIST LeNet and write data/mnist_classifier.pt")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MNIST_CLASSIFIER_PATH)
    args = parser.parse_args(argv)
    _, acc = train_classifier(args.out, epochs=args.epochs, seed=args.seed)
    print(f"wrote {args.out}: test accuracy {acc:.4f}")




if __name__ == "__main__":
    _main()
