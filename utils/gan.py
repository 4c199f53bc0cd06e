"""Generative adversarial networks: losses, the optimal discriminator, divergences, models.

(Module docstring to be completed.)
"""

from __future__ import annotations

import torch
from torch import nn

# ============================================================== the original GAN (chapter 6)


# ============================================================== the Wasserstein GAN (chapter 7)
