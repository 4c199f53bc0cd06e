"""Tests of utils.metrics."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

# ============================================================== classifier score on MNIST (chapter 6)

from utils.data import load_mnist  # noqa: E402
from utils.classifier import LeNet, class_probabilities, load_classifier, train_classifier  # noqa: E402
from utils.metrics import classifier_score, score_from_probabilities  # noqa: E402


def _reference_score(probs: np.ndarray) -> float:
    """Salimans et al.'s formula written with SciPy: exp(mean_i KL(p(y|x_i) || p(y)))."""
    p_y = probs.mean(axis=0)
    return float(np.exp(np.mean([scipy.stats.entropy(row, p_y) for row in probs])))


def test_score_known_values():
    same = torch.full((50, 10), 0.1, dtype=torch.float64)
    assert score_from_probabilities(same).item() == pytest.approx(1.0)
    one_hot = torch.eye(10, dtype=torch.float64).repeat(7, 1)  # confident and balanced
    assert score_from_probabilities(one_hot).item() == pytest.approx(10.0)
    half = torch.eye(10, dtype=torch.float64)[torch.arange(40) % 5]  # confident, 5 classes only
    assert score_from_probabilities(half).item() == pytest.approx(5.0)


def test_score_matches_scipy_reference():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(200, 10, generator=g, dtype=torch.float64), dim=1)
    assert score_from_probabilities(probs).item() == pytest.approx(_reference_score(probs.numpy()), rel=1e-10)


@given(st.integers(1, 40), st.integers(2, 10), st.integers(0, 10_000), st.floats(0.1, 10.0))
@settings(max_examples=50, deadline=None)
def test_score_lies_between_1_and_k(n, k, seed, sharpness):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(sharpness * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    score = score_from_probabilities(probs).item()
    assert 1 - 1e-9 <= score <= k + 1e-9
    # permuting the samples or the classes changes nothing
    perm_n, perm_k = torch.randperm(n, generator=g), torch.randperm(k, generator=g)
    assert score_from_probabilities(probs[perm_n][:, perm_k]).item() == pytest.approx(score, rel=1e-10)


@pytest.mark.parametrize(
    "probs, match",
    [
        (torch.full((4,), 0.25), "shape"),
        (torch.tensor([[0.5, 0.6]]), "sum to 1"),
        (torch.tensor([[1.5, -0.5]]), "non-negative"),
    ],
)
def test_score_bad_inputs(probs, match):
    with pytest.raises(ValueError, match=match):
        score_from_probabilities(probs)
    with pytest.raises(TypeError, match="probs"):
        score_from_probabilities(torch.ones(3, 2, dtype=torch.int64))


def test_classifier_is_small_and_accurate_on_the_test_images():
    from utils.classifier import MNIST_CLASSIFIER_PATH

    assert MNIST_CLASSIFIER_PATH.stat().st_size < 1_000_000
    model = load_classifier()
    assert not model.training
    x, y = load_mnist("test")
    accuracy = (class_probabilities(x, model).argmax(dim=1) == y).double().mean().item()
    assert accuracy >= 0.96  # 0.976 when the committed weights were trained


def test_classifier_score_of_real_and_of_noise_images():
    x, _ = load_mnist("test")
    model = load_classifier()
    real = classifier_score(x, model).item()
    assert 9.0 < real <= 10.0
    g = torch.Generator().manual_seed(0)
    noise = classifier_score(torch.rand(500, 1, 28, 28, generator=g), model).item()
    assert 1.0 <= noise < 3.0
    # one digit class only: confident but not diverse
    y_test = load_mnist("test")[1]
    assert classifier_score(x[y_test == 3], model).item() < 1.5


def test_classifier_score_bad_images():
    with pytest.raises(ValueError, match="images must lie in"):
        classifier_score(torch.full((4, 1, 28, 28), -1.0))
    with pytest.raises(ValueError, match="images must have"):
        classifier_score(torch.zeros(4, 28, 28))
    with pytest.raises(TypeError, match="images"):
        classifier_score(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="batch_size"):
        class_probabilities(torch.zeros(2, 1, 28, 28), batch_size=0)


def test_load_classifier_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        load_classifier(path=tmp_path / "missing.pt")


def test_train_classifier_writes_loadable_weights(tmp_path):
    path = tmp_path / "clf.pt"
    model, accuracy = train_classifier(path, epochs=1, verbose=False, n_train=256)
    assert isinstance(model, LeNet) and 0.0 <= accuracy <= 1.0
    loaded = load_classifier(path=path)
    x, _ = load_mnist("test")
    torch.testing.assert_close(loaded(x[:8]), model(x[:8]))
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(path, epochs=0)
    with pytest.raises(ValueError, match="n_train"):
        train_classifier(path, epochs=1, n_train=10)



# ============================================================== mode coverage on 2-D toys (chapter 7)

from utils.data import ring_centres, sample_ring  # noqa: E402
from utils.metrics import ModeCoverage, modes_covered  # noqa: E402


def test_modes_covered_known_configuration():
    centres = ring_centres()
    std = 0.01
    samples = torch.cat(
        [
            centres[[0, 0, 3]] + torch.tensor([[0.02, 0.0], [0.0, -0.02], [0.0, 0.0]]),  # within 3 std
            centres[[5]] + torch.tensor([[0.031, 0.0]]),  # just outside
            torch.zeros(1, 2),  # the centre of the ring: no mode
        ]
    )
    out = modes_covered(samples, centres, std)
    assert isinstance(out, ModeCoverage)
    assert out.covered.tolist() == [True, False, False, True, False, False, False, False]
    assert out.counts.tolist() == [2, 0, 0, 1, 0, 0, 0, 0]
    assert out.n_covered == 2
    assert out.high_quality == pytest.approx(3 / 5)
    assert modes_covered(samples, centres, std, n_std=3.2).n_covered == 3
    assert modes_covered(samples, centres, std, min_count=2).n_covered == 1


def test_modes_covered_by_the_data_itself():
    g = torch.Generator().manual_seed(0)
    x, _ = sample_ring(2000, generator=g)
    out = modes_covered(x, ring_centres(), 0.01)
    assert out.n_covered == 8
    # a 2-D Gaussian puts 1 - exp(-9/2) = 98.9 % of its mass within 3 std
    assert abs(out.high_quality - (1 - np.exp(-4.5))) < 0.01
    # all samples at one mode: one mode covered (mode collapse)
    assert modes_covered(x[:1].repeat(50, 1), ring_centres(), 0.01).n_covered == 1


@given(st.integers(1, 60), st.integers(1, 6), st.floats(0.05, 1.0), st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_modes_covered_matches_a_brute_force_count(n, k, std, seed):
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(k, 2, generator=g, dtype=torch.float64)
    samples = centres[torch.randint(k, (n,), generator=g)] + 2 * std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    out = modes_covered(samples, centres, std)
    d = np.linalg.norm(samples.numpy()[:, None] - centres.numpy()[None], axis=-1)
    good = d.min(axis=1) <= 3 * std
    counts = np.bincount(d.argmin(axis=1)[good], minlength=k)
    assert out.counts.tolist() == counts.tolist()
    assert out.min_count == -(-n // (4 * k))  # the default: a quarter of a mode's fair share
    assert out.n_covered == int((counts >= out.min_count).sum())
    assert modes_covered(samples, centres, std, min_count=1).n_covered == int((counts > 0).sum())
    assert out.high_quality == pytest.approx(good.mean())
    assert 0.0 <= out.high_quality <= 1.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(samples=torch.zeros(3)), ValueError, "samples must have"),
        (dict(samples=torch.zeros(3, 2, dtype=torch.int64)), TypeError, "samples"),
        (dict(centres=torch.zeros(2, 3)), ValueError, "share d"),
        (dict(samples=torch.full((2, 2), float("nan"))), ValueError, "samples contains NaN"),
        (dict(std=0.0), ValueError, "std"),
        (dict(n_std=-1.0), ValueError, "n_std"),
        (dict(min_count=0), ValueError, "min_count"),
    ],
)
def test_modes_covered_bad_inputs(kwargs, error, match):
    args = dict(samples=torch.zeros(4, 2), centres=ring_centres(), std=0.01) | kwargs
    with pytest.raises(error, match=match):
        modes_covered(**args)


def test_a_featureless_annulus_covers_no_mode_under_the_default_rule():
    # Uniform angle, radius 1 +- 3 std: the ring's support without its modes. A disc of radius 3 std
    # holds pi (3 std)^2 / (2 pi * 6 std) = 3 std / 4 of the annulus's area: 18.75 of 2,500 samples at
    # std = 0.01, far below the default threshold ceil(2500 / 32) = 79, while one sample suffices for min_count=1.
    std, n = 0.01, 2500
    g = torch.Generator().manual_seed(0)
    angle = 2 * np.pi * torch.rand(n, generator=g, dtype=torch.float64)
    radius = 1 + 3 * std * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1)
    annulus = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    out = modes_covered(annulus, ring_centres().double(), std)
    expected = n * 3 * std / 4
    assert out.min_count == 79 and out.n_covered == 0
    assert abs(out.counts.double().mean().item() - expected) < 4 * np.sqrt(expected / 8)  # 4 binomial sd of the mean
    assert modes_covered(annulus, ring_centres().double(), std, min_count=1).n_covered == 8
    assert out.reverse_kl < 0.05  # the histogram over modes is nearly uniform: reverse KL cannot see the holes


from utils.metrics import mode_reverse_kl  # noqa: E402


@pytest.mark.parametrize(
    "counts, expected",
    [
        ([5, 5, 5, 5], 0.0),  # uniform
        ([0, 0, 12, 0], np.log(4)),  # one mode: log K
        ([2, 1, 1, 0], 0.5 * np.log(2) + 0.5 * np.log(1) + 0.0),  # by hand: sum p log(K p), K = 4
        ([3, 1], 0.75 * np.log(1.5) + 0.25 * np.log(0.5)),
    ],
)
def test_mode_reverse_kl_on_hand_made_histograms(counts, expected):
    counts = torch.tensor(counts)
    assert mode_reverse_kl(counts) == pytest.approx(expected, abs=1e-12)
    p = counts.double().numpy() / counts.sum().item()
    assert mode_reverse_kl(counts) == pytest.approx(scipy.stats.entropy(p, np.full(len(p), 1 / len(p))), abs=1e-12)


def test_mode_reverse_kl_without_high_quality_samples_and_in_modes_covered():
    assert mode_reverse_kl(torch.zeros(8)) == float("inf")
    far = torch.full((10, 2), 5.0)
    assert modes_covered(far, ring_centres(), 0.01).reverse_kl == float("inf")
    near = ring_centres()[[0, 0, 0, 1]]
    out = modes_covered(near, ring_centres(), 0.01)
    assert out.reverse_kl == pytest.approx(mode_reverse_kl(out.counts))
    assert out.reverse_kl == pytest.approx(0.75 * np.log(8 * 0.75) + 0.25 * np.log(8 * 0.25))


@pytest.mark.parametrize(
    "counts, error",
    [([1.0, 2.0], TypeError), (torch.zeros(2, 2), ValueError), (torch.zeros(0), ValueError), (torch.tensor([1.0, -1.0]), ValueError),
     (torch.tensor([1.0, float("nan")]), ValueError)],
)
def test_mode_reverse_kl_bad_inputs(counts, error):
    with pytest.raises(error, match="counts"):
        mode_reverse_kl(counts)


# ============================================================== conditional generators (chapter 9)

from itertools import permutations  # noqa: E402

from utils.classifier import classifier_features  # noqa: E402
from utils.metrics import intra_class_diversity, label_accuracy, matched_accuracy  # noqa: E402


def test_label_accuracy_is_the_classifiers_accuracy_on_real_digits():
    x, y = load_mnist("test")
    x, y = x[:300], y[:300]
    judge = load_classifier()
    want = float((judge(x).argmax(1) == y).double().mean())
    assert label_accuracy(x, y, judge) == pytest.approx(want)
    assert label_accuracy(x, (y + 1) % 10, judge) < 0.1  # every label wrong: near zero
    with pytest.raises(ValueError, match="labels"):
        label_accuracy(x, y[:5], judge)
    with pytest.raises(TypeError, match="labels"):
        label_accuracy(x, y.float(), judge)


def test_classifier_features_are_the_penultimate_layer():
    x = load_mnist("test")[0][:20]
    judge = load_classifier()
    features = classifier_features(x, judge, batch_size=7)
    assert features.shape == (20, 84) and (features >= 0).all()
    torch.testing.assert_close(judge.head[-1](features), judge(x))  # the last layer maps them to the logits


def test_intra_class_diversity_against_scipy_pdist():
    scipy_distance = pytest.importorskip("scipy.spatial.distance")
    g = torch.Generator().manual_seed(0)
    features, labels = torch.randn(60, 5, generator=g), torch.arange(60) % 3
    got = intra_class_diversity(features, labels, n_classes=3)
    for k in range(3):
        assert got[k].item() == pytest.approx(scipy_distance.pdist(features[labels == k].numpy().astype(np.float64)).mean(), rel=1e-6)
    collapsed = features.clone()
    collapsed[labels == 1] = collapsed[labels == 1][0]  # one class collapsed to one point
    assert intra_class_diversity(collapsed, labels, n_classes=3)[1] == 0
    with pytest.raises(ValueError, match="class 1 has 1 samples"):
        intra_class_diversity(features[:4], labels[:4], n_classes=3)


def test_matched_accuracy_against_brute_force_over_all_renamings():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(4, (200,), generator=g)
    clusters = torch.where(torch.rand(200, generator=g) < 0.7, (labels + 2) % 4, torch.randint(4, (200,), generator=g))
    best = max(float(((torch.tensor(p)[clusters]) == labels).double().mean()) for p in permutations(range(4)))
    accuracy, mapping = matched_accuracy(clusters, labels)
    assert accuracy == pytest.approx(best)
    assert mapping == {0: 2, 1: 3, 2: 0, 3: 1}
    assert matched_accuracy(labels, labels)[0] == 1.0
    with pytest.raises(ValueError, match="empty"):
        matched_accuracy(torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64))


# ============================================================== feature-space distances (chapter 11)

from utils.metrics import frechet_distance, gaussian_statistics, precision_recall  # noqa: E402


def _scipy_frechet(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, written with scipy.linalg.sqrtm (the reference route)."""
    linalg = pytest.importorskip("scipy.linalg")
    mu1, s1, mu2, s2 = (np.asarray(t, dtype=np.float64) for t in (mu1, s1, mu2, s2))
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _random_covariance(f, n, g):
    a = torch.randn(n, f, generator=g, dtype=torch.float64)
    return gaussian_statistics(a)


@pytest.mark.parametrize("f, n", [(3, 50), (10, 200), (20, 1000)])
def test_frechet_distance_matches_the_scipy_route(f, n):
    g = torch.Generator().manual_seed(f)
    mu1, s1 = _random_covariance(f, n, g)
    mu2, s2 = _random_covariance(f, n, g)
    s2 = s2 * 2.0 + 0.1 * torch.eye(f, dtype=torch.float64)
    assert frechet_distance(mu1, s1, mu2 + 1, s2) == pytest.approx(_scipy_frechet(mu1, s1, mu2 + 1, s2), rel=1e-6)


def test_frechet_distance_on_near_singular_covariances():
    g = torch.Generator().manual_seed(3)
    # 5 samples in 20 dimensions: both covariances have rank 4
    mu1, s1 = gaussian_statistics(torch.randn(5, 20, generator=g, dtype=torch.float64))
    mu2, s2 = gaussian_statistics(torch.randn(5, 20, generator=g, dtype=torch.float64))
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert math.isfinite(ours) and ours >= 0
    assert ours == pytest.approx(_scipy_frechet(mu1, s1, mu2, s2), rel=1e-4, abs=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_for_commuting_covariances():
    a, b = torch.tensor([1.0, 4.0, 0.25], dtype=torch.float64), torch.tensor([9.0, 1.0, 0.25], dtype=torch.float64)
    mu1, mu2 = torch.zeros(3, dtype=torch.float64), torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    want = 5.0 + ((a.sqrt() - b.sqrt()) ** 2).sum().item()  # diagonal: sum (sqrt a_i - sqrt b_i)^2
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(want, rel=1e-12)


def test_frechet_distance_and_statistics_reject_bad_input():
    mu, s = torch.zeros(3), torch.eye(3)
    with pytest.raises(ValueError, match="sizes differ"):
        frechet_distance(mu, s, torch.zeros(4), torch.eye(4))
    with pytest.raises(ValueError, match="NaN|finite"):
        frechet_distance(mu, s, torch.full((3,), float("nan")), s)
    with pytest.raises(ValueError, match="at least 2 samples"):
        gaussian_statistics(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="NaN|finite"):
        gaussian_statistics(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))


def _brute_precision_recall(real, fake, k):
    """The same definition with SciPy's KD-tree, one point at a time."""
    spatial = pytest.importorskip("scipy.spatial")
    real, fake = real.numpy(), fake.numpy()
    r_real = spatial.cKDTree(real).query(real, k + 1)[0][:, k]
    r_fake = spatial.cKDTree(fake).query(fake, k + 1)[0][:, k]
    precision = np.mean([np.any(np.linalg.norm(real - y, axis=1) <= r_real) for y in fake])
    recall = np.mean([np.any(np.linalg.norm(fake - x, axis=1) <= r_fake) for x in real])
    return precision, recall


def test_precision_recall_matches_a_brute_force_count():
    g = torch.Generator().manual_seed(4)
    real, fake = torch.randn(300, 2, generator=g, dtype=torch.float64), 1.5 * torch.randn(250, 2, generator=g, dtype=torch.float64) + 0.5
    got = precision_recall(real, fake, k=3, chunk=64)
    want = _brute_precision_recall(real, fake, 3)
    assert got.precision == pytest.approx(want[0]) and got.recall == pytest.approx(want[1])


def test_precision_recall_on_cases_with_known_answers():
    from utils.data import sample_ring

    g = torch.Generator().manual_seed(5)
    real, labels = sample_ring(2000, std=0.05, generator=g)
    fake, fake_labels = sample_ring(4000, std=0.05, generator=g)
    half = fake[fake_labels < 4][:1000]  # covers modes 0-3 only
    same = precision_recall(real, fake[:2000])
    assert same.precision > 0.9 and same.recall > 0.9
    dropped = precision_recall(real, half)
    assert dropped.precision > 0.9 and abs(dropped.recall - 0.5) < 0.05  # half the modes: recall about 1/2
    blurred = precision_recall(real, fake[:2000] + 0.3 * torch.randn(2000, 2, generator=g))
    assert blurred.precision < 0.5 and blurred.recall > 0.9  # blur: poor precision, full recall
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(real[:3], fake)
    with pytest.raises(ValueError, match="same number of features"):
        precision_recall(real, torch.zeros(10, 3))


# ============================================================== bad input to the newer metrics


def test_label_accuracy_checks_the_label_range_and_device():
    x = load_mnist("test")[0][:20]
    judge = load_classifier()
    y = torch.arange(20) % 10
    with pytest.raises(ValueError, match=r"labels must hold values in 0..9, got values in 10..19"):
        label_accuracy(x, y + 10, judge)
    with pytest.raises(ValueError, match="labels is on meta"):
        label_accuracy(x, torch.empty(20, dtype=torch.int64, device="meta"), judge)


def test_intra_class_diversity_refuses_labels_beyond_n_classes():
    features, labels = torch.randn(8, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 0, 1, 1, 2, 2, 5, 5])
    with pytest.raises(ValueError, match=r"labels must hold values in 0..2, got values in 0..5"):
        intra_class_diversity(features, labels, n_classes=3)
    with pytest.raises(ValueError, match="class 3 has 0 samples"):  # with n_classes = 6, classes 3 and 4 are empty
        intra_class_diversity(features, labels, n_classes=6)


def test_gaussian_statistics_is_the_unbiased_sample_covariance():
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mu, sigma = gaussian_statistics(x)
    np.testing.assert_allclose(mu.numpy(), x.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.cov(x.numpy(), rowvar=False, ddof=1), rtol=1e-12)


@pytest.mark.parametrize(
    "sigma, match",
    [(-torch.eye(3, dtype=torch.float64), "sigma1 must be positive semi-definite"),
     (torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "sigma1 must be symmetric"),
     (torch.diag(torch.tensor([1.0, -0.5, 1.0])), "positive semi-definite")],
)
def test_frechet_distance_refuses_matrices_that_are_not_covariances(sigma, match):
    mu = torch.zeros(3, dtype=sigma.dtype)
    with pytest.raises(ValueError, match=match):
        frechet_distance(mu, sigma, mu, torch.eye(3, dtype=sigma.dtype))
    with pytest.raises(ValueError, match=match.replace("sigma1", "sigma2")):
        frechet_distance(mu, torch.eye(3, dtype=sigma.dtype), mu, sigma)


def test_frechet_distance_accepts_float32_covariances_with_round_off():
    x = torch.randn(200, 20, generator=torch.Generator().manual_seed(7))
    s1, s2 = torch.cov(x.T), torch.cov((2 * x[:50]).T)  # float32: symmetric and PSD only up to round-off
    assert frechet_distance(x.mean(0), s1, x.mean(0), s1) == pytest.approx(0.0, abs=1e-4)
    assert frechet_distance(x.mean(0), s1, x[:50].mean(0), s2) > 0


def test_metrics_refuse_tensors_on_different_devices():
    meta = lambda *shape, dtype=torch.float32: torch.empty(*shape, dtype=dtype, device="meta")  # noqa: E731
    with pytest.raises(ValueError, match="fake is on meta but real is on cpu"):
        precision_recall(torch.randn(10, 2), meta(10, 2))
    with pytest.raises(ValueError, match="centres is on meta but samples is on cpu"):
        modes_covered(torch.randn(10, 2), meta(3, 2), 0.1)
    with pytest.raises(ValueError, match="sigma2 is on meta"):
        frechet_distance(torch.zeros(2), torch.eye(2), torch.zeros(2), meta(2, 2))
    with pytest.raises(ValueError, match="labels is on meta"):
        matched_accuracy(torch.tensor([0, 1]), meta(2, dtype=torch.int64))


def test_classifier_calls_name_a_device_or_dtype_mismatch():
    judge = load_classifier()
    x = load_mnist("test")[0][:4]
    with pytest.raises(TypeError, match="images must have dtype torch.float32"):
        class_probabilities(x.double(), judge)
    with pytest.raises(TypeError, match="images must have dtype torch.float32"):
        classifier_features(x.double(), judge)
    with pytest.raises(TypeError, match="images must have dtype torch.float32"):
        label_accuracy(x.double(), torch.arange(4), judge)
