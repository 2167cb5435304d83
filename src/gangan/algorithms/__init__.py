"""Training schemes: each owns its networks and optimizers and implements one training step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangan.algorithms.base import Algorithm
from gangan.algorithms.gan import GAN
from gangan.errors import GanganError

if TYPE_CHECKING:
    from gangan.config import RunConfig

__all__ = ["Algorithm", "GAN", "build_algorithm"]


def build_algorithm(config: RunConfig, device: torch.device) -> Algorithm:
    """Build the algorithm of a resolved config with freshly initialised networks on `device`."""
    from gangan.models.registry import build_networks, model_spec

    networks = build_networks(config)
    kind = model_spec(config.model.name).algorithm
    if kind == "gan":
        return GAN(networks["G"], networks["D"], config, device)
    if kind in ("cgan", "sgan"):
        from gangan.algorithms.conditional import ConditionalGAN
        from gangan.algorithms.semi_supervised import SemiSupervisedGAN
        from gangan.models.conditional import dataset_classes

        scheme = ConditionalGAN if kind == "cgan" else SemiSupervisedGAN
        return scheme(networks["G"], networks["D"], config, device, dataset_classes(config))
    if kind in ("autoencoder", "vae"):
        from gangan.algorithms.autoencoder import Autoencoder

        return Autoencoder(networks["encoder"], networks["decoder"], config, device, variational=kind == "vae")
    raise GanganError(f"model {config.model.name} needs algorithm '{kind}', which this version lacks")
