"""Atomic checkpoint files that load without executing code.

A checkpoint is a dict of tensors and plain values written with torch.save to a temporary
name, flushed to disk and renamed, so a crash leaves either the old or the new file. It is
read with torch.load(weights_only=True), which rejects any pickled object other than
tensors and containers of plain values.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from gangan import __version__
from gangan.config import RunConfig
from gangan.errors import GanganError

FORMAT = "gangan-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(state: dict, path: str | os.PathLike) -> None:
    """Write `state` plus the format marker and gangan version to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "gangan_version": __version__, **state}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        # torch.save reports a full disk as a RuntimeError from its zip writer, raised while
        # handling the OSError, so both kinds become a message naming the path.
        if isinstance(error, (OSError, RuntimeError)):
            cause = next((e for e in (error, error.__cause__, error.__context__) if isinstance(e, OSError)), None)
            reason = cause.strerror if cause is not None and cause.strerror else str(error).splitlines()[0]
            raise GanganError(
                f"could not write checkpoint {path}: {reason}; free disk space or choose another --out. "
                "An earlier checkpoint of the run, if any, is unchanged, and --resume continues from it"
            ) from error
        raise


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a gangan checkpoint onto the CPU.

    Raises:
        GanganError: the file is missing, truncated or corrupt, contains pickled code or other
            objects a weights-only load rejects, or is not a gangan checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise GanganError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise GanganError(
            f"{path} contains pickled Python objects other than tensors, which a safe (weights-only) "
            f"load rejects; gangan never runs code from a file. Use a checkpoint written by gangan."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError, TypeError):
        raise GanganError(f"{path} is truncated or corrupt and cannot be loaded; use another checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanganError(f"{path} is not a gangan checkpoint (no '{FORMAT}' marker); pass a file from a run's checkpoints/ folder")
    if state.get("format_version") != FORMAT_VERSION:
        raise GanganError(
            f"{path} has checkpoint format {state.get('format_version')}, this gangan {__version__} reads format {FORMAT_VERSION}"
        )
    return state


# Options that fix the shapes of the networks: a checkpoint trained with other values cannot load.
_SHAPE_OPTIONS = (
    ("model", "name"), ("model", "arch"), ("model", "z_dim"), ("model", "hidden"), ("model", "width"),
    ("data", "image_size"), ("data", "channels"),
)


def check_compatible(state: dict, config: RunConfig, path: str | os.PathLike) -> None:
    """Raise GanganError when a checkpoint's networks differ in shape from those `config` builds."""
    saved = state.get("config", {})
    expected = config.to_dict()
    differences = [
        f"{section}.{name} {saved.get(section, {}).get(name)!r} (checkpoint) vs {expected[section][name]!r}"
        for section, name in _SHAPE_OPTIONS
        if saved.get(section, {}).get(name) != expected[section][name]
    ]
    if differences:
        raise GanganError(f"{path} does not match this run: " + "; ".join(differences))
