"""Adversarial losses on discriminator logits, as small pure functions.

D outputs logits l; D(x) = sigmoid(l). The identities used below:
    -log(sigmoid(l))     == softplus(-l)
    -log(1 - sigmoid(l)) == softplus(l)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of D, averaged over the real and the fake batch.

    Equals 0.5 * (-log D(x) - log(1 - D(G(z)))), the value the book reports as the D loss;
    at equilibrium, D(x) = D(G(z)) = 0.5 and the loss is log 2 ~ 0.693.
    """
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)) (Goodfellow et al. 2014, section 3): strong gradients while D rejects the fakes."""
    return F.softplus(-fake_logits).mean()


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))), the generator's side of the original minimax game.

    Its gradient vanishes when D confidently rejects the fakes (D(G(z)) near 0), which is
    exactly the situation early in training; that saturation is why the non-saturating loss
    is the default. The value is negative, approaching 0 from below as D wins.
    """
    return -F.softplus(fake_logits).mean()


GENERATOR_LOSSES = {
    "non-saturating": generator_loss_non_saturating,
    "minimax": generator_loss_minimax,
}
