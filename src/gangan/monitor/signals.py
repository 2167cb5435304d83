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
