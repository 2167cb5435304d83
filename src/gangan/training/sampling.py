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
        generator = torch.Generator().manual_seed(seed)
        z = self.algorithm.sample_z(n, generator)
        if self.algorithm.num_classes is not None:
            # A conditional G gets one label per image, drawn uniformly after z from the same seed.
            labels = self.algorithm.sample_labels(n, generator)
            return torch.cat([self.algorithm.generate(zs, ys).cpu() for zs, ys in zip(z.split(batch_size), labels.split(batch_size))])
        return torch.cat([self.algorithm.generate(chunk).cpu() for chunk in z.split(batch_size)])

    def sample_classes(self, classes: list[int] | None, per_class: int, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
        """Generate per_class images of each class, class by class: (len(classes) * per_class, C, H, W) in [-1, 1].

        Args:
            classes: class indices in [0, K), in the order of the grid rows; None for all K classes.
            per_class: images per class (one grid row each).
            seed: seeds z; the images of a class do not depend on which other classes are asked for.

        Raises:
            GanganError: the model takes no label, a class is outside [0, K), or per_class < 1.
        """
        K = self.algorithm.num_classes
        if K is None:
            raise GanganError(f"{self.config.model.name} generates without labels; --labels and --per-class need a conditional model such as cgan")
        if per_class < 1:
            raise GanganError(f"invalid --per-class {per_class}: must be at least 1")
        classes = list(range(K)) if classes is None else list(classes)
        if not classes:
            raise GanganError("no class given; write --labels as comma-separated class numbers such as 0,3,7")
        labels = self.algorithm.check_labels(torch.tensor(classes, dtype=torch.int64)).cpu()
        # Row r uses z number per_class * c + j of a batch drawn for all K classes, so a
        # class's row is the same whether it is asked for alone or with others.
        z_all = self.algorithm.sample_z(K * per_class, torch.Generator().manual_seed(seed)).view(K, per_class, -1)
        z = z_all[labels].flatten(0, 1)
        y = labels.repeat_interleave(per_class).to(z.device)
        return torch.cat([self.algorithm.generate(zs, ys).cpu() for zs, ys in zip(z.split(batch_size), y.split(batch_size))])


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
