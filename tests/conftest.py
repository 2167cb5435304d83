"""Shared fixtures: isolated caches, real data locations, and a quick way to train tiny runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# rich sizes its consoles when gangan.cli is imported; a wide one keeps messages that tests
# match on from being wrapped.
os.environ["COLUMNS"] = "400"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Point the dataset cache at a fresh folder and forget any GANGAN_DATA of the machine."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GANGAN_DATA", raising=False)
    monkeypatch.delenv("GANGAN_DOWNLOAD_URL", raising=False)


@pytest.fixture
def mnist_dir() -> Path:
    """The shared MNIST test split (t10k files only)."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST test split not found at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture
def fashion_dir() -> Path:
    """Debian's full Fashion-MNIST copy."""
    if not (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST not found at {FASHION_MNIST}; apt-get install dataset-fashion-mnist")
    return FASHION_MNIST


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run `gangan ARGS...` in this process; return (exit status, stdout, stderr)."""
    from gangan.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["gangan", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def tiny_config(model: str = "gan", dataset: str = "digits", **overrides):
    """A resolved config for a few CPU steps; keyword names are flat keys like train_steps."""
    from gangan.config import resolve_config

    values = {
        "data.dataset": dataset,
        "train.steps": 6,
        "train.batch_size": 16,
        "train.log_every": 2,
        "train.sample_every": 3,
        "train.checkpoint_every": 3,
        "train.grid_size": 16,
        "train.device": "cpu",
    }
    values.update({key.replace("_", ".", 1): value for key, value in overrides.items()})
    return resolve_config(model, None, values)
