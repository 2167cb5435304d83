import json
import math

import pytest
import torch

from conftest import tiny_config
from gangan.errors import GanganError, TrainingDiverged
from gangan.monitor.writers import read_jsonl
from gangan.training import Trainer, create_run_dir, load_checkpoint, load_generator_run, save_checkpoint

RECORD_KEYS = {
    "step", "loss_D", "loss_G", "D_acc", "D_acc_real", "D_acc_fake", "D_x", "D_G_z",
    "grad_norm_D", "grad_norm_G", "diversity_ratio", "diagnosis", "diagnosis_message",
}
TIMING_KEYS = {"steps_per_s"}


def _train(tmp_path, name, config, resume=False):
    run_dir = tmp_path / name if resume else create_run_dir(tmp_path, name, config.model.name, config.data.dataset)
    return Trainer(config, run_dir, resume=resume).run()


def test_run_directory_contents(tmp_path):
    result = _train(tmp_path, "run", tiny_config("gan"))
    run = result.run_dir
    assert result.step == 6
    assert not result.interrupted
    records = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in records] == [2, 4, 6]
    assert RECORD_KEYS <= set(records[0])
    for record in records:
        assert 0 <= record["D_acc_real"] <= 1
        assert 0 <= record["D_acc_fake"] <= 1
        assert record["D_acc"] == pytest.approx((record["D_acc_real"] + record["D_acc_fake"]) / 2)
        assert 0 < record["D_x"] < 1
        assert 0 < record["D_G_z"] < 1
        assert record["grad_norm_D"] > 0
        assert record["grad_norm_G"] > 0
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["progress.gif", "step-00000003.png", "step-00000006.png"]
    assert (run / "checkpoints" / "last.pt").is_file()
    assert list(run.glob("events.out.tfevents.*"))
    assert "model:" in (run / "config.yaml").read_text()


def test_checkpoint_contents(tmp_path):
    run = _train(tmp_path, "run", tiny_config("dcgan")).run_dir
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["format"] == "gangan-checkpoint"
    assert state["step"] == 6
    assert set(state["networks"]) == {"G", "D"}
    assert set(state["optimizers"]) == {"G", "D"}
    assert {"python", "numpy", "torch", "cuda"} <= set(state["rng"])
    assert state["config"]["model"]["arch"] == "book"
    assert "gangan_version" in state
    assert "data" in state
    assert "ema" in state


def _strip_timing(records):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in records]


@pytest.mark.parametrize("model", ["gan", "dcgan"])
def test_resume_matches_uninterrupted_run(tmp_path, model):
    # checkpoint_every 5 does not divide log_every 2: the resumed run must also restore
    # the half-filled log interval.
    full = tiny_config(model, train_steps=10, train_checkpoint_every=5, train_log_every=2)
    _train(tmp_path, "full", full)

    half = tiny_config(model, train_steps=5, train_checkpoint_every=5, train_log_every=2)
    _train(tmp_path, "split", half)
    _train(tmp_path, "split", full, resume=True)

    a = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    for net in ("G", "D"):
        for key, value in a["networks"][net].items():
            assert torch.equal(value, b["networks"][net][key]), f"{net}.{key} differs after resume"
        opt_a, opt_b = a["optimizers"][net]["state"], b["optimizers"][net]["state"]
        for index in opt_a:
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(opt_a[index][key], opt_b[index][key]), f"optimizer {net} {key} differs"
    assert _strip_timing(read_jsonl(tmp_path / "full" / "metrics.jsonl")) == _strip_timing(
        read_jsonl(tmp_path / "split" / "metrics.jsonl")
    )


def test_resume_drops_records_after_the_checkpoint(tmp_path):
    config = tiny_config("gan", train_steps=6, train_checkpoint_every=3, train_log_every=2)
    run = _train(tmp_path, "run", config).run_dir
    # Pretend the process died after step 4 was logged but before the step-6 checkpoint:
    # put back the checkpoint of an identical run stopped at step 3.
    _train(tmp_path, "ref", tiny_config("gan", train_steps=3, train_checkpoint_every=3, train_log_every=2))
    reference = load_checkpoint(tmp_path / "ref" / "checkpoints" / "last.pt")
    save_checkpoint({k: v for k, v in reference.items() if not k.startswith(("format", "gangan_"))}, run / "checkpoints" / "last.pt")
    _train(tmp_path, "run", config, resume=True)
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl")]
    assert steps == [2, 4, 6]


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    config = tiny_config("gan", train_steps=12, train_checkpoint_every=3, train_log_every=3)
    run_dir = create_run_dir(tmp_path, "nan", "gan", "digits")
    trainer = Trainer(config, run_dir)

    calls = {"n": 0}
    original_run = Trainer._run

    def poisoned_run(self):
        from gangan.algorithms import gan as gan_module

        original_step = gan_module.GAN.train_step

        def step(algorithm, real, labels=None):
            calls["n"] += 1
            if calls["n"] >= 5:
                real = real * float("nan")
            return original_step(algorithm, real, labels)

        gan_module.GAN.train_step = step
        try:
            return original_run(self)
        finally:
            gan_module.GAN.train_step = original_step

    Trainer._run = poisoned_run
    try:
        with pytest.raises(TrainingDiverged, match=r"diverged by step 6.*last good checkpoint is kept"):
            trainer.run()
    finally:
        Trainer._run = original_run
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["networks"]["G"].values())


def test_stop_request_saves_and_resumes(tmp_path):
    config = tiny_config("gan", train_steps=8)
    run_dir = create_run_dir(tmp_path, "stop", "gan", "digits")
    trainer = Trainer(config, run_dir)
    trainer.progress = lambda step, record: trainer.request_stop() if step == 3 else None
    result = trainer.run()
    assert result.interrupted and result.step == 3
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 3
    assert Trainer(config, run_dir, resume=True).run().step == 8


def test_run_directory_is_never_overwritten(tmp_path):
    create_run_dir(tmp_path, "taken", "gan", "digits")
    with pytest.raises(GanganError, match=r"taken already exists; continue it with --resume"):
        create_run_dir(tmp_path, "taken", "gan", "digits")
    first = create_run_dir(tmp_path, None, "gan", "digits")
    second = create_run_dir(tmp_path, None, "gan", "digits")
    assert first != second


def test_corrupt_checkpoints_are_rejected(tmp_path):
    run = _train(tmp_path, "run", tiny_config("gan")).run_dir
    good = (run / "checkpoints" / "last.pt").read_bytes()

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(GanganError, match="truncated or corrupt"):
        load_checkpoint(truncated)

    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(GanganError, match="not a gangan checkpoint"):
        load_checkpoint(foreign)

    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "gangan-checkpoint", "x": Payload()}, pickled)
    with pytest.raises(GanganError, match="weights-only"):
        load_checkpoint(pickled)

    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(GanganError, match="truncated or corrupt"):
        load_checkpoint(text)


def test_mismatched_checkpoint_on_resume(tmp_path):
    _train(tmp_path, "gan", tiny_config("gan"))
    other = tiny_config("dcgan", train_steps=12)
    with pytest.raises(GanganError, match="does not match|size mismatch|Missing key"):
        try:
            Trainer(other, tmp_path / "gan", resume=True).run()
        except RuntimeError as error:  # a bare state-dict mismatch must not reach the user
            pytest.fail(f"raw RuntimeError: {error}")


def test_sampling_does_not_depend_on_batch(tmp_path):
    run = _train(tmp_path, "run", tiny_config("dcgan")).run_dir
    loaded = load_generator_run(run, device="cpu")
    z = loaded.algorithm.sample_z(16, torch.Generator().manual_seed(0))
    together = loaded.algorithm.generate(z)
    alone = torch.cat([loaded.algorithm.generate(z[i : i + 1]) for i in range(4)])
    assert torch.allclose(together[:4], alone, atol=1e-6)
    assert torch.allclose(loaded.sample(16, seed=3, batch_size=5), loaded.sample(16, seed=3, batch_size=16), atol=1e-6)
    assert not torch.allclose(loaded.sample(4, seed=3), loaded.sample(4, seed=4))
    images = loaded.sample(8, seed=1)
    assert tuple(images.shape) == (8, 1, 28, 28)
    assert images.min() >= -1
    assert images.max() <= 1


def test_training_on_mnist_test_split(tmp_path, mnist_dir):
    config = tiny_config("dcgan", "mnist", data_split="test", data_root=str(mnist_dir), train_steps=4, train_batch_size=32)
    result = _train(tmp_path, "mnist", config)
    records = read_jsonl(result.run_dir / "metrics.jsonl")
    assert records[-1]["step"] == 4
    assert all(math.isfinite(r["loss_D"]) for r in records)
    assert json.loads(json.dumps(records[-1]))["diagnosis"]


def test_batch_size_larger_than_dataset(tmp_path):
    config = tiny_config("gan", train_batch_size=2000)
    with pytest.raises(GanganError, match=r"invalid --batch-size 2000: the train split of digits contains only 1500 images"):
        _train(tmp_path, "big", config)


def test_interval_sums_and_copies_state():
    from gangan.training.trainer import _Interval

    interval = _Interval()
    interval.add({"loss_D": torch.tensor(1.0), "D_acc": torch.tensor(0.5)})
    interval.add({"loss_D": torch.tensor(3.0), "D_acc": torch.tensor(0.25)})
    saved = interval.state_dict()
    interval.add({"D_acc": torch.tensor(0.25), "loss_D": torch.tensor(2.0)})
    interval.add({"loss_D": torch.tensor(2.0), "D_acc": torch.tensor(0.0), "test_acc": torch.tensor(0.9)})

    assert interval.means() == pytest.approx({"loss_D": 2.0, "D_acc": 0.25, "test_acc": 0.225})
    assert saved["sums"]["loss_D"].item() == 4.0
    assert saved["count"] == 2
    restored = _Interval()
    restored.load_state_dict(saved, torch.device("cpu"))
    restored.add({"loss_D": torch.tensor(2.0), "D_acc": torch.tensor(0.25)})
    assert restored.means() == pytest.approx({"loss_D": 2.0, "D_acc": 1 / 3})
    assert saved["sums"]["loss_D"].item() == 4.0
