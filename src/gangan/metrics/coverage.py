"""Class coverage: which classes a generator produces, and in what shares.

A classifier labels each generated sample. A class counts as covered when its share is at
least half the uniform share 1/K, so "10 of 10" means every class appears in roughly fair
measure, and mode collapse onto one class reads "1 of 10". The KL divergence compares the
generated class distribution with the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gangan.errors import GanganError

# Shares are floored at this value inside the KL divergence so that an empty class gives a
# large finite number rather than infinity.
_EPS = 1e-10


@dataclass(frozen=True)
class Coverage:
    """Predicted-class shares of generated samples.

    shares: (K,) fractions summing to 1; covered: classes with share >= 0.5 / K;
    kl: KL(generated || reference) in nats, 0 for identical distributions.
    """

    shares: tuple[float, ...]
    covered: int
    num_classes: int
    kl: float


def class_histogram(labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Return the share of each class (K,) among integer labels (N,) in [0, K)."""
    if labels.numel() == 0:
        raise GanganError("class coverage needs at least one sample")
    counts = torch.bincount(labels.flatten().long().cpu(), minlength=num_classes).double()
    if counts.numel() > num_classes:
        raise GanganError(f"a predicted label is out of range for {num_classes} classes")
    return (counts / counts.sum()).numpy()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Return KL(p || q) = sum p log(p / q) in nats for two discrete distributions (K,)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.maximum(np.asarray(q, dtype=np.float64), _EPS)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def class_coverage(fake_labels: torch.Tensor, num_classes: int, reference_shares: np.ndarray | None = None) -> Coverage:
    """Measure class coverage of generated samples.

    Args:
        fake_labels: predicted classes (N,) of generated samples.
        num_classes: K.
        reference_shares: class distribution (K,) of the real data; uniform when None.
    """
    shares = class_histogram(fake_labels, num_classes)
    reference = np.full(num_classes, 1.0 / num_classes) if reference_shares is None else np.asarray(reference_shares)
    covered = int(np.sum(shares >= 0.5 / num_classes))
    return Coverage(tuple(float(s) for s in shares), covered, num_classes, kl_divergence(shares, reference))
