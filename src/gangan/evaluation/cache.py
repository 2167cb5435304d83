"""The per-user cache of evaluation artefacts: trained classifiers and reference features."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch


def evaluation_cache_dir(kind: str) -> Path:
    """Return $XDG_CACHE_HOME/gangan/<kind> (default ~/.cache/gangan/<kind>), created if missing."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "gangan" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def tensor_digest(*tensors: torch.Tensor | None) -> str:
    """Return the SHA-256 hex digest of the shapes, dtypes and bytes of tensors, in order."""
    digest = hashlib.sha256()
    for tensor in tensors:
        if tensor is None:
            digest.update(b"none")
            continue
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_digest(*parts: object) -> str:
    """Return a 16-character SHA-256 prefix of the parts' string forms, for cache file names."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]
