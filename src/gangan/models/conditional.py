"""Conditional GAN networks (chapter 8): a generator and discriminators that take a class label.

Conditioning follows Mirza & Osindero (2014) as the book builds it:

- G embeds the label into a vector of size z_dim and concatenates it to z, as Mirza &
  Osindero do; the joined vector (2 * z_dim) goes through an unconditional generator (fully
  connected, the book's 28x28 DCGAN or Radford's DCGAN). The book multiplies z by the
  embedding instead, but z * embed(y) has mean 0 for every class, so the class shows only in
  its variance, which a shallow G reads poorly.
- The concatenating D embeds the label into one extra image channel (H x W values) and joins
  it to the image, so every layer of an unconditional discriminator with C + 1 input channels
  can see the class.
- The projection D (Miyato & Koyama 2018, eq. 3) computes features phi(x) with the
  unconditional discriminator minus its last layer, then scores
  psi(phi(x)) + <embed(y), phi(x)>: an unconditional logit plus the inner product of the
  features with a learned vector per class.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_labels(labels: torch.Tensor, batch: int, num_classes: int) -> None:
    assert labels.shape == (batch,), f"expected labels of shape ({batch},), got {tuple(labels.shape)}"
    assert labels.dtype == torch.int64, f"expected int64 labels, got {labels.dtype}"


class ConditionalGenerator(nn.Module):
    """(z (N, z_dim), labels (N,) int64 in [0, K)) -> images (N, C, H, W) in [-1, 1].

    Args:
        base: an unconditional generator that maps (N, 2 * z_dim) inputs to images.
        num_classes: K, the number of classes.
        z_dim: size of z, and of each class embedding.
    """

    def __init__(self, base: nn.Module, num_classes: int, z_dim: int):
        super().__init__()
        self.base = base
        self.num_classes = num_classes
        self.z_dim = z_dim
        self.embed = nn.Embedding(num_classes, z_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _check_labels(labels, z.shape[0], self.num_classes)
        return self.base(torch.cat([z, self.embed(labels)], dim=1))


class ConcatDiscriminator(nn.Module):
    """(images (N, C, H, W), labels (N,)) -> logits (N,), the label joined as an extra channel.

    Args:
        base: an unconditional discriminator built for C + 1 input channels.
        num_classes: K, the number of classes.
        image_shape: (C, H, W) of the images without the label channel.
    """

    def __init__(self, base: nn.Module, num_classes: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.base = base
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        _, height, width = self.image_shape
        self.embed = nn.Embedding(num_classes, height * width)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        _check_labels(labels, images.shape[0], self.num_classes)
        _, height, width = self.image_shape
        label_map = self.embed(labels).view(-1, 1, height, width)
        return self.base(torch.cat([images, label_map], dim=1))


class ProjectionDiscriminator(nn.Module):
    """(images (N, C, H, W), labels (N,)) -> logits (N,) = psi(phi(x)) + <embed(y), phi(x)>.

    Args:
        features: phi, maps images to features (N, F) or (N, ...) that are flattened to F values.
        feature_dim: F.
        num_classes: K, the number of classes.
        image_shape: (C, H, W) of the images.
    """

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.features = features
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        self.psi = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(num_classes, feature_dim)
        # Small class vectors at the start: D begins close to its unconditional form.
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        _check_labels(labels, images.shape[0], self.num_classes)
        phi = self.features(images).flatten(1)
        return self.psi(phi).squeeze(1) + (self.embed(labels) * phi).sum(dim=1)


def strip_last_layer(discriminator: nn.Module, image_shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
    """Split an unconditional discriminator with a `net` Sequential into (phi, feature size).

    The last module of `net` is the linear (or 4x4 convolution) layer that makes the single
    logit; everything before it is phi. The feature size is measured with one dummy image.
    """
    phi = nn.Sequential(*list(discriminator.net.children())[:-1])
    with torch.no_grad():
        was_training = phi.training
        phi.eval()
        feature_dim = math.prod(phi(torch.zeros(1, *image_shape)).shape[1:])
        phi.train(was_training)
    return phi, feature_dim


def unconditional_networks(arch: str, z_dim: int, channels: int, image_size: int, hidden: int, width: int) -> tuple[nn.Module, nn.Module]:
    """Build the unconditional (G, D) of an architecture, with D taking `channels` input channels."""
    from gangan.models.dcgan import BookDiscriminator, BookGenerator, RadfordDiscriminator, RadfordGenerator
    from gangan.models.gan import MLPDiscriminator, MLPGenerator

    if arch == "mlp":
        shape = (channels, image_size, image_size)
        return MLPGenerator(z_dim, shape, hidden), MLPDiscriminator(shape, hidden)
    if arch == "book":
        return BookGenerator(z_dim, channels), BookDiscriminator(channels)
    if arch == "radford":
        return RadfordGenerator(z_dim, channels, image_size, width), RadfordDiscriminator(channels, image_size, width)
    raise ValueError(f"unknown architecture {arch!r}")


def build_cgan_networks(config, num_classes: int) -> dict[str, nn.Module]:
    """Build the conditional G and D of a resolved cgan config for K = num_classes classes."""
    model, channels, size = config.model, config.data.channels, config.data.image_size
    image_shape = (channels, size, size)
    G_base, _ = unconditional_networks(model.arch, 2 * model.z_dim, channels, size, model.hidden, model.width)
    _, D_base = unconditional_networks(model.arch, model.z_dim, channels, size, model.hidden, model.width)
    G = ConditionalGenerator(G_base, num_classes, model.z_dim)
    if model.conditioning == "projection":
        phi, feature_dim = strip_last_layer(D_base, image_shape)
        D = ProjectionDiscriminator(phi, feature_dim, num_classes, image_shape)
    else:
        # The label map is one more input channel; only D's first layer changes.
        _, D_base = unconditional_networks(model.arch, model.z_dim, channels + 1, size, model.hidden, model.width)
        D = ConcatDiscriminator(D_base, num_classes, image_shape)
    return {"G": G, "D": D}


def dataset_classes(config) -> int:
    """Return the number of classes K of the config's dataset; raise GanganError for unlabelled data."""
    from gangan.data.registry import dataset_spec
    from gangan.errors import GanganError

    num_classes = dataset_spec(config.data.dataset).num_classes
    if not num_classes:
        raise GanganError(
            f"{config.model.name} needs class labels, and dataset {config.data.dataset} has none; "
            f"train it on a labelled dataset such as mnist or fashion-mnist"
        )
    return num_classes
