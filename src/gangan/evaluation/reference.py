"""Reference (real) images and their features, cached per extractor under the user cache."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.evaluation.cache import evaluation_cache_dir, tensor_digest, text_digest
from gangan.evaluation.features import Extracted, FeatureExtractor

logger = logging.getLogger(__name__)

# The real subset is drawn with its own fixed seed, not the evaluation seed, so that every
# evaluation of a run compares against the same real images and their cached features.
REFERENCE_SUBSET_SEED = 1234


@dataclass
class Reference:
    """A fixed subset of a dataset split as uint8 images (N, C, H, W), with its labels.

    class_shares: the share of each class (K,) in the subset, or None for unlabelled data.
    digest: SHA-256 of the subset's images and labels, the key of cached features.
    """

    dataset: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int | None
    class_shares: np.ndarray | None
    digest: str

    def __len__(self) -> int:
        return self.images.shape[0]


def load_reference(
    dataset: str,
    split: str,
    n: int,
    data_root: str | os.PathLike | None = None,
    image_size: int | None = None,
    channels: int | None = None,
) -> Reference:
    """Load up to `n` images of a dataset split, chosen by a fixed seeded permutation.

    `image_size` and `channels` convert the images the way training did (None keeps the
    dataset's own shape).
    """
    if split not in ("train", "test", "all"):
        raise GanganError(f"invalid --reference '{split}'; valid values: train, test, all")
    data = load_dataset(dataset, split, data_root, image_size, channels)
    if len(data) < 2:
        raise GanganError(f"the {split} split of {dataset} contains {len(data)} image(s); a reference needs at least 2, use another --reference split")
    count = min(n, len(data))
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(REFERENCE_SUBSET_SEED))[:count]
    index = index.sort().values
    images = data.images[index]
    labels = data.labels[index] if data.labels is not None else None
    shares = None
    if labels is not None and data.num_classes:
        shares = (torch.bincount(labels, minlength=data.num_classes).double() / count).numpy()
    return Reference(data.name, split, images, labels, data.num_classes, shares, tensor_digest(images, labels))


def reference_features(reference: Reference, extractor: FeatureExtractor, images: torch.Tensor) -> Extracted:
    """Return the extractor's features of the reference images, from the cache when present.

    `images` are the reference images as the extractor receives them (after any resize); the
    cache key covers the reference subset, the extractor's weights and the resize.
    """
    key = text_digest(reference.digest, extractor.kind, extractor.weights_sha256, tuple(images.shape), extractor.resize)
    path = evaluation_cache_dir("reference-features") / f"{reference.dataset.replace('/', '_').replace(':', '_')}-{reference.split}-{key}.pt"
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            logger.debug("reference features from %s", path)
            return Extracted(state["features"], state["logits"])
        except Exception as error:  # noqa: BLE001  a damaged cache file is recomputed, never trusted
            logger.warning("ignoring the unreadable cache file %s (%s)", path, error)
    extracted = extractor.extract(images, what=f"reference images ({reference.dataset} {reference.split})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"features": extracted.features, "logits": extracted.logits}, tmp)
    os.replace(tmp, path)
    return extracted
