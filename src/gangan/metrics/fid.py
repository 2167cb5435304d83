"""Fréchet distance between Gaussians fitted to two feature sets (FID).

Follows Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium" (NeurIPS 2017), as implemented in the authors' TTUR code and in
pytorch-fid: FID = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)), with the matrix
square root from scipy.linalg.sqrtm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from gangan.errors import GanganError

logger = logging.getLogger(__name__)

# Added to both covariance diagonals when S_1 S_2 is too close to singular for sqrtm,
# the same offset the TTUR code uses.
_SQRTM_OFFSET = 1e-6


@dataclass(frozen=True)
class GaussianStats:
    """Mean (D,) and covariance (D, D) of a feature set, in float64, and the sample count."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def _as_features(features, name: str) -> np.ndarray:
    array = np.asarray(features.cpu() if hasattr(features, "cpu") else features, dtype=np.float64)
    if array.ndim != 2:
        raise GanganError(f"{name} features must be a 2-D array (N, D), got shape {array.shape}")
    if array.shape[0] < 2:
        raise GanganError(f"{name}: N={array.shape[0]} samples; FID and KID need at least 2, pass a larger --n")
    return array


def feature_statistics(features, name: str = "features") -> GaussianStats:
    """Fit a Gaussian to features (N, D): mean and unbiased covariance (divisor N - 1), in float64."""
    array = _as_features(features, name)
    n, dim = array.shape
    if n < dim:
        logger.warning(
            "%s: only %d samples for %d feature dimensions, so the covariance is singular and FID is "
            "biased upward; use at least %d samples", name, n, dim, dim,
        )
    return GaussianStats(array.mean(axis=0), np.cov(array, rowvar=False), n)


def frechet_distance(stats_1: GaussianStats, stats_2: GaussianStats) -> float:
    """Return the Fréchet distance between two Gaussians: a real number, never negative.

    The matrix square root of S_1 S_2 may come back with tiny imaginary parts from rounding;
    they are dropped (large ones raise). A result slightly below zero, possible only from
    rounding, is clamped to 0 with a warning.
    """
    mu_1, mu_2 = stats_1.mu, stats_2.mu
    sigma_1, sigma_2 = np.atleast_2d(stats_1.sigma), np.atleast_2d(stats_2.sigma)
    if mu_1.shape != mu_2.shape or sigma_1.shape != sigma_2.shape:
        raise GanganError(
            f"feature dimensions differ ({mu_1.shape[0]} and {mu_2.shape[0]}): both statistics must come "
            f"from the same feature extractor"
        )
    diff = mu_1 - mu_2

    covmean = scipy.linalg.sqrtm(sigma_1.dot(sigma_2))
    if not np.isfinite(covmean).all():
        logger.warning("FID: S_1 S_2 is singular; adding %g to the covariance diagonals", _SQRTM_OFFSET)
        offset = np.eye(sigma_1.shape[0]) * _SQRTM_OFFSET
        covmean = scipy.linalg.sqrtm((sigma_1 + offset).dot(sigma_2 + offset))
    if np.iscomplexobj(covmean):
        largest = np.max(np.abs(covmean.imag))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: the matrix square root has an imaginary component of {largest:g}")
        covmean = covmean.real

    fid = float(diff.dot(diff) + np.trace(sigma_1) + np.trace(sigma_2) - 2 * np.trace(covmean))
    if fid < 0:
        logger.warning("FID came out as %g from rounding; reporting 0", fid)
        fid = 0.0
    return fid


def fid_from_features(features_real, features_fake) -> float:
    """Return FID between two feature sets (N_1, D) and (N_2, D)."""
    return frechet_distance(feature_statistics(features_real, "real"), feature_statistics(features_fake, "generated"))
