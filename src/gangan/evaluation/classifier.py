"""Training, caching and loading the evaluation classifier of a dataset.

The classifier is trained on the dataset's training split and tested on its test split.
When only the test split is on this machine (MNIST here), it is trained on a seeded 80%
of that split and tested on the other 20%, and the result records which split it used. Trained
weights are cached under $XDG_CACHE_HOME/gangan/evaluators/, keyed by a hash of the
dataset's images and labels, the classifier code revision, the training settings and the seed.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from gangan import __version__
from gangan.data import dataset_spec, dataset_status, load_dataset
from gangan.errors import GanganError
from gangan.evaluation.cache import evaluation_cache_dir, file_digest, tensor_digest, text_digest
from gangan.models.classifier import EvalClassifier
from gangan.training.checkpoint import load_checkpoint, save_checkpoint

logger = logging.getLogger(__name__)

# Bump when the architecture, preprocessing or training recipe changes, so that cached
# classifiers of the old recipe are not reused.
CLASSIFIER_REVISION = 1
DEFAULT_STEPS = 1500
BATCH_SIZE = 128
HOLDOUT_FRACTION = 0.2
# Stacked MNIST samples are scored one channel at a time by the MNIST classifier.
CLASSIFIER_DATASET = {"stacked-mnist": "mnist"}


@dataclass
class ClassifierInfo:
    """Training record of an evaluation classifier, stored with it and in every provenance record."""

    dataset: str
    train_split: str
    test_split: str
    n_train: int
    n_test: int
    test_accuracy: float
    steps: int
    seed: int
    dataset_sha256: str
    revision: int = CLASSIFIER_REVISION
    gangan_version: str = __version__


@dataclass
class TrainedClassifier:
    """A classifier in eval mode with its training record and the SHA-256 of its weights file."""

    model: EvalClassifier
    info: ClassifierInfo
    weights_sha256: str
    path: Path | None


def classifier_dataset(name: str) -> str:
    """Return the dataset whose classifier scores `name` (stacked-mnist is scored by mnist's)."""
    return CLASSIFIER_DATASET.get(name, name)


def _split_available(name: str, split: str, data_root) -> bool:
    return any(row[0] == split and row[1] == "found" for row in dataset_status(name, data_root))


def _training_data(name: str, data_root, split: str | None, seed: int):
    """Return (train images, train labels, test images, test labels, train split, test split, digest)."""
    spec = dataset_spec(name)
    if spec.num_classes is None:
        raise GanganError(f"dataset {name} has no class labels, so no classifier can be trained on it; use --features inception")
    if split is None:
        split = "train" if _split_available(name, "train", data_root) or not _split_available(name, "test", data_root) else "test"
    data = load_dataset(name, split, data_root)
    other = "test" if split == "train" else None
    if other is not None and (_split_available(name, other, data_root) or spec.kind == "digits"):
        test = load_dataset(name, other, data_root)
        digest = tensor_digest(data.images, data.labels, test.images, test.labels)
        return data.images, data.labels, test.images, test.labels, split, other, digest
    # Only one split at hand: hold out a seeded fraction of it for testing.
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(len(data) * HOLDOUT_FRACTION))
    test_index, train_index = order[:n_test], order[n_test:]
    digest = tensor_digest(data.images, data.labels)
    held = f"{split} (held-out {n_test} of {len(data)})"
    return (data.images[train_index], data.labels[train_index], data.images[test_index], data.labels[test_index],
            f"{split} (other {len(train_index)} of {len(data)})", held, digest)


def _to_input(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float().div_(127.5).sub_(1.0)


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    # Random shifts of up to 2 pixels at 28x28 (none at 8x8): translations are what separates
    # a 99% MNIST classifier from a 98% one when it trains on only 8,000 digits.
    n, _, h, w = batch.shape
    shift = h // 14
    if shift == 0:
        return batch
    padded = F.pad(batch, (shift, shift, shift, shift), value=-1.0)
    dx, dy = torch.randint(0, 2 * shift + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + h, dx:dx + w]


@torch.no_grad()
def classifier_accuracy(model: EvalClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Return the share of uint8 images (N, C, H, W) whose predicted class equals the label."""
    model.eval()
    correct = sum(
        int((model(_to_input(chunk)).argmax(dim=1) == target).sum())
        for chunk, target in zip(images.split(batch_size), labels.split(batch_size))
    )
    return correct / len(labels)


def train_classifier(
    dataset: str,
    data_root: str | os.PathLike | None = None,
    split: str | None = None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> TrainedClassifier:
    """Train the evaluation classifier of a dataset and measure its test accuracy.

    Args:
        dataset: a labelled dataset name; stacked-mnist trains the mnist classifier.
        data_root: folder searched first for dataset files.
        split: the split to train on; None picks "train" when present, else holds out 20% of "test".
        steps: Adam steps of 128 images (learning rate 1e-3, cosine decay to 0).
        seed: seeds the initial weights, the data order, the holdout and the augmentation.
        progress: called as progress(step, loss) every 50 steps.
    """
    if steps < 1:
        raise GanganError(f"invalid --steps {steps}: must be at least 1")
    name = classifier_dataset(dataset)
    spec = dataset_spec(name)
    train_x, train_y, test_x, test_y, train_split, test_split, digest = _training_data(name, data_root, split, seed)

    # Training inside a forked RNG leaves the global random state as it was: a classifier
    # trained in the middle of a GAN run must not change what that run draws next.
    # enable_grad: the trainer may ask for the classifier from inside a no_grad evaluation.
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        model = _fit(spec, train_x, train_y, steps, seed, progress)
    accuracy = classifier_accuracy(model, test_x, test_y)
    info = ClassifierInfo(name, train_split, test_split, len(train_x), len(test_x), accuracy, steps, seed, digest)
    logger.info("%s classifier: test accuracy %.2f%% on %s", name, accuracy * 100, test_split)
    return TrainedClassifier(model, info, "", None)


def _fit(spec, train_x: torch.Tensor, train_y: torch.Tensor, steps: int, seed: int, progress) -> EvalClassifier:
    generator = torch.Generator().manual_seed(seed)
    model = EvalClassifier(spec.channels, spec.num_classes, spec.image_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    batch = min(BATCH_SIZE, len(train_x))
    order, position = torch.randperm(len(train_x), generator=generator), 0
    model.train()
    for step in range(1, steps + 1):
        if position + batch > len(order):
            order, position = torch.randperm(len(train_x), generator=generator), 0
        index = order[position:position + batch]
        position += batch
        inputs = _augment(_to_input(train_x[index]), generator)
        loss = F.cross_entropy(model(inputs), train_y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None and (step % 50 == 0 or step == steps):
            progress(step, loss.item())
    return model.eval()


def save_classifier(trained: TrainedClassifier, path: str | os.PathLike) -> str:
    """Write a classifier checkpoint atomically; return the SHA-256 of the file."""
    model = trained.model
    save_checkpoint(
        {
            "kind": "eval-classifier",
            "shape": {"channels": model.channels, "num_classes": model.num_classes, "image_size": model.image_size},
            "model": model.state_dict(),
            "info": asdict(trained.info),
        },
        path,
    )
    return file_digest(path)


def load_classifier(path: str | os.PathLike) -> TrainedClassifier:
    """Load a classifier checkpoint written by `save_classifier`."""
    path = Path(path)
    state = load_checkpoint(path)
    if state.get("kind") != "eval-classifier":
        raise GanganError(f"{path} is a gangan checkpoint but not an evaluation classifier; train one with `gangan evaluator train`")
    shape = state["shape"]
    model = EvalClassifier(shape["channels"], shape["num_classes"], shape["image_size"])
    model.load_state_dict(state["model"])
    model.eval()
    return TrainedClassifier(model, ClassifierInfo(**state["info"]), file_digest(path), path)


def cached_classifier_path(dataset: str, data_root=None, split: str | None = None, steps: int | None = None, seed: int = 0) -> Path:
    """Return the cache file of a classifier: keyed by dataset contents, code revision, settings and seed."""
    steps = steps or DEFAULT_STEPS
    name = classifier_dataset(dataset)
    _, _, _, _, train_split, test_split, digest = _training_data(name, data_root, split, seed)
    key = text_digest(digest, train_split, test_split, CLASSIFIER_REVISION, steps, seed)
    return evaluation_cache_dir("evaluators") / f"{name}-{key}.pt"


def get_classifier(
    dataset: str,
    data_root=None,
    split: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    retrain: bool = False,
    progress: Callable[[int, float], None] | None = None,
) -> TrainedClassifier:
    """Load the cached classifier of a dataset, training and caching it first when absent.

    `steps` defaults to DEFAULT_STEPS; other values are cached separately.
    """
    steps = steps or DEFAULT_STEPS
    path = cached_classifier_path(dataset, data_root, split, steps, seed)
    if path.is_file() and not retrain:
        logger.debug("using cached classifier %s", path)
        return load_classifier(path)
    logger.info("training the %s evaluation classifier (%d steps); it is cached in %s", classifier_dataset(dataset), steps, path.parent)
    trained = train_classifier(dataset, data_root, split, steps, seed, progress)
    trained.weights_sha256 = save_classifier(trained, path)
    trained.path = path
    return trained
