"""Writers for the scalars of each log interval: JSON Lines and TensorBoard."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch


class JsonlWriter:
    """Appends one JSON object per record to metrics.jsonl, flushed at once so a crash loses nothing written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = open(self.path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        # JSON has no NaN or Inf; a non-finite loss is written as null.
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        self._file.write(json.dumps(clean) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def truncate_jsonl(path: str | os.PathLike, last_step: int, drop_at_step: bool = False) -> None:
    """Drop records after `last_step`, and the one at `last_step` too when `drop_at_step`.

    On resume, the steps after the checkpoint are trained, and logged, again.
    """
    path = Path(path)
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        step = json.loads(line)["step"]
        if step < last_step or (step == last_step and not drop_at_step):
            kept.append(line)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read every record of a JSON Lines file."""
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


class TensorBoardWriter:
    """Scalars and sample grids as TensorBoard events in the run directory."""

    def __init__(self, log_dir: str | os.PathLike, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def write(self, record: dict) -> None:
        step = record["step"]
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def write_image(self, tag: str, grid_uint8: torch.Tensor, step: int) -> None:
        """Log a uint8 image (C, H, W)."""
        self._writer.add_image(tag, grid_uint8, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
