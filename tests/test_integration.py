"""Training the book's DCGAN on real Fashion-MNIST for a few hundred CPU steps."""

import pytest
import torch

from conftest import tiny_config
from gangan.algorithms import build_algorithm
from gangan.data import load_dataset
from gangan.monitor.writers import read_jsonl
from gangan.training import Trainer, create_run_dir, load_checkpoint, load_generator_run

pytestmark = pytest.mark.slow


def test_dcgan_trains_on_fashion_mnist(tmp_path, fashion_dir):
    config = tiny_config(
        "dcgan", "fashion-mnist",
        train_steps=200, train_batch_size=32, train_log_every=50, train_sample_every=100,
        train_checkpoint_every=100, train_grid_size=36,
    )
    run_dir = create_run_dir(tmp_path, "fashion", "dcgan", "fashion-mnist")
    result = Trainer(config, run_dir).run()

    records = read_jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in records] == [50, 100, 150, 200]
    assert all(r["diagnosis"] != "diverged" for r in records)
    assert sorted(p.name for p in (run_dir / "samples").glob("*")) == [
        "progress.gif", "step-00000100.png", "step-00000200.png",
    ]
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == result.step == 200

    # After 200 steps the samples' mean image is much closer to the data's than at initialisation.
    real_mean = load_dataset("fashion-mnist", "test").images[:2000].float().div(127.5).sub(1).mean(0)
    trained = load_generator_run(run_dir, device="cpu").sample(512, seed=0).mean(0)
    torch.manual_seed(config.train.seed)
    untrained_algorithm = build_algorithm(config, torch.device("cpu"))
    untrained = untrained_algorithm.generate(untrained_algorithm.sample_z(512, torch.Generator().manual_seed(0))).mean(0)
    error_trained = (trained - real_mean).pow(2).mean().item()
    error_untrained = (untrained - real_mean).pow(2).mean().item()
    assert error_trained < 0.25 * error_untrained, (error_trained, error_untrained)
