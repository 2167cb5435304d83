"""Kernel Inception Distance: the unbiased squared MMD with a cubic polynomial kernel.

Follows Bińkowski et al., "Demystifying MMD GANs" (ICLR 2018), with the defaults of
torch-fidelity 0.4.0 (metric_kid.py): kernel k(x, y) = (x.y / D + 1)^3, 100 subsets of
1,000 samples each drawn without replacement from numpy.random.RandomState(seed), mean and
standard deviation over subsets. The same seed gives torch-fidelity's numbers.
"""

from __future__ import annotations

import logging

import numpy as np

from gangan.metrics.fid import _as_features

logger = logging.getLogger(__name__)

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    m = x.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    # The unbiased estimator leaves out the diagonal k(x_i, x_i) terms of K_XX and K_YY.
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_real, features_fake, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE, seed: int = 2020
) -> tuple[float, float]:
    """Return (mean, std) of the unbiased MMD^2 over random subsets of two feature sets (N, D).

    When either set holds fewer than `subset_size` samples, the subset size shrinks to the
    smaller N with a warning; subsets then overlap more and the std understates the spread.
    Features are passed in the order (real, generated), drawn in torch-fidelity's order
    (generated first, as its input 1).
    """
    real = _as_features(features_real, "real")
    fake = _as_features(features_fake, "generated")
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < subset_size:
        logger.warning("KID: subset size reduced from %d to %d, the number of samples available", subset_size, size)
    rng = np.random.RandomState(seed)
    mmds = np.zeros(subsets)
    for index in range(subsets):
        fake_subset = fake[rng.choice(fake.shape[0], size, replace=False)]
        real_subset = real[rng.choice(real.shape[0], size, replace=False)]
        mmds[index] = _mmd2_unbiased(fake_subset, real_subset)
    return float(mmds.mean()), float(mmds.std())
