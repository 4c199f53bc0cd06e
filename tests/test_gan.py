"""Tests of utils.gan."""

import torch

# ============================================================== the original GAN (chapter 6)


# ============================================================== the Wasserstein GAN (chapter 7)
