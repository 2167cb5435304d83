"""Improved precision and recall with k-nearest-neighbour manifolds.

Follows Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing Generative
Models" (NeurIPS 2019), with k = 3 as in the paper and in torch-fidelity 0.4.0
(metric_prc.py). Each sample spans a ball reaching its k-th nearest neighbour in its own
set. Precision is the share of generated samples inside some real ball; recall is the
share of real samples inside some generated ball.
"""

from __future__ import annotations

import torch

from gangan.errors import GanganError
from gangan.metrics.fid import _as_features

NEIGHBORHOOD = 3
_CHUNK = 2048  # rows per distance block: 2048 x 10,000 floats is 80 MB


def _kth_neighbour_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    # The k-th neighbour is the (k + 1)-th smallest distance, as every point is at 0 from itself.
    return torch.cat([torch.cdist(chunk, features).kthvalue(k + 1, dim=1).values for chunk in features.split(_CHUNK)])


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    return torch.cat([(torch.cdist(chunk, centres) <= radii).any(dim=1) for chunk in points.split(_CHUNK)])


def precision_recall(features_real, features_fake, k: int = NEIGHBORHOOD) -> tuple[float, float]:
    """Return (precision, recall), each in [0, 1], of generated against real features (N, D)."""
    real = torch.from_numpy(_as_features(features_real, "real")).float()
    fake = torch.from_numpy(_as_features(features_fake, "generated")).float()
    if min(real.shape[0], fake.shape[0]) <= k:
        raise GanganError(f"precision/recall with k={k} needs more than {k} real and generated samples; pass a larger --n")
    radii_real = _kth_neighbour_radii(real, k)
    radii_fake = _kth_neighbour_radii(fake, k)
    precision = _inside_any_ball(fake, real, radii_real).float().mean().item()
    recall = _inside_any_ball(real, fake, radii_fake).float().mean().item()
    return precision, recall
