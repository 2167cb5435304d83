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
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision.utils import make_grid

from gangan.algorithms import Algorithm, build_algorithm
from gangan.config import RunConfig, TrainConfig, save_yaml
from gangan.data import TensorBatches, load_dataset
from gangan.errors import GanganError, TrainingDiverged
from gangan.images import grid_image, save_atomic, save_gif, to_uint8
from gangan.monitor import Diagnoser, JsonlWriter, TensorBoardWriter, diversity, diversity_within_classes
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
        if self.sums and self.sums.keys() == stats.keys():
            # The usual step: one foreach call instead of one addition per scalar.
            torch._foreach_add_(list(self.sums.values()), [stats[key].detach().float() for key in self.sums])
        else:
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
        # Copies: the sums are added to in place after the checkpoint is taken.
        return {"sums": {k: v.detach().cpu().clone() for k, v in self.sums.items()}, "count": self.count, "start_step": self.start_step}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.sums = {k: v.to(device).clone() for k, v in state["sums"].items()}
        self.count, self.start_step = int(state["count"]), int(state["start_step"])


@dataclass
class _Session:
    """State of one call of `Trainer.run`: data stream, algorithm, monitors and logs."""

    config: RunConfig
    checkpoint_path: Path
    batches: TensorBatches
    algorithm: Algorithm
    evaluator: object | None
    fixed: torch.Tensor
    real_diversity: float
    diagnoser: Diagnoser = field(default_factory=Diagnoser)
    interval: _Interval = field(default_factory=_Interval)
    step: int = 0
    saved_config: dict | None = None
    record: dict | None = None
    jsonl: JsonlWriter | None = None
    tensorboard: TensorBoardWriter | None = None
    started: tuple[float, int] = (0.0, 0)

    def restore(self, device: torch.device) -> None:
        """Continue from the checkpoint: weights, optimizers, data order, monitors, RNG and step."""
        state = load_checkpoint(self.checkpoint_path)
        check_compatible(state, self.config, self.checkpoint_path)
        self.algorithm.load_state_dict(state)
        self.batches.load_state_dict(state["data"])
        self.diagnoser.load_state_dict(state["monitor"])
        if self.evaluator is not None:
            self.evaluator.load_state_dict(state.get("evaluator", {}))
        self.interval.load_state_dict(state["interval"], device)
        self.fixed = state["fixed"].to(device)
        restore_rng_state(state["rng"])
        self.step = int(state["step"])
        self.saved_config = state["config"]

    def save(self, step: int, path: Path | None = None) -> None:
        save_checkpoint(
            {
                "config": self.config.to_dict(),
                "step": step,
                **self.algorithm.state_dict(),
                "ema": {},
                "data": self.batches.state_dict(),
                "monitor": self.diagnoser.state_dict(),
                "interval": self.interval.state_dict(),
                "fixed": self.fixed.cpu(),
                "rng": capture_rng_state(),
                "evaluator": self.evaluator.state_dict() if self.evaluator is not None else {},
            },
            path or self.checkpoint_path,
        )

    def open_logs(self, run_dir: Path, resume: bool) -> None:
        self.jsonl = JsonlWriter(run_dir / "metrics.jsonl")
        # On resume, TensorBoard drops the events that `_forget_after` dropped from metrics.jsonl.
        log_every = self.config.train.log_every
        purge_step = None
        if resume:
            purge_step = self.step if self.step % log_every else self.step + 1
        self.tensorboard = TensorBoardWriter(run_dir, purge_step=purge_step)
        self.started = (time.perf_counter(), self.step)

    def steps_per_second(self, step: int) -> float:
        started, started_step = self.started
        return (step - started_step) / max(time.perf_counter() - started, 1e-9)

    def close(self) -> None:
        self.jsonl.close()
        self.tensorboard.close()


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
        session = self._start()
        train = self.config.train
        step = session.step
        try:
            while step < train.steps:
                if self._stop_requested:
                    self._check_finite(session.interval, step)
                    session.save(step)
                    logger.info("stopped at step %d; checkpoint saved to %s", step, session.checkpoint_path)
                    self._write_report()
                    return TrainResult(self.run_dir, step, True, session.record)
                real, labels = next(session.batches)
                session.interval.add(session.algorithm.train_step(real, labels))
                step += 1
                self._after_step(session, step)
                if self.progress is not None:
                    self.progress(step, session.record)
        finally:
            session.close()

        frames = sorted((self.run_dir / "samples").glob("step-*.png"))
        save_gif(frames, self.run_dir / "samples" / "progress.gif")
        self._write_report()
        return TrainResult(self.run_dir, step, False, session.record)

    def _start(self) -> _Session:
        """Load the data, build the algorithm, restore a checkpoint when resuming, open the logs."""
        cfg, train = self.config, self.config.train
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
        # Sample-quality scores every eval_every steps; the evaluation package knows the
        # metrics and draws samples through the algorithm's own sample_z and generate.
        evaluator = None
        if train.eval_every is not None:
            from gangan.evaluation.training import TrainingEvaluator

            evaluator = TrainingEvaluator(cfg, self.run_dir)
        session = _Session(
            config=cfg,
            checkpoint_path=self.run_dir / "checkpoints" / "last.pt",
            batches=batches,
            algorithm=algorithm,
            evaluator=evaluator,
            # One fixed batch (latents for a GAN), so that grids of different steps compare.
            fixed=algorithm.fixed_inputs(train.grid_size, train.seed + 1, data.images),
            real_diversity=self._real_diversity(data.images, data.labels, algorithm, train.grid_size, train.seed),
        )
        if self.resume:
            session.restore(device)
            self._forget_after(session.step, RunConfig.from_dict(session.saved_config).train)
            logger.info("resumed %s at step %d of %d", self.run_dir, session.step, train.steps)
        else:
            save_yaml(cfg, self.run_dir / "config.yaml")
        session.open_logs(self.run_dir, self.resume)
        return session

    def _after_step(self, session: _Session, step: int) -> None:
        """Log, evaluate, sample and checkpoint after `step`, as the schedule of the config requires."""
        train = self.config.train
        final = step == train.steps
        log_step = step % train.log_every == 0 or final
        session.record = None
        # Held-out metrics of the algorithm itself (SGAN's test accuracy) go into the record of
        # every log interval that contains a checkpoint step, measured at its end.
        evaluation = {}
        if log_step and (final or step // train.checkpoint_every > session.interval.start_step // train.checkpoint_every):
            evaluation = session.algorithm.evaluate()
        improved = False
        if session.evaluator is not None and (step % train.eval_every == 0 or final):
            scores, improved = session.evaluator.evaluate(session.algorithm, step)
            evaluation.update(scores)

        saved = False
        if final and step % train.log_every:
            # The last step falls between two log steps: checkpoint before its closing record,
            # with the half-filled interval, so that a run resumed with more steps logs
            # exactly what an uninterrupted run would.
            self._check_finite(session.interval, step)
            session.save(step)
            saved = True
        if log_step:
            self._check_finite(session.interval, step)
            record = self._make_record(step, session.interval, session.algorithm, session.fixed,
                                       session.real_diversity, session.diagnoser)
            record.update(evaluation)
            record["steps_per_s"] = session.steps_per_second(step)
            session.jsonl.write(record)
            session.tensorboard.write(record)
            session.record = record
            if not saved:
                session.interval.reset(step)

        if step % train.sample_every == 0 or final:
            self._write_grid(session.algorithm, session.fixed, step, session.tensorboard)
        if (step % train.checkpoint_every == 0 or final) and not saved:
            self._check_finite(session.interval, step)
            session.save(step)
        if improved:
            session.save(step, self.run_dir / "checkpoints" / "best.pt")

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

    def _check_finite(self, interval: _Interval, step: int) -> None:
        if not interval.all_finite():
            if (self.run_dir / "checkpoints" / "last.pt").exists():
                checkpoint_note = "The last good checkpoint is kept"
            else:
                checkpoint_note = "No checkpoint had been written yet"
            raise TrainingDiverged(
                f"training diverged by step {step}: a loss or gradient norm became NaN or Inf. "
                f"{checkpoint_note}; try a lower learning rate (--lr-g, --lr-d)."
            )

    @staticmethod
    def _real_diversity(images: torch.Tensor, labels: torch.Tensor | None, algorithm: Algorithm, n: int, seed: int) -> float:
        """Return the diversity of n random real images, or for a conditional G the mean within each class.

        A conditional grid contains ceil(n / K) images per class, so each class is measured on
        that many real images of its own, and `_make_record` compares like with like.
        """
        generator = torch.Generator().manual_seed(seed + 2)
        if algorithm.num_classes and labels is not None:
            per_class = max(2, math.ceil(n / algorithm.num_classes))
            chosen = []
            for c in labels.unique():
                members = torch.nonzero(labels == c).squeeze(1)
                chosen.append(members[torch.randperm(members.shape[0], generator=generator)[:per_class]])
            index = torch.cat(chosen)
            return diversity_within_classes(images[index].float().div(127.5).sub(1.0), labels[index])
        n = max(2, min(n, images.shape[0]))
        index = torch.randperm(images.shape[0], generator=generator)[:n]
        return diversity(images[index].float().div(127.5).sub(1.0))

    @staticmethod
    def _make_record(step, interval, algorithm, fixed, real_diversity, diagnoser) -> dict:
        record = {"step": step, "interval_start": interval.start_step, **interval.means()}
        if fixed.shape[0] >= 2 and real_diversity > 0:
            images, labels = algorithm.sample_grid(fixed), algorithm.grid_labels(fixed)
            generated = diversity(images) if labels is None else diversity_within_classes(images, labels)
            record["diversity_ratio"] = generated / real_diversity
        diagnosis = diagnoser.update(record)
        record["diagnosis"] = diagnosis.state
        record["diagnosis_message"] = diagnosis.message
        if diagnosis.state == "collapse" and algorithm.collapse_hint:
            record["diagnosis_message"] += algorithm.collapse_hint
        return record

    def _write_grid(self, algorithm: Algorithm, fixed: torch.Tensor, step: int, tensorboard: TensorBoardWriter) -> None:
        images = algorithm.sample_grid(fixed).cpu()
        path = self.run_dir / "samples" / f"step-{step:08d}.png"
        nrow = algorithm.grid_nrow(images.shape[0]) or max(1, math.ceil(math.sqrt(images.shape[0])))
        save_atomic(grid_image(images, nrow=nrow), path)
        tensorboard.write_image("samples", make_grid(to_uint8(images), nrow=nrow, padding=2), step)

