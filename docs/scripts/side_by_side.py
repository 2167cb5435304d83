"""Train several models for the same CPU-time budget each and save a sample grid of each.

Used for docs/autoencoders-vs-gans.md. The budget is process CPU time, not wall-clock time,
so that runs on a shared machine get the same compute whatever else is running; with
--threads 1 it equals the wall-clock time of the same run on one dedicated core.

    python docs/scripts/side_by_side.py --dataset fashion-mnist --budget-cpu-s 120 --out runs/sbs

Each run is an ordinary gangan run directory (stopped like Ctrl-C, with a checkpoint), so
`gangan sample`, `gangan interpolate` and `gangan evaluate` work on it afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gangan.config import resolve_config
from gangan.images import save_grid
from gangan.training import Trainer, create_run_dir, load_generator_run


def train_for(model: str, dataset: str, split: str, data_root: str | None, budget_cpu_s: float, out: Path) -> dict:
    """Train `model` until it has used `budget_cpu_s` CPU seconds in its steps; return a summary."""
    overrides = {
        "data.dataset": dataset, "data.split": split, "data.root": data_root,
        "train.steps": 10**7, "train.log_every": 200, "train.sample_every": 10**7,
        "train.checkpoint_every": 10**7, "train.device": "cpu",
    }
    config = resolve_config(model, None, overrides)
    run_dir = create_run_dir(out, f"{model}-{dataset}", model, dataset)
    trainer = Trainer(config, run_dir)
    clock: dict[str, float] = {}

    def on_step(step: int, record: dict | None) -> None:
        # The clock starts at the first step, so loading the dataset is not charged to the model.
        if "cpu0" not in clock:
            clock["cpu0"], clock["wall0"] = time.process_time(), time.perf_counter()
        if time.process_time() - clock["cpu0"] >= budget_cpu_s:
            trainer.request_stop()

    trainer.progress = on_step
    result = trainer.run()
    return {
        "model": model, "dataset": dataset, "split": split, "run_dir": str(run_dir), "steps": result.step,
        "cpu_s": round(time.process_time() - clock["cpu0"], 1), "wall_s": round(time.perf_counter() - clock["wall0"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--split", default="train")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--models", default="vae,gan,dcgan")
    parser.add_argument("--budget-cpu-s", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/side-by-side"))
    parser.add_argument("--images", type=Path, default=Path("docs/images"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    args.images.mkdir(parents=True, exist_ok=True)
    for model in args.models.split(","):
        summary = train_for(model, args.dataset, args.split, args.data_root, args.budget_cpu_s, args.out)
        loaded = load_generator_run(summary["run_dir"], "cpu")
        image = args.images / f"side-by-side-{args.dataset}-{model}.png"
        save_grid(loaded.sample(64, seed=0), image, nrow=8)
        summary["samples"] = str(image)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
