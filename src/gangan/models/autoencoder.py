"""Encoders and decoders of the autoencoder (`ae`) and variational autoencoder (`vae`), chapter 2.

Two architectures, chosen by image size like the DCGANs:

- `mlp`: the book's fully connected network (one hidden layer on each side, 784 -> 256 -> z in
  its Keras example), for any image size.
- `conv`: stride-2 convolutions down to 7x7 (28x28 images) or 4x4 (32x32 and 64x64 images),
  mirrored by stride-2 transposed convolutions in the decoder.

An encoder maps images (N, C, H, W) in [-1, 1] to `out_dim` numbers per image: the code z for
`ae`, or the mean and log-variance of q(z|x) side by side (2 * z_dim) for `vae`. A decoder maps
z (N, z_dim) to unbounded parameters (N, C, H, W) of p(x|z): Bernoulli logits or the
pre-tanh Gaussian mean; the algorithm turns them into images and likelihoods.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gangan.nn import init_glorot_uniform


class MLPEncoder(nn.Module):
    """images (N, C, H, W) -> (N, out_dim): Flatten, Linear, ReLU, Linear."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int, hidden: int = 256):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(image_shape), hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )
        self.apply(init_glorot_uniform)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        return self.net(images)


class MLPDecoder(nn.Module):
    """z (N, z_dim) -> parameters (N, C, H, W): Linear, ReLU, Linear."""

    def __init__(self, z_dim: int, image_shape: tuple[int, int, int], hidden: int = 256):
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(image_shape)),
        )
        self.apply(init_glorot_uniform)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


def conv_stages(image_size: int) -> int:
    """Return the number of stride-2 stages of the conv architecture: 2 for 28, 3 for 32, 4 for 64."""
    return {28: 2, 32: 3, 64: 4}[image_size]


class ConvEncoder(nn.Module):
    """images (N, C, S, S) -> (N, out_dim), S in {28, 32, 64}.

    Each stage is Conv 4x4 stride 2 and LeakyReLU(0.2); channels go width, 2*width, ... The
    last feature map (7x7 or 4x4) is flattened into one linear layer. There is no BatchNorm,
    so an image's code never depends on the rest of its batch, which the likelihood needs.
    """

    def __init__(self, channels: int, image_size: int, out_dim: int, width: int = 64):
        super().__init__()
        self.image_size = image_size
        stages = conv_stages(image_size)
        layers: list[nn.Module] = []
        maps_in, maps = channels, width
        for _ in range(stages):
            layers += [nn.Conv2d(maps_in, maps, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            maps_in, maps = maps, maps * 2
        side = image_size // 2**stages
        layers += [nn.Flatten(), nn.Linear(maps_in * side * side, out_dim)]
        self.net = nn.Sequential(*layers)
        self.apply(init_glorot_uniform)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[-2:] == (self.image_size, self.image_size), (
            f"expected {self.image_size}x{self.image_size} images, got {tuple(images.shape)}"
        )
        return self.net(images)


class ConvDecoder(nn.Module):
    """z (N, z_dim) -> parameters (N, C, S, S), S in {28, 32, 64}: the encoder in reverse.

    A linear layer and ReLU make the smallest feature map (7x7 or 4x4); each stage doubles its
    side with ConvTranspose 4x4 stride 2 (padding 1), with ReLU between stages.
    """

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        stages = conv_stages(image_size)
        self.side = image_size // 2**stages
        self.maps = width * 2 ** (stages - 1)
        self.fc = nn.Sequential(nn.Linear(z_dim, self.maps * self.side * self.side), nn.ReLU())
        layers: list[nn.Module] = []
        maps = self.maps
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(maps, maps // 2, 4, stride=2, padding=1), nn.ReLU()]
            maps //= 2
        layers.append(nn.ConvTranspose2d(maps, channels, 4, stride=2, padding=1))
        self.net = nn.Sequential(*layers)
        self.apply(init_glorot_uniform)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, self.maps, self.side, self.side))


def build_autoencoder(arch: str, variational: bool, z_dim: int, channels: int, image_size: int,
                      hidden: int, width: int) -> dict[str, nn.Module]:
    """Build {"encoder", "decoder"} for `arch` ("mlp" or "conv").

    The encoder of a variational model outputs 2 * z_dim numbers (mean, then log-variance).
    """
    out_dim = 2 * z_dim if variational else z_dim
    if arch == "mlp":
        shape = (channels, image_size, image_size)
        return {"encoder": MLPEncoder(shape, out_dim, hidden), "decoder": MLPDecoder(z_dim, shape, hidden)}
    return {
        "encoder": ConvEncoder(channels, image_size, out_dim, width),
        "decoder": ConvDecoder(z_dim, channels, image_size, width),
    }
