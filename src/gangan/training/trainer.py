"""The generic training loop: it runs any Algorithm, logs, samples, checkpoints and resumes.

The loop is the same for every model. Each step it hands a real batch to the
algorithm and collects the scalars it returns; every `log_every` steps it averages them,
adds the diversity of the fixed-z samples, diagnoses the state of training and writes the
record to metrics.jsonl and TensorBoard.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.utils import make_grid

from gangan.algorithms import Algorithm, build_algorithm
from gangan.config import RunConfig, TrainConfig, save_yaml
from gangan.data import TensorBatches, load_dataset
from gangan.errors import GanganError, TrainingDiverged
from gangan.images import grid_image, save_atomic, save_gif, to_uint8
from gangan.monitor import Diagnoser, JsonlWriter, TensorBoardWriter, diversity
from gangan.monitor.writers import truncate_jsonl
from gangan.training.checkpoint import check_compatible, load_checkpoint, save_checkpoint
from gangan.training.device import resolve_device
from gangan.training.rng import capture_rng_state, restore_rng_state, seed_everything

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, "dict | None"], None]


@dataclass
class TrainResult:
    """Outcome of a call to `Trainer.run`."""

    run_dir: Path
    step: int
    interrupted: bool
    last_record: dict | None


class _Interval:
    """Sums of one log interval's scalars, kept on the training device to avoid a sync per step."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.start_step = 0

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for key, value in stats.items():
            value = value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value.clone()
        self.count += 1

    def all_finite(self) -> bool:
        return all(bool(torch.isfinite(value)) for value in self.sums.values())

    def means(self) -> dict[str, float]:
        return {key: (value / self.count).item() for key, value in self.sums.items()}

    def reset(self, start_step: int) -> None:
        self.sums, self.count, self.start_step = {}, 0, start_step

    def state_dict(self) -> dict:
        return {"sums": {k: v.cpu() for k, v in self.sums.items()}, "count": self.count, "start_step": self.start_step}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.sums = {k: v.to(device) for k, v in state["sums"].items()}
        self.count, self.start_step = int(state["count"]), int(state["start_step"])


class Trainer:
    """Trains a resolved configuration into a run directory.

    Args:
        config: the resolved RunConfig (see `gangan.config.resolve_config`).
        run_dir: an empty run directory from `create_run_dir`, or an existing one with `resume=True`.
        resume: continue from run_dir/checkpoints/last.pt instead of starting fresh.
        progress: called after every step with (step, record or None); the record is the
            dict written to metrics.jsonl on log steps.
    """

    def __init__(self, config: RunConfig, run_dir: str | Path, resume: bool = False, progress: ProgressCallback | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.progress = progress
        self._stop_requested = False

    def request_stop(self) -> None:
        """Ask the loop to save a checkpoint and return after the current step."""
        self._stop_requested = True

    def run(self) -> TrainResult:
        """Train until `config.train.steps`, a stop request (Ctrl-C) or divergence.

        Raises:
            TrainingDiverged: a loss became NaN or Inf; the last checkpoint is kept as it was.
            GanganError: the data or the checkpoint cannot be used.
        """
        previous_handler = self._install_sigint_handler()
        try:
            return self._run()
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)

    def _install_sigint_handler(self):
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigint(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            logger.warning("stop requested: finishing this step and saving a checkpoint (Ctrl-C again to abort)")
            self._stop_requested = True

        return signal.signal(signal.SIGINT, on_sigint)

    def _run(self) -> TrainResult:
        cfg, train = self.config, self.config.train
        checkpoint_path = self.run_dir / "checkpoints" / "last.pt"
        seed_everything(train.seed)
        device = resolve_device(train.device)

        # Data: one uint8 tensor on the training device, batched by index.
        data = load_dataset(cfg.data.dataset, cfg.data.split, cfg.data.root, cfg.data.image_size, cfg.data.channels)
        if train.batch_size > len(data):
            raise GanganError(f"invalid --batch-size {train.batch_size}: the {cfg.data.split} split of {data.name} contains only {len(data)} images")
        logger.info("data: %d images of %s from %s", len(data), tuple(data.images.shape[1:]), data.source)
        batches = TensorBatches(data.images.to(device), data.labels.to(device) if data.labels is not None else None,
                                train.batch_size, seed=train.seed)

        algorithm = build_algorithm(cfg, device)
        algorithm.attach_data(data)
        # One fixed batch (latents for a GAN), so that grids of different steps compare.
        fixed = algorithm.fixed_inputs(train.grid_size, train.seed + 1, data.images)
        real_diversity = self._real_diversity(data.images, train.grid_size, train.seed)
        diagnoser = Diagnoser()
        interval = _Interval()
        step = 0
        # Sample-quality scores every eval_every steps; the evaluation package knows the
        # metrics and draws samples through the algorithm's own sample_z and generate.
        evaluator = None
        if train.eval_every is not None:
            from gangan.evaluation.training import TrainingEvaluator

            evaluator = TrainingEvaluator(cfg, self.run_dir)

        if self.resume:
            state = load_checkpoint(checkpoint_path)
            check_compatible(state, cfg, checkpoint_path)
            algorithm.load_state_dict(state)
            batches.load_state_dict(state["data"])
            diagnoser.load_state_dict(state["monitor"])
            if evaluator is not None:
                evaluator.load_state_dict(state.get("evaluator", {}))
            interval.load_state_dict(state["interval"], device)
            fixed = state["fixed"].to(device)
            restore_rng_state(state["rng"])
            step = int(state["step"])
            self._forget_after(step, RunConfig.from_dict(state["config"]).train)
            logger.info("resumed %s at step %d of %d", self.run_dir, step, train.steps)
        else:
            save_yaml(cfg, self.run_dir / "config.yaml")

        def save(at_step: int, path: Path = checkpoint_path) -> None:
            save_checkpoint(
                {
                    "config": cfg.to_dict(),
                    "step": at_step,
                    **algorithm.state_dict(),
                    "ema": {},
                    "data": batches.state_dict(),
                    "monitor": diagnoser.state_dict(),
                    "interval": interval.state_dict(),
                    "fixed": fixed.cpu(),
                    "rng": capture_rng_state(),
                    "evaluator": evaluator.state_dict() if evaluator is not None else {},
                },
                path,
            )

        jsonl = JsonlWriter(self.run_dir / "metrics.jsonl")
        # On resume, TensorBoard drops the events that `_forget_after` dropped from metrics.jsonl.
        purge_step = (step if step % train.log_every else step + 1) if self.resume else None
        tensorboard = TensorBoardWriter(self.run_dir, purge_step=purge_step)
        record = None
        started, started_step = time.perf_counter(), step
        try:
            while step < train.steps:
                if self._stop_requested:
                    self._check_finite(interval, step)
                    save(step)
                    logger.info("stopped at step %d; checkpoint saved to %s", step, checkpoint_path)
                    self._write_report()
                    return TrainResult(self.run_dir, step, True, record)

                real, labels = next(batches)
                interval.add(algorithm.train_step(real, labels))
                step += 1
                final = step == train.steps

                record = None
                # Held-out metrics of the algorithm itself (SGAN's test accuracy), at checkpoint steps.
                evaluation = algorithm.evaluate() if step % train.checkpoint_every == 0 or final else {}
                improved = False
                if evaluator is not None and (step % train.eval_every == 0 or final):
                    scores, improved = evaluator.evaluate(algorithm, step)
                    evaluation.update(scores)
                if final and step % train.log_every:
                    # The last step falls between two log steps: checkpoint before its closing
                    # record, with the half-filled interval, so that a run resumed with more
                    # steps logs exactly what an uninterrupted run would.
                    self._check_finite(interval, step)
                    save(step)
                    saved = True
                else:
                    saved = False
                if step % train.log_every == 0 or final:
                    self._check_finite(interval, step)
                    record = self._make_record(step, interval, algorithm, fixed, real_diversity, diagnoser)
                    record.update(evaluation)
                    record["steps_per_s"] = (step - started_step) / max(time.perf_counter() - started, 1e-9)
                    jsonl.write(record)
                    tensorboard.write(record)
                    if not saved:
                        interval.reset(step)
                elif evaluation:
                    logger.info("step %d: %s", step, ", ".join(f"{k} {v:.4f}" for k, v in evaluation.items()))
                if step % train.sample_every == 0 or final:
                    self._write_grid(algorithm, fixed, step, tensorboard)
                if (step % train.checkpoint_every == 0 or final) and not saved:
                    self._check_finite(interval, step)
                    save(step)
                if improved:
                    save(step, self.run_dir / "checkpoints" / "best.pt")
                if self.progress is not None:
                    self.progress(step, record)
        finally:
            jsonl.close()
            tensorboard.close()

        frames = sorted((self.run_dir / "samples").glob("step-*.png"))
        save_gif(frames, self.run_dir / "samples" / "progress.gif")
        self._write_report()
        return TrainResult(self.run_dir, step, False, record)

    def _write_report(self) -> None:
        """Write report.html; a failure is logged and never costs the trained run."""
        try:
            from gangan.report import write_report

            write_report(self.run_dir)
        except Exception as error:  # noqa: BLE001  the checkpoint is saved; the report can be redone
            logger.warning("could not write %s: %s; retry with `gangan report %s`",
                           self.run_dir / "report.html", error, self.run_dir)

    def _forget_after(self, step: int, saved: TrainConfig) -> None:
        """Drop records and grids that the resumed run will produce again.

        These are everything after the checkpoint's step, and a closing record or grid at
        that step that fell outside the saved run's schedule, because the run ended there.
        """
        truncate_jsonl(self.run_dir / "metrics.jsonl", step, drop_at_step=step % saved.log_every != 0)
        for path in (self.run_dir / "samples").glob("step-*.png"):
            grid_step = int(path.stem.split("-")[1])
            if grid_step > step or (grid_step == step and step % saved.sample_every):
                path.unlink()

    @staticmethod
    def _check_finite(interval: _Interval, step: int) -> None:
        if not interval.all_finite():
            raise TrainingDiverged(
                f"training diverged by step {step}: a loss or gradient norm became NaN or Inf. "
                f"The last good checkpoint is kept; try a lower learning rate (--lr-g, --lr-d)."
            )

    @staticmethod
    def _real_diversity(images: torch.Tensor, n: int, seed: int) -> float:
        n = max(2, min(n, images.shape[0]))
        index = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed + 2))[:n]
        return diversity(images[index].float().div(127.5).sub(1.0))

    @staticmethod
    def _make_record(step, interval, algorithm, fixed, real_diversity, diagnoser) -> dict:
        record = {"step": step, "interval_start": interval.start_step, **interval.means()}
        if fixed.shape[0] >= 2 and real_diversity > 0:
            record["diversity_ratio"] = diversity(algorithm.sample_grid(fixed)) / real_diversity
        diagnosis = diagnoser.update(record)
        record["diagnosis"] = diagnosis.state
        record["diagnosis_message"] = diagnosis.message
        return record

    def _write_grid(self, algorithm: Algorithm, fixed: torch.Tensor, step: int, tensorboard: TensorBoardWriter) -> None:
        images = algorithm.sample_grid(fixed).cpu()
        path = self.run_dir / "samples" / f"step-{step:08d}.png"
        nrow = algorithm.grid_nrow(images.shape[0]) or max(1, math.ceil(math.sqrt(images.shape[0])))
        save_atomic(grid_image(images, nrow=nrow), path)
        tensorboard.write_image("samples", make_grid(to_uint8(images), nrow=nrow, padding=2), step)

