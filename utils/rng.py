"""Random draws: the course's one generator convention.

Every random function of ``utils`` takes ``generator: torch.Generator | None`` and draws
through the helpers below, in the spirit of diffusers' ``randn_tensor``:

* the numbers are drawn **on the generator's device** (a CPU generator draws on the
  CPU, a CUDA generator on its GPU; None uses torch's global generator on the target
  device),
* then moved to the **target device and dtype** (the data's).

So one generator serves every function whatever device the data is on, and a CPU
generator gives the same numbers whether the model runs on a CPU or a GPU.

    g = make_generator(0)                          # a CPU generator, seeded
    eps = randn((64, 2), generator=g, device=x.device, dtype=x.dtype)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from utils.validation import check_positive_int, check_tensor

__all__ = ["make_generator", "randn", "rand", "randint", "randperm", "multinomial"]

Shape = Sequence[int] | torch.Size


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device``, seeded with ``seed``.

    Raises:
        TypeError: if ``seed`` is not an int (or is a bool).
        ValueError: if ``seed`` is negative.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return torch.Generator(device=device).manual_seed(seed)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__} "
            "(a GAN's generator network is called netG in the course)"
        )


def _source(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device | str | None:
    """Where to draw: the generator's device, else the target device."""
    _check_generator(generator)
    return generator.device if generator is not None else device


def _to(x: torch.Tensor, device: torch.device | str | None, dtype: torch.dtype | None = None) -> torch.Tensor:
    return x.to(device=x.device if device is None else device, dtype=x.dtype if dtype is None else dtype)


def _float_draw(fn, shape: Shape, generator, device, dtype) -> torch.Tensor:  # noqa: ANN001
    # Drawn in float32 (float64 if asked) on the generator's device, then cast: the numbers
    # do not depend on the target device, and half precision gets rounded float32 draws.
    draw_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    return _to(fn(tuple(shape), generator=generator, device=_source(generator, device), dtype=draw_dtype), device, dtype)


def randn(
    shape: Shape,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Standard normal draws of ``shape``, drawn on the generator's device, returned on ``device`` in ``dtype``.

    Raises:
        TypeError: if ``generator`` is not a ``torch.Generator`` or None.
    """
    return _float_draw(torch.randn, shape, generator, device, dtype)


def rand(
    shape: Shape,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Uniform draws on [0, 1) of ``shape``, drawn on the generator's device, returned on ``device`` in ``dtype``.

    Raises:
        TypeError: if ``generator`` is not a ``torch.Generator`` or None.
    """
    return _float_draw(torch.rand, shape, generator, device, dtype)


def randint(
    high: int, shape: Shape, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Integers uniform in 0..high-1 (int64), drawn on the generator's device, returned on ``device``.

    Raises:
        TypeError: if ``high`` is not an int or ``generator`` not a ``torch.Generator``.
        ValueError: if ``high`` is not positive.
    """
    check_positive_int(high, "high")
    return _to(torch.randint(high, tuple(shape), generator=generator, device=_source(generator, device)), device)


def randperm(n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """A random permutation of 0..n-1 (int64), drawn on the generator's device, returned on ``device``.

    Raises:
        TypeError, ValueError: for a bad ``n`` or ``generator``.
    """
    check_positive_int(n, "n")
    return _to(torch.randperm(n, generator=generator, device=_source(generator, device)), device)


def multinomial(
    probs: torch.Tensor, n_samples: int, replacement: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices drawn with probability proportional to ``probs`` (non-negative weights, last dimension).

    The weights are moved to the generator's device for the draw; the indices come back
    on ``probs``' device.

    Raises:
        TypeError, ValueError: for bad weights, ``n_samples`` or ``generator``.
    """
    check_tensor(probs, "probs", ndim=(1, 2))
    check_positive_int(n_samples, "n_samples")
    src = _to(probs, _source(generator, probs.device))
    out = torch.multinomial(src, n_samples, replacement=replacement, generator=generator)
    return out.to(probs.device)
