"""A small training-loop helper: minibatches, a tqdm progress bar and a loss history.

It is no framework: a chapter writes its own ``step`` function (forward, loss,
backward, optimizer step) and :func:`train` calls it ``n_steps`` times::

    def step(batch):
        opt.zero_grad(); loss = mse(model(batch), batch); loss.backward(); opt.step()
        return {"loss": loss.item()}

    history = train(step, minibatches(x_train, 128, generator=g), n_steps=by_profile(300, 5000))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from utils import rng
from utils.validation import check_positive_int, check_same_device, check_tensor

__all__ = ["minibatches", "train", "mlp"]


def minibatches(
    *tensors: torch.Tensor, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> Iterator[tuple[torch.Tensor, ...] | torch.Tensor]:
    """Yield shuffled minibatches for ever, reshuffling after each pass (epoch).

    Args:
        tensors: one or more tensors with the same first dimension N.
        batch_size: examples per batch, at most N.
        generator: a ``torch.Generator`` (on any device) for reproducible shuffles.
        device: move each batch there (None: leave it where it is).

    Yields:
        The batch (one tensor) or a tuple of batches, each ``(batch_size, ...)``.

    Raises:
        TypeError: for a non-tensor or a non-int ``batch_size``.
        ValueError: without tensors, with differing first dimensions or devices, or ``batch_size`` > N.
    """
    if not tensors:
        raise ValueError("minibatches needs at least one tensor")
    for i, t in enumerate(tensors):
        check_tensor(t, f"tensors[{i}]", floating=False, finite=False, min_ndim=1)
    check_same_device(**{f"tensors[{i}]": t for i, t in enumerate(tensors)})
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"tensors must share their first dimension, got {[len(t) for t in tensors]}")
    check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be in 1..{n}, got {batch_size}")
    while True:
        perm = rng.randperm(n, generator, device=tensors[0].device)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = perm[start : start + batch_size]
            batch = tuple(t[idx] if device is None else t[idx].to(device) for t in tensors)
            yield batch[0] if len(batch) == 1 else batch


def train(
    step: Callable[[Any], Mapping[str, float] | float],
    batches: Iterator[Any] | None,
    n_steps: int,
    desc: str = "training",
    log_every: int = 1,
) -> dict[str, list[float]]:
    """Run ``step(batch)`` for ``n_steps`` steps with a progress bar; return the history.

    Args:
        step: called with each batch (or with the step index when ``batches`` is None);
            returns a float (recorded as ``"loss"``) or a mapping name -> float.
        batches: an iterator of batches, e.g. :func:`minibatches`; None to pass step indices.
        n_steps: number of steps, positive.
        desc: the progress bar's label.
        log_every: record every ``log_every``-th step's values.

    Returns:
        name -> list of recorded values.

    Raises:
        TypeError, ValueError: if ``n_steps`` or ``log_every`` is not a positive int.
        FloatingPointError: as soon as a step returns NaN or inf, naming the step.
    """
    check_positive_int(n_steps, "n_steps")
    check_positive_int(log_every, "log_every")
    history: dict[str, list[float]] = {}
    bar = tqdm(range(n_steps), desc=desc, mininterval=1.0)
    for i in bar:
        out = step(next(batches) if batches is not None else i)
        values = {"loss": float(out)} if not isinstance(out, Mapping) else {k: float(v) for k, v in out.items()}
        for name, v in values.items():
            if v != v or v in (float("inf"), float("-inf")):
                raise FloatingPointError(f"step {i}: {name} = {v}; lower the learning rate or check the loss")
        if i % log_every == 0:
            for name, v in values.items():
                history.setdefault(name, []).append(v)
        if i % max(1, n_steps // 50) == 0:
            bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
    return history


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU, out_activation: nn.Module | None = None) -> nn.Sequential:
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers.

    Args:
        sizes: layer widths, at least two, all positive.
        activation: the hidden activation's class (``nn.ReLU``, ``nn.LeakyReLU``, ``nn.Identity``...).
        out_activation: a module applied to the output (e.g. ``nn.Sigmoid()``), or None.

    Raises:
        TypeError: for a width that is not an int.
        ValueError: with fewer than two sizes or a non-positive width.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least two widths, got {sizes}")
    for i, size in enumerate(sizes):
        check_positive_int(size, f"sizes[{i}]")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)
