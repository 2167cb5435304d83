"""Evaluation end to end: classifier, reference data, runs, folders, provenance, training hook."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch

from conftest import tiny_config
from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.evaluation import (
    ClassifierExtractor,
    evaluate_folder,
    evaluate_images,
    evaluate_run,
    load_classifier,
    load_reference,
    save_classifier,
    train_classifier,
)
from gangan.evaluation.features import INCEPTION_FILE, InceptionExtractor, StackedClassifierExtractor
from gangan.images import save_images, to_uint8
from gangan.metrics import stacked_mode_labels
from gangan.monitor.writers import read_jsonl
from gangan.training import Trainer, create_run_dir, load_checkpoint, load_generator_run, save_checkpoint

ALL = ["fid", "kid", "is", "pr", "coverage"]
TINY_STEPS = 150


@pytest.fixture(scope="module")
def digits_classifier_file(tmp_path_factory):
    """A digits classifier trained for a few hundred steps, saved like `evaluator train --out`."""
    trained = train_classifier("digits", steps=TINY_STEPS, seed=0)
    path = tmp_path_factory.mktemp("classifier") / "digits.pt"
    save_classifier(trained, path)
    return path


@pytest.fixture
def extractor(digits_classifier_file):
    return ClassifierExtractor(load_classifier(digits_classifier_file))


@pytest.fixture
def small_steps(monkeypatch):
    """Make classifiers trained on demand (the cache is empty in every test) quick."""
    monkeypatch.setattr("gangan.evaluation.classifier.DEFAULT_STEPS", TINY_STEPS)


def _train_run(tmp_path, name="run", **overrides):
    config = tiny_config("gan", **overrides)
    run_dir = create_run_dir(tmp_path, name, config.model.name, config.data.dataset)
    return Trainer(config, run_dir).run().run_dir


def _one_image_run(tmp_path, image: torch.Tensor):
    """A run whose generator ignores z and always draws `image` (C, H, W) in [-1, 1]."""
    run = _train_run(tmp_path, "collapsed")
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    G = state["networks"]["G"]
    G["net.2.weight"].zero_()
    G["net.2.bias"].copy_(torch.atanh(image.flatten().clamp(-0.999, 0.999)))
    save_checkpoint(state, path)
    return run


def test_classifier_learns_digits(digits_classifier_file):
    trained = load_classifier(digits_classifier_file)
    assert trained.info.test_accuracy > 0.8
    assert (trained.info.train_split, trained.info.test_split) == ("train", "test")
    assert (trained.info.n_train, trained.info.n_test) == (1500, 297)
    assert len(trained.weights_sha256) == 64


def test_classifier_training_keeps_global_rng():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_classifier("digits", steps=2, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_classifier_holds_out_part_of_single_split(mnist_dir):
    trained = train_classifier("mnist", data_root=mnist_dir.parent, split="test", steps=2)
    assert trained.info.train_split == "test (other 8000 of 10000)"
    assert trained.info.test_split == "test (held-out 2000 of 10000)"


def test_real_against_real_is_small_with_full_coverage(extractor):
    reference = load_reference("digits", "train", 1500)
    real = load_dataset("digits", "test").images
    result = evaluate_images(real, reference, extractor, ALL)
    scores = result.scores
    assert scores["coverage"] == 10
    assert scores["coverage_kl"] < 0.05
    assert scores["precision"] > 0.6
    assert scores["recall"] > 0.6
    assert scores["is"] > 5

    # One image repeated: one class, a FID far above the real floor, nothing recalled.
    collapsed = real[:1].repeat(297, 1, 1, 1)
    bad = evaluate_images(collapsed, reference, extractor, ALL).scores
    assert bad["coverage"] == 1
    assert bad["fid"] > 10 * scores["fid"]
    assert bad["kid"] > 10 * scores["kid"]
    assert bad["is"] == pytest.approx(1.0, abs=1e-3)
    assert bad["recall"] < 0.01


def test_features_do_not_depend_on_batch_size(extractor):
    images = load_dataset("digits", "test").images
    whole = extractor.extract(images, batch_size=500)
    pieces = extractor.extract(images, batch_size=7)
    assert torch.allclose(whole.features, pieces.features, atol=1e-5)
    assert torch.allclose(whole.logits, pieces.logits, atol=1e-5)


def test_png_folder_scores_equal_in_memory_scores(tmp_path, extractor, digits_classifier_file):
    fake = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    save_images(fake, tmp_path / "fake")
    reference = load_reference("digits", "test", 10000)
    in_memory = evaluate_images(to_uint8(fake), reference, extractor, ALL).scores
    from_files = evaluate_folder(tmp_path / "fake", "digits", ALL, "classifier", "test", classifier_path=digits_classifier_file).scores
    assert from_files.pop("class_shares") == in_memory.pop("class_shares")
    assert from_files == pytest.approx(in_memory, rel=1e-9)


def test_evaluate_cli_scores_a_folder(tmp_path, run_cli, digits_classifier_file):
    save_images(load_dataset("digits", "test").images[:50].float() / 127.5 - 1, tmp_path / "fake")
    code, out, err = run_cli("evaluate", "--real", tmp_path / "fake", "--dataset", "digits",
                             "--classifier", digits_classifier_file, "--metrics", "fid,coverage")
    assert code == 0, err
    assert "classes covered" in out
    record = read_jsonl(tmp_path / "fake" / "evaluations.jsonl")[0]
    assert record["folder"] == str(tmp_path / "fake")
    assert record["provenance"]["reference"] == "digits test"
    assert record["provenance"]["n_generated"] == 50
    assert record["scores"]["coverage"] >= 8


def test_run_with_one_output_image_covers_one_class(tmp_path, digits_classifier_file):
    image = load_dataset("digits", "train").images[0].float() / 127.5 - 1
    collapsed = _one_image_run(tmp_path, image)
    result = evaluate_run(collapsed, ["fid", "coverage"], n=300, classifier_path=digits_classifier_file)
    assert result.scores["coverage"] == 1
    assert max(result.scores["class_shares"]) == 1.0
    # The reference is the run's training split, at most n images of it.
    assert result.provenance["reference"] == "digits train"
    assert result.provenance["n_real"] == 300
    assert result.extra["step"] == 6


def test_evaluate_cli_prints_scores_and_appends_provenance(tmp_path, run_cli, small_steps):
    run = _train_run(tmp_path)
    code, out, err = run_cli("evaluate", run, "--n", "200", "--seed", "3")
    assert code == 0, err
    for label in ("FID", "KID", "Inception Score", "precision", "recall", "classes covered", "provenance:"):
        assert label in out
    records = read_jsonl(run / "evaluations.jsonl")
    assert len(records) == 1
    record = records[0]
    assert set(record["scores"]) >= {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "coverage", "coverage_kl"}
    provenance = record["provenance"]
    assert provenance["features"] == "classifier"
    assert len(provenance["weights_sha256"]) == 64
    assert (provenance["n_generated"], provenance["n_real"]) == (200, 200)
    assert provenance["reference"] == "digits train"
    assert provenance["seed"] == 3
    assert provenance["resize"].startswith("none")
    assert provenance["gangan_version"]
    assert record["step"] == 6
    assert record["checkpoint"].endswith("last.pt")

    # The same seed gives the same scores: the cached classifier and reference are reused.
    code, _, err = run_cli("evaluate", run, "--n", "200", "--seed", "3", "--metrics", "fid")
    assert code == 0, err
    second = read_jsonl(run / "evaluations.jsonl")[1]
    assert second["scores"]["fid"] == pytest.approx(record["scores"]["fid"], rel=1e-9)
    assert second["provenance"]["weights_sha256"] == provenance["weights_sha256"]


def test_evaluator_train_cli_prints_accuracy(tmp_path, run_cli):
    code, out, err = run_cli("evaluator", "train", "--dataset", "digits", "--steps", "60", "--out", tmp_path / "c.pt")
    assert code == 0, err
    assert "digits classifier: test accuracy" in out
    assert "on test (297 images); trained on train (1,500 images, 60 steps, seed 0)" in out
    assert load_classifier(tmp_path / "c.pt").info.steps == 60


def test_eval_every_logs_fid_and_keeps_best(tmp_path, small_steps):
    config = tiny_config("gan", train_steps=8, train_eval_every=4, train_log_every=2, train_eval_n=100)
    run_dir = create_run_dir(tmp_path, "eval", config.model.name, config.data.dataset)
    Trainer(config, run_dir).run()
    records = read_jsonl(run_dir / "metrics.jsonl")
    with_fid = [r for r in records if "fid" in r]
    assert [r["step"] for r in with_fid] == [4, 8]
    assert all(r["fid"] >= 0 and 1 <= r["coverage"] <= 10 for r in with_fid)
    evaluations = read_jsonl(run_dir / "evaluations.jsonl")
    assert [e["step"] for e in evaluations] == [4, 8]
    assert evaluations[0]["provenance"]["n_generated"] == 100

    best_step = min(with_fid, key=lambda r: r["fid"])["step"]
    best = load_checkpoint(run_dir / "checkpoints" / "best.pt")
    assert best["step"] == best_step
    assert best["evaluator"]["best_fid"] == pytest.approx(min(r["fid"] for r in with_fid))
    assert load_generator_run(run_dir / "checkpoints" / "best.pt").step == best_step


def test_resume_forgets_later_training_evaluations(tmp_path, small_steps):
    config = tiny_config("gan", train_steps=8, train_eval_every=2, train_log_every=2, train_checkpoint_every=4, train_eval_n=50)
    run_dir = create_run_dir(tmp_path, "eval", config.model.name, config.data.dataset)
    Trainer(config, run_dir).run()
    # Pretend the run stopped at its step-4 checkpoint, after evaluating steps 6 and 8.
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    state["evaluator"]["last_step"] = 4
    with open(run_dir / "evaluations.jsonl", "a", encoding="utf-8") as stream:
        stream.write(json.dumps({"step": 6, "scores": {}, "provenance": {}}) + "\n")

    from gangan.evaluation.training import TrainingEvaluator

    evaluator = TrainingEvaluator(config, run_dir)
    evaluator.load_state_dict(state["evaluator"])
    steps = [(record.get("source"), record["step"]) for record in read_jsonl(run_dir / "evaluations.jsonl")]
    assert steps == [("training", 2), ("training", 4), (None, 6)]
    assert evaluator.best_fid == state["evaluator"]["best_fid"]


def test_eval_every_does_not_change_training(tmp_path, small_steps):
    plain = tiny_config("gan", train_steps=8, train_log_every=2)
    evaluated = tiny_config("gan", train_steps=8, train_log_every=2, train_eval_every=4, train_eval_n=50)
    losses = []
    for name, config in (("plain", plain), ("evaluated", evaluated)):
        run_dir = create_run_dir(tmp_path, name, config.model.name, config.data.dataset)
        Trainer(config, run_dir).run()
        losses.append([(r["loss_D"], r["loss_G"]) for r in read_jsonl(run_dir / "metrics.jsonl")])
    assert losses[0] == losses[1]


def test_eval_every_must_be_multiple_of_log_every():
    with pytest.raises(GanganError, match=r"invalid --eval-every 3: must be a multiple of --log-every \(2\)"):
        tiny_config("gan", train_eval_every=3)


def test_error_for_too_few_samples(tmp_path, run_cli, extractor):
    reference = load_reference("digits", "test", 100)
    with pytest.raises(GanganError, match="N=1 generated image"):
        evaluate_images(reference.images[:1], reference, extractor, ["fid"])
    code, _, err = run_cli("evaluate", tmp_path, "--n", "1")
    assert code == 1
    assert "invalid --n 1: the metrics need at least 2" in err


def test_error_for_other_image_size(tmp_path, mnist_dir, digits_classifier_file):
    run = _train_run(tmp_path)
    with pytest.raises(GanganError, match=r"are 1x8x8 .* reference images of mnist are 1x28x28"):
        evaluate_run(run, ["fid"], n=50, dataset="mnist", reference_split="test", data_root=mnist_dir.parent,
                     classifier_path=digits_classifier_file)


def test_error_for_folder_of_other_size(tmp_path, digits_classifier_file):
    save_images(torch.zeros(4, 1, 10, 10), tmp_path / "fake")
    with pytest.raises(GanganError, match=r"are 1x10x10 .* reference images of digits are 1x8x8"):
        evaluate_folder(tmp_path / "fake", "digits", ["fid"], classifier_path=digits_classifier_file)


def test_cli_errors(tmp_path, run_cli):
    cases = [
        (("evaluate",), "pass either RUN"),
        (("evaluate", "--real", tmp_path), "--real FOLDER needs --dataset NAME"),
        (("evaluate", tmp_path / "missing"), "run directory or checkpoint not found"),
        (("evaluator", "train", "--dataset", "folder:" + str(tmp_path)), "has no class labels"),
    ]
    run = _train_run(tmp_path)
    cases.append((("evaluate", run, "--metrics", "fid,bogus"), "unknown metric 'bogus' in --metrics; valid metrics: fid, kid"))
    cases.append((("evaluate", run, "--features", "vgg"), "invalid --features 'vgg'; valid values: auto, classifier, inception"))
    for args, message in cases:
        code, _, err = run_cli(*args)
        assert code == 1, args
        assert message in err, (args, err)


def _random_inception_weights(path):
    """Write randomly initialised weights of torch-fidelity's FID Inception-v3 to `path`."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Unloaded(FeatureExtractorInceptionV3):
        # Skip the load in __init__, which would read the (empty) placeholder file.
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return None

    placeholder = path.with_suffix(".empty")
    torch.save({}, placeholder)
    torch.manual_seed(0)
    network = Unloaded("random", ["2048"], feature_extractor_weights_path=str(placeholder))
    torch.save(network.state_dict(), path)


def test_missing_inception_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GANGAN_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(GanganError, match=f"Inception-v3 weights not found at .*{INCEPTION_FILE}.*copy it to .*gangan/weights"):
        InceptionExtractor()
    with pytest.raises(GanganError, match="not found at /nowhere/w.pth.*--inception-weights PATH or set GANGAN_INCEPTION_WEIGHTS"):
        InceptionExtractor("/nowhere/w.pth")


def test_inception_rejects_pickled_code(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps(print))
    with pytest.raises(GanganError, match="not a weights-only PyTorch state dict"):
        InceptionExtractor(path)


def test_inception_plumbing_with_random_weights(tmp_path, monkeypatch):
    weights = tmp_path / "random-inception.pth"
    _random_inception_weights(weights)
    monkeypatch.setenv("GANGAN_INCEPTION_WEIGHTS", str(weights))
    extractor = InceptionExtractor(image_channels=1, image_size=8)
    # A few images only: each one is resized to 299x299 and costs about 6 GFLOP.
    images = load_dataset("digits", "test").images[:4]
    extracted = extractor.extract(images, batch_size=3)
    assert extracted.features.shape == (4, 2048)
    assert extracted.logits.shape == (4, 1008)
    assert torch.isfinite(extracted.features).all()
    assert torch.allclose(extractor.extract(images, batch_size=4).features, extracted.features, atol=1e-4)

    reference = load_reference("digits", "train", 4)
    result = evaluate_images(images, reference, extractor, ["fid"])
    assert math.isfinite(result.scores["fid"])
    assert result.scores["fid"] >= 0
    assert result.provenance["features"] == "inception"
    from gangan.evaluation.cache import file_digest

    assert result.provenance["weights_sha256"] == file_digest(weights)
    with pytest.raises(GanganError, match="--metrics coverage needs the dataset's classes"):
        evaluate_images(images, reference, extractor, ["coverage"])


def test_stacked_mnist_dataset(mnist_dir):
    data = load_dataset("stacked-mnist", "test", mnist_dir.parent)
    mnist = load_dataset("mnist", "test", mnist_dir.parent)
    assert data.images.shape == (10000, 3, 28, 28)
    assert data.num_classes == 1000
    assert data.labels.unique().numel() > 990
    # Every channel is one MNIST digit image, and the label spells the three digits.
    first = data.images[0]
    for channel, digit in enumerate((int(data.labels[0]) // 100, int(data.labels[0]) // 10 % 10, int(data.labels[0]) % 10)):
        matches = (mnist.images[:, 0] == first[channel]).flatten(1).all(dim=1)
        assert matches.any()
        assert int(mnist.labels[matches][0]) == digit


def test_stacked_extractor_joint_classes_match_channel_digits():
    from gangan.evaluation.classifier import ClassifierInfo, TrainedClassifier
    from gangan.models.classifier import EvalClassifier

    torch.manual_seed(0)
    model = EvalClassifier(1, 10, 28).eval()
    info = ClassifierInfo("mnist", "test", "test", 1, 1, 0.1, 1, 0, "x")
    extractor = StackedClassifierExtractor(TrainedClassifier(model, info, "0" * 64, None))
    images = torch.randint(0, 256, (40, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    extracted = extractor.extract(images)
    digits = extractor.channel_digits(images)
    assert extracted.features.shape == (40, 384)
    assert extracted.logits.shape == (40, 1000)
    assert torch.equal(extracted.logits.argmax(dim=1), stacked_mode_labels(digits))
    # The joint logits are log-probabilities of independent channels: they sum to one.
    assert torch.allclose(extracted.logits.exp().sum(dim=1), torch.ones(40), atol=1e-4)
