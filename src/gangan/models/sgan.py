"""The semi-supervised GAN discriminator (chapter 7): a K-class classifier that also tells real from fake.

Formulation (Salimans et al. 2016, section 5; the book's shared-layer SGAN): D outputs K
class logits l_1..l_K. Its supervised head is softmax(l). Its real-or-fake head needs no
extra output: with Z(x) = sum_k exp(l_k), D(x) = Z / (Z + 1), the probability of "real" in
a (K + 1)-way softmax whose fake logit is fixed at 0. Since Z / (Z + 1) = sigmoid(log Z),
the real-vs-fake logit is logsumexp(l), and the unconditional GAN losses apply to it as is.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from gangan.models.conditional import strip_last_layer
from gangan.nn import Tanh


class SemiSupervisedDiscriminator(nn.Module):
    """images (N, C, H, W) in [-1, 1] -> class logits (N, K).

    Args:
        base: an unconditional discriminator with a `net` Sequential whose last layer makes
            the single logit; that layer is replaced by a K-way linear head.
        num_classes: K.
        image_shape: (C, H, W).
        dropout: dropout rate on the features before the head (the book uses 0.5), which
            keeps D from memorising the few labelled images.
        input_noise: standard deviation of Gaussian noise added to the images in training
            mode (Salimans et al. use 0.3 in their fully connected D); 0 adds none.
    """

    def __init__(self, base: nn.Module, num_classes: int, image_shape: tuple[int, int, int], dropout: float = 0.5,
                 input_noise: float = 0.0):
        super().__init__()
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        self.input_noise = input_noise
        self.features, feature_dim = strip_last_layer(base, self.image_shape)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        if self.training and self.input_noise > 0:
            images = images + self.input_noise * torch.randn_like(images)
        return self.head(self.dropout(self.features(images).flatten(1)))


class GaussianNoise(nn.Module):
    """Additive Gaussian noise of standard deviation `std` in training mode, and the identity in eval mode."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class SalimansGenerator(nn.Module):
    """Salimans et al. (2016) MNIST generator: z -> 500 -> 500 -> C*H*W, BatchNorm and softplus, tanh output.

    The paper ends in a sigmoid for images in [0, 1]; tanh gives gangan's [-1, 1].
    """

    def __init__(self, z_dim: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, 500), nn.BatchNorm1d(500), nn.Softplus(),
            nn.Linear(500, 500), nn.BatchNorm1d(500), nn.Softplus(),
            nn.Linear(500, math.prod(image_shape)), Tanh(inplace=True),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class SalimansDiscriminator(nn.Module):
    """Salimans et al. (2016) MNIST discriminator: images -> logits (N,).

    Fully connected 1000 -> 500 -> 250 -> 250 -> 250 with ReLU, Gaussian noise of standard
    deviation 0.3 on the input and 0.5 after every hidden layer (training mode only), then one
    output unit, which `SemiSupervisedDiscriminator` replaces by its K-class head. Every
    linear layer is weight-normalised, as in the paper.

    NOTE: on Fashion-MNIST the only run without weight norm was stopped at 1,200 steps, so
    whether weight norm matters for the accuracy reached here is untested.
    """

    def __init__(self, image_shape: tuple[int, int, int]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(0.3)]
        sizes = [math.prod(image_shape), 1000, 500, 250, 250, 250]
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [weight_norm(nn.Linear(n_in, n_out)), nn.ReLU(), GaussianNoise(0.5)]
        layers.append(weight_norm(nn.Linear(sizes[-1], 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[1:] == self.image_shape, f"expected images of shape (N, {self.image_shape}), got {tuple(images.shape)}"
        return self.net(images).squeeze(1)


def real_fake_logit(class_logits: torch.Tensor) -> torch.Tensor:
    """The real-vs-fake logit log Z(x) = logsumexp over the K class logits (N, K) -> (N,)."""
    return torch.logsumexp(class_logits, dim=1)


def build_sgan_networks(config, num_classes: int) -> dict[str, nn.Module]:
    """Build the unconditional G and the K-class D of a resolved sgan config."""
    from gangan.models.conditional import unconditional_networks

    model, channels, size = config.model, config.data.channels, config.data.image_size
    shape = (channels, size, size)
    if model.arch == "salimans":
        # Noise layers inside D regularise it, in place of the dropout before the head.
        D = SemiSupervisedDiscriminator(SalimansDiscriminator(shape), num_classes, shape, dropout=0.0)
        D.head = weight_norm(D.head)
        return {"G": SalimansGenerator(model.z_dim, shape), "D": D}
    G, D_base = unconditional_networks(model.arch, model.z_dim, channels, size, model.hidden, model.width)
    # The book's one-hidden-layer D gets input noise as in Salimans et al. The convolutional
    # ones follow the book, which uses dropout alone.
    input_noise = 0.3 if model.arch == "mlp" else 0.0
    return {"G": G, "D": SemiSupervisedDiscriminator(D_base, num_classes, shape, input_noise=input_noise)}
