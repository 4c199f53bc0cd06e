"""Common checks: every public function rejects bad input with a clear TypeError or ValueError.

One table lists, for each public function, a call with valid arguments. The test then
breaks one argument at a time — NaN values, an empty tensor, an integer dtype, a wrong
number of dimensions, a bool where a count is expected — and asserts that the function
raises TypeError or ValueError naming that argument (never another exception, a silent
result, or a raw torch error). The policy itself lives in ``utils/validation.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from utils import data, diffusion, divergences, flows, gan, kmeans, metrics, nmf, pca, rng, training, translation, transport, vae, wgan


def _t(*shape: int, seed: int = 0, positive: bool = False) -> torch.Tensor:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return x.abs() + 0.1 if positive else x


def _probs(*shape: int) -> torch.Tensor:
    p = _t(*shape, positive=True)
    return p / p.sum(-1, keepdim=True)


@dataclass
class Case:
    """A valid call and which of its arguments to break."""

    fn: Callable[..., Any]
    kwargs: Callable[[], dict[str, Any]]
    tensors: tuple[str, ...] = ()  # floating-point tensor arguments: NaN, empty, integer dtype
    fixed_ndim: tuple[str, ...] = ()  # tensor arguments whose number of dimensions is fixed
    sizes: tuple[str, ...] = ()  # counts: a bool, a float and zero must fail
    names: dict[str, str] = field(default_factory=dict)  # argument -> the name its message uses

    @property
    def id(self) -> str:
        return f"{self.fn.__module__.split('.')[-1]}.{self.fn.__name__}"


def _critic() -> torch.nn.Module:
    return torch.nn.Linear(2, 1)


CASES = [
    Case(pca.pca, lambda: {"X": _t(20, 3), "n_components": 2}, ("X",), ("X",), ("n_components",)),
    Case(pca.pca_svd, lambda: {"X": _t(20, 3), "n_components": 2}, ("X",), ("X",), ("n_components",)),
    Case(kmeans.kmeans, lambda: {"X": _t(30, 2), "n_clusters": 3, "generator": rng.make_generator(0)}, ("X",), ("X",), ("n_clusters", "max_iter")),
    Case(kmeans.kmeans_plus_plus, lambda: {"X": _t(30, 2), "n_clusters": 3}, ("X",), ("X",), ("n_clusters",)),
    Case(nmf.nmf, lambda: {"X": _t(10, 4, positive=True), "n_components": 2, "max_iter": 3}, ("X",), ("X",), ("n_components", "max_iter")),
    Case(vae.gaussian_kl, lambda: {"mu": _t(4, 3), "logvar": _t(4, 3, seed=1)}, ("mu", "logvar")),
    Case(vae.reparameterize, lambda: {"mu": _t(4, 3), "logvar": _t(4, 3, seed=1), "n_samples": 2}, ("mu", "logvar"), (), ("n_samples",)),
    Case(vae.bernoulli_log_likelihood, lambda: {"x": torch.rand(4, 5), "logits": _t(4, 5)}, ("x", "logits")),
    Case(vae.gaussian_log_likelihood, lambda: {"x": _t(4, 5), "mean": _t(4, 5, seed=1), "log_sigma": 0.0}, ("x", "mean")),
    Case(divergences.kl_divergence, lambda: {"p": _probs(5), "q": _probs(5)}, ("p", "q")),
    Case(divergences.js_divergence, lambda: {"p": _probs(5), "q": _probs(5)}, ("p", "q")),
    Case(gan.discriminator_loss, lambda: {"real_logits": _t(8), "fake_logits": _t(8, seed=1)}, ("real_logits", "fake_logits"), ("real_logits",)),
    Case(gan.generator_loss, lambda: {"fake_logits": _t(8)}, ("fake_logits",), ("fake_logits",)),
    Case(gan.optimal_discriminator, lambda: {"p_data": _probs(5), "p_g": _probs(5)}, ("p_data", "p_g")),
    Case(gan.dcgan_generator, lambda: {"latent_dim": 4, "channels": 2}, (), (), ("latent_dim", "channels")),
    Case(gan.dcgan_discriminator, lambda: {"channels": 2}, (), (), ("channels",)),
    Case(wgan.wgan_critic_loss, lambda: {"real_scores": _t(8), "fake_scores": _t(8, seed=1)}, ("real_scores", "fake_scores"), ("real_scores",)),
    Case(wgan.gradient_penalty, lambda: {"critic": _critic(), "real": _t(8, 2), "fake": _t(8, 2, seed=1)}, ("real", "fake")),
    Case(transport.cost_matrix, lambda: {"x": _t(5, 2), "y": _t(4, 2, seed=1)}, ("x", "y")),
    Case(transport.wasserstein_lp, lambda: {"p": _probs(3), "q": _probs(4), "cost": _t(3, 4, positive=True)}, ("p", "q", "cost"), ("p", "cost")),
    Case(transport.wasserstein_1d, lambda: {"x": _t(5), "y": _t(4, seed=1)}, ("x", "y"), ("x",)),
    Case(metrics.score_from_probabilities, lambda: {"probs": _probs(6, 10)}, ("probs",), ("probs",)),
    Case(metrics.modes_covered, lambda: {"samples": _t(50, 2), "centres": _t(4, 2, seed=1), "std": 0.1}, ("samples", "centres"), ("samples", "centres"), ("min_count",)),
    Case(metrics.classifier_score, lambda: {"images": torch.rand(4, 1, 28, 28)}, ("images",), ("images",)),
    Case(data.sample_ring, lambda: {"n": 10}, (), (), ("n", "n_modes")),
    Case(data.sample_grid, lambda: {"n": 10}, (), (), ("n",)),
    Case(data.sample_two_moons, lambda: {"n": 10}, (), (), ("n",)),
    Case(data.sample_swiss_roll, lambda: {"n": 10}, (), (), ("n",)),
    Case(data.sample_checkerboard, lambda: {"n": 10}, (), (), ("n",)),
    Case(training.mlp, lambda: {"sizes": [2, 3]}, (), (), ()),
    Case(flows.dequantize, lambda: {"x": torch.rand(4, 3)}, ("x",), (), ("levels",)),
    Case(flows.logit_transform, lambda: {"y": torch.rand(4, 3)}, ("y",)),
    Case(flows.glow_mnist, lambda: {"n_steps": 1, "hidden": 4}, (), (), ("n_steps", "hidden")),
    Case(diffusion.ddpm_loss, lambda: {"model": diffusion.MLPDenoiser(2, hidden=8, n_layers=1), "x0": _t(4, 2), "schedule": diffusion.linear_beta_schedule(10, 1e-3, 0.2)}, ("x0",)),
    Case(diffusion.variational_bound, lambda: {"model": diffusion.MLPDenoiser(2, hidden=8, n_layers=1), "x0": _t(4, 2), "schedule": diffusion.linear_beta_schedule(10, 1e-3, 0.2)}, ("x0",)),
    Case(rng.randn, lambda: {"shape": (2,)}, (), (), ()),
    Case(translation.unet_generator, lambda: {"in_channels": 1, "channels": 2}, (), (), ("in_channels", "channels")),
    Case(translation.patchgan_discriminator, lambda: {"in_channels": 1, "channels": 2, "n_layers": 1}, (), (), ("in_channels", "channels", "n_layers")),
    Case(translation.patch_discriminator_loss, lambda: {"real_logits": _t(2, 1, 3, 3), "fake_logits": _t(2, 1, 3, 3, seed=1)}, ("real_logits", "fake_logits")),
    Case(translation.pix2pix_generator_loss, lambda: {"fake_logits": _t(2, 1, 3, 3), "fake": _t(2, 1, 4, 4), "target": _t(2, 1, 4, 4, seed=1)}, ("fake_logits", "fake", "target")),
    Case(translation.content_loss, lambda: {"output": _t(2, 1, 4, 4), "target": _t(2, 1, 4, 4, seed=1)}, ("output", "target")),
    Case(translation.perceptual_loss, lambda: {"output": _t(2, 1, 4, 4), "target": _t(2, 1, 4, 4, seed=1), "features": torch.tanh}, ("output", "target")),
    Case(translation.srgan_generator_loss, lambda: {"output": _t(2, 1, 4, 4), "target": _t(2, 1, 4, 4, seed=1), "fake_logits": _t(2)}, ("output", "target", "fake_logits")),
    Case(translation.cycle_consistency_loss, lambda: {"x": _t(2, 1, 4, 4), "y": _t(3, 1, 4, 4, seed=1), "netG": torch.tanh, "netF": torch.tanh}, ("x", "y")),
    Case(translation.identity_loss, lambda: {"x": _t(2, 1, 4, 4), "y": _t(3, 1, 4, 4, seed=1), "netG": torch.tanh, "netF": torch.tanh}, ("x", "y")),
    Case(translation.erase_lower_half, lambda: {"images": _t(2, 1, 4, 4)}, ("images",), ("images",)),
    Case(translation.average_pool, lambda: {"images": _t(2, 1, 8, 8), "factor": 4}, ("images",), ("images",), ("factor",)),
    Case(translation.dilate, lambda: {"images": _t(2, 1, 4, 4), "size": 3}, ("images",), ("images",), ("size",)),
    Case(translation.split_unpaired, lambda: {"images": _t(4, 1, 3, 3), "labels": torch.arange(4)}, ("images",), ("images",)),
    Case(translation.psnr, lambda: {"output": _t(2, 1, 4, 4), "target": _t(2, 1, 4, 4, seed=1)}, ("output", "target")),
    Case(translation.mean_gradient_magnitude, lambda: {"images": _t(2, 1, 4, 4)}, ("images",), ("images",)),
    Case(translation.near_binary_share, lambda: {"images": torch.rand(2, 1, 4, 4)}, ("images",), ("images",)),
]


def _call(case: Case, **changes: Any) -> Any:
    kwargs = case.kwargs()
    kwargs.update(changes)
    return case.fn(**kwargs)


def _breakages(case: Case):
    valid = case.kwargs()
    for name in case.tensors:
        t = valid[name]
        yield name, "NaN", t.clone().fill_(float("nan"))
        yield name, "empty", t[:0]
        yield name, "integer dtype", t.round().to(torch.int64)
        yield name, "not a tensor", t.tolist()
    for name in case.fixed_ndim:
        yield name, "an extra dimension", valid[name][None]
    for name in case.sizes:
        yield name, "a bool", True
        yield name, "a float", 2.5
        yield name, "zero", 0


BREAKS = [(case, name, how, bad) for case in CASES for name, how, bad in _breakages(case)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_valid_call_runs(case):
    _call(case)


@pytest.mark.parametrize(
    ("case", "name", "how", "bad"), BREAKS, ids=[f"{c.id}-{n}-{h}" for c, n, h, _ in BREAKS]
)
def test_bad_argument_raises_naming_it(case, name, how, bad):
    with pytest.raises((TypeError, ValueError)) as info:
        _call(case, **{name: bad})
    message = str(info.value)
    assert case.names.get(name, name) in message, f"{case.id} with {name} = {how}: the message {message!r} does not name {name!r}"


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (data.sample_ring, {"n": 10, "std": float("nan")}),
        (data.sample_ring, {"n": 10, "std": -1.0}),
        (data.sample_two_moons, {"n": 10, "noise": -1.0}),
        (data.sample_swiss_roll, {"n": 10, "noise": float("inf")}),
        (wgan.clip_weights, {"module": torch.nn.Linear(2, 1), "c": True}),
        (wgan.clip_weights, {"module": torch.nn.Linear(2, 1), "c": float("nan")}),
        (metrics.modes_covered, {"samples": _t(5, 2), "centres": _t(2, 2), "std": float("nan")}),
    ],
    ids=["ring-std-nan", "ring-std-negative", "moons-noise-negative", "roll-noise-inf", "clip-c-bool", "clip-c-nan", "modes-std-nan"],
)
def test_bad_numbers_raise(fn, kwargs):
    with pytest.raises((TypeError, ValueError)):
        fn(**kwargs)


def test_generator_must_be_a_torch_generator():
    """``generator`` always means a torch.Generator; passing a network or an int fails clearly."""
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        data.sample_ring(10, generator=0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        vae.reparameterize(_t(2, 3), _t(2, 3), generator=torch.nn.Linear(1, 1))
