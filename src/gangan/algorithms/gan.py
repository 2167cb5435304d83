"""The unconditional GAN update of the book: one discriminator step, then one generator step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from gangan import losses
from gangan.algorithms.base import Algorithm, frozen, grad_norm
from gangan.algorithms.optim import adam

if TYPE_CHECKING:
    from gangan.config import RunConfig


@torch.no_grad()
def adversarial_stats(
    loss_D: torch.Tensor,
    loss_G: torch.Tensor,
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    grad_norm_D: torch.Tensor,
    grad_norm_G: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Return the equilibrium scalars of one GAN step as tensors, without a device sync.

    Keys: loss_D, loss_G, D_acc_real and D_acc_fake (shares of real and fake images that D
    classifies correctly, logit > 0 meaning "real"), their mean D_acc, D_x (mean D(x)),
    D_G_z (mean D(G(z))), grad_norm_D and grad_norm_G.
    """
    acc_real = (real_logits > 0).float().mean()
    acc_fake = (fake_logits < 0).float().mean()
    return {
        "loss_D": loss_D.detach(),
        "loss_G": loss_G.detach(),
        "D_acc_real": acc_real,
        "D_acc_fake": acc_fake,
        "D_acc": (acc_real + acc_fake) / 2,
        "D_x": torch.sigmoid(real_logits).mean(),
        "D_G_z": torch.sigmoid(fake_logits).mean(),
        "grad_norm_D": grad_norm_D,
        "grad_norm_G": grad_norm_G,
    }


class GAN(Algorithm):
    """Unconditional GAN with Adam for both networks and a choice of generator loss.

    Args:
        G: maps z (N, z_dim) to images (N, C, H, W) in [-1, 1].
        D: maps images to logits (N,).
        config: supplies z_dim, the loss name and the Adam settings.
        device: where the networks live and the batches arrive.
    """

    def __init__(self, G: nn.Module, D: nn.Module, config: RunConfig, device: torch.device):
        self.device = device
        self.G, self.D = G.to(device), D.to(device)
        self.networks = {"G": self.G, "D": self.D}
        self.G_params, self.D_params = list(self.G.parameters()), list(self.D.parameters())
        self.z_dim = config.model.z_dim
        betas = (config.optim.beta1, config.optim.beta2)
        self.opt_G = adam(self.G.parameters(), config.optim.lr_G, betas, device)
        self.opt_D = adam(self.D.parameters(), config.optim.lr_D, betas, device)
        self.optimizers = {"G": self.opt_G, "D": self.opt_D}
        self.generator_loss = losses.GENERATOR_LOSSES[config.model.loss]

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Run one D update and one G update on a real batch (B, C, H, W) in [-1, 1].

        Returns scalar tensors: loss_D, loss_G, D_acc_real, D_acc_fake, D_acc, D_x (mean D(x)),
        D_G_z (mean D(G(z)) before the D update), grad_norm_D, grad_norm_G.
        """
        G, D = self.G, self.D
        batch = real.shape[0]

        # 1. Discriminator: fresh fakes, detached from G; `score` never lets BatchNorm mix the
        #    statistics of the real and the fake batch.
        with torch.no_grad():
            fake = G(torch.randn(batch, self.z_dim, device=self.device))
        real_logits, fake_logits = self.score(real, fake)
        loss_D = losses.discriminator_loss(real_logits, fake_logits)
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        grad_norm_D = grad_norm(self.D_params)
        self.opt_D.step()

        # 2. Generator: new z, D frozen, reward fooling D.
        with frozen(self.D_params):
            loss_G = self.generator_loss(D(G(torch.randn(batch, self.z_dim, device=self.device))))
            self.opt_G.zero_grad(set_to_none=True)
            loss_G.backward()
        grad_norm_G = grad_norm(self.G_params)
        self.opt_G.step()

        return adversarial_stats(loss_D, loss_G, real_logits, fake_logits, grad_norm_D, grad_norm_G)

    def score(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return D's logits (B,) for the real and for the fake batch.

        A discriminator whose `independent_scores` attribute is True has no BatchNorm or other
        layer that mixes the images of a batch. It scores both batches in one pass over the
        joined batch, which gives the same logits as two passes and costs less. Any other D
        gets two passes, so BatchNorm never mixes real and fake statistics.
        """
        if getattr(self.D, "independent_scores", False):
            logits = self.D(torch.cat([real, fake]))
            return logits[: real.shape[0]], logits[real.shape[0]:]
        return self.D(real), self.D(fake)
