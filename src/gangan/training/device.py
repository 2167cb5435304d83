"""Choosing the training device."""

from __future__ import annotations

import torch

from gangan.errors import GanganError


def resolve_device(name: str) -> torch.device:
    """Map "auto", "cpu", "cuda" or "mps" to an available torch.device; raise GanganError if absent."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GanganError("--device cuda requested but no CUDA GPU is available; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise GanganError("--device mps requested but Apple MPS is not available; use --device cpu or auto")
    return torch.device(name)
