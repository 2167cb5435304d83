"""Metric functions against torch-fidelity and scipy on the same features, plus invariants."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.linalg
import torch

from gangan.errors import GanganError
from gangan.metrics import (
    class_coverage,
    count_modes,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    kl_divergence,
    precision_recall,
    stacked_mode_labels,
)


def _features(seed: int, n: int = 600, dim: int = 16, shift: float = 0.0) -> torch.Tensor:
    # One fixed mixing matrix: every call samples the same distribution, up to `shift`.
    mixing = torch.randn(dim, dim, generator=torch.Generator().manual_seed(1000)) / dim**0.5
    samples = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return (samples @ mixing + shift).double()


def test_fid_matches_torch_fidelity_and_scipy():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    real, fake = _features(0), _features(1, shift=0.3)
    ours = fid_from_features(real, fake)

    reference = fid_statistics_to_metric(fid_features_to_statistics(real), fid_features_to_statistics(fake), False)
    assert ours == pytest.approx(reference["frechet_inception_distance"], rel=1e-5)

    # The textbook formula with scipy's matrix square root, written out independently.
    a, b = real.numpy(), fake.numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b).real
    textbook = np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * root)
    assert ours == pytest.approx(textbook, rel=1e-5)


def test_fid_identical_sets_is_zero_not_negative():
    features = _features(2)
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)
    assert fid_from_features(features, features) >= 0.0


def test_fid_of_shifted_gaussian_is_squared_shift():
    stats = feature_statistics(_features(3))
    moved = type(stats)(stats.mu + 0.5, stats.sigma, stats.n)
    assert frechet_distance(stats, moved) == pytest.approx(0.25 * stats.mu.shape[0], rel=1e-6)


def test_fid_warns_when_n_below_dimension(caplog):
    with caplog.at_level(logging.WARNING, logger="gangan.metrics.fid"):
        value = fid_from_features(_features(4, n=10, dim=32), _features(5, n=10, dim=32))
    assert value >= 0.0
    assert np.isfinite(value)
    assert "10 samples for 32 feature dimensions" in caplog.text


def test_fid_rejects_fewer_than_two_samples():
    with pytest.raises(GanganError, match="N=1 samples; FID and KID need at least 2"):
        fid_from_features(_features(0), _features(1, n=1))


def test_fid_rejects_different_dimensions():
    with pytest.raises(GanganError, match="feature dimensions differ"):
        fid_from_features(_features(0, dim=8), _features(1, dim=16))


def test_kid_matches_torch_fidelity():
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = _features(6, n=300).float(), _features(7, n=300, shift=0.2).float()
    mean, std = kernel_inception_distance(real, fake, subsets=20, subset_size=100, seed=11)
    reference = kid_features_to_metric(
        fake, real, kid_subsets=20, kid_subset_size=100, rng_seed=11, verbose=False,
        kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1,
    )
    assert mean == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-5)
    assert std == pytest.approx(reference["kernel_inception_distance_std"], rel=1e-5)


def test_kid_shrinks_subset_size_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="gangan.metrics.kid"):
        mean, _ = kernel_inception_distance(_features(8, n=50), _features(9, n=40), subsets=5)
    assert "subset size reduced from 1000 to 40" in caplog.text
    assert np.isfinite(mean)


def test_kid_same_versus_shifted():
    same, _ = kernel_inception_distance(_features(10), _features(11), subsets=10, subset_size=200)
    moved, _ = kernel_inception_distance(_features(10), _features(11, shift=1.0), subsets=10, subset_size=200)
    assert abs(same) < 0.05 * moved
    assert moved > 0.1


def test_inception_score_matches_torch_fidelity():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.randn(500, 10, generator=torch.Generator().manual_seed(3)) * 4
    mean, std = inception_score(logits, seed=2020)
    reference = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=2020)
    assert mean == pytest.approx(reference["inception_score_mean"], rel=1e-6)
    assert std == pytest.approx(reference["inception_score_std"], rel=1e-6)


def test_inception_score_ignores_sample_order():
    logits = torch.randn(1000, 10, generator=torch.Generator().manual_seed(4)) * 3
    from torch_fidelity.metric_isc import isc_features_to_metric

    # Sorted by predicted class, unshuffled splits would each see one or two classes and score low.
    ordered = logits[logits.argmax(dim=1).argsort()]
    permuted = logits[torch.randperm(1000, generator=torch.Generator().manual_seed(5))]
    unshuffled = isc_features_to_metric(ordered, splits=10, shuffle=False)["inception_score_mean"]
    # After the seeded shuffle both orders give splits of the same mixture; the means differ
    # only by which samples share a split.
    assert inception_score(ordered)[0] == pytest.approx(inception_score(permuted)[0], rel=0.02)
    assert unshuffled < 0.5 * inception_score(ordered)[0]


def test_inception_score_bounds():
    # Confident and balanced predictions score K; uninformative ones score 1.
    confident = torch.eye(10).repeat(1000, 1) * 50
    assert inception_score(confident)[0] == pytest.approx(10.0, rel=0.01)
    random_labels = torch.randn(1000, 10, generator=torch.Generator().manual_seed(6)) * 0.01
    assert inception_score(random_labels)[0] == pytest.approx(1.0, abs=1e-3)


def test_inception_score_rejects_too_few_samples():
    with pytest.raises(GanganError, match="N=5 samples is fewer than the 10 splits"):
        inception_score(torch.randn(5, 10))


def test_precision_recall_matches_torch_fidelity():
    from torch_fidelity.metric_prc import prc_features_to_metric

    real, fake = _features(12, n=400).float(), _features(13, n=300, shift=0.4).float()
    precision, recall = precision_recall(real, fake)
    reference = prc_features_to_metric(fake, real, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    assert precision == pytest.approx(reference["precision"], abs=1e-7)
    assert recall == pytest.approx(reference["recall"], abs=1e-7)


def test_precision_recall_of_collapsed_generator():
    real = _features(14, n=500).float()
    # Every generated sample sits at one real point: all precise, nothing of the rest recalled.
    fake = real[:1].repeat(500, 1) + 1e-4 * torch.randn(500, real.shape[1], dtype=real.dtype)
    precision, recall = precision_recall(real, fake)
    assert precision == 1.0
    assert recall < 0.05


def test_coverage_counts_classes_and_kl():
    balanced = torch.arange(1000) % 10
    result = class_coverage(balanced, 10)
    assert result.covered == 10
    assert result.kl == pytest.approx(0.0, abs=1e-12)

    collapsed = torch.full((1000,), 3)
    result = class_coverage(collapsed, 10)
    assert result.covered == 1
    assert result.shares[3] == 1.0
    assert result.kl == pytest.approx(np.log(10), rel=1e-9)


def test_coverage_threshold_is_half_uniform_share():
    # Class 9 has 4% (< 5%) and class 8 exactly 5%, so 9 of 10 count.
    labels = torch.cat([torch.arange(8).repeat_interleave(113), torch.full((50,), 8), torch.full((40,), 9)])
    labels = torch.cat([labels, torch.zeros(1000 - labels.numel(), dtype=torch.long)])
    assert class_coverage(labels, 10).covered == 9


def test_kl_divergence_against_scipy():
    from scipy.stats import entropy

    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    assert kl_divergence(p, q) == pytest.approx(entropy(p, q), rel=1e-12)


def test_stacked_modes_count_and_kl():
    digits = torch.stack(torch.meshgrid(torch.arange(10), torch.arange(10), torch.arange(10), indexing="ij"), -1).reshape(-1, 3)
    assert stacked_mode_labels(digits).unique().numel() == 1000
    full = count_modes(digits.repeat(26, 1))
    assert (full.covered, full.total) == (1000, 1000)
    assert full.kl == pytest.approx(0.0, abs=1e-12)
    one = count_modes(torch.tensor([[1, 2, 3]]).repeat(100, 1))
    assert one.covered == 1
    assert one.kl == pytest.approx(np.log(1000), rel=1e-9)


def test_stacked_modes_reject_wrong_shape():
    with pytest.raises(GanganError, match=r"shape \(N, 3\)"):
        count_modes(torch.zeros(10, 2, dtype=torch.long))
