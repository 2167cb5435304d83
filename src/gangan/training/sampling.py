"""Loading a trained generator from a run directory or checkpoint, and drawing samples from it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from gangan.algorithms import Algorithm, build_algorithm
from gangan.config import RunConfig
from gangan.errors import GanganError
from gangan.training.checkpoint import load_checkpoint
from gangan.training.device import resolve_device
from gangan.training.run_dir import find_checkpoint


@dataclass
class LoadedRun:
    """A trained algorithm restored from a checkpoint, with its config and step."""

    config: RunConfig
    algorithm: Algorithm
    step: int
    checkpoint: Path

    def sample(self, n: int, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
        """Generate n images (n, C, H, W) in [-1, 1] on the CPU from z drawn with `seed`.

        The same seed gives the same images whatever the batch size, because z is drawn all
        at once and G runs in eval mode.
        """
        if n < 1:
            raise GanganError(f"invalid --n {n}: must be at least 1")
        z = self.algorithm.sample_z(n, torch.Generator().manual_seed(seed))
        return torch.cat([self.algorithm.generate(chunk).cpu() for chunk in z.split(batch_size)])


def load_generator_run(path: str | os.PathLike, device: str = "auto") -> LoadedRun:
    """Restore the networks of a run directory (its checkpoints/last.pt) or of a checkpoint file."""
    checkpoint = find_checkpoint(path)
    state = load_checkpoint(checkpoint)
    try:
        config = RunConfig.from_dict(state["config"], source=str(checkpoint))
        algorithm = build_algorithm(config, resolve_device(device))
        algorithm.load_state_dict(state)
    except (KeyError, RuntimeError) as error:
        raise GanganError(f"{checkpoint} does not match its own configuration ({error}); the file is damaged") from None
    return LoadedRun(config, algorithm, int(state["step"]), checkpoint)
