"""Signals computed from images rather than from losses."""

from __future__ import annotations

import torch


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between the images of a batch (N, C, H, W), N >= 2.

    Divided by the same quantity for a real batch of equal size, it shows mode collapse:
    near 1 when samples vary as much as real images, near 0 when they are all alike.
    """
    flat = images.detach().float().flatten(1)
    return torch.pdist(flat).mean().item()


def diversity_within_classes(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the mean over classes of `diversity` among the images (N, C, H, W) of each label (N,).

    A conditional generator can collapse to one image per class while its grid as a whole
    still varies as much as real images. Classes with fewer than two images are skipped.
    Returns 0.0 when no class has two images.
    """
    values = [diversity(images[labels == c]) for c in labels.unique() if int((labels == c).sum()) >= 2]
    return sum(values) / len(values) if values else 0.0
