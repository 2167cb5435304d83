"""Evaluation during training: classifier FID and class coverage every `eval_every` steps.

The trainer hands over its algorithm; this module draws samples through the algorithm's
`sample_z` and `generate`, scores them against cached reference features, and tracks the
best FID, from which the trainer decides when to write checkpoints/best.pt.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import torch

from gangan.config import RunConfig
from gangan.evaluation.evaluate import append_record, build_extractor, evaluate_images
from gangan.evaluation.reference import load_reference
from gangan.images import to_uint8

logger = logging.getLogger(__name__)

TRAINING_METRICS = ("fid", "coverage")
_GENERATE_BATCH = 500


class TrainingEvaluator:
    """Scores an algorithm's samples during training.

    Args:
        config: the run's resolved config (dataset, split, image shape, eval_n, seed).
        run_dir: where evaluations.jsonl is appended.

    The classifier and the reference features are prepared on the first call (training the
    classifier first if no cached one exists) and reused afterwards. Every evaluation draws
    the same latents, seeded by the run's seed, so scores of different steps compare.
    """

    def __init__(self, config: RunConfig, run_dir: str | Path):
        self.config = config
        self.run_dir = Path(run_dir)
        self.best_fid = math.inf
        self.last_step = 0
        self._prepared = None

    def _prepare(self):
        if self._prepared is None:
            data, n = self.config.data, self.config.train.eval_n
            extractor = build_extractor("classifier", data.dataset, data.root)
            reference = load_reference(data.dataset, data.split, n, data.root, data.image_size, data.channels)
            metrics = [m for m in TRAINING_METRICS if m != "coverage" or reference.num_classes is not None]
            self._prepared = (extractor, reference, metrics)
        return self._prepared

    @torch.no_grad()
    def evaluate(self, algorithm, step: int) -> tuple[dict[str, float], bool]:
        """Score `eval_n` samples of the algorithm at `step`.

        Returns the scalars for the metrics record ("fid", "coverage", "coverage_kl") and
        whether the FID is the best so far.
        """
        extractor, reference, metrics = self._prepare()
        n, seed = self.config.train.eval_n, self.config.train.seed + 3
        z = algorithm.sample_z(n, torch.Generator().manual_seed(seed))
        fake = torch.cat([to_uint8(algorithm.generate(chunk).cpu()) for chunk in z.split(_GENERATE_BATCH)])
        result = evaluate_images(fake, reference, extractor, metrics, seed=seed, what=f"samples at step {step}")
        result.extra = {"step": step, "source": "training"}
        self.last_step = step
        append_record(self.run_dir / "evaluations.jsonl", result.record())

        scalars = {key: float(value) for key, value in result.scores.items() if key in ("fid", "coverage", "coverage_kl")}
        improved = scalars["fid"] < self.best_fid
        if improved:
            self.best_fid = scalars["fid"]
        logger.info("step %d: FID %.3f (best %.3f)%s, %.1f s", step, scalars["fid"], self.best_fid,
                    f", {int(scalars['coverage'])} of {extractor.num_classes} classes" if "coverage" in scalars else "",
                    result.seconds)
        return scalars, improved

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid, "last_step": self.last_step}

    def load_state_dict(self, state: dict) -> None:
        """Restore the best FID of a checkpoint and forget training evaluations made after it.

        The resumed run evaluates those steps again, so their records in evaluations.jsonl
        would otherwise appear twice. Records of `gangan evaluate` are kept.
        """
        self.best_fid = float(state.get("best_fid", math.inf))
        self.last_step = int(state.get("last_step", 0))
        path = self.run_dir / "evaluations.jsonl"
        if not path.is_file():
            return
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and not _after(json.loads(line), self.last_step)]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        os.replace(tmp, path)


def _after(record: dict, step: int) -> bool:
    return record.get("source") == "training" and record.get("step", 0) > step
