"""Interface between the generic trainer and a training scheme."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    """Return the L2 norm of all gradients of `params` together, as a 0-dim tensor (no device sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@contextmanager
def frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """Switch off gradients of `params` (a network that only passes gradients through) inside the block."""
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class Algorithm:
    """A training scheme: networks, their optimizers and the update rule of one step.

    The trainer calls `train_step` with a real batch, reads the returned scalars (tensors on
    the training device, averaged by the trainer over each log interval), asks `generate` for
    sample grids and saves `state_dict` in checkpoints. It never looks inside the networks.
    """

    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    z_dim: int
    device: torch.device
    # Classes G can be asked for (cgan); None for a generator that takes no label.
    num_classes: int | None = None
    # Appended to the collapse diagnosis when the algorithm has an option against collapse.
    collapse_hint: str | None = None

    def attach_data(self, data) -> None:
        """Receive the training data (a `gangan.data.ImageData`, uint8 on the CPU) before the first step.

        The trainer calls this once, after building the algorithm and before restoring a
        checkpoint. The default ignores it; SGAN picks its labelled subset here.
        """

    def evaluate(self) -> dict[str, float]:
        """Return held-out metrics the algorithm can measure on its own (SGAN: test accuracy).

        The trainer calls this at every checkpoint step and adds the values to that step's
        metrics record; it must not draw from any random generator, so resumed runs stay identical.
        """
        return {}

    def grid_nrow(self, n: int) -> int | None:
        """Images per row of a sample grid of n images; None lets the grid be about square."""
        return None

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def fixed_inputs(self, n: int, seed: int, images: torch.Tensor) -> torch.Tensor:
        """Return the fixed batch from which every sample grid of a run is made.

        For a GAN this is n latent vectors drawn from their own generator seeded with `seed`;
        `images` (the uint8 training set) is there for algorithms whose grids start from real images.
        """
        return self.sample_z(n, torch.Generator().manual_seed(seed))

    def grid_labels(self, fixed: torch.Tensor) -> torch.Tensor | None:
        """Return the class label (N,) of each image of the grid for the fixed batch; None for an unconditional G."""
        return None

    def sample_grid(self, fixed: torch.Tensor) -> torch.Tensor:
        """Return the images (N, C, H, W) in [-1, 1] shown in a sample grid for the fixed batch."""
        return self.generate(fixed)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n latent vectors z ~ N(0, I), shape (n, z_dim), on the CPU generator when one is given."""
        z = torch.randn(n, self.z_dim, generator=generator)
        return z.to(self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents (N, z_dim) to images (N, C, H, W) in [-1, 1] with G in eval mode.

        In eval mode BatchNorm uses its running statistics, so each image depends only on its
        own z, never on the rest of the batch.
        """
        G = self.networks["G"]
        was_training = G.training
        G.eval()
        try:
            return G(z.to(self.device))
        finally:
            G.train(was_training)

    def state_dict(self) -> dict:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
