"""Deep convolutional GANs: the book's 28x28 network (chapter 4) and Radford et al.'s DCGAN for 32x32 and 64x64."""

from __future__ import annotations

import torch
from torch import nn

from gangan.nn import Tanh, init_dcgan_weights, init_glorot_uniform


class BookGenerator(nn.Module):
    """The book's DCGAN generator for 28x28 images.

    z (N, z_dim) -> Linear to 256x7x7 -> ConvTranspose 3x3 stride 2 to 128x14x14 -> BN, LeakyReLU(0.01)
    -> ConvTranspose 3x3 stride 1 to 64x14x14 -> BN, LeakyReLU(0.01) -> ConvTranspose 3x3 stride 2
    to Cx28x28 -> tanh. Paddings reproduce Keras' padding="same".
    """

    def __init__(self, z_dim: int, channels: int = 1):
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Linear(z_dim, 256 * 7 * 7)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(128, 64, 3, stride=1, padding=1),  # 14 -> 14
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(64, channels, 3, stride=2, padding=1, output_padding=1),  # 14 -> 28
            Tanh(inplace=True),
        )
        self.apply(init_glorot_uniform)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 256, 7, 7))


class BookDiscriminator(nn.Module):
    """The book's DCGAN discriminator for 28x28 images: images (N, C, 28, 28) -> logits (N,).

    Conv 3x3 stride 2 to 32x14x14, LeakyReLU(0.01); to 64x7x7, BN, LeakyReLU; to 128x4x4, BN,
    LeakyReLU; Linear to one logit.
    """

    def __init__(self, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(0.01),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # 14 -> 7
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.01),
            nn.Conv2d(64, 128, 3, stride=2, padding=1),  # 7 -> 4
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.01),
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 1),
        )
        self.apply(init_glorot_uniform)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[-2:] == (28, 28), f"expected 28x28 images, got {tuple(images.shape)}"
        return self.net(images).squeeze(1)


def _radford_depth(image_size: int) -> int:
    """Number of stride-2 stages between 4x4 and `image_size` (3 for 32x32, 4 for 64x64)."""
    return {32: 3, 64: 4}[image_size]


class RadfordGenerator(nn.Module):
    """Radford et al. (2016) DCGAN generator: z (N, z_dim) -> images (N, C, S, S), S in {32, 64}.

    A 4x4 transposed convolution projects z to width*2^(d-1) maps at 4x4; each further stage
    doubles the size and halves the channels (ConvTranspose 4x4 stride 2, BN, ReLU); the last
    stage outputs C channels with tanh.
    """

    def __init__(self, z_dim: int, channels: int = 3, image_size: int = 64, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        depth = _radford_depth(image_size)
        maps = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, maps, 4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(maps),
            nn.ReLU(True),
        ]
        for _ in range(depth - 1):
            layers += [
                nn.ConvTranspose2d(maps, maps // 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(maps // 2),
                nn.ReLU(True),
            ]
            maps //= 2
        layers += [nn.ConvTranspose2d(maps, channels, 4, stride=2, padding=1, bias=False), Tanh(inplace=True)]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class RadfordDiscriminator(nn.Module):
    """Radford et al. (2016) DCGAN discriminator: images (N, C, S, S) -> logits (N,), S in {32, 64}.

    Conv 4x4 stride 2 stages with LeakyReLU(0.2), BN on all but the first, then a 4x4 convolution to one logit.
    """

    def __init__(self, channels: int = 3, image_size: int = 64, width: int = 64):
        super().__init__()
        self.image_size = image_size
        depth = _radford_depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, stride=2, padding=1, bias=False), nn.LeakyReLU(0.2, True)]
        maps = width
        for _ in range(depth - 1):
            layers += [
                nn.Conv2d(maps, maps * 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(maps * 2),
                nn.LeakyReLU(0.2, True),
            ]
            maps *= 2
        layers.append(nn.Conv2d(maps, 1, 4, stride=1, padding=0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[-1] == self.image_size, f"expected {self.image_size}x{self.image_size} images, got {tuple(images.shape)}"
        return self.net(images).view(-1)
