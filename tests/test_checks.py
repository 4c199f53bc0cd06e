"""Tests of utils.checks, the exercise checkers."""

import numpy as np
import pytest
import torch

from utils.checks import ExerciseError, check_close, check_function, check_true


def test_check_close_passes_and_reports_the_worst_entry():
    check_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ExerciseError, match=r"worst at index \[1\]: got 2\.5, expected 2"):
        check_close([1.0, 2.5], [1.0, 2.0], name="x")
    with pytest.raises(ExerciseError, match="shape"):
        check_close([1.0], [1.0, 2.0])
    with pytest.raises(ExerciseError, match="return"):
        check_close(None, 1.0)
    with pytest.raises(ExerciseError, match="NaN"):
        check_close([float("nan")], [1.0])


def test_check_function(capsys):
    check_function(lambda x: 2 * x, lambda x: x + x, inputs=[(1.0,), (torch.ones(3),)], name="double")
    assert capsys.readouterr().out.startswith("Correct")
    with pytest.raises(ExerciseError, match="test case 2"):
        check_function(lambda x: x * x, lambda x: x + x, inputs=[(2.0,), (3.0,)])

    def stub(x):
        raise NotImplementedError("Exercise 1: double")

    with pytest.raises(ExerciseError, match="not written yet"):
        check_function(stub, lambda x: x, inputs=[(1.0,)])
    with pytest.raises(ExerciseError, match="returned 1 values, expected 2"):
        check_function(lambda x: x, lambda x: (x, x), inputs=[(1.0,)])
    with pytest.raises(ValueError, match="inputs"):
        check_function(lambda x: x, lambda x: x, inputs=[])


def test_check_true(capsys):
    check_true(True, "never shown", success="Correct: fine")
    assert "Correct: fine" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="too big"):
        check_true(False, "too big")
