"""Mode collapse (chapter 8): its remedies, and many small 2-D GANs trained side by side.

The remedies, each a layer or a loss that any discriminator can use: :class:`MinibatchStdDev`
(the discriminator sees how varied its batch is), :class:`Pack` (PacGAN: it judges m samples
at once) and :func:`unrolled_generator_loss` (the generator plays against the discriminator
k steps ahead). WGAN-GP is :mod:`utils.wgan`'s.

To measure them as the papers do (mean and spread over seeds), :func:`train_gan_ensemble`
trains S independent 2-D GANs of one method as one batched model: :class:`EnsembleLinear`
holds the S copies of a layer and applies them with one batched matrix product (measured in
chapter 8 on one CPU thread: a vanilla step of 3 runs 2.4 ms, of 10 runs 5.5 ms). The metrics
(modes covered, high-quality share, reverse KL) are :func:`utils.metrics.modes_covered`'s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from utils import rng
from utils.gan import GENERATOR_LOSSES, discriminator_loss, generator_loss
from utils.training import train
from utils.validation import (
    check_choice,
    check_data_matrix,
    check_module_input,
    check_positive_float,
    check_positive_int,
    check_same_device,
    check_tensor,
)
from utils.wgan import gradient_penalty, wgan_critic_loss, wgan_generator_loss

__all__ = [
    "MODE_COLLAPSE_METHODS",
    "EnsembleLinear",
    "MinibatchStdDev",
    "Pack",
    "ensemble_mlp",
    "ensemble_discriminator_loss",
    "ensemble_generator_loss",
    "unrolled_generator_loss",
    "GANEnsemble",
    "train_gan_ensemble",
]

MODE_COLLAPSE_METHODS = ("vanilla", "unrolled", "minibatch_std", "pacgan2", "pacgan4", "wgan_gp")


class EnsembleLinear(nn.Module):
    """``n_models`` independent linear layers applied side by side: ``(S, B, in) -> (S, B, out)``.

    One batched matrix product (``torch.baddbmm``) replaces S small ones: one kernel launch
    instead of S, which is what tiny networks pay for on a GPU. Each model is initialized like
    ``nn.Linear`` (uniform in +-1/sqrt(in)) from the global RNG.

    Args:
        n_models: S, positive.
        in_features, out_features: positive.

    Raises:
        TypeError, ValueError: if a size is not a positive int; in forward, if the input is not a
            floating-point ``(S, B, in_features)`` tensor of the layer's dtype and on its device.
    """

    def __init__(self, n_models: int, in_features: int, out_features: int) -> None:
        super().__init__()
        for value, name in ((n_models, "n_models"), (in_features, "in_features"), (out_features, "out_features")):
            check_positive_int(value, name)
        bound = in_features**-0.5
        self.weight = nn.Parameter(torch.empty(n_models, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_models, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_module_input(x, "input", self)
        check_tensor(x, "input", finite=False)
        if x.ndim != 3 or x.shape[0] != self.weight.shape[0] or x.shape[2] != self.weight.shape[1]:
            raise ValueError(f"input must have shape ({self.weight.shape[0]}, B, {self.weight.shape[1]}), got {tuple(x.shape)}")
        return torch.baddbmm(self.bias, x, self.weight)


class MinibatchStdDev(nn.Module):
    """Append one feature: the standard deviation across the minibatch, averaged over features.

    ``(..., B, h) -> (..., B, h + 1)``: for each feature the standard deviation over the B samples
    (dimension -2), averaged over the h features, is appended to every sample. A collapsed
    generator's batch has a small value here, which the discriminator can see and punish.

    References:
        Karras et al. (2018), *Progressive growing of GANs*, section 3 (a simplified minibatch
        discrimination); Salimans et al. (2016), section 3.2 (minibatch discrimination).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "input", finite=False)
        if x.ndim < 2 or x.shape[-2] < 2:
            raise ValueError(f"input must have shape (..., B, h) with B >= 2, got {tuple(x.shape)}")
        std = (x.var(dim=-2, unbiased=False, keepdim=True) + 1e-8).sqrt().mean(dim=-1, keepdim=True)  # (..., 1, 1)
        return torch.cat([x, std.expand(*x.shape[:-1], 1)], dim=-1)


class Pack(nn.Module):
    """PacGAN's packing: ``(..., B, d) -> (..., B / m, m d)``, m consecutive samples per decision.

    Args:
        m: the packing degree, positive (m = 1 is the plain discriminator).

    Raises:
        TypeError, ValueError: if m is not a positive int; in forward, if B is not a multiple of m.

    References:
        Lin et al. (2018), *PacGAN*, section 3 (the discriminator maps m samples to one label).
    """

    def __init__(self, m: int) -> None:
        super().__init__()
        self.m = check_positive_int(m, "m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "input", min_ndim=2, finite=False, floating=False)
        if x.shape[-2] % self.m:
            raise ValueError(f"the batch size {x.shape[-2]} must be a multiple of the packing degree m = {self.m}")
        return x.reshape(*x.shape[:-2], x.shape[-2] // self.m, self.m * x.shape[-1])


def ensemble_mlp(n_models: int, sizes: Sequence[int], pack: int = 1, minibatch_std: bool = False) -> nn.Sequential:
    """S independent ReLU MLPs with layer sizes ``sizes``: ``(S, B, sizes[0]) -> (S, B / pack, sizes[-1])``.

    Args:
        n_models: S, positive.
        sizes: at least two positive layer sizes, input first (the input size is per sample).
        pack: PacGAN's degree m (a :class:`Pack` first; the first layer then takes m inputs).
        minibatch_std: insert :class:`MinibatchStdDev` before the last layer.

    Returns:
        An ``nn.Sequential`` of :class:`EnsembleLinear` and ``nn.ReLU`` layers.

    Raises:
        TypeError, ValueError: on a non-positive size or pack, or fewer than two sizes.
    """
    sizes = [check_positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output size, got {sizes}")
    check_positive_int(pack, "pack")
    layers: list[nn.Module] = [Pack(pack)] if pack > 1 else []
    sizes = [sizes[0] * pack, *sizes[1:]]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        if last and minibatch_std:
            layers.append(MinibatchStdDev())
            a += 1
        layers.append(EnsembleLinear(n_models, a, b))
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def unrolled_generator_loss(
    netD: nn.Module, real: torch.Tensor, fake: torch.Tensor, n_unroll: int, lr: float, kind: str = "non_saturating"
) -> torch.Tensor:
    """The unrolled GAN's generator loss: the generator loss against the discriminator k SGD steps ahead.

    ``phi_0`` = netD's parameters; ``phi_{i+1} = phi_i - lr grad_phi L_D(phi_i; real, fake)``
    with the graph kept (``create_graph=True``) and ``fake`` not detached, so the generator's
    gradient flows through the discriminator's k responses to it. netD itself is not changed
    (``torch.func.functional_call`` evaluates it with the unrolled parameters).

    Args:
        netD: maps a batch to logits of any shape (flattened here).
        real: a real batch shaped as netD expects.
        fake: a generated batch (attached to the generator's graph).
        n_unroll: k >= 0 (k = 0 is the ordinary generator loss).
        lr: the unrolled SGD step size, positive.
        kind: the generator loss, as in :func:`generator_loss`.

    Returns:
        0-dim: the generator loss at ``phi_k``, summed over netD's ensemble if it has one
        (the mean over all logits times the leading dimension for 3-D logits).

    Raises:
        TypeError, ValueError: on a bad n_unroll, lr or kind, a ``netD`` that is not an ``nn.Module``,
            or ``real`` and ``fake`` that are not finite floating-point tensors on one device.

    References:
        Metz et al. (2017), *Unrolled generative adversarial networks*, eqs. (6)-(7) (they unroll
        Adam; we unroll plain SGD); the AE/VAE/GAN lecture, slide "Mode Collapse" ("Unrolled GANs").
    """
    if not isinstance(n_unroll, int) or isinstance(n_unroll, bool):
        raise TypeError(f"n_unroll must be an int, got {type(n_unroll).__name__}")
    if n_unroll < 0:
        raise ValueError(f"n_unroll must be >= 0, got {n_unroll}")
    lr = check_positive_float(lr, "lr")
    check_choice(kind, "kind", GENERATOR_LOSSES)
    if not isinstance(netD, nn.Module):
        raise TypeError(f"netD must be an nn.Module (its parameters are unrolled), got {type(netD).__name__}")
    check_same_device(real=real, fake=fake)
    check_tensor(real, "real", min_ndim=1)
    check_tensor(fake, "fake", min_ndim=1)
    params = dict(netD.named_parameters())
    for _ in range(n_unroll):
        loss_d = ensemble_discriminator_loss(
            torch.func.functional_call(netD, params, (real,)), torch.func.functional_call(netD, params, (fake,))
        )
        grads = torch.autograd.grad(loss_d, list(params.values()), create_graph=True)
        params = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
    return ensemble_generator_loss(torch.func.functional_call(netD, params, (fake,)), kind)


def _ensemble_size(logits: torch.Tensor, name: str) -> int:
    """S for ``(S, B, 1)`` logits, 1 for ``(N,)`` or ``(N, 1)`` ones (the losses check the values)."""
    check_tensor(logits, name, finite=False)
    if logits.ndim not in (1, 2, 3) or logits.ndim > 1 and logits.shape[-1] != 1:
        raise ValueError(f"{name} must have shape (S, B, 1), (N,) or (N, 1), got {tuple(logits.shape)}")
    return logits.shape[0] if logits.ndim == 3 else 1


def ensemble_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """:func:`discriminator_loss` summed over an ensemble: logits ``(S, B, 1)`` give the sum of the S losses.

    Each member's gradient is then its own loss's gradient, whatever S. 1-D or 2-D logits
    (``(N,)`` or ``(N, 1)``) give :func:`discriminator_loss`.

    Raises:
        TypeError, ValueError: for non-finite or non-float logits, other shapes, or real and
            fake logits of different ensembles (another S, or one 3-D and one not).
    """
    s = _ensemble_size(real_logits, "real_logits")
    if _ensemble_size(fake_logits, "fake_logits") != s or real_logits.ndim != fake_logits.ndim and 3 in (real_logits.ndim, fake_logits.ndim):
        raise ValueError(
            f"real_logits and fake_logits must come from the same ensemble, got shapes {tuple(real_logits.shape)} and {tuple(fake_logits.shape)}"
        )
    check_same_device(real_logits=real_logits, fake_logits=fake_logits)
    return s * discriminator_loss(real_logits.reshape(-1), fake_logits.reshape(-1))


def ensemble_generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """:func:`generator_loss` summed over an ensemble: logits ``(S, B, 1)`` give the sum of the S losses.

    Raises:
        TypeError, ValueError: for non-finite or non-float logits, a shape other than ``(S, B, 1)``,
            ``(N,)`` or ``(N, 1)``, or an unknown ``kind``.
    """
    return _ensemble_size(fake_logits, "fake_logits") * generator_loss(fake_logits.reshape(-1), kind)


class GANEnsemble(NamedTuple):
    """What :func:`train_gan_ensemble` returns."""

    netG: nn.Sequential  # S generators: (S, B, latent_dim) -> (S, B, d)
    netD: nn.Sequential  # S discriminators (critics for "wgan_gp")
    history: dict[str, list[float]]  # per step: "loss_d", "loss_g" (sums over the S members)
    snapshots: list[tuple[int, torch.Tensor]]  # (step, (S, n, d) samples of the fixed snapshot noise)
    seconds_per_step: float  # wall-clock time of one training step of all S members


def train_gan_ensemble(
    method: str,
    data: torch.Tensor,
    n_models: int,
    n_steps: int,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
    latent_dim: int = 2,
    hidden: int = 64,
    n_hidden: int = 2,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    n_unroll: int = 5,
    unroll_lr: float = 0.01,
    gp_weight: float = 10.0,
    n_critic: int = 1,
    snapshot_every: int | None = None,
    snapshot_size: int = 500,
    desc: str | None = None,
) -> GANEnsemble:
    """Train S independent 2-D GANs of one method side by side, as one batched model.

    Every member has its own initialization, real batches and noise; the members only share
    the batched matrix products (:class:`EnsembleLinear`). Generator: an MLP ``latent_dim -> hidden
    x n_hidden -> d``; discriminator: an MLP ``d -> hidden x n_hidden -> 1``, changed by the method:

    * ``"vanilla"``: the non-saturating GAN (:func:`discriminator_loss`, :func:`generator_loss`);
    * ``"unrolled"``: the generator steps against the discriminator ``n_unroll`` SGD steps ahead
      (:func:`unrolled_generator_loss`, step size ``unroll_lr``);
    * ``"minibatch_std"``: :class:`MinibatchStdDev` before the discriminator's last layer;
    * ``"pacgan2"``, ``"pacgan4"``: the discriminator judges m = 2 or 4 packed samples (:class:`Pack`),
      each of the B decisions on m fresh samples (m B samples per batch, as in the paper);
    * ``"wgan_gp"``: a critic with the Wasserstein losses and ``gp_weight`` times the gradient
      penalty (:mod:`utils.wgan`).

    Each step: ``n_critic`` discriminator (critic) steps on fresh batches, then one generator
    step, both with Adam(lr, betas), the step size decaying linearly from lr to 0 over the
    n_steps (so that the last samples settle on the modes instead of jittering around them).

    Args:
        method: one of :data:`MODE_COLLAPSE_METHODS`.
        data: ``(N, d)`` training samples; each member draws its batches with replacement.
        n_models: S, the number of independent runs (seeds), positive.
        n_steps: training steps, positive.
        generator: a ``torch.Generator`` for batches, noise and snapshot noise (initial weights
            come from the global RNG, as for ``nn.Linear``: seed it with ``torch.manual_seed``).
        batch_size: B, positive, a multiple of 4.
        latent_dim, hidden, n_hidden: network sizes, positive.
        lr: Adam's initial step size, positive.
        betas: Adam's (beta1, beta2), each in [0, 1) ((0.5, 0.999) as DCGAN; WGAN-GP's paper uses (0.5, 0.9)).
        n_unroll: k for ``"unrolled"``.
        unroll_lr: the unrolled SGD steps' size, positive (0.01; in our 2-D runs, steps of 0.1
            to 1 let the look-ahead discriminator win outright).
        gp_weight: lambda for ``"wgan_gp"``, positive (10 in the paper).
        n_critic: discriminator (critic) steps per generator step, positive (5 in WGAN-GP's paper).
        snapshot_every: keep samples of a fixed noise batch every this many steps (None: never).
        snapshot_size: the number of samples per member in a snapshot.
        desc: the progress bar's label (default: the method).

    Returns:
        A :class:`GANEnsemble`; the networks are on ``data``'s device.

    Raises:
        TypeError, ValueError: on a bad ``data``, an unknown method or a bad size.

    References:
        Goodfellow et al. (2014); Metz et al. (2017); Karras et al. (2018); Lin et al. (2018);
        Gulrajani et al. (2017). The networks follow the 2-D experiments of Metz et al., section 3.1
        (two hidden ReLU layers), smaller.
    """
    check_choice(method, "method", MODE_COLLAPSE_METHODS)
    check_data_matrix(data, "data")
    for value, name in ((n_models, "n_models"), (n_steps, "n_steps"), (batch_size, "batch_size"), (latent_dim, "latent_dim"),
                        (hidden, "hidden"), (n_hidden, "n_hidden"), (snapshot_size, "snapshot_size"), (n_critic, "n_critic")):
        check_positive_int(value, name)
    if batch_size % 4:
        raise ValueError(f"batch_size must be a multiple of 4 (for packing), got {batch_size}")
    lr = check_positive_float(lr, "lr")
    gp_weight = check_positive_float(gp_weight, "gp_weight")
    unroll_lr = check_positive_float(unroll_lr, "unroll_lr")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")
    if snapshot_every is not None:
        check_positive_int(snapshot_every, "snapshot_every")
    device, d = data.device, data.shape[1]
    m = {"pacgan2": 2, "pacgan4": 4}.get(method, 1)
    netG = ensemble_mlp(n_models, [latent_dim, *[hidden] * n_hidden, d]).to(device)
    netD = ensemble_mlp(n_models, [d, *[hidden] * n_hidden, 1], pack=m, minibatch_std=method == "minibatch_std").to(device)
    opt_g = torch.optim.Adam(netG.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(netD.parameters(), lr=lr, betas=betas)
    decay = [torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / n_steps) for opt in (opt_g, opt_d)]
    n_per_batch = batch_size * m  # PacGAN: B decisions on m samples each
    snapshot_z = rng.randn((n_models, snapshot_size, latent_dim), generator, device=device)
    snapshots: list[tuple[int, torch.Tensor]] = []

    def step(i: int) -> dict[str, float]:
        if snapshot_every is not None and i % snapshot_every == 0:
            with torch.no_grad():
                snapshots.append((i, netG(snapshot_z).cpu()))
        for _ in range(n_critic):
            real = data[rng.randint(len(data), (n_models, n_per_batch), generator, device=device)]  # (S, mB, d)
            with torch.no_grad():
                fake = netG(rng.randn((n_models, n_per_batch, latent_dim), generator, device=device))
            real_out, fake_out = netD(real), netD(fake)
            if method == "wgan_gp":
                flat = lambda x: netD(x.reshape(n_models, n_per_batch, d)).reshape(-1)  # noqa: E731 (one score per point)
                penalty = gradient_penalty(flat, real.reshape(-1, d), fake.reshape(-1, d), generator=generator)
                loss_d = n_models * (wgan_critic_loss(real_out.reshape(-1), fake_out.reshape(-1)) + gp_weight * penalty)
            else:
                loss_d = ensemble_discriminator_loss(real_out, fake_out)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        fake = netG(rng.randn((n_models, n_per_batch, latent_dim), generator, device=device))
        if method == "wgan_gp":
            loss_g = n_models * wgan_generator_loss(netD(fake).reshape(-1))
        elif method == "unrolled":
            loss_g = unrolled_generator_loss(netD, real, fake, n_unroll, unroll_lr)
        else:
            loss_g = ensemble_generator_loss(netD(fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for scheduler in decay:
            scheduler.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    start = time.perf_counter()
    history = train(step, None, n_steps, desc=desc or method)
    seconds = (time.perf_counter() - start) / n_steps
    if snapshot_every is not None:
        with torch.no_grad():
            snapshots.append((n_steps, netG(snapshot_z).cpu()))
    return GANEnsemble(netG.eval(), netD.eval(), history, snapshots, seconds)
