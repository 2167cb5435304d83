"""sgan: the labelled subset, the three disjoint streams, the K-class D, baseline, resume and classify."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_config

from gangan.algorithms import build_algorithm
from gangan.algorithms.semi_supervised import choose_labeled
from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.models.sgan import real_fake_logit
from gangan.training import Trainer, create_run_dir, load_checkpoint


def test_labelled_subset_is_balanced_and_seeded():
    labels = torch.arange(1000) % 10
    chosen = choose_labeled(labels, 100, 10, seed=7)
    assert chosen.shape == (100,)
    assert chosen.unique().shape == (100,)
    assert torch.bincount(labels[chosen], minlength=10).tolist() == [10] * 10
    assert torch.equal(chosen, choose_labeled(labels, 100, 10, seed=7))
    assert not torch.equal(chosen, choose_labeled(labels, 100, 10, seed=8))


def test_labelled_subset_errors():
    labels = torch.arange(1000) % 10
    with pytest.raises(GanganError, match=r"invalid --labeled 2000: the training data contains only 1000 images"):
        choose_labeled(labels, 2000, 10, seed=0)
    with pytest.raises(GanganError, match=r"invalid --labeled 105: it must split evenly across the 10 classes; use a multiple of 10 such as 100"):
        choose_labeled(labels, 105, 10, seed=0)
    skewed = torch.cat([torch.zeros(5, dtype=torch.int64), torch.ones(995, dtype=torch.int64)])
    with pytest.raises(GanganError, match=r"class 0 has only 5 images, fewer than the 50 per class"):
        choose_labeled(skewed, 100, 2, seed=0)


def test_real_fake_logit_is_log_of_z():
    logits = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    expected = torch.log(torch.exp(logits).sum(1))
    assert torch.allclose(real_fake_logit(logits), expected)
    # D(x) = Z / (Z + 1): two zero logits give Z = 2 and D(x) = 2/3.
    assert torch.sigmoid(real_fake_logit(logits))[0].item() == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train", None, 8, 1)


def test_streams_are_disjoint_and_cover_the_data(digits):
    algorithm = build_algorithm(tiny_config("sgan", "digits", model_labeled=50), torch.device("cpu"))
    algorithm.attach_data(digits)
    labelled = set(algorithm.labeled_index.tolist())
    assert len(labelled) == 50
    assert torch.bincount(digits.labels[algorithm.labeled_index], minlength=10).tolist() == [5] * 10
    # The labelled stream holds exactly the chosen images with their labels; the unlabelled
    # stream holds every other image, none of them labelled.
    assert torch.equal(algorithm.labeled.images, digits.images[algorithm.labeled_index])
    assert torch.equal(algorithm.labeled.labels, digits.labels[algorithm.labeled_index])
    assert algorithm.unlabeled.labels is None
    unlabelled_index = sorted(set(range(len(digits))) - labelled)
    assert torch.equal(algorithm.unlabeled.images, digits.images[unlabelled_index])
    assert algorithm.labeled.batch_size == 16 and algorithm.unlabeled.batch_size == 16


def test_too_many_labels_leave_no_unlabelled_batch(digits):
    config = tiny_config("sgan", "digits", model_labeled=1400, train_batch_size=128)
    algorithm = build_algorithm(config, torch.device("cpu"))
    with pytest.raises(GanganError, match=r"invalid --labeled 1400: it leaves 100 unlabelled images of 1500, fewer than one batch of 128"):
        algorithm.attach_data(digits)


def test_discriminator_is_a_k_class_classifier():
    algorithm = build_algorithm(tiny_config("sgan", "fashion-mnist", model_baseline=True), torch.device("cpu"))
    assert algorithm.D(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # The baseline starts from D's own weights: same network, same start.
    for p_D, p_C in zip(algorithm.D.parameters(), algorithm.networks["C"].parameters()):
        assert torch.equal(p_D, p_C)
    probs = algorithm.classify(torch.zeros(3, 1, 28, 28))
    assert probs.shape == (3, 10) and torch.allclose(probs.sum(1), torch.ones(3))


def test_training_steps_on_mnist_test_split(mnist_dir, tmp_path):
    config = tiny_config("sgan", "mnist", data_split="test", data_root=str(mnist_dir), model_arch="mlp", model_baseline=True)
    run_dir = create_run_dir(tmp_path, "sgan", "sgan", "mnist")
    result = Trainer(config, run_dir).run()
    assert result.step == 6
    record = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    for key in ("loss_D", "loss_supervised", "loss_baseline", "acc_labeled", "baseline_acc_labeled", "D_acc"):
        assert torch.isfinite(torch.tensor(record[key])), key
    assert 0 <= record["acc_labeled"] <= 1
    # Trained on the test split, there is no held-out split left to score.
    assert "test_acc" not in record
    saved = load_checkpoint(run_dir / "checkpoints" / "last.pt")["sgan"]
    assert saved["labeled_index"].shape == (100,)


def _run(tmp_path, name, steps, resume=False):
    config = tiny_config("sgan", "digits", train_steps=steps, model_baseline=True)
    run_dir = tmp_path / name
    if not resume:
        run_dir = create_run_dir(tmp_path, name, "sgan", "digits")
    return Trainer(config, run_dir, resume=resume).run(), run_dir


def test_test_accuracy_is_logged_and_resume_is_identical(tmp_path):
    whole, whole_dir = _run(tmp_path, "whole", 6)
    assert 0 <= whole.last_record["test_acc"] <= 1 and 0 <= whole.last_record["baseline_test_acc"] <= 1
    _run(tmp_path, "split", 3)
    resumed, split_dir = _run(tmp_path, "split", 6, resume=True)
    for key in ("loss_D", "loss_G", "acc_labeled", "test_acc", "baseline_test_acc"):
        assert resumed.last_record[key] == whole.last_record[key], key
    a = load_checkpoint(whole_dir / "checkpoints" / "last.pt")
    b = load_checkpoint(split_dir / "checkpoints" / "last.pt")
    assert torch.equal(a["sgan"]["labeled_index"], b["sgan"]["labeled_index"])
    for name in ("G", "D", "C"):
        for key, value in a["networks"][name].items():
            assert torch.equal(value, b["networks"][name][key]), (name, key)


def test_classify_cli(tmp_path, run_cli):
    from gangan.images import save_images

    _, run_dir = _run(tmp_path, "run", 3)
    images = load_dataset("digits", "test", None, 8, 1).images[:4].float().div(127.5).sub(1)
    save_images(images, tmp_path / "images")
    out = tmp_path / "predictions.csv"
    code, stdout, stderr = run_cli("classify", run_dir, "--input", tmp_path / "images", "--out", out, "--device", "cpu")
    assert code == 0, stderr
    rows = out.read_text().splitlines()
    assert rows[0] == "image,class,name,probability" and len(rows) == 5
    for row in rows[1:]:
        _, c, name, p = row.split(",")
        assert 0 <= int(c) <= 9 and name == c and 0.1 <= float(p) <= 1
    code, _, stderr = run_cli("classify", run_dir, "--input", tmp_path / "missing", "--device", "cpu")
    assert code == 1 and "--input not found" in stderr
    code, _, stderr = run_cli("classify", run_dir, "--input", tmp_path / "images", "--network", "x", "--device", "cpu")
    assert code == 1 and "invalid --network 'x'" in stderr


def test_classify_rejects_a_run_without_classifier(tmp_path, run_cli):
    config = tiny_config("cgan", "digits", train_steps=2)
    run_dir = create_run_dir(tmp_path, "c", "cgan", "digits")
    Trainer(config, run_dir).run()
    (tmp_path / "one.png").write_bytes(b"")
    code, _, stderr = run_cli("classify", run_dir, "--input", tmp_path / "one.png", "--device", "cpu")
    assert code == 1 and "has no classifier" in stderr


def test_labeled_option_is_checked(run_cli, tmp_path):
    code, _, stderr = run_cli("train", "sgan", "-d", "digits", "--labeled", "0", "--out", tmp_path)
    assert code == 1 and "invalid --labeled 0: must be at least 1" in stderr


def test_salimans_arch_noise_in_training_only(tmp_path):
    config = tiny_config("sgan", "digits", model_arch="salimans", model_labeled=50)
    assert config.model.feature_matching and config.optim.lr_D == 3e-3
    run_dir = create_run_dir(tmp_path, "salimans", "sgan", "digits")
    result = Trainer(config, run_dir).run()
    assert torch.isfinite(torch.tensor(result.last_record["loss_G"]))

    D = build_algorithm(config, torch.device("cpu")).D
    images = torch.zeros(4, 1, 8, 8)
    D.eval()
    assert torch.equal(D(images), D(images))
    D.train()
    assert not torch.equal(D(images), D(images))


def test_test_accuracy_for_checkpoint_between_logs(tmp_path):
    from gangan.monitor.writers import read_jsonl

    # log_every 2 and checkpoint_every 3: the checkpoint at step 3 falls inside the interval
    # that ends at step 4, so that record carries the test accuracy, as does the final one.
    _, run_dir = _run(tmp_path, "between", 6)
    records = {record["step"]: record for record in read_jsonl(run_dir / "metrics.jsonl")}
    assert "test_acc" not in records[2]
    assert 0 <= records[4]["test_acc"] <= 1
    assert 0 <= records[6]["test_acc"] <= 1
