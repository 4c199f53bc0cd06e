"""Measuring generative models: sample-quality scores on MNIST and mode coverage on 2-D toys.

* :func:`score_from_probabilities` and :func:`classifier_score`: the Inception-score formula
  exp(E_x KL(p(y|x) || p(y))) with the course's MNIST classifier (:mod:`utils.classifier`)
  in place of Inception-v3 (chapter 6).
* :func:`label_accuracy`, :func:`intra_class_diversity` and :func:`matched_accuracy`: does a
  conditional generator obey its label, how varied is each class, and how well does an
  unsupervised code (InfoGAN's) match the labels (chapter 9).
* :func:`gaussian_statistics`, :func:`frechet_distance` and :func:`precision_recall`: the
  Fréchet distance between Gaussians fitted to features (FID when the features are a
  classifier's) and manifold precision and recall with k-nearest-neighbour balls (chapter 11).
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
from utils.validation import (
    check_covariance,
    check_data_matrix,
    check_images,
    check_labels,
    check_positive_float,
    check_positive_int,
    check_probability_vector,
    check_same_device,
    check_tensor,
)

__all__ = [
    "score_from_probabilities",
    "classifier_score",
    "label_accuracy",
    "intra_class_diversity",
    "matched_accuracy",
    "gaussian_statistics",
    "frechet_distance",
    "precision_recall",
    "PrecisionRecall",
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
        TypeError, ValueError: on a bad ``images`` tensor, labels that are not ``(N,)`` ints in
            0..K-1 (K, the classifier's number of classes), or labels on another device.

    References:
        Odena et al. (2017), *ACGAN*, section 4.1 (generated samples judged by a pre-trained classifier).
    """
    check_same_device(images=images, labels=labels)
    check_images(images, "images", shape=(1, 28, 28), value_range=(0.0, 1.0))
    check_labels(labels, "labels", n=len(images))
    probabilities = class_probabilities(images, classifier)
    check_labels(labels, "labels", n_classes=probabilities.shape[1])
    predicted = probabilities.argmax(dim=1)
    return float((predicted == labels.to(predicted.device)).double().mean())


def intra_class_diversity(features: torch.Tensor, labels: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """The mean pairwise Euclidean distance between the feature vectors of each class.

    Compare a generator's value with real images' of the same class: a ratio below 1 means the
    generator's digits of that class are less varied than real ones.

    Args:
        features: ``(N, F)`` feature vectors (e.g. :func:`utils.classifier.classifier_features`).
        labels: ``(N,)`` int labels in 0..n_classes-1; each class needs at least two samples. They
            may live on another device than ``features`` (chapter 9 keeps its labels on the CPU).
        n_classes: K, positive.

    Returns:
        ``(K,)`` float64 mean distances, one per class, on the CPU.

    Raises:
        TypeError, ValueError: on bad shapes, non-finite features, labels outside 0..K-1, or a
            class with fewer than two samples.

    References:
        Odena et al. (2017), section 4.2 (MS-SSIM within a class; we use classifier features).
    """
    check_data_matrix(features, "features")
    check_positive_int(n_classes, "n_classes")
    check_labels(labels, "labels", n=len(features), n_classes=n_classes)
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
        TypeError, ValueError: if either is not a non-negative ``(N,)`` int tensor with N >= 1, or
            they are on different devices.

    References:
        Chen et al. (2016), *InfoGAN*, section 7.1 (5 % error on MNIST by matching codes to classes);
        Kuhn (1955), the Hungarian method.
    """
    check_same_device(clusters=clusters, labels=labels)
    check_labels(labels, "labels")
    check_labels(clusters, "clusters", n=len(labels))
    if len(labels) == 0:
        raise ValueError("clusters and labels must not be empty")
    c, y = clusters.cpu().numpy(), labels.cpu().numpy()
    counts = np.zeros((c.max() + 1, y.max() + 1), dtype=np.int64)
    np.add.at(counts, (c, y), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y)), {int(r): int(k) for r, k in zip(rows, cols)}


# ============================================================== feature-space distances (chapter 11)


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and covariance of a set of feature vectors, in float64, for :func:`frechet_distance`.

    Args:
        features: ``(N, F)`` finite feature vectors, N >= 2 (the covariance needs two samples;
            it is singular unless N > F, which :func:`frechet_distance` handles).

    Returns:
        ``(mu (F,), sigma (F, F))``: the sample mean and the unbiased sample covariance (N - 1).

    Raises:
        TypeError, ValueError: on a bad matrix or N < 2.

    References:
        Heusel et al. (2017), *GANs trained by a two time-scale update rule*.
    """
    check_data_matrix(features, "features")
    if len(features) < 2:
        raise ValueError(f"features needs at least 2 samples for a covariance, got {len(features)}")
    x = features.double()
    return x.mean(dim=0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])


def _symmetric_sqrt(a: torch.Tensor) -> torch.Tensor:
    """The PSD square root of a symmetric matrix, negative eigenvalues (round-off) set to 0."""
    values, vectors = torch.linalg.eigh((a + a.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """The squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1^1/2 sigma2 sigma1^1/2)^1/2).

    The trace of the matrix square root is computed from the symmetric matrix
    sigma1^1/2 sigma2 sigma1^1/2 (eigenvalues clipped at 0), in float64: no complex parts to
    discard and no failure on singular covariances, where the route through ``scipy.linalg.sqrtm``
    of sigma1 sigma2 (a non-symmetric product) needs an offset on the diagonal.

    Args:
        mu1, mu2: ``(F,)`` means.
        sigma1, sigma2: ``(F, F)`` symmetric positive semi-definite covariances.

    Returns:
        d^2 >= 0, in squared feature units (FID is this on Inception features; the course uses
        its MNIST classifier's, so the values are not comparable with published FIDs).

    Raises:
        TypeError, ValueError: on non-finite input, mismatched sizes, inputs on different devices,
            or a covariance that is not symmetric positive semi-definite (within
            :data:`utils.validation.MATRIX_RTOL` of its largest entry).

    References:
        Heusel et al. (2017); Dowson and Landau (1982), *The Fréchet distance between
        multivariate normal distributions*; Prince's slides, "Measuring performance of generative models".
    """
    check_same_device(mu1=mu1, sigma1=sigma1, mu2=mu2, sigma2=sigma2)
    for value, name in ((mu1, "mu1"), (mu2, "mu2")):
        check_tensor(value, name, ndim=1)
    for value, name in ((sigma1, "sigma1"), (sigma2, "sigma2")):
        check_tensor(value, name, ndim=2)
    f = len(mu1)
    if mu2.shape != (f,) or sigma1.shape != (f, f) or sigma2.shape != (f, f):
        raise ValueError(f"sizes differ: mu1 {tuple(mu1.shape)}, mu2 {tuple(mu2.shape)}, sigma1 {tuple(sigma1.shape)}, sigma2 {tuple(sigma2.shape)}")
    check_covariance(sigma1, "sigma1")
    check_covariance(sigma2, "sigma2")
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _symmetric_sqrt(sigma1)
    cross = torch.linalg.eigvalsh(root1 @ sigma2 @ root1).clamp_min(0).sqrt().sum()
    d2 = ((mu1 - mu2) ** 2).sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2 * cross
    return float(d2.clamp_min(0))


class PrecisionRecall(NamedTuple):
    """Manifold precision and recall (see :func:`precision_recall`)."""

    precision: float
    recall: float


def _in_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    inside = [(torch.cdist(points[i : i + chunk], centres) <= radii).any(dim=1) for i in range(0, len(points), chunk)]
    return torch.cat(inside)


def _kth_neighbour_distance(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    # the k-th nearest other point: index k of the sorted distances (index 0 is the point itself)
    return torch.cat([torch.cdist(x[i : i + chunk], x).kthvalue(k + 1, dim=1).values for i in range(0, len(x), chunk)])


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, chunk: int = 1024) -> PrecisionRecall:
    """Improved precision and recall: how much of each set lies on the other's k-NN manifold.

    Each sample's ball has the radius of its k-th nearest neighbour in its own set; the manifold
    of a set is the union of its balls. Precision is the share of generated samples inside the
    real manifold (quality); recall is the share of real samples inside the generated manifold
    (coverage).

    Args:
        real: ``(N, F)`` real samples or features, N > k.
        fake: ``(M, F)`` generated ones, M > k.
        k: the neighbour that sets the radius, positive (3 in the paper).
        chunk: rows per distance block (memory), positive.

    Returns:
        A :class:`PrecisionRecall` of two floats in [0, 1].

    Raises:
        TypeError, ValueError: on bad matrices, mismatched F, sets on different devices, or too
            few samples for k.

    References:
        Kynkäänniemi et al. (2019), *Improved precision and recall metric for assessing generative
        models*; Prince's slides, "Measuring performance of generative models".
    """
    check_same_device(real=real, fake=fake)
    check_data_matrix(real, "real")
    check_data_matrix(fake, "fake")
    check_positive_int(k, "k")
    check_positive_int(chunk, "chunk")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must have the same number of features, got {real.shape[1]} and {fake.shape[1]}")
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"each set needs more than k = {k} samples, got {len(real)} real and {len(fake)} fake")
    real, fake = real.double(), fake.double().to(real.device)
    real_radii = _kth_neighbour_distance(real, k, chunk)
    fake_radii = _kth_neighbour_distance(fake, k, chunk)
    precision = _in_any_ball(fake, real, real_radii, chunk).double().mean()
    recall = _in_any_ball(real, fake, fake_radii, chunk).double().mean()
    return PrecisionRecall(float(precision), float(recall))


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
        ValueError: on shapes other than (N, d) and (K, d), NaN/inf, samples and centres on
            different devices, or non-positive std, n_std, min_count.

    References:
        Metz et al. (2017), *Unrolled GANs*, section 3.1; Srivastava et al. (2017), *VEEGAN*,
        section 5.1 (high-quality samples within 3 standard deviations).
    """
    check_same_device(samples=samples, centres=centres)
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

