"""Measuring generative models: sample-quality scores on MNIST and mode coverage on 2-D toys.

* :func:`score_from_probabilities` and :func:`classifier_score`: the Inception-score formula
  exp(E_x KL(p(y|x) || p(y))) with the course's MNIST classifier (:mod:`utils.classifier`)
  in place of Inception-v3 (chapter 6).
* :func:`label_accuracy`, :func:`intra_class_diversity` and :func:`matched_accuracy`: does a
  conditional generator obey its label, how varied is each class, and how well does an
  unsupervised code (InfoGAN's) match the labels (chapter 9).
* :func:`modes_covered`: how many modes of a 2-D Gaussian mixture a sample set covers,
  the share of "high-quality" samples, and :func:`mode_reverse_kl` of their histogram over
  the modes (chapters 7 and 8).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

import numpy as np
from scipy.optimize import linear_sum_assignment

from utils.classifier import class_probabilities
from utils.validation import check_data_matrix, check_positive_float, check_positive_int, check_probability_vector

__all__ = [
    "score_from_probabilities",
    "classifier_score",
    "label_accuracy",
    "intra_class_diversity",
    "matched_accuracy",
    "ModeCoverage",
    "modes_covered",
    "mode_reverse_kl",
]


def score_from_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """The Inception-score formula on a matrix of class probabilities.

    IS = exp( (1/I) sum_i KL( p(y | x_i) || p(y) ) ),  with  p(y) = (1/I) sum_i p(y | x_i).

    It lies in [1, K] for K classes: 1 when every row is the same, K when the rows
    are one-hot and the classes equally frequent.

    Args:
        probs: ``(I, K)`` non-negative rows summing to 1 (within 1e-4).

    Returns:
        A 0-dim tensor.

    Raises:
        TypeError: if ``probs`` is not a floating-point tensor.
        ValueError: on another shape, negative or non-finite entries, or rows not summing to 1.

    References:
        Salimans et al. (2016), *Improved techniques for training GANs*, section 4;
        Prince's slides, "Measuring performance of generative models: Inception score".
    """
    check_probability_vector(probs, "probs")
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (I, K), got {tuple(probs.shape)}")
    p_y = probs.mean(dim=0, keepdim=True)
    # KL(p(y|x) || p(y)) with 0 log 0 = 0; p(y) > 0 wherever some p(y|x) > 0
    kl = (torch.xlogy(probs, probs) - torch.xlogy(probs, p_y.expand_as(probs))).sum(dim=1)
    return torch.exp(kl.mean())


def classifier_score(images: torch.Tensor, classifier: nn.Module | None = None) -> torch.Tensor:
    """The classifier score of a set of MNIST-like images: the Inception score with the course's LeNet.

    A high score needs each image to be classified confidently (peaked p(y|x)) and the
    classes to be balanced (flat p(y)). For MNIST it lies in [1, 10]; real test
    images give the ceiling.

    Args:
        images: ``(N, 1, 28, 28)`` in [0, 1]; a few hundred or more for a stable value.
        classifier: logits model; the course's :func:`load_classifier` when None.

    Returns:
        A 0-dim tensor.

    Raises:
        TypeError, ValueError: on a bad ``images`` tensor (shape, NaN, values outside [0, 1]).

    References:
        Salimans et al. (2016), section 4; Prince's slides, "Inception score".
    """
    return score_from_probabilities(class_probabilities(images, classifier).double())


# ============================================================== conditional generators (chapter 9)


def _check_labels(labels: torch.Tensor, n: int, name: str = "labels") -> None:
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got {type(labels).__name__}")
    if labels.shape != (n,) or (n and labels.min() < 0):
        raise ValueError(f"{name} must be ({n},) non-negative ints, got shape {tuple(labels.shape)}")


def label_accuracy(images: torch.Tensor, labels: torch.Tensor, classifier: nn.Module | None = None) -> float:
    """The share of images that the classifier assigns to the label they were generated for.

    On real test digits with their true labels it is the classifier's accuracy: the ceiling a
    conditional generator can reach under this judge.

    Args:
        images: ``(N, 1, 28, 28)`` in [0, 1].
        labels: ``(N,)`` int labels in 0..9.
        classifier: logits model; the course's :func:`utils.classifier.load_classifier` when None.

    Returns:
        A float in [0, 1].

    Raises:
        TypeError, ValueError: on a bad ``images`` tensor, or labels that are not ``(N,)`` ints.

    References:
        Odena et al. (2017), *ACGAN*, section 4.1 (generated samples judged by a pre-trained classifier).
    """
    _check_labels(labels, len(images))
    predicted = class_probabilities(images, classifier).argmax(dim=1)
    return float((predicted == labels.to(predicted.device)).double().mean())


def intra_class_diversity(features: torch.Tensor, labels: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """The mean pairwise Euclidean distance between the feature vectors of each class.

    Compare a generator's value with real images' of the same class: a ratio below 1 means the
    generator's digits of that class are less varied than real ones.

    Args:
        features: ``(N, F)`` feature vectors (e.g. :func:`utils.classifier.classifier_features`).
        labels: ``(N,)`` int labels in 0..n_classes-1; each class needs at least two samples.
        n_classes: K, positive.

    Returns:
        ``(K,)`` float64 mean distances, one per class.

    Raises:
        TypeError, ValueError: on bad shapes, non-finite features, or a class with fewer than two samples.

    References:
        Odena et al. (2017), section 4.2 (MS-SSIM within a class; we use classifier features).
    """
    check_data_matrix(features, "features")
    _check_labels(labels, len(features))
    check_positive_int(n_classes, "n_classes")
    out = torch.empty(n_classes, dtype=torch.float64)
    for k in range(n_classes):
        members = features[labels.to(features.device) == k].double()
        if len(members) < 2:
            raise ValueError(f"class {k} has {len(members)} samples; the diversity needs at least 2")
        out[k] = torch.pdist(members).mean().cpu()
    return out


def matched_accuracy(clusters: torch.Tensor, labels: torch.Tensor) -> tuple[float, dict[int, int]]:
    """Accuracy of an unsupervised assignment after the best one-to-one matching of clusters to labels.

    The clusters carry arbitrary names (InfoGAN's code 3 may mean the digit 7). The Hungarian
    algorithm (``scipy.optimize.linear_sum_assignment``) finds the matching of cluster names to
    labels that agrees with the most samples; the accuracy is that agreement.

    Args:
        clusters: ``(N,)`` int cluster indices.
        labels: ``(N,)`` int labels.

    Returns:
        ``(accuracy, mapping)``: a float in [0, 1] and cluster -> label.

    Raises:
        TypeError, ValueError: if either is not an ``(N,)`` int tensor with N >= 1.

    References:
        Chen et al. (2016), *InfoGAN*, section 7.1 (5 % error on MNIST by matching codes to classes);
        Kuhn (1955), the Hungarian method.
    """
    _check_labels(labels, len(labels))
    _check_labels(clusters, len(labels), "clusters")
    if len(labels) == 0:
        raise ValueError("clusters and labels must not be empty")
    c, y = clusters.cpu().numpy(), labels.cpu().numpy()
    counts = np.zeros((c.max() + 1, y.max() + 1), dtype=np.int64)
    np.add.at(counts, (c, y), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y)), {int(r): int(k) for r, k in zip(rows, cols)}


# ============================================================== mode coverage on 2-D toys (chapter 7)


class ModeCoverage(NamedTuple):
    """How a sample set covers the modes of a toy mixture (see :func:`modes_covered`).

    Attributes:
        covered: bool ``(K,)``, mode k has at least ``min_count`` samples within ``n_std * std``.
        counts: int64 ``(K,)``, the number of samples within ``n_std * std`` of each centre.
        n_covered: the number of covered modes.
        high_quality: the fraction of samples within ``n_std * std`` of some centre.
        min_count: the count a mode needed to be covered (the rule actually applied).
        reverse_kl: :func:`mode_reverse_kl` of ``counts``, in nats (inf with no high-quality sample).
    """

    covered: torch.Tensor
    counts: torch.Tensor
    n_covered: int
    high_quality: float
    min_count: int
    reverse_kl: float


def mode_reverse_kl(counts: torch.Tensor) -> float:
    """The reverse KL between the generated histogram over modes and the uniform one, in nats.

    KL(p_hat || u) = sum_k p_hat_k log(K p_hat_k) = log K - H(p_hat), with p_hat the high-quality
    samples' counts normalized by their total. Samples that are not high quality do not enter
    (as in the PacGAN code: only samples within 3 std of a mode are counted); their share is
    reported separately as the high-quality fraction. 0 for a uniform histogram, log K when all
    samples sit on one mode; inf when no sample is high quality (there is no histogram).

    Args:
        counts: ``(K,)`` non-negative counts (int or float), K >= 1.

    Returns:
        A float in [0, log K], or inf.

    Raises:
        TypeError: if counts is not a tensor.
        ValueError: if counts is not 1-D and non-empty, or holds negative or non-finite values.

    References:
        Lin et al. (2018), *PacGAN*, its 2-D and stacked-MNIST tables ("reverse KL"); Srivastava et al.
        (2017), *VEEGAN*, table 1.
    """
    if not isinstance(counts, torch.Tensor):
        raise TypeError(f"counts must be a tensor, got {type(counts).__name__}")
    if counts.ndim != 1 or len(counts) == 0:
        raise ValueError(f"counts must have shape (K,) with K >= 1, got {tuple(counts.shape)}")
    c = counts.double()
    if not torch.isfinite(c).all() or (c < 0).any():
        raise ValueError("counts must be finite and non-negative")
    total = c.sum()
    if total == 0:
        return float("inf")
    p = c / total
    return float((torch.xlogy(p, p) + p * torch.log(torch.tensor(float(len(c)), dtype=torch.float64))).sum().clamp_min(0.0))


def modes_covered(
    samples: torch.Tensor, centres: torch.Tensor, std: float, n_std: float = 3.0, min_count: int | None = None
) -> ModeCoverage:
    """Which modes of a Gaussian mixture a sample set reaches, and how many samples are "high quality".

    A sample is assigned to its nearest centre and counts for that mode when it lies within
    ``n_std * std`` of it; a mode is covered when at least ``min_count`` samples count for it.
    The fraction of samples that count for some mode measures quality (the rest fall between
    the modes).

    The default ``min_count`` is a quarter of a mode's fair share, ceil(N / (4 K)): a perfect
    generator puts about N / K high-quality samples on every mode, while mass that merely
    passes by cannot reach a quarter of that. Calibration on the ring of 8 (std 0.01, N = 2,500):
    a featureless annulus (uniform angle, radius 1 +- 3 std) puts about 19 samples within
    3 std of each mode, far below the default threshold of 79, so it covers 0 modes; with
    ``min_count=1`` (one sample suffices) it would score 8/8.

    Args:
        samples: ``(N, d)`` generated points.
        centres: ``(K, d)`` the mixture's centres (e.g. ``utils.data.ring_centres()``).
        std: the standard deviation of each mode, positive (0.01 for the ring, 0.05 for the grid).
        n_std: the radius, in standard deviations (3 in the usual protocol).
        min_count: samples a mode needs to count as covered, positive; None for ceil(N / (4 K)).

    Returns:
        A :class:`ModeCoverage`.

    Raises:
        TypeError: if samples or centres is not a floating-point tensor.
        ValueError: on shapes other than (N, d) and (K, d), NaN/inf, or non-positive std, n_std, min_count.

    References:
        Metz et al. (2017), *Unrolled GANs*, section 3.1; Srivastava et al. (2017), *VEEGAN*,
        section 5.1 (high-quality samples within 3 standard deviations).
    """
    check_data_matrix(samples, "samples")
    check_data_matrix(centres, "centres")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples and centres must share d, got {samples.shape[1]} and {centres.shape[1]}")
    std = check_positive_float(std, "std")
    n_std = check_positive_float(n_std, "n_std")
    if min_count is None:
        min_count = -(-len(samples) // (4 * len(centres)))
    check_positive_int(min_count, "min_count")
    dist = torch.cdist(samples.detach(), centres.detach().to(samples))  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(centres)).cpu()
    covered = counts >= min_count
    return ModeCoverage(covered, counts, int(covered.sum()), float(good.float().mean()), min_count, mode_reverse_kl(counts))

