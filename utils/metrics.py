"""Measuring generative models.

(Module docstring to be completed.)
"""

from __future__ import annotations

import torch

# ============================================================== classifier score on MNIST (chapter 6)


# ============================================================== mode coverage on 2-D toys (chapter 7)
