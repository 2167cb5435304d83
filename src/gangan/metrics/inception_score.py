"""Inception Score from classifier logits.

Follows Salimans et al., "Improved Techniques for Training GANs" (NeurIPS 2016):
IS = exp(E_x KL(p(y|x) || p(y))), computed on 10 splits and reported as mean and standard
deviation over splits, as torch-fidelity 0.4.0 does (metric_isc.py). Samples are shuffled
with a fixed seed before splitting, so the score does not depend on the order of samples.
"""

from __future__ import annotations

import numpy as np
import torch

from gangan.errors import GanganError


def inception_score(logits: torch.Tensor, splits: int = 10, seed: int = 2020) -> tuple[float, float]:
    """Return (mean, std) of the Inception Score over `splits` parts of the samples.

    Args:
        logits: float tensor (N, K) of class logits (softmax gives p(y|x)).
        splits: number of parts; each needs at least one sample.
        seed: seed of the shuffle (numpy.random.RandomState, as torch-fidelity).
    """
    if logits.ndim != 2:
        raise GanganError(f"Inception Score needs logits of shape (N, K), got {tuple(logits.shape)}")
    n = logits.shape[0]
    if n < splits:
        raise GanganError(f"Inception Score: N={n} samples is fewer than the {splits} splits; pass a larger --n")
    order = torch.from_numpy(np.random.RandomState(seed).permutation(n))
    logits = logits.detach().cpu().double()[order]
    p = logits.softmax(dim=1)
    log_p = logits.log_softmax(dim=1)

    scores = []
    for part in range(splits):
        lo, hi = part * n // splits, (part + 1) * n // splits
        p_y = p[lo:hi].mean(dim=0, keepdim=True)
        kl = (p[lo:hi] * (log_p[lo:hi] - p_y.log())).sum(dim=1).mean()
        scores.append(kl.exp().item())
    return float(np.mean(scores)), float(np.std(scores))
