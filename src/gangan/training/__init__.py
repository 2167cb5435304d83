"""The generic training loop and everything a run directory holds."""

from gangan.training.checkpoint import load_checkpoint, save_checkpoint
from gangan.training.run_dir import create_run_dir, find_checkpoint
from gangan.training.sampling import load_generator_run
from gangan.training.trainer import Trainer, TrainResult

__all__ = [
    "TrainResult",
    "Trainer",
    "create_run_dir",
    "find_checkpoint",
    "load_checkpoint",
    "load_generator_run",
    "save_checkpoint",
]
