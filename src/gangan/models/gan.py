"""The book's first GAN (chapter 3): one hidden fully connected layer in each network."""

from __future__ import annotations

import math

import torch
from torch import nn

from gangan.nn import Tanh, init_glorot_uniform


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> images (N, C, H, W) in [-1, 1]: Linear, LeakyReLU(0.01), Linear, tanh.

    With the book's settings (z_dim 100, hidden 128, 1x28x28 images) the layers are 100 -> 128 -> 784.
    """

    def __init__(self, z_dim: int, image_shape: tuple[int, int, int], hidden: int = 128):
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Linear(hidden, math.prod(image_shape)),
            Tanh(inplace=True),
        )
        self.apply(init_glorot_uniform)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """images (N, C, H, W) -> logits (N,): Flatten, Linear, LeakyReLU(0.01), Linear.

    The book ends in a sigmoid; here the sigmoid is part of the loss, which is numerically safer.
    """

    # No layer mixes the images of a batch, so GAN.score may score real and fake in one pass.
    independent_scores = True

    def __init__(self, image_shape: tuple[int, int, int], hidden: int = 128):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(image_shape), hidden),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Linear(hidden, 1),
        )
        self.apply(init_glorot_uniform)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        return self.net(images).squeeze(1)
