import pytest

from gangan.monitor.writers import read_jsonl

QUICK = ["--steps", "4", "--batch-size", "16", "--log-every", "2", "--sample-every", "2", "--checkpoint-every", "2", "--device", "cpu"]


def test_train_sample_resume(run_cli, tmp_path):
    code, out, err = run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "demo")
    assert code == 0, err
    run = tmp_path / "demo"
    assert "near equilibrium" in out or "D is ahead" in out or "G is ahead" in out or "dominating" in out
    assert "|grad| D " in out
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [2, 4]

    code, out, err = run_cli("sample", run, "--n", "9", "--out", tmp_path / "grid.png", "--seed", "2")
    assert code == 0, err
    assert (tmp_path / "grid.png").stat().st_size > 0
    code, out, err = run_cli("sample", run, "--n", "3", "--out-dir", tmp_path / "each")
    assert code == 0, err
    assert len(list((tmp_path / "each").glob("*.png"))) == 3

    code, out, err = run_cli("train", "--resume", run / "checkpoints" / "last.pt", "--steps", "6")
    assert code != 0
    assert f"use --resume {run}" in err

    code, out, err = run_cli("train", "--resume", run, "--steps", "6")
    assert code == 0, err
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [2, 4, 6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "wgan", "--dataset", "digits"], "unknown model 'wgan'; valid models: gan, dcgan"),
        (["train", "gan", "--dataset", "svhn"], "unknown dataset 'svhn'; valid datasets:"),
        (["train", "gan", "--dataset", "digits", "--steps", "0"], "invalid --steps 0: must be at least 1"),
        (["train", "gan", "--dataset", "digits", "--batch-size", "0"], "invalid --batch-size 0"),
        (["train", "gan", "--dataset", "digits", "--lr", "-1"], "invalid --lr -1.0: must be greater than 0"),
        (["train", "gan", "--dataset", "digits", "--lr-g", "-1"], "invalid --lr-g -1.0: must be greater than 0"),
        (["train", "dcgan", "--dataset", "digits", "--image-size", "100"], "--image-size 100 is not supported by dcgan"),
        (["train", "gan", "--dataset", "digits", "--config", "missing.yaml"], "config file not found: missing.yaml"),
        (["train"], "missing MODEL"),
        (["sample", "no/such/run"], "run directory or checkpoint not found: no/such/run"),
        (["train", "--resume", "no/such/run"], "run directory not found"),
        (["train", "--resume", "notes.txt"], "takes a run directory, not a file: notes.txt is a file"),
    ],
)
def test_user_errors_exit_without_traceback(run_cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a run\n")
    code, out, err = run_cli(*args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err + out


def test_existing_run_name_is_refused(run_cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("precious")
    code, out, err = run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "taken")
    assert code == 1
    assert "already exists" in err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]


def test_resume_rejects_fixed_options(run_cli, tmp_path):
    assert run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "r")[0] == 0
    code, out, err = run_cli("train", "--resume", tmp_path / "r", "--lr", "0.1", "--steps", "8")
    assert code == 1
    assert "--lr-d, --lr-g cannot change when resuming" in err
    code, out, err = run_cli("train", "--resume", tmp_path / "r")
    assert code == 1
    assert "already reached step 4 of 4; pass --steps N with N > 4" in err


def test_foreign_checkpoint_is_refused_by_sample(run_cli, tmp_path):
    import torch

    torch.save({"weights": torch.zeros(3)}, tmp_path / "model.pt")
    code, out, err = run_cli("sample", tmp_path / "model.pt")
    assert code == 1
    assert "is not a gangan checkpoint" in err


def test_unwritable_output_names_the_path(run_cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", blocker / "runs")
    assert code == 1
    assert str(blocker / "runs") in err


def test_full_disk_names_the_checkpoint(run_cli, tmp_path, monkeypatch):
    import errno

    import torch

    def full_disk(obj, stream, *args, **kwargs):
        stream.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    code, out, err = run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "full")
    assert code == 1
    assert f"could not write checkpoint {tmp_path / 'full' / 'checkpoints' / 'last.pt'}" in err
    assert "free disk space" in err
    assert "Traceback" not in err + out
    assert not list((tmp_path / "full" / "checkpoints").glob("*.tmp"))


def test_divergence_before_any_checkpoint(run_cli, tmp_path):
    code, out, err = run_cli("train", "gan", "--dataset", "digits", *QUICK, "--lr", "1e30", "--out", tmp_path)
    assert code == 1
    assert "diverged" in err
    assert "No checkpoint had been written yet" in err


def test_resume_rejects_a_copied_checkpoint(run_cli, tmp_path):
    import shutil

    assert run_cli("train", "gan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "g")[0] == 0
    assert run_cli("train", "dcgan", "--dataset", "digits", *QUICK, "--out", tmp_path, "--name", "d")[0] == 0
    shutil.copy(tmp_path / "g" / "checkpoints" / "last.pt", tmp_path / "d" / "checkpoints" / "last.pt")
    code, out, err = run_cli("train", "--resume", tmp_path / "d", "--steps", "6")
    assert code == 1
    assert "does not match this run" in err
    assert "model.name 'gan' (checkpoint) vs 'dcgan'" in err
    assert "name: dcgan" in (tmp_path / "d" / "config.yaml").read_text()


def test_config_file_reproduces_a_run(run_cli, tmp_path):
    assert run_cli("train", "gan", "--dataset", "digits", *QUICK, "--seed", "5", "--out", tmp_path, "--name", "a")[0] == 0
    code, out, err = run_cli("train", "--config", tmp_path / "a" / "config.yaml", "--out", tmp_path, "--name", "b")
    assert code == 0, err
    strip = lambda records: [{k: v for k, v in r.items() if k != "steps_per_s"} for r in records]  # noqa: E731
    assert strip(read_jsonl(tmp_path / "a" / "metrics.jsonl")) == strip(read_jsonl(tmp_path / "b" / "metrics.jsonl"))


def test_models_and_datasets_listings(run_cli):
    code, out, _ = run_cli("models")
    assert code == 0
    assert "gan" in out and "dcgan" in out and "28, 32, 64" in out
    code, out, _ = run_cli("datasets")
    assert code == 0
    for name in ("mnist", "fashion-mnist", "kmnist", "cifar10", "digits", "folder:PATH"):
        assert name in out


def test_ctrl_c_saves_checkpoint_and_exits_cleanly(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "gangan", "train", "gan", "--dataset", "digits", "--steps", "1000000",
               "--batch-size", "16", "--log-every", "5", "--device", "cpu", "--out", str(tmp_path), "--name", "live"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    metrics = tmp_path / "live" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.stat().st_size > 0):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never logged"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "stopped at step" in out
    assert "gangan train --resume" in out
    assert "Traceback" not in err
    from gangan.training import load_checkpoint

    assert load_checkpoint(tmp_path / "live" / "checkpoints" / "last.pt")["step"] >= 5


def test_failed_start_leaves_no_run_directory(run_cli, tmp_path):
    code, out, err = run_cli("train", "gan", "--dataset", f"folder:{tmp_path / 'absent'}", *QUICK, "--out", tmp_path / "runs", "--name", "nf")
    assert code == 1
    assert "image folder not found" in err
    assert not (tmp_path / "runs" / "nf").exists()
