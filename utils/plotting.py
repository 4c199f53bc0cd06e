"""Figures the chapters share: image grids, 2-D scatters and densities, training curves.

Each function draws into an ``Axes`` (a new figure when ``ax`` is None) and
returns it; the notebook adds what is specific and calls :func:`show`, which
displays then closes the figure so stored outputs stay small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["DPI", "TEXT_WIDTH", "new_axes", "show", "image_grid", "scatter_2d", "density_2d", "training_curves"]

DPI = 100  # the conventions' maximum: a 8.5-inch figure fills the book's text width
TEXT_WIDTH = 8.5  # inches: the width of a main figure
# Readable on the website: ticks and legends at least 9 pt as displayed. The book's text column is
# about 680-780 px wide on a laptop or desktop screen, so an 8.5-inch (850 px) figure is shown at
# 80-92 % of its size: 11 pt ticks and legends at dpi 100 (15.3 px) display at 9.2 pt or more.
plt.rcParams.update(
    {"figure.dpi": DPI, "font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12,
     "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11}
)


def new_axes(
    ncols: int = 1, nrows: int = 1, size: float | None = None, **kwargs
) -> tuple[plt.Figure, np.ndarray | plt.Axes]:
    """A figure of ``nrows x ncols`` square-ish panels at the course's dpi.

    Args:
        ncols, nrows: the grid of panels.
        size: each panel's side in inches (square panels); None makes the row as wide as the
            book's text (:data:`TEXT_WIDTH`): a single panel is then TEXT_WIDTH x 5 inches,
            several panels are square.
    """
    if size is None:
        width = TEXT_WIDTH / ncols
        height = 5.0 if ncols == 1 else width
        return plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH, height * nrows), dpi=DPI, **kwargs)
    return plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), dpi=DPI, **kwargs)


def show(fig: plt.Figure | None = None) -> None:
    """Lay out, display and close a figure (the current one by default)."""
    fig = plt.gcf() if fig is None else fig
    fig.tight_layout()
    plt.show()
    plt.close(fig)


def _to_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def image_grid(
    images: torch.Tensor | np.ndarray,
    nrow: int = 10,
    ax: plt.Axes | None = None,
    title: str | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cmap: str = "gray",
) -> plt.Axes:
    """Tile grey images into one picture.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)``, or ``(N, H*W)`` with square images.
        nrow: images per row.
        ax: where to draw; a new figure if None.
        title: the panel's title.
        vmin, vmax: the grey scale's range (None: each grid's own min and max).
        cmap: matplotlib colour map.

    Raises:
        ValueError: if ``images`` is not a batch of grey images or ``nrow`` < 1.
    """
    x = _to_numpy(images).astype(float)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"images of shape (N, D) need a square D, got D = {x.shape[1]}")
        x = x.reshape(-1, side, side)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"images must have one channel, got shape {x.shape}")
        x = x[:, 0]
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"images must be (N, 1, H, W), (N, H, W) or (N, H*W) with N > 0, got shape {x.shape}")
    if nrow < 1:
        raise ValueError(f"nrow must be at least 1, got {nrow}")
    n, h, w = x.shape
    ncol = min(nrow, n)
    rows = int(np.ceil(n / ncol))
    pad = 1
    canvas = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = x[i]
    if ax is None:
        _, ax = new_axes(size=max(2.0, 0.45 * ncol), nrows=1)
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def scatter_2d(
    points: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | None = None,
    ax: plt.Axes | None = None,
    title: str | None = None,
    s: float = 4.0,
    alpha: float = 0.6,
    label: str | None = None,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
    **kwargs,
) -> plt.Axes:
    """Scatter ``(N, 2)`` points, coloured by integer ``labels`` (tab10) when given.

    Raises:
        ValueError: if ``points`` is not ``(N, 2)`` or ``labels`` has another length.
    """
    p = _to_numpy(points)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {p.shape}")
    if ax is None:
        _, ax = new_axes()
    if labels is not None:
        lab = _to_numpy(labels)
        if len(lab) != len(p):
            raise ValueError(f"labels has length {len(lab)}, points has {len(p)}")
        categorical = lab.dtype.kind in "iu" and lab.min() >= 0 and lab.max() <= 9
        colour_range = {"vmin": 0, "vmax": 9} if categorical else {}  # label k gets tab10's k-th colour
        sc = ax.scatter(p[:, 0], p[:, 1], c=lab, cmap="tab10", s=s, alpha=alpha, **colour_range, **kwargs)
        if categorical:
            ax.legend(*sc.legend_elements(), fontsize="small", markerscale=0.8, loc="best")
    else:
        ax.scatter(p[:, 0], p[:, 1], s=s, alpha=alpha, label=label, **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def density_2d(
    points: torch.Tensor | np.ndarray,
    ax: plt.Axes | None = None,
    title: str | None = None,
    bins: int = 100,
    limits: tuple[float, float] | None = None,
) -> plt.Axes:
    """A 2-D histogram of ``(N, 2)`` points (log-scaled counts), to see modes and their weights.

    Raises:
        ValueError: if ``points`` is not ``(N, 2)``.
    """
    p = _to_numpy(points)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {p.shape}")
    if ax is None:
        _, ax = new_axes()
    rng = None if limits is None else [list(limits), list(limits)]
    counts, xe, ye = np.histogram2d(p[:, 0], p[:, 1], bins=bins, range=rng)
    ax.imshow(np.log1p(counts.T), origin="lower", extent=(xe[0], xe[-1], ye[0], ye[-1]), cmap="magma", aspect="auto")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def training_curves(
    history: Mapping[str, Sequence[float]],
    ax: plt.Axes | None = None,
    title: str = "training curve",
    xlabel: str = "step",
    ylabel: str = "loss",
    smooth: int = 1,
    logy: bool = False,
) -> plt.Axes:
    """Plot one line per named series (e.g. ``{"train": [...], "test": [...]}``).

    Args:
        history: series name -> values, one per step (or epoch).
        smooth: width of a moving average (1: raw values).
        logy: log-scaled y axis.

    Raises:
        ValueError: if ``history`` is empty or ``smooth`` < 1.
    """
    if not history:
        raise ValueError("history is empty: nothing to plot")
    if smooth < 1:
        raise ValueError(f"smooth must be at least 1, got {smooth}")
    if ax is None:
        _, ax = new_axes(size=4.0)
    for name, values in history.items():
        v = np.asarray(values, dtype=float)
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(len(v)) + (smooth - 1 if len(v) < len(values) else 0), v, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    if len(history) > 1:
        ax.legend()
    return ax
