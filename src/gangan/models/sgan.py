"""The semi-supervised GAN discriminator (chapter 7): a K-class classifier that also tells real from fake.

Formulation (Salimans et al. 2016, section 5; the book's shared-layer SGAN): D outputs K
class logits l_1..l_K. Its supervised head is softmax(l). Its real-or-fake head needs no
extra output: with Z(x) = sum_k exp(l_k), D(x) = Z / (Z + 1), the probability of "real" in
a (K + 1)-way softmax whose fake logit is fixed at 0. Since Z / (Z + 1) = sigmoid(log Z),
the real-vs-fake logit is logsumexp(l), and the unconditional GAN losses apply to it as is.
"""

from __future__ import annotations

import torch
from torch import nn

from gangan.models.conditional import strip_last_layer


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


def real_fake_logit(class_logits: torch.Tensor) -> torch.Tensor:
    """The real-vs-fake logit log Z(x) = logsumexp over the K class logits (N, K) -> (N,)."""
    return torch.logsumexp(class_logits, dim=1)


def build_sgan_networks(config, num_classes: int) -> dict[str, nn.Module]:
    """Build the unconditional G and the K-class D of a resolved sgan config."""
    from gangan.models.conditional import unconditional_networks

    model, channels, size = config.model, config.data.channels, config.data.image_size
    G, D_base = unconditional_networks(model.arch, model.z_dim, channels, size, model.hidden, model.width)
    # The fully connected D follows Salimans et al.'s MLP and gets input noise; the
    # convolutional ones follow the book, which uses dropout alone.
    input_noise = 0.3 if model.arch == "mlp" else 0.0
    return {"G": G, "D": SemiSupervisedDiscriminator(D_base, num_classes, (channels, size, size), input_noise=input_noise)}
