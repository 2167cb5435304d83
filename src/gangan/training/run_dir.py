"""Creating run directories, never over an existing one, and finding their checkpoints."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path

from gangan.errors import GanganError


def default_run_name(model: str, dataset: str, now: datetime | None = None) -> str:
    """Return "<model>-<dataset>-<YYYYmmdd-HHMMSS>"; a folder dataset is named after its last path part."""
    if dataset.startswith("folder:"):
        dataset = "folder-" + (Path(dataset[len("folder:"):]).name or "images")
    dataset = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset)
    return f"{model}-{dataset}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def create_run_dir(out: str | os.PathLike, name: str | None, model: str, dataset: str) -> Path:
    """Create a new, empty run directory with its samples/ and checkpoints/ folders.

    With an explicit `name`, an existing directory of that name is an error; a default name
    that is already taken (two runs in the same second) gets a numeric suffix.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GanganError(f"cannot create the output folder {out}: {error.strerror}; pass a writable --out") from None
    if name is not None:
        if not name or "/" in name or name in (".", ".."):
            raise GanganError(f"invalid --name {name!r}: use a plain folder name without '/'")
        path = out / name
        try:
            path.mkdir()
        except FileExistsError:
            raise GanganError(
                f"run directory {path} already exists; continue it with --resume {path} or choose another --name"
            ) from None
    else:
        base = default_run_name(model, dataset)
        for attempt in range(1, 1000):
            path = out / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise GanganError(f"could not find a free run name under {out} starting with {base}")
    (path / "samples").mkdir()
    (path / "checkpoints").mkdir()
    return path


def find_checkpoint(path: str | os.PathLike, prefer: str = "last") -> Path:
    """Return the checkpoint for a run directory (checkpoints/<prefer>.pt) or a checkpoint file itself."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "checkpoints" / f"{prefer}.pt", path / "checkpoints" / "last.pt"):
            if candidate.is_file():
                return candidate
        raise GanganError(f"{path} holds no checkpoint (expected {path / 'checkpoints' / 'last.pt'}); is it a gangan run directory?")
    if path.is_file():
        return path
    raise GanganError(
        f"run directory or checkpoint not found: {path}; pass the folder that `gangan train` created "
        "(such as runs/<name>) or a checkpoint file in its checkpoints/ folder"
    )


def remove_unused_run_dir(path: str | os.PathLike) -> bool:
    """Delete a new run directory that has neither a checkpoint nor a metrics record; return whether it did."""
    path = Path(path)
    metrics = path / "metrics.jsonl"
    if (path / "checkpoints" / "last.pt").exists() or (metrics.exists() and metrics.stat().st_size > 0):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
