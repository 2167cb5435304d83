"""cgan label metrics: label accuracy and per-class FID, alone and through `gangan evaluate`'s metric table."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config

from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.evaluation import evaluate_run, save_classifier, train_classifier
from gangan.metrics.labels import fid_per_class, label_accuracy
from gangan.training import Trainer, create_run_dir, load_checkpoint, save_checkpoint


def test_label_accuracy_golden_values():
    requested = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 2, 0, 0, 0])
    mean, per_class = label_accuracy(predicted, requested, 3)
    assert per_class == [0.5, 1.0, 0.25]
    assert mean == pytest.approx(1.75 / 3)
    with pytest.raises(ValueError, match="no image was generated for class 3"):
        label_accuracy(predicted, requested, 4)


def test_fid_per_class_is_zero_for_identical_features():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(60, 4, generator=generator, dtype=torch.float64)
    labels = torch.arange(3).repeat_interleave(20)
    scores = fid_per_class(features, labels, features, labels, 3)
    assert len(scores) == 3
    for score in scores:
        assert score == pytest.approx(0.0, abs=1e-6)
    # Shifting class 1's generated features by 1 in each of 4 dimensions adds |mu1 - mu2|^2 = 4.
    shifted = features.clone()
    shifted[labels == 1] += 1
    assert fid_per_class(features, labels, shifted, labels, 3)[1] == pytest.approx(4.0, abs=1e-6)


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    path = tmp_path_factory.mktemp("classifier") / "digits.pt"
    save_classifier(train_classifier("digits", steps=100, seed=0), path)
    return path


def test_label_metric_of_a_generator_that_ignores_the_label(tmp_path, digits_classifier):
    config = tiny_config("cgan", "digits")
    run_dir = create_run_dir(tmp_path, "run", "cgan", "digits")
    Trainer(config, run_dir).run()
    # Make G draw the same image for every z and every label.
    path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    image = load_dataset("digits", "train").images[0].float() / 127.5 - 1
    state["networks"]["G"]["base.net.2.weight"].zero_()
    state["networks"]["G"]["base.net.2.bias"].copy_(torch.atanh(image.flatten().clamp(-0.999, 0.999)))
    save_checkpoint(state, path)

    scores = evaluate_run(run_dir, ["labels"], n=200, classifier_path=digits_classifier).scores
    # Every class gets the one image, so exactly one class is right every time: 1 of 10.
    assert sorted(scores["label_accuracy_per_class"]) == [0.0] * 9 + [1.0]
    assert scores["label_accuracy"] == pytest.approx(0.1)
    assert len(scores["fid_per_class"]) == 10


def test_label_metric_needs_a_conditional_run(tmp_path, digits_classifier):
    config = tiny_config("gan", "digits")
    run_dir = create_run_dir(tmp_path, "gan", "gan", "digits")
    Trainer(config, run_dir).run()
    with pytest.raises(GanganError, match="--metrics labels scores a conditional generator: evaluate a cgan run"):
        evaluate_run(run_dir, ["labels"], n=50, classifier_path=digits_classifier)


def test_evaluate_cli_prints_each_class(tmp_path, digits_classifier, run_cli):
    run_dir = create_run_dir(tmp_path, "run", "cgan", "digits")
    Trainer(tiny_config("cgan", "digits"), run_dir).run()

    code, out, err = run_cli("evaluate", run_dir, "--metrics", "labels", "--n", "100", "--classifier", digits_classifier, "--device", "cpu")
    assert code == 0, err
    assert "label accuracy" in out
    assert "9 (9)" in out
