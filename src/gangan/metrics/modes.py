"""Mode count on Stacked MNIST.

Follows the protocol of Lin et al., "PacGAN: The power of two samples in generative
adversarial networks" (NeurIPS 2018), after Metz et al. (Unrolled GANs): an MNIST
classifier labels the digit in each of the three channels of a generated sample, the
triple (R, G, B) is one of 1,000 modes, and the score is the number of modes that occur at
least once among 26,000 samples, with KL(generated || uniform) over the 1,000 modes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gangan.errors import GanganError
from gangan.metrics.coverage import class_histogram, kl_divergence

STACKED_MODES = 1000
PACGAN_SAMPLES = 26000


@dataclass(frozen=True)
class ModeCount:
    """Modes that occur at least once (of `total`) and KL(generated || uniform) in nats."""

    covered: int
    total: int
    kl: float


def stacked_mode_labels(channel_digits: torch.Tensor) -> torch.Tensor:
    """Map per-channel digits (N, 3) in 0..9 to mode ids (N,) = 100 R + 10 G + B."""
    if channel_digits.ndim != 2 or channel_digits.shape[1] != 3:
        raise GanganError(f"Stacked MNIST modes need one digit per channel, shape (N, 3); got {tuple(channel_digits.shape)}")
    digits = channel_digits.long()
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def count_modes(channel_digits: torch.Tensor) -> ModeCount:
    """Count Stacked MNIST modes from per-channel digits (N, 3)."""
    shares = class_histogram(stacked_mode_labels(channel_digits), STACKED_MODES)
    uniform = np.full(STACKED_MODES, 1.0 / STACKED_MODES)
    return ModeCount(int(np.count_nonzero(shares)), STACKED_MODES, kl_divergence(shares, uniform))
