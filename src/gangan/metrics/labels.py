"""Label metrics of a conditional generator: label accuracy and FID per class.

Label accuracy is the share of images generated for class c that a classifier assigns to
c, averaged over classes; the per-class FID compares the features of the images generated
for c with those of the real images of c.
"""

from __future__ import annotations

import numpy as np
import torch

from gangan.metrics.fid import fid_from_features


def label_accuracy(predicted: torch.Tensor, requested: torch.Tensor, num_classes: int) -> tuple[float, list[float]]:
    """Return (mean over classes, per-class list) of the share of `predicted` equal to `requested`.

    Args:
        predicted: int64 (N,) classes the classifier assigns.
        requested: int64 (N,) classes the images were generated for, each of 0..K-1 present.
        num_classes: K.
    """
    assert predicted.shape == requested.shape, f"{tuple(predicted.shape)} != {tuple(requested.shape)}"
    per_class = []
    for c in range(num_classes):
        mask = requested == c
        if not bool(mask.any()):
            raise ValueError(f"no image was generated for class {c}")
        per_class.append((predicted[mask] == c).float().mean().item())
    return float(np.mean(per_class)), per_class


def fid_per_class(real_features, real_labels: torch.Tensor, fake_features, fake_labels: torch.Tensor, num_classes: int) -> list[float | None]:
    """Return the FID between the real and the generated features of each class (None below 2 images of a side)."""
    real_features, fake_features = torch.as_tensor(real_features), torch.as_tensor(fake_features)
    scores: list[float | None] = []
    for c in range(num_classes):
        real_c, fake_c = real_features[real_labels == c], fake_features[fake_labels == c]
        scores.append(fid_from_features(real_c, fake_c) if min(len(real_c), len(fake_c)) >= 2 else None)
    return scores
