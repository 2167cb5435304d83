"""The conditional GAN update (chapter 8): D judges (image, label) pairs, G makes the image for a label."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from gangan import losses
from gangan.algorithms.base import frozen, grad_norm
from gangan.algorithms.gan import GAN, adversarial_stats
from gangan.errors import GanganError

if TYPE_CHECKING:
    from gangan.config import RunConfig


def mode_seeking_loss(z: torch.Tensor, images: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Return the mode-seeking term of Mao et al. (2019), which asks images of one class to differ as much as their z.

    The batch is split into two halves paired row by row (same labels). The term is
    1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps), added to the generator loss. It is
    large when two latents of one class give nearly the same image, which is what a
    conditional G that ignores z does.
    """
    half = z.shape[0] // 2
    image_distance = (images[:half] - images[half:2 * half]).abs().mean()
    z_distance = (z[:half] - z[half:2 * half]).abs().mean()
    return 1.0 / (image_distance / z_distance + eps)


class ConditionalGAN(GAN):
    """Conditional GAN (Mirza & Osindero 2014) with the optimizers and losses of `GAN`.

    A real pair is (x, its label); a fake pair is (G(z, y), y) with y drawn uniformly over
    all K classes. D learns which images belong with which label, so a fake that does not
    look like its class is easy to reject; G learns to make images that D accepts for the
    class it was asked for.

    Args:
        G: maps (z (N, z_dim), labels (N,)) to images (N, C, H, W) in [-1, 1].
        D: maps (images, labels) to logits (N,).
        config: supplies z_dim, the loss name and the Adam settings.
        device: where the networks live and the batches arrive.
        num_classes: K; labels are integers in [0, K).
    """

    def __init__(self, G: nn.Module, D: nn.Module, config: RunConfig, device: torch.device, num_classes: int):
        super().__init__(G, D, config, device)
        self.num_classes = num_classes
        self.mode_seeking = config.model.mode_seeking
        if self.mode_seeking == 0:
            self.collapse_hint = " within each class. Pass --mode-seeking 1 to counter it"

    def attach_data(self, data) -> None:
        if data.labels is None:
            raise GanganError(f"cgan needs class labels, and {data.name} has none; train it on a labelled dataset such as mnist")
        top = int(data.labels.max())
        if top >= self.num_classes or int(data.labels.min()) < 0:
            raise GanganError(f"{data.name} has label {top}, outside the {self.num_classes} classes 0-{self.num_classes - 1} of the model")

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n labels uniformly from {0, ..., K-1} (int64, shape (n,)) on the CPU generator when given."""
        return torch.randint(0, self.num_classes, (n,), generator=generator).to(self.device)

    def check_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Return labels as int64 on the device; raise GanganError for a label outside [0, K)."""
        labels = torch.as_tensor(labels, dtype=torch.int64)
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.numel():
            raise GanganError(f"unknown label {int(bad[0])}: valid labels are 0-{self.num_classes - 1} ({self.num_classes} classes)")
        return labels.to(self.device)

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Run one D update and one G update on a labelled real batch (B, C, H, W), labels (B,).

        Returns the same scalars as `GAN.train_step`.
        """
        if labels is None:
            raise GanganError("cgan got a batch without labels; train it on a labelled dataset")
        G, D = self.G, self.D
        batch = real.shape[0]

        # 1. Discriminator: real images with their labels, fakes made for uniformly drawn labels.
        fake_labels = self.sample_labels(batch)
        with torch.no_grad():
            fake = G(torch.randn(batch, self.z_dim, device=self.device), fake_labels)
        real_logits = D(real, labels)
        fake_logits = D(fake, fake_labels)
        loss_D = losses.discriminator_loss(real_logits, fake_logits)
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        grad_norm_D = grad_norm(self.D_params)
        self.opt_D.step()

        # 2. Generator: new z and new labels, D frozen; G must fool D for the class it was given.
        gen_labels = self.sample_labels(batch)
        z = torch.randn(batch, self.z_dim, device=self.device)
        if self.mode_seeking > 0:
            # The second half repeats the first half's labels, so each pair shares a class.
            half = batch // 2
            gen_labels[half:2 * half] = gen_labels[:half]
        stats = {}
        with frozen(self.D_params):
            fake_G = G(z, gen_labels)
            loss_G = self.generator_loss(D(fake_G, gen_labels))
            if self.mode_seeking > 0:
                loss_mode_seeking = mode_seeking_loss(z, fake_G)
                loss_G = loss_G + self.mode_seeking * loss_mode_seeking
                stats["loss_mode_seeking"] = loss_mode_seeking.detach()
            self.opt_G.zero_grad(set_to_none=True)
            loss_G.backward()
        grad_norm_G = grad_norm(self.G_params)
        self.opt_G.step()

        return {**adversarial_stats(loss_D, loss_G, real_logits, fake_logits, grad_norm_D, grad_norm_G), **stats}

    def fixed_inputs(self, n: int, seed: int, images: torch.Tensor) -> torch.Tensor:
        """Return ceil(n / K) latents per class, class by class, as one tensor (K * ceil(n / K), z_dim + 1).

        The last column holds the label (0, ..., 0, 1, ..., K-1) as a float, so the fixed batch
        stays one tensor that checkpoints save like a GAN's; `sample_grid` splits it again and
        the grid shows one row per class.
        """
        per_class = max(1, math.ceil(n / self.num_classes))
        labels = torch.arange(self.num_classes).repeat_interleave(per_class)
        z = self.sample_z(labels.shape[0], torch.Generator().manual_seed(seed))
        return torch.cat([z, labels.to(z.device, torch.float32).unsqueeze(1)], dim=1)

    def grid_labels(self, fixed: torch.Tensor) -> torch.Tensor:
        return fixed[:, -1].round().long()

    def sample_grid(self, fixed: torch.Tensor) -> torch.Tensor:
        return self.generate(fixed[:, :-1], self.grid_labels(fixed))

    def grid_nrow(self, n: int) -> int | None:
        return n // self.num_classes if n % self.num_classes == 0 else None

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map latents (N, z_dim) and labels (N,) to images (N, C, H, W) in [-1, 1], G in eval mode.

        Without labels, each image gets a label drawn uniformly over the K classes.
        """
        labels = self.sample_labels(z.shape[0]) if labels is None else self.check_labels(labels)
        if labels.shape != (z.shape[0],):
            raise GanganError(f"got {labels.shape[0]} labels for {z.shape[0]} latent vectors; pass one label per image")
        G = self.G
        was_training = G.training
        G.eval()
        try:
            return G(z.to(self.device), labels)
        finally:
            G.train(was_training)
