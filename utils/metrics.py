"""Measuring generative models.

The classifier score on MNIST (chapter 6): the Inception-score formula
exp(E_x KL(p(y|x) || p(y))) (:func:`score_from_probabilities`) with a small LeNet
trained on the course's 4,000 MNIST training images (:func:`classifier_score`). The
weights ship in ``data/mnist_classifier.pt`` (loaded with ``torch.load(weights_only=True)``);
to remake them (fixed seed, about a minute on 2 CPU cores)::

    python -m utils.metrics train-classifier

Mode coverage on 2-D toys (chapter 7): :func:`modes_covered` counts the modes that have a
sample within ``n_std`` standard deviations of their centre and the fraction of such
"high-quality" samples (:class:`ModeCoverage`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from utils.data import DATA_DIR

# ============================================================== classifier score on MNIST (chapter 6)

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


def _check_images(images: torch.Tensor, name: str = "images") -> None:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {getattr(images, 'dtype', type(images).__name__)}")
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or len(images) == 0:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) with N > 0, got {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contains NaN or inf")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}] "
            "(map a tanh generator's output with (x + 1) / 2)"
        )


def load_classifier(device: torch.device | str | None = None, path: str | Path | None = None) -> LeNet:
    """Load the course's MNIST classifier (``data/mnist_classifier.pt``), in eval mode.

    Args:
        device: where to put it (None: the CPU).
        path: the weights file; ``data/mnist_classifier.pt`` by default.

    Returns:
        A :class:`LeNet` in eval mode with its parameters frozen.

    Raises:
        FileNotFoundError: if the weights file is missing (make it with
            ``python -m utils.metrics train-classifier``).
    """
    path = MNIST_CLASSIFIER_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m utils.metrics train-classifier`")
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
        TypeError, ValueError: on a bad ``images`` tensor (shape, NaN, values outside [0, 1]).
    """
    _check_images(images)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if classifier is None:
        classifier = load_classifier(images.device)
    chunks = [torch.softmax(classifier(images[i : i + batch_size]), dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(chunks)


def score_from_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """The Inception-score formula on a matrix of class probabilities.

    IS = exp( (1/I) sum_i KL( p(y | x_i) || p(y) ) ),  with  p(y) = (1/I) sum_i p(y | x_i).

    It lies in [1, K] for K classes: 1 when every row is the same, K when the rows
    are one-hot and the classes equally frequent.

    Args:
        probs: ``(I, K)`` non-negative rows summing to 1 (within 1e-4).

    Returns:
        A 0-dim tensor.

    Raises:
        TypeError: if ``probs`` is not a floating-point tensor.
        ValueError: on another shape, negative or non-finite entries, or rows not summing to 1.

    References:
        Salimans et al. (2016), *Improved techniques for training GANs*, section 4;
        seed 000 ("Measuring performance of generative models: Inception score").
    """
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        raise TypeError(f"probs must be a floating-point torch.Tensor, got {getattr(probs, 'dtype', type(probs).__name__)}")
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] == 0:
        raise ValueError(f"probs must have shape (I, K) with I, K > 0, got {tuple(probs.shape)}")
    if not torch.isfinite(probs).all() or (probs < 0).any():
        raise ValueError("probs must be finite and non-negative")
    row_sums = probs.sum(dim=1)
    worst = float((row_sums - 1).abs().max())
    if worst > 1e-4:
        raise ValueError(f"probs rows must sum to 1, got a row summing to 1 {'+' if worst > 0 else ''}{worst:.3g} away")
    p_y = probs.mean(dim=0, keepdim=True)
    # KL(p(y|x) || p(y)) with 0 log 0 = 0; p(y) > 0 wherever some p(y|x) > 0
    kl = (torch.xlogy(probs, probs) - torch.xlogy(probs, p_y.expand_as(probs))).sum(dim=1)
    return torch.exp(kl.mean())


def classifier_score(images: torch.Tensor, classifier: nn.Module | None = None) -> torch.Tensor:
    """The classifier score of a set of MNIST-like images: the Inception score with the course's LeNet.

    A high score needs each image to be classified confidently (peaked p(y|x)) and the
    classes to be balanced (flat p(y)). For MNIST it lies in [1, 10]; real test
    images give the ceiling.

    Args:
        images: ``(N, 1, 28, 28)`` in [0, 1]; a few hundred or more for a stable value.
        classifier: logits model; the course's :func:`load_classifier` when None.

    Returns:
        A 0-dim tensor.

    Raises:
        TypeError, ValueError: on a bad ``images`` tensor (shape, NaN, values outside [0, 1]).

    References:
        Salimans et al. (2016), section 4; seed 000 ("Inception score").
    """
    return score_from_probabilities(class_probabilities(images, classifier).double())


def _random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero padding): light data augmentation."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
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

    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    x, y = load_mnist("train")
    if n_train is not None:
        if not isinstance(n_train, int) or not 64 <= n_train <= len(x):
            raise ValueError(f"n_train must be an int in 64..{len(x)}, got {n_train!r}")
        keep = torch.randperm(len(x), generator=g)[:n_train]
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
        perm = torch.randperm(len(x), generator=g)
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
    """Command line: ``python -m utils.metrics train-classifier [--epochs N] [--seed S] [--out PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m utils.metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train-classifier", help="train the MNIST LeNet and write data/mnist_classifier.pt")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MNIST_CLASSIFIER_PATH)
    args = parser.parse_args(argv)
    _, acc = train_classifier(args.out, epochs=args.epochs, seed=args.seed)
    print(f"wrote {args.out}: test accuracy {acc:.4f}")


# ============================================================== mode coverage on 2-D toys (chapter 7)


class ModeCoverage(NamedTuple):
    """How a sample set covers the modes of a toy mixture (see :func:`modes_covered`).

    Attributes:
        covered: bool ``(K,)``, mode k has at least ``min_count`` samples within ``n_std * std``.
        counts: int64 ``(K,)``, the number of samples within ``n_std * std`` of each centre.
        n_covered: the number of covered modes.
        high_quality: the fraction of samples within ``n_std * std`` of some centre.
    """

    covered: torch.Tensor
    counts: torch.Tensor
    n_covered: int
    high_quality: float


def modes_covered(
    samples: torch.Tensor, centres: torch.Tensor, std: float, n_std: float = 3.0, min_count: int = 1
) -> ModeCoverage:
    """Which modes of a Gaussian mixture a sample set reaches, and how many samples are "high quality".

    A sample is assigned to its nearest centre and counts for that mode when it lies within
    ``n_std * std`` of it; a mode is covered when at least ``min_count`` samples count for it.
    The fraction of samples that count for some mode measures quality (the rest fall between
    the modes).

    Args:
        samples: ``(N, d)`` generated points.
        centres: ``(K, d)`` the mixture's centres (e.g. ``utils.data.ring_centres()``).
        std: the standard deviation of each mode, positive (0.01 for the ring, 0.05 for the grid).
        n_std: the radius, in standard deviations (3 in the usual protocol).
        min_count: samples a mode needs to count as covered, at least 1.

    Returns:
        A :class:`ModeCoverage`.

    Raises:
        TypeError: if samples or centres is not a floating-point tensor.
        ValueError: on shapes other than (N, d) and (K, d), NaN/inf, or non-positive std, n_std, min_count.

    References:
        Metz et al. (2017), *Unrolled GANs*, section 3.1; Srivastava et al. (2017), *VEEGAN*,
        section 5.1 (high-quality samples within 3 standard deviations).
    """
    for name, t in (("samples", samples), ("centres", centres)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got {getattr(t, 'dtype', type(t).__name__)}")
        if t.ndim != 2 or len(t) == 0:
            raise ValueError(f"{name} must have shape (N, d) with N > 0, got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or inf")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples and centres must share d, got {samples.shape[1]} and {centres.shape[1]}")
    if not std > 0 or not n_std > 0:
        raise ValueError(f"std and n_std must be positive, got std = {std}, n_std = {n_std}")
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive int, got {min_count!r}")
    dist = torch.cdist(samples.detach(), centres.detach().to(samples))  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(centres)).cpu()
    covered = counts >= min_count
    return ModeCoverage(covered, counts, int(covered.sum()), float(good.float().mean()))


if __name__ == "__main__":
    _main()
