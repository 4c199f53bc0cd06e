"""Device, seeds and the run profile shared by every chapter.

A chapter starts with::

    seed_everything(0)
    device = get_device()
    print(describe())

and takes every budget (epochs, steps, sample counts) from :func:`by_profile`,
so that the same notebook runs in about a minute on a laptop CPU ("quick") and
makes figures worth looking at on a GPU ("full").
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

__all__ = ["get_device", "configure_threads", "seed_everything", "profile", "by_profile", "describe"]

PROFILES = ("quick", "full")
T = TypeVar("T")


def configure_threads(device: torch.device | None = None) -> int:
    """Set PyTorch's intra-op threads by the course's policy and return the number.

    Policy: **one thread in the quick profile on a CPU**; torch's default (one per core)
    otherwise. ``COURSE_THREADS`` (a positive integer) overrides it.

    Why: the quick profile trains small networks, whose steps are too short to split well.
    Measured on the course's 2-core machine (chapter 2, quick profile): idle, 39 s with one
    thread vs 34 s with two (two are 13 % faster); with one core busy elsewhere (a browser,
    a second notebook, CI's other jobs), 38 s with one thread vs several minutes with two,
    whose threads then wait for each other at every operation. One thread costs little
    when the machine is idle and saves a chapter when it is not.

    Args:
        device: the device the chapter computes on (None: :func:`get_device`'s choice).

    Returns:
        The number of threads now set.

    Raises:
        ValueError: if ``COURSE_THREADS`` is not a positive integer.
    """
    override = os.environ.get("COURSE_THREADS", "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"COURSE_THREADS must be a positive integer, got {override!r}")
        n = int(override)
    elif (device is None or device.type == "cpu") and profile() == "quick":
        n = 1
    else:
        n = os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def get_device() -> torch.device:
    """Return the best available device: CUDA, else Apple MPS, else CPU, and set the threads.

    The environment variable ``COURSE_DEVICE`` (for example ``cpu`` or
    ``cuda:1``) overrides the choice. Calls :func:`configure_threads` for the chosen
    device (one thread in the quick profile on a CPU).

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: if ``COURSE_DEVICE`` names a device torch does not know, or
            one that is not available on this machine.
    """
    override = os.environ.get("COURSE_DEVICE", "").strip()
    if override:
        try:
            device = torch.device(override)
        except RuntimeError as err:
            raise ValueError(f"COURSE_DEVICE={override!r} is not a torch device: {err}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"COURSE_DEVICE={override!r} but CUDA is not available here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"COURSE_DEVICE={override!r} but Apple MPS is not available here")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    configure_threads(device)
    return device


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    The environment variable ``COURSE_SEED`` overrides ``seed``, so that a whole chapter can
    be re-run with another seed (``COURSE_SEED=1 jupyter nbconvert --execute ...``) to check
    that its asserts hold for any seed, not only for the stored one.

    Args:
        seed: a non-negative integer.

    Returns:
        The seed actually used.

    Raises:
        TypeError: if ``seed`` is not an ``int``.
        ValueError: if ``seed`` is negative.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    override = os.environ.get("COURSE_SEED", "").strip()
    if override:
        if not override.isdigit():
            raise ValueError(f"COURSE_SEED must be a non-negative integer, got {override!r}")
        seed = int(override)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def profile() -> str:
    """Return the run profile, ``"quick"`` or ``"full"``.

    ``full`` by default when CUDA is available, ``quick`` otherwise (CPU, MPS).
    The environment variable ``COURSE_PROFILE`` overrides it.

    Raises:
        ValueError: if ``COURSE_PROFILE`` is set to anything else.
    """
    override = os.environ.get("COURSE_PROFILE", "").strip().lower()
    if override:
        if override not in PROFILES:
            raise ValueError(f"COURSE_PROFILE must be one of {PROFILES}, got {override!r}")
        return override
    return "full" if torch.cuda.is_available() else "quick"


def by_profile(quick: T, full: T) -> T:
    """Pick a budget for the current profile: ``by_profile(quick=300, full=20_000)``.

    Args:
        quick: the value for the quick profile (2 CPU cores, about a minute a chapter).
        full: the value for the full profile (a GPU).

    Returns:
        ``quick`` or ``full``, as :func:`profile` says.
    """
    return full if profile() == "full" else quick


def describe(device: torch.device | None = None) -> str:
    """One line naming the device, the profile and the torch version, for a setup cell."""
    device = get_device() if device is None else device
    return f"device: {device} | profile: {profile()} | torch {torch.__version__.split('+')[0]} | threads: {torch.get_num_threads()}"
