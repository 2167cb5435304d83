"""Scoring generated images against a reference dataset, with a provenance record per score.

`evaluate_images` is the core: uint8 generated images and a reference in, scores and
provenance out. `evaluate_run` samples a run's generator first; `evaluate_folder` reads
image files. Metrics are looked up by name in `METRICS`, a plain table of functions from
`EvalInputs` to a dict of scores.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from gangan import __version__
from gangan.data import dataset_spec
from gangan.errors import GanganError
from gangan.evaluation.classifier import classifier_dataset, get_classifier, load_classifier
from gangan.evaluation.features import (
    ClassifierExtractor,
    Extracted,
    FeatureExtractor,
    InceptionExtractor,
    StackedClassifierExtractor,
    resize_uint8,
)
from gangan.evaluation.reference import Reference, load_reference, reference_features
from gangan.images import to_uint8
from gangan.metrics import (
    class_coverage,
    count_modes,
    fid_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)

logger = logging.getLogger(__name__)

FEATURES = ("auto", "classifier", "inception")
DEFAULT_METRICS = ("fid", "kid", "is", "pr", "coverage")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


@dataclass
class EvalInputs:
    """Everything a metric function may use.

    real, fake: features and logits of reference and generated images. real_images,
    fake_images: the uint8 images (N, C, H, W) as the extractor saw them. run: the loaded
    run (`gangan.training.sampling.LoadedRun`) when a checkpoint is evaluated, else None.
    """

    real: Extracted
    fake: Extracted
    real_images: torch.Tensor
    fake_images: torch.Tensor
    reference: Reference
    extractor: FeatureExtractor
    seed: int
    run: object | None = None


def _fid(inputs: EvalInputs) -> dict:
    return {"fid": fid_from_features(inputs.real.features, inputs.fake.features)}


def _kid(inputs: EvalInputs) -> dict:
    mean, std = kernel_inception_distance(inputs.real.features, inputs.fake.features, seed=inputs.seed)
    return {"kid": mean, "kid_std": std}


def _inception_score(inputs: EvalInputs) -> dict:
    mean, std = inception_score(inputs.fake.logits, seed=inputs.seed)
    real_mean, _ = inception_score(inputs.real.logits, seed=inputs.seed)
    return {"is": mean, "is_std": std, "is_real": real_mean}


def _precision_recall(inputs: EvalInputs) -> dict:
    precision, recall = precision_recall(inputs.real.features, inputs.fake.features)
    return {"precision": precision, "recall": recall}


def _require_classifier(inputs: EvalInputs, metric: str) -> None:
    if inputs.extractor.kind != "classifier" or inputs.reference.num_classes is None:
        raise GanganError(f"--metrics {metric} needs the dataset's classes: use --features classifier on a labelled dataset")


def _coverage(inputs: EvalInputs) -> dict:
    _require_classifier(inputs, "coverage")
    predicted = inputs.fake.logits.argmax(dim=1)
    coverage = class_coverage(predicted, inputs.extractor.num_classes, inputs.reference.class_shares)
    return {"coverage": coverage.covered, "coverage_classes": coverage.num_classes,
            "coverage_kl": coverage.kl, "class_shares": list(coverage.shares)}


def _modes(inputs: EvalInputs) -> dict:
    if not isinstance(inputs.extractor, StackedClassifierExtractor):
        raise GanganError("--metrics modes counts Stacked MNIST modes: evaluate a run trained on --dataset stacked-mnist with --features classifier")
    modes = count_modes(inputs.extractor.channel_digits(inputs.fake_images))
    return {"modes": modes.covered, "modes_total": modes.total, "modes_kl": modes.kl}


def _labels(inputs: EvalInputs) -> dict:
    from gangan.metrics.labels import fid_per_class, label_accuracy

    _require_classifier(inputs, "labels")
    run = inputs.run
    if run is None or getattr(run.algorithm, "num_classes", None) is None:
        raise GanganError("--metrics labels scores a conditional generator: evaluate a cgan run")
    # As many images as the other metrics score, split evenly across the classes, one seed.
    K = run.algorithm.num_classes
    per_class = max(2, inputs.fake_images.shape[0] // K)
    images, _ = _prepare(to_uint8(run.sample_classes(None, per_class, seed=inputs.seed)), inputs.extractor)
    fake = inputs.extractor.extract(images, what="images generated per class")
    requested = torch.arange(K).repeat_interleave(per_class)
    mean, per_class_accuracy = label_accuracy(fake.logits.argmax(dim=1), requested, K)
    scores = {"label_accuracy": mean, "label_accuracy_per_class": per_class_accuracy}
    if inputs.reference.labels is not None:
        scores["fid_per_class"] = fid_per_class(inputs.real.features, inputs.reference.labels, fake.features, requested, K)
    return scores


def _nll(inputs: EvalInputs) -> dict:
    from gangan.metrics.nll import nll_scores

    # Importance-weighted NLL (k = 200) of the reference images, binarised, under a vae run.
    return nll_scores(inputs.run, inputs.reference.images, inputs.seed)


# Name -> function from EvalInputs to scores. Add a metric by adding an entry.
METRICS: dict[str, Callable[[EvalInputs], dict]] = {
    "fid": _fid,
    "kid": _kid,
    "is": _inception_score,
    "pr": _precision_recall,
    "coverage": _coverage,
    "modes": _modes,
    "nll": _nll,
    "labels": _labels,
}


def default_metrics(dataset: str, features: str) -> list[str]:
    """Return the metrics run without --metrics: all of DEFAULT_METRICS that the extractor serves.

    Coverage needs the classifier of a labelled dataset; Stacked MNIST adds the mode count.
    """
    spec = dataset_spec(dataset)
    labelled = spec.num_classes is not None and features != "inception"
    names = [name for name in DEFAULT_METRICS if name != "coverage" or labelled]
    if spec.kind == "stacked" and labelled:
        names.append("modes")
    return names


def parse_metrics(text: str) -> list[str]:
    """Split "fid,kid" into names and check each against METRICS."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise GanganError(f"--metrics is empty; choose from {', '.join(METRICS)}")
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise GanganError(f"unknown metric '{unknown[0]}' in --metrics; valid metrics: {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


@dataclass
class EvaluationResult:
    """Scores by name, with the provenance that records how they were computed."""

    scores: dict
    provenance: dict
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def record(self) -> dict:
        """Return the JSON object appended to evaluations.jsonl."""
        return {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **self.extra,
                "scores": self.scores, "provenance": self.provenance}


def build_extractor(
    features: str,
    dataset: str,
    data_root: str | os.PathLike | None = None,
    classifier_path: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
    seed: int = 0,
) -> FeatureExtractor:
    """Return the feature extractor for a dataset.

    "auto" picks the classifier for labelled datasets and Inception for the rest. The
    classifier comes from `classifier_path` or from the cache, trained first when absent.
    """
    if features not in FEATURES:
        raise GanganError(f"invalid --features '{features}'; valid values: {', '.join(FEATURES)}")
    spec = dataset_spec(dataset)
    if features == "auto":
        features = "classifier" if spec.num_classes is not None else "inception"
    if features == "inception":
        return InceptionExtractor(inception_weights)
    if spec.num_classes is None:
        raise GanganError(f"dataset {dataset} has no labels, so it has no classifier; use --features inception")
    trained = load_classifier(classifier_path) if classifier_path else get_classifier(dataset, data_root)
    if classifier_dataset(dataset) != trained.info.dataset:
        raise GanganError(f"the classifier {classifier_path} was trained on {trained.info.dataset}, not {classifier_dataset(dataset)}")
    if spec.kind == "stacked":
        return StackedClassifierExtractor(trained)
    return ClassifierExtractor(trained)


def _check_same_shape(fake: torch.Tensor, reference: Reference, what: str) -> None:
    if tuple(fake.shape[1:]) != tuple(reference.images.shape[1:]):
        c, h, w = fake.shape[1:]
        rc, rh, rw = reference.images.shape[1:]
        raise GanganError(
            f"{what} are {c}x{h}x{w} (channels x height x width) but the reference images of {reference.dataset} "
            f"are {rc}x{rh}x{rw}; compare against the dataset and image size the images were made for"
        )


def _prepare(images: torch.Tensor, extractor: FeatureExtractor) -> tuple[torch.Tensor, str]:
    """Resize uint8 images to the classifier's size when they differ; Inception resizes inside."""
    if extractor.kind != "classifier" or images.shape[-1] == extractor.image_size:
        return images, extractor.resize
    resized = resize_uint8(images, extractor.image_size)
    method = f"{images.shape[-1]}x{images.shape[-1]} to {extractor.image_size}x{extractor.image_size}, antialiased bilinear on uint8"
    return resized, method


def evaluate_images(
    fake: torch.Tensor,
    reference: Reference,
    extractor: FeatureExtractor,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    seed: int = 0,
    run: object | None = None,
    what: str = "generated images",
) -> EvaluationResult:
    """Score uint8 generated images (N, C, H, W) against a reference.

    Raises:
        GanganError: fewer than 2 images, shapes that differ from the reference, or a
            metric that the extractor cannot serve.
    """
    started = time.perf_counter()
    if fake.dtype != torch.uint8:
        raise TypeError(f"evaluate_images takes uint8 images from gangan.images.to_uint8, got {fake.dtype}")
    if fake.shape[0] < 2:
        raise GanganError(f"N={fake.shape[0]} generated image(s); the metrics need at least 2, pass a larger --n")
    _check_same_shape(fake, reference, what)
    fake_in, resize = _prepare(fake, extractor)
    real_in, _ = _prepare(reference.images, extractor)
    inputs = EvalInputs(
        real=reference_features(reference, extractor, real_in),
        fake=extractor.extract(fake_in, what=what),
        real_images=real_in,
        fake_images=fake_in,
        reference=reference,
        extractor=extractor,
        seed=seed,
        run=run,
    )
    scores: dict = {}
    for name in metrics:
        scores.update(METRICS[name](inputs))
    provenance = {
        "features": extractor.kind,
        "extractor": extractor.description,
        "weights_sha256": extractor.weights_sha256,
        "n_generated": int(fake.shape[0]),
        "n_real": len(reference),
        "reference": f"{reference.dataset} {reference.split}",
        "reference_sha256": reference.digest,
        "image_shape": list(fake.shape[1:]),
        "resize": resize,
        "quantisation": "uint8 via gangan.images.to_uint8",
        "seed": seed,
        "metrics": list(metrics),
        "gangan_version": __version__,
    }
    return EvaluationResult(scores, provenance, time.perf_counter() - started)


def evaluate_run(
    path: str | os.PathLike,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    n: int = 10000,
    features: str = "auto",
    reference_split: str | None = None,
    seed: int = 0,
    dataset: str | None = None,
    data_root: str | os.PathLike | None = None,
    classifier_path: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
    device: str = "auto",
) -> EvaluationResult:
    """Sample `n` images from a run's generator with `seed` and score them.

    The reference is the run's own dataset and training split (or `reference_split`),
    loaded at the run's image size and channels; `dataset` compares against another
    dataset at its own shape instead.
    """
    from gangan.training import load_generator_run

    if n < 2:
        raise GanganError(f"invalid --n {n}: the metrics need at least 2 generated images")
    loaded = load_generator_run(path, device)
    cfg = loaded.config
    root = data_root or cfg.data.root
    if dataset is None or dataset == cfg.data.dataset:
        dataset, size, channels = cfg.data.dataset, cfg.data.image_size, cfg.data.channels
    else:
        size, channels = None, None
    split = reference_split or cfg.data.split
    reference = load_reference(dataset, split, n, root, size, channels)
    fake = to_uint8(loaded.sample(n, seed=seed))
    what = f"images of {loaded.checkpoint}"
    _check_same_shape(fake, reference, what)
    extractor = build_extractor(features, dataset, root, classifier_path, inception_weights)
    result = evaluate_images(fake, reference, extractor, metrics, seed, run=loaded, what=what)
    result.extra = {"checkpoint": str(loaded.checkpoint), "step": loaded.step, "model": cfg.model.name}
    return result


def read_image_folder(folder: str | os.PathLike, channels: int) -> torch.Tensor:
    """Read every image under a folder (sorted, recursive) as uint8 (N, C, H, W), without resizing.

    Raises:
        GanganError: the folder is missing, contains no readable image, or images differ in size.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise GanganError(f"image folder not found: {folder}")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    mode = "L" if channels == 1 else "RGB"
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                array = torch.from_numpy(__import__("numpy").asarray(image.convert(mode)).copy())
        except (UnidentifiedImageError, OSError) as error:
            raise GanganError(f"cannot read {path} as an image ({error})") from None
        images.append(array.unsqueeze(0) if channels == 1 else array.permute(2, 0, 1))
    if not images:
        raise GanganError(f"no .png, .jpg, .jpeg or .webp image under {folder}")
    shapes = {tuple(image.shape) for image in images}
    if len(shapes) > 1:
        raise GanganError(f"images under {folder} differ in size ({', '.join(map(str, sorted(shapes)))}); every image must have the same size")
    return torch.stack(images)


def evaluate_folder(
    folder: str | os.PathLike,
    dataset: str,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    features: str = "auto",
    reference_split: str = "test",
    n_real: int = 10000,
    seed: int = 0,
    data_root: str | os.PathLike | None = None,
    classifier_path: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
) -> EvaluationResult:
    """Score a folder of generated images against a dataset split at the dataset's own shape."""
    spec = dataset_spec(dataset)
    fake = read_image_folder(folder, spec.channels)
    reference = load_reference(dataset, reference_split, n_real, data_root)
    what = f"images under {folder}"
    _check_same_shape(fake, reference, what)
    extractor = build_extractor(features, dataset, data_root, classifier_path, inception_weights)
    result = evaluate_images(fake, reference, extractor, metrics, seed, what=what)
    result.extra = {"folder": str(folder)}
    return result


def append_record(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON object as a line to `path` (evaluations.jsonl), flushed at once."""
    path = Path(path)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
        stream.flush()


def run_dir_of(checkpoint: str | os.PathLike) -> Path:
    """Return the run directory of a checkpoint file (the folder above checkpoints/)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
