"""Exercise checkers: compare a student's answer with the reference and say what differs.

Every chapter's check cell calls one of these. A check prints one line starting
with ``Correct`` when the answer is right, and raises :class:`ExerciseError`
(an ``AssertionError``) with numbers when it is not: which input, which entry,
the expected and the received value.

    check_function(my_kl, reference_kl, inputs=[(mu, logvar)], name="Exercise 1")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["ExerciseError", "check_close", "check_function", "check_true"]


class ExerciseError(AssertionError):
    """Raised when a student's answer differs from the reference."""


def _as_array(value: Any, what: str) -> np.ndarray:
    if value is None:
        raise ExerciseError(f"{what} is None: did the function forget to `return`?")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"{what} is a {type(value).__name__}, which is not a number or an array") from None


def check_close(answer: Any, expected: Any, name: str = "answer", rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Check that ``answer`` equals ``expected`` within tolerances, entry by entry.

    Args:
        answer: the student's value (number, array or tensor).
        expected: the reference value, same shape.
        name: what to call the value in messages ("Exercise 2: the KL term").
        rtol, atol: as in ``numpy.allclose``: ``|a - e| <= atol + rtol * |e|``.

    Raises:
        ExerciseError: on a shape mismatch, NaN, or any entry out of tolerance;
            the message gives the worst entry and both values.
    """
    a = _as_array(answer, name)
    e = _as_array(expected, "the reference")
    if a.shape != e.shape:
        raise ExerciseError(f"{name} has shape {a.shape}, expected {e.shape}")
    if np.isnan(a).any() and not np.isnan(e).any():
        raise ExerciseError(f"{name} contains NaN at {np.argwhere(np.isnan(a))[0].tolist()}")
    bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        err = np.where(bad, np.abs(a - e), 0.0)
        where = np.unravel_index(np.argmax(err), err.shape)
        loc = f" at index {list(map(int, where))}" if a.ndim else ""
        raise ExerciseError(
            f"{name}: {int(bad.sum())} of {a.size} entries differ; worst{loc}: "
            f"got {a[where]:.6g}, expected {e[where]:.6g} (|difference| {err[where]:.3g}, "
            f"tolerance {atol + rtol * abs(e[where]):.3g})"
        )


def check_function(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    inputs: Iterable[Sequence[Any]],
    name: str = "your function",
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> None:
    """Call ``student`` and ``reference`` on each input tuple and compare the results.

    Args:
        student: the student's function.
        reference: the reference implementation.
        inputs: argument tuples, each passed as ``f(*args)``.
        name: what to call the function in messages.
        rtol, atol: tolerances, as in :func:`check_close`.

    Raises:
        ExerciseError: naming the first input case that differs, with numbers. A
            ``NotImplementedError`` from a student stub is turned into a hint.
    """
    cases = list(inputs)
    if not cases:
        raise ValueError("inputs must hold at least one argument tuple")
    for i, args in enumerate(cases):
        try:
            got = student(*args)
        except NotImplementedError as err:
            raise ExerciseError(f"{name} is not written yet ({err})") from None
        want = reference(*args)
        got_items = got if isinstance(got, tuple) else (got,)
        want_items = want if isinstance(want, tuple) else (want,)
        if len(got_items) != len(want_items):
            raise ExerciseError(f"{name} returned {len(got_items)} values, expected {len(want_items)}")
        for j, (g, w) in enumerate(zip(got_items, want_items)):
            label = f"{name}, test case {i + 1}" + (f", output {j + 1}" if len(want_items) > 1 else "")
            check_close(g, w, name=label, rtol=rtol, atol=atol)
    print(f"Correct: {name} matches the reference on {len(cases)} test case(s).")


def check_true(condition: bool, message: str, success: str = "Correct.") -> None:
    """Raise :class:`ExerciseError` with ``message`` unless ``condition`` holds; else print ``success``."""
    if not condition:
        raise ExerciseError(message)
    print(success)
