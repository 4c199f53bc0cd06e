"""Every generative model the course trains on MNIST, behind one interface (chapter 11's table).

Chapters 3, 4 and 6 train their VAE, flow and DCGAN in front of the reader; chapter 11 compares
them all and cannot retrain them within its time budget, so ``python -m utils.mnist_models train``
trains the three once with the chapters' recipes (longer: the budgets are in
:data:`TRAINING_STEPS`) and saves them in ``data/mnist_models.pt``, as chapter 5's DDPM
(``data/mnist_ddpm.pt``) and chapter 9's conditional GANs (``data/conditional_gans.pt``) ship.

:func:`load_mnist_models` returns them, and the DDPM and the four conditional GANs, as
:class:`MNISTModel` records: ``sample(n, generator) -> (n, 1, 28, 28)`` images in [0, 1], the
model's random input (``noise``) and the deterministic map from it to images (``decode``), for
walks in the latent space, and the training run's time per step. The models themselves live in their chapters' modules
(:mod:`utils.vae`, :mod:`utils.flows`, :mod:`utils.gan`, :mod:`utils.diffusion`, :mod:`utils.conditional`).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch
from torch import nn

from utils import rng
from utils.classifier import N_CLASSES
from utils.data import DATA_DIR, load_mnist
from utils.flows import discrete_bits_per_dim, glow_mnist, inverse_logit_transform
from utils.gan import dcgan_discriminator, dcgan_generator, gan_training_step
from utils.vae import VAE, elbo
from utils.validation import check_choice, check_positive_int, check_same_device

__all__ = [
    "MNIST_MODELS_PATH",
    "TRAINED_HERE",
    "TRAINING_STEPS",
    "MNISTModel",
    "train_mnist_model",
    "load_mnist_models",
]

MNIST_MODELS_PATH = DATA_DIR / "mnist_models.pt"
TRAINED_HERE = ("vae", "flow", "dcgan")  # the models this module trains; the others ship with their chapters
TRAINING_STEPS = {"vae": 12_000, "flow": 4_000, "dcgan": 5_000}  # chapter 3's full budget; 10x chapter 4's quick one; chapter 9's GANs' 5,000
VAE_LATENT, VAE_HIDDEN = 20, (512,)  # chapter 3's VAE
FLOW_STEPS, FLOW_HIDDEN = 4, 32  # chapter 4's quick Glow
DCGAN_LATENT, DCGAN_CHANNELS = 32, 32  # chapter 6's DCGAN, between its quick (16) and full (64) widths
BATCH_SIZE = 64
DDIM_STEPS = 50  # chapter 5's DDIM sampler


class MNISTModel(NamedTuple):
    """One trained MNIST model of the course, behind a common interface.

    ``noise(n, generator)`` draws the model's random input ``(n, ...)`` (z; the flow's and DDIM's
    784 Gaussian numbers; InfoGAN's z with its two continuous codes) and ``decode(noise, labels)``
    maps it deterministically to ``(n, 1, 28, 28)`` images in [0, 1]; ``labels`` ``(n,)`` are the
    conditional models' classes (InfoGAN's categorical code) and are ignored by the others. Both are
    None for ancestral DDPM sampling, which draws fresh noise at every step. ``sample(n, generator)``
    draws n images, each class n/10 times for the conditional models.
    """

    network: nn.Module  # eval mode, frozen
    noise: Callable[[int, torch.Generator], torch.Tensor] | None
    decode: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None
    sampler: Callable[[int, torch.Generator], torch.Tensor] | None  # only where decode(noise) is not the sampler
    seconds_per_step: float  # of the training run that made the weights (CPU, one thread); nan if not recorded

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``(n, 1, 28, 28)`` images in [0, 1]; the conditional models' labels are 0, 1, ..., 9, 0, 1, ...

        Raises:
            TypeError, ValueError: for a bad ``n`` or ``generator``.
        """
        check_positive_int(n, "n")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if self.sampler is not None:
            return self.sampler(n, generator)
        noise = self.noise(n, generator)
        return self.decode(noise, torch.arange(n, device=noise.device) % N_CLASSES)


def _network(kind: str, generator: torch.Generator | None = None) -> nn.Module:
    """The untrained network of ``kind`` (the DCGAN: its generator); ``generator`` seeds the flow's 1x1 convolutions."""
    if kind == "vae":
        return VAE(data_dim=784, latent_dim=VAE_LATENT, hidden=VAE_HIDDEN)
    if kind == "flow":
        return glow_mnist(n_steps=FLOW_STEPS, hidden=FLOW_HIDDEN, generator=generator)
    return dcgan_generator(DCGAN_LATENT, DCGAN_CHANNELS)


def _train_vae(n_steps: int, g: torch.Generator, x: torch.Tensor) -> nn.Module:
    """Chapter 3's recipe: dynamic binarization, Adam 1e-3 with a cosine decay, the negative ELBO."""
    vae = _network("vae")
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_steps, eta_min=1e-4)
    flat = x.reshape(len(x), -1)
    for _ in range(n_steps):
        batch = flat[rng.randint(len(flat), (BATCH_SIZE,), g)]
        binary = (rng.rand(batch.shape, g) < batch).float()
        loss = -elbo(vae, binary, generator=g).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    return vae


def _train_flow(n_steps: int, g: torch.Generator, x: torch.Tensor) -> nn.Module:
    """Chapter 4's recipe: the small Glow, ActNorm initialized on 512 digits, Adam 1e-3 on bits/dim."""
    flow = _network("flow", generator=g)
    with torch.no_grad():
        discrete_bits_per_dim(flow, x[:512], g)  # ActNorm's data-dependent initialization
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    for _ in range(n_steps):
        loss = discrete_bits_per_dim(flow, x[rng.randint(len(x), (BATCH_SIZE,), g)], g).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return flow


def _train_dcgan(n_steps: int, g: torch.Generator, x: torch.Tensor) -> nn.Module:
    """Chapter 6's recipe: the DCGAN, non-saturating loss, Adam 2e-4 with beta1 = 0.5."""
    netG, netD = _network("dcgan"), dcgan_discriminator(DCGAN_CHANNELS)
    opt_g = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    scaled = x * 2 - 1
    for _ in range(n_steps):
        real = scaled[rng.randint(len(scaled), (BATCH_SIZE,), g)]
        gan_training_step(netG, netD, opt_g, opt_d, real, DCGAN_LATENT, generator=g)
    return netG


def train_mnist_model(kind: str, n_steps: int | None = None, seed: int = 0) -> tuple[nn.Module, float]:
    """Train one of :data:`TRAINED_HERE` on the course's 4,000 training digits, on the CPU.

    Args:
        kind: ``"vae"``, ``"flow"`` or ``"dcgan"``.
        n_steps: optimizer steps of 64 digits (the DCGAN: generator steps, one discriminator
            step each); :data:`TRAINING_STEPS` by default.
        seed: fixes the initial weights, the batches and every draw.

    Returns:
        The network in eval mode (for the DCGAN, its generator) and the seconds per step.

    Raises:
        TypeError: for a non-int ``n_steps`` or ``seed``.
        ValueError: for an unknown ``kind``, a non-positive ``n_steps`` or a negative ``seed``.
    """
    check_choice(kind, "kind", TRAINED_HERE)
    n_steps = TRAINING_STEPS[kind] if n_steps is None else check_positive_int(n_steps, "n_steps")
    g = rng.make_generator(seed)  # checks seed (a CPU generator: the global RNG is seeded next, as before)
    torch.manual_seed(seed)
    x = load_mnist("train")[0]
    start = time.perf_counter()
    network = {"vae": _train_vae, "flow": _train_flow, "dcgan": _train_dcgan}[kind](n_steps, g, x)
    return network.eval(), (time.perf_counter() - start) / n_steps


def load_mnist_models(device: torch.device | str = "cpu", path: str | Path | None = None) -> dict[str, MNISTModel]:
    """The course's MNIST generators as :class:`MNISTModel` records, in eval mode with frozen parameters.

    Keys: ``"vae"`` (chapter 3: the decoder's Bernoulli means, as that chapter shows its samples),
    ``"flow"`` (chapter 4), ``"ddpm"`` (chapter 5, ancestral sampling in 1,000 steps), ``"ddim"``
    (the same network, DDIM in 50 steps from x_T), ``"dcgan"`` (chapter 6) and chapter 9's
    ``"cgan"``, ``"cgan_mismatch"``, ``"acgan"`` and ``"infogan"``.

    Args:
        device: where to put the networks.
        path: the file of the three models trained here; ``data/mnist_models.pt`` by default.

    Raises:
        FileNotFoundError: if a weights file is missing, with the command that makes it. (The
            conditional models' ``decode`` raises ValueError for labels on another device than
            the noise, and TypeError or ValueError for labels that are not ints in 0..9.)
    """
    from utils.conditional import N_CONTINUOUS_CODES, load_conditional_gans, one_hot
    from utils.diffusion import ddim_sample, ddpm_sample, linear_beta_schedule, load_mnist_ddpm

    path = MNIST_MODELS_PATH if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m utils.mnist_models train`")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = {}
    for kind in TRAINED_HERE:
        net[kind] = _network(kind)
        net[kind].load_state_dict(saved[kind]["state_dict"])
        net[kind] = net[kind].to(device).eval().requires_grad_(False)

    def gaussian(*shape: int) -> Callable[[int, torch.Generator], torch.Tensor]:
        return lambda n, g: rng.randn((n, *shape), g, device=device)

    def seconds(kind: str) -> float:
        return float(saved[kind]["seconds_per_step"])

    vae, flow, dcgan = net["vae"], net["flow"], net["dcgan"]
    out = {
        "vae": MNISTModel(vae, gaussian(VAE_LATENT), lambda z, _: vae.decode_mean(z).reshape(len(z), 1, 28, 28), None, seconds("vae")),
        "flow": MNISTModel(flow, gaussian(*flow.latent_shape), lambda z, _: inverse_logit_transform(flow.inverse(z)), None, seconds("flow")),
    }
    unet, schedule = load_mnist_ddpm(device), linear_beta_schedule(1000)

    def ddpm(n: int, g: torch.Generator) -> torch.Tensor:
        return ((ddpm_sample(unet, (n, 1, 28, 28), schedule, generator=g) + 1) / 2).clamp(0, 1)

    def ddim(x_T: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:  # noqa: N803
        return ((ddim_sample(unet, tuple(x_T.shape), schedule, DDIM_STEPS, x_T=x_T) + 1) / 2).clamp(0, 1)

    out["ddpm"] = MNISTModel(unet, None, None, ddpm, math.nan)
    out["ddim"] = MNISTModel(unet, gaussian(1, 28, 28), ddim, None, math.nan)
    out["dcgan"] = MNISTModel(dcgan, gaussian(DCGAN_LATENT), lambda z, _: (dcgan(z) + 1) / 2, None, seconds("dcgan"))

    for kind, trained in load_conditional_gans(device).items():
        netG = trained.netG

        def decode(noise: torch.Tensor, labels: torch.Tensor, netG: nn.Module = netG) -> torch.Tensor:
            check_same_device(noise=noise, labels=labels)
            z, continuous = noise[:, : netG.latent_dim], noise[:, netG.latent_dim :]  # continuous: InfoGAN's codes, else empty
            return (netG(z, torch.cat([one_hot(labels).to(z), continuous], dim=1)) + 1) / 2

        if kind == "infogan":  # z ~ N(0, I) and the continuous codes ~ U[-1, 1], as in training
            def noise(n: int, g: torch.Generator, d: int = netG.latent_dim) -> torch.Tensor:
                return torch.cat([rng.randn((n, d), g, device=device), 2 * rng.rand((n, N_CONTINUOUS_CODES), g, device=device) - 1], dim=1)
        else:
            noise = gaussian(netG.latent_dim)
        out[kind] = MNISTModel(netG, noise, decode, None, trained.seconds_per_step)
    return out


def _main(argv: list[str] | None = None) -> None:
    """``python -m utils.mnist_models train [--kinds K ...] [--steps N] [--seed S] [--out FILE]``: train and save."""
    parser = argparse.ArgumentParser(prog="python -m utils.mnist_models")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train the VAE, the flow and the DCGAN and write data/mnist_models.pt")
    p.add_argument("--kinds", nargs="+", default=list(TRAINED_HERE), choices=TRAINED_HERE, help="retrain only these (the others are kept)")
    p.add_argument("--steps", type=int, default=None, help="steps for every kind (default: TRAINING_STEPS)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=MNIST_MODELS_PATH)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the shipped weights were made: one thread of the course's 2-core CPU
    saved = torch.load(args.out, map_location="cpu", weights_only=True) if args.out.exists() else {}
    for kind in args.kinds:
        n_steps = TRAINING_STEPS[kind] if args.steps is None else args.steps
        network, seconds = train_mnist_model(kind, n_steps, seed=args.seed)
        saved[kind] = {"state_dict": network.state_dict(), "seconds_per_step": seconds, "n_steps": n_steps}
        torch.save(saved, args.out)
        print(f"{kind}: {n_steps} steps, {seconds * 1000:.1f} ms a step; wrote {args.out}", flush=True)


if __name__ == "__main__":
    _main()
