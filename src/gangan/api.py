"""A small Python API for notebooks: train a model in one call and read back what the run wrote.

`train` does what `gangan train` does, through the same `resolve_config`, `create_run_dir`
and `Trainer`, and returns the run directory:

    from gangan import api
    run_dir = api.train("dcgan", dataset="mnist", steps=2000, batch_size=64)
    records = api.metrics(run_dir)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from gangan.config import SECTIONS, RunConfig, resolve_config
from gangan.errors import GanganError
from gangan.report import read_jsonl_tolerant
from gangan.training import Trainer, create_run_dir

RUNS_ENV = "GANGAN_RUNS"


def option_keys() -> dict[str, str]:
    """Map each option's short name to its config key: {"steps": "train.steps", "lr_G": "optim.lr_G", ...}."""
    keys = {}
    defaults = RunConfig()
    for section_name in SECTIONS:
        for item in dataclasses.fields(getattr(defaults, section_name)):
            keys.setdefault(item.name, f"{section_name}.{item.name}")
    return keys


def _overrides(options: dict[str, Any]) -> dict[str, Any]:
    keys = option_keys()
    overrides = {}
    for name, value in options.items():
        if name == "lr":
            overrides["optim.lr_G"] = overrides["optim.lr_D"] = value
        elif name in keys and name != "name":
            overrides[keys[name]] = value
        else:
            valid = ", ".join(sorted(k for k in keys if k != "name"))
            raise GanganError(f"unknown option {name!r} for gangan.api.train; valid options: lr, {valid}")
    return overrides


def _print_record(step: int, record: dict | None) -> None:
    if record is None:
        return
    parts = [f"step {step:>6,}"]
    losses = "  ".join(f"{key} {value:.3f}" for key, value in record.items() if key.startswith("loss") and isinstance(value, float))
    if losses:
        parts.append(losses)
    if isinstance(record.get("D_acc"), float):
        parts.append(f"D acc {record['D_acc']:.0%} (real {record['D_acc_real']:.0%}, fake {record['D_acc_fake']:.0%})")
    if record.get("diagnosis_message"):
        parts.append(record["diagnosis_message"])
    print("  ".join(parts), flush=True)


def train(
    model: str,
    dataset: str | None = None,
    *,
    out: str | os.PathLike | None = None,
    name: str | None = None,
    config: str | os.PathLike | None = None,
    verbose: bool = True,
    **options: Any,
) -> Path:
    """Train `model` into a new run directory and return its path.

    Args:
        model: a model name from `gangan models` ("gan", "dcgan", ...).
        dataset: a dataset name from `gangan datasets`, or "folder:PATH" [default: the model's].
        out: folder that holds run directories [default: $GANGAN_RUNS, else "runs"].
        name: run directory name [default: <model>-<dataset>-<timestamp>].
        config: a YAML file with model/data/optim/train sections, below the keyword options.
        verbose: print one line per metrics record (losses, D accuracy, diagnosis).
        **options: any option by its short name, as in config.yaml: steps, batch_size,
            log_every, sample_every, lr (both networks), lr_G, lr_D, z_dim, seed, device, ...

    Returns:
        The run directory, holding config.yaml, metrics.jsonl, samples/, checkpoints/ and report.html.

    Raises:
        GanganError: an unknown model, dataset or option, or a value out of range.
    """
    if dataset is not None:
        options["dataset"] = dataset
    run_config = resolve_config(model, config, _overrides(options))
    run_dir = create_run_dir(out if out is not None else os.environ.get(RUNS_ENV, "runs"), name,
                             run_config.model.name, run_config.data.dataset)
    if verbose:
        cfg = run_config
        print(f"{cfg.model.name} on {cfg.data.dataset} ({cfg.data.split} split), {cfg.train.steps:,} steps of "
              f"{cfg.train.batch_size}; run directory: {run_dir}", flush=True)
    Trainer(run_config, run_dir, progress=_print_record if verbose else None).run()
    return run_dir


def metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The records of run_dir/metrics.jsonl, one dict per log interval, in step order."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise GanganError(f"{path} not found; is {run_dir} a gangan run directory?")
    return read_jsonl_tolerant(path)


def samples(run_dir: str | os.PathLike) -> list[Path]:
    """The sample grids of a run (samples/step-*.png), in step order."""
    return sorted((Path(run_dir) / "samples").glob("step-*.png"))
