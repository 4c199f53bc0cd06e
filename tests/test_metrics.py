"""Tests of utils.metrics."""

import torch

# ============================================================== classifier score on MNIST (chapter 6)


# ============================================================== mode coverage on 2-D toys (chapter 7)
