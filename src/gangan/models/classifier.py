"""The small CNN classifier that gangan trains to score generated images.

Its penultimate layer (128 features) feeds FID, KID and precision/recall; its logits feed
the Inception Score and class coverage. It works at any input size from 8x8 up: two
conv-pool stages, then adaptive average pooling to 7x7 (8x8 digits come out as 2x2 and are
upsampled by the pooling).
"""

from __future__ import annotations

import torch
from torch import nn

FEATURE_DIM = 128


class EvalClassifier(nn.Module):
    """Classifier for uint8-quantised images scaled to [-1, 1].

    Args:
        channels: input channels (1 or 3).
        num_classes: number of output classes K.
        image_size: side length the network is trained at; kept so that a loaded
            classifier can reject images of another size.
    """

    def __init__(self, channels: int, num_classes: int, image_size: int):
        super().__init__()
        self.channels, self.num_classes, self.image_size = channels, num_classes, image_size
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.AdaptiveAvgPool2d(7),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM),
            # Without affine parameters this keeps every feature near zero mean and unit
            # variance on the training data, so FID and KID land on a readable scale.
            nn.BatchNorm1d(FEATURE_DIM, affine=False),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(FEATURE_DIM, num_classes))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map images (N, C, H, W) in [-1, 1] to features (N, 128) and logits (N, K).

        The features are taken after the batch normalisation and before the ReLU: no unit is
        ever constant at zero, so the feature covariance used by FID stays full rank.
        """
        features = self.body(x)
        return features, self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]
