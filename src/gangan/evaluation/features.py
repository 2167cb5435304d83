"""Feature extractors: uint8 images in, features (for FID, KID, precision/recall) and logits out.

Real and generated images take the same path: uint8 (N, C, H, W) from `gangan.images.to_uint8`
or from image files, the same resize, the same network. So images scored in memory and the
same images saved as PNG and read back give identical features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as TF

from gangan.errors import GanganError
from gangan.evaluation.cache import evaluation_cache_dir, file_digest
from gangan.evaluation.classifier import TrainedClassifier

FEATURE_BATCH = 500

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
INCEPTION_ENV = "GANGAN_INCEPTION_WEIGHTS"


@dataclass
class Extracted:
    """Features (N, D) float32 and logits (N, K) float32 of a batch of images."""

    features: torch.Tensor
    logits: torch.Tensor


class FeatureExtractor:
    """The interface of both extractors.

    Attributes:
        kind: "classifier" or "inception".
        description: the network and the data it was trained on, for provenance.
        weights_sha256: SHA-256 of the weights file.
        channels, image_size: the shape of images accepted, checked before extraction.
        resize: how images are resized inside, for provenance.
    """

    kind: str
    description: str
    weights_sha256: str
    channels: int
    image_size: int
    resize: str

    def check_shape(self, images: torch.Tensor, what: str) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise TypeError(f"{what}: expected uint8 images (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        shape = tuple(images.shape[1:])
        if shape != (self.channels, self.image_size, self.image_size):
            raise GanganError(
                f"{what} are {shape[0]}x{shape[1]}x{shape[2]} (channels x height x width) but the {self.description} "
                f"scores {self.channels}x{self.image_size}x{self.image_size} images; evaluate against the dataset "
                f"and image size the generator was trained on"
            )

    def extract_batch(self, images: torch.Tensor) -> Extracted:
        raise NotImplementedError

    @torch.no_grad()
    def extract(self, images: torch.Tensor, what: str = "images", batch_size: int = FEATURE_BATCH) -> Extracted:
        """Extract features and logits of uint8 images (N, C, H, W), `batch_size` at a time.

        Every network runs in eval mode, so the result does not depend on the batch size.
        """
        self.check_shape(images, what)
        parts = [self.extract_batch(chunk) for chunk in images.split(batch_size)]
        return Extracted(torch.cat([p.features for p in parts]), torch.cat([p.logits for p in parts]))


def _to_input(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float().div(127.5).sub(1.0)


class ClassifierExtractor(FeatureExtractor):
    """gangan's evaluation classifier: pre-ReLU penultimate features (128) and class logits."""

    kind = "classifier"

    def __init__(self, trained: TrainedClassifier):
        self.trained = trained
        self.model = trained.model.eval()
        info = trained.info
        self.description = (
            f"gangan classifier r{info.revision} trained on {info.dataset} {info.train_split} "
            f"({info.test_accuracy:.2%} on {info.test_split})"
        )
        self.weights_sha256 = trained.weights_sha256
        self.channels, self.image_size = self.model.channels, self.model.image_size
        self.num_classes = self.model.num_classes
        self.resize = "none (images must match the classifier's size)"

    def extract_batch(self, images: torch.Tensor) -> Extracted:
        features, logits = self.model.features_and_logits(_to_input(images))
        return Extracted(features.float(), logits.float())


class StackedClassifierExtractor(ClassifierExtractor):
    """The MNIST classifier applied to each channel of Stacked MNIST images.

    Features are the three channels' features side by side (384); the logits (1,000) are
    log p(R) + log p(G) + log p(B), the joint class of the triple under independent channels.
    """

    def __init__(self, trained: TrainedClassifier):
        super().__init__(trained)
        if self.channels != 1:
            raise GanganError("Stacked MNIST needs a one-channel MNIST classifier")
        self.description = "per-channel " + self.description
        self.channels = 3
        self.num_classes = self.model.num_classes ** 3

    def channel_digits(self, images: torch.Tensor, batch_size: int = FEATURE_BATCH) -> torch.Tensor:
        """Return the predicted digit of each channel, (N, 3), of uint8 images (N, 3, 28, 28)."""
        self.check_shape(images, "stacked images")
        with torch.no_grad():
            parts = [self._channel_logits(chunk)[1].argmax(dim=2) for chunk in images.split(batch_size)]
        return torch.cat(parts)

    def _channel_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = images.shape[0]
        flat = images.reshape(n * 3, 1, *images.shape[2:])
        features, logits = self.model.features_and_logits(_to_input(flat))
        return features.reshape(n, -1), logits.reshape(n, 3, -1)

    def extract_batch(self, images: torch.Tensor) -> Extracted:
        features, logits = self._channel_logits(images)
        log_p = logits.log_softmax(dim=2)
        k = log_p.shape[2]
        joint = log_p[:, 0, :, None, None] + log_p[:, 1, None, :, None] + log_p[:, 2, None, None, :]
        return Extracted(features.float(), joint.reshape(images.shape[0], k ** 3).float())


def default_inception_path() -> Path:
    """Return where the Inception weights are looked for when no path is given."""
    return evaluation_cache_dir("weights") / INCEPTION_FILE


def resolve_inception_weights(path: str | os.PathLike | None) -> Path:
    """Return the Inception weights file: `path`, else $GANGAN_INCEPTION_WEIGHTS, else the cache.

    Raises:
        GanganError: the file does not exist; the message names the file and where to put it.
    """
    candidate = Path(path or os.environ.get(INCEPTION_ENV) or default_inception_path()).expanduser()
    if not candidate.is_file():
        raise GanganError(
            f"Inception-v3 weights not found at {candidate}. gangan does not download them. Get {INCEPTION_FILE} "
            f"(the FID Inception weights used by torch-fidelity, from {INCEPTION_URL}) on a machine with internet, "
            f"copy it to {default_inception_path()}, or pass --inception-weights PATH or set {INCEPTION_ENV}=PATH."
        )
    return candidate


class InceptionExtractor(FeatureExtractor):
    """The FID Inception-v3 of torch-fidelity: pool3 features (2048) and unbiased logits (1008).

    Grayscale images are repeated to three channels. torch-fidelity resizes every image to
    299x299 with bilinear interpolation that matches TensorFlow 1.x, as the original FID code does.
    """

    kind = "inception"

    def __init__(self, weights: str | os.PathLike | None = None, image_channels: int = 3, image_size: int = 299):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = resolve_inception_weights(weights)
        # torch-fidelity loads the file with weights_only=False; a weights-only load first
        # rejects a file that would run code while unpickling.
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001  any failure means the file is unusable
            raise GanganError(f"{path} is not a weights-only PyTorch state dict ({error}); use {INCEPTION_FILE}") from None
        try:
            self.model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                     feature_extractor_weights_path=str(path))
        except RuntimeError as error:
            raise GanganError(f"{path} does not hold Inception-v3 weights ({str(error).splitlines()[0]})") from None
        self.model.eval()
        self.weights_sha256 = file_digest(path)
        self.description = f"Inception-v3 (torch-fidelity, {path.name})"
        self.channels, self.image_size = image_channels, image_size
        self.num_classes = 1008
        self.resize = f"{image_size}x{image_size} to 299x299, bilinear like TensorFlow 1.x (torch-fidelity)"

    def extract_batch(self, images: torch.Tensor) -> Extracted:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        features, logits = self.model(images.contiguous())
        return Extracted(features.float(), logits.float())


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) to size x size with antialiased bilinear interpolation."""
    return TF.resize(images, [size, size], antialias=True)
