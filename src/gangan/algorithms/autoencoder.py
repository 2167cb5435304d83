"""The autoencoder update of chapter 2: one network, one loss, one optimizer step per batch.

Where the GAN algorithm alternates two opposing updates, an autoencoder (`ae`) minimises the
reconstruction loss of its encoder-decoder pair, and a variational autoencoder (`vae`,
Kingma & Welling 2014) minimises the per-sample negative evidence lower bound

    -ELBO(x) = -E_q(z|x)[log p(x|z)] + KL(q(z|x) || N(0, I)),

estimated with one reparameterised sample z = mu + sigma * eps, eps ~ N(0, I). Both the
reconstruction term (over pixels) and the KL term (over latent dimensions) are sums; the loss
is their batch mean, with `beta` weighting the KL term (beta = 1 is the ELBO).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from gangan.algorithms.base import Algorithm, grad_norm
from gangan.algorithms.optim import adam
from gangan.errors import GanganError

if TYPE_CHECKING:
    from gangan.config import RunConfig

# Fixed variance of the Gaussian likelihood on [-1, 1] pixels. With sigma^2 = 1/2 the negative
# log-density is sum((x - mean)^2) + D/2 * log(pi): the summed squared error plus a constant.
GAUSSIAN_VARIANCE = 0.5


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Return KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dimensions.

    Args:
        mu, logvar: (N, z_dim) mean and log-variance of the diagonal Gaussian q(z|x).

    Returns:
        (N,) in nats: 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar), zero exactly when q is N(0, I).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def reconstruction_nll(params: torch.Tensor, real: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Return -log p(x|z) per sample in nats, summed over pixels.

    Args:
        params: (N, C, H, W) decoder output: Bernoulli logits, or the Gaussian mean before tanh.
        real: (N, C, H, W) images in [-1, 1]; for "bernoulli" they are read as probabilities
            (x + 1) / 2 in [0, 1], so binary images give the exact Bernoulli likelihood.
        likelihood: "bernoulli" (binary cross-entropy) or "gaussian" (squared error, fixed
            variance GAUSSIAN_VARIANCE, normalising constant included).
    """
    if likelihood == "bernoulli":
        target = (real + 1.0) / 2.0
        return F.binary_cross_entropy_with_logits(params, target, reduction="none").flatten(1).sum(dim=1)
    if likelihood == "gaussian":
        pixels = real[0].numel()
        squared = (real - torch.tanh(params)).pow(2).flatten(1).sum(dim=1)
        return squared / (2 * GAUSSIAN_VARIANCE) + 0.5 * pixels * math.log(2 * math.pi * GAUSSIAN_VARIANCE)
    raise GanganError(f"invalid --likelihood {likelihood!r}; valid values: bernoulli, gaussian")


def params_to_images(params: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Return the mean of p(x|z) as images in [-1, 1]: 2 * sigmoid(logits) - 1, or tanh(mean)."""
    if likelihood == "bernoulli":
        return torch.sigmoid(params) * 2.0 - 1.0
    return torch.tanh(params)


def grid_count(n: int) -> int:
    """Return how many of `n` fixed images a reconstruction grid shows.

    The trainer lays out 2m images in rows of ceil(sqrt(2m)). With m = 2 j^2 a row holds 2j
    images, so rows of inputs and rows of their reconstructions alternate exactly.
    """
    j = math.isqrt(n // 2)
    return 2 * j * j if j >= 1 else 1


class Autoencoder(Algorithm):
    """Autoencoder (`variational=False`) or VAE (`variational=True`) trained with Adam.

    Args:
        encoder: images (N, C, H, W) in [-1, 1] -> (N, z_dim) codes, or (N, 2 * z_dim) holding
            the mean and log-variance of q(z|x) for a VAE.
        decoder: z (N, z_dim) -> (N, C, H, W) likelihood parameters (see `reconstruction_nll`).
        config: supplies z_dim, likelihood, beta and the Adam settings (--lr-g is the learning rate).
        device: where the networks live and the batches arrive.
        variational: train the VAE's negative ELBO instead of the plain reconstruction loss.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, config: RunConfig, device: torch.device,
                 variational: bool):
        self.device = device
        self.variational = variational
        self.encoder, self.decoder = encoder.to(device), decoder.to(device)
        self.networks = {"encoder": self.encoder, "decoder": self.decoder}
        self.z_dim = config.model.z_dim
        self.model_name = config.model.name
        self.beta = config.model.beta
        likelihood = config.model.likelihood
        if likelihood == "auto":
            likelihood = "bernoulli" if config.data.channels == 1 else "gaussian"
        self.likelihood = likelihood
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        betas = (config.optim.beta1, config.optim.beta2)
        self.optimizer = adam(params, config.optim.lr_G, betas, device)
        self.optimizers = {"autoencoder": self.optimizer}

    # -- the model --------------------------------------------------------------------------

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (mu, logvar) of q(z|x), each (N, z_dim); for a plain autoencoder (z, None)."""
        out = self.encoder(images)
        if not self.variational:
            return out, None
        mu, logvar = out.chunk(2, dim=1)
        return mu, logvar

    def log_likelihood(self, images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Return log p(x|z) per sample (N,) in nats for images in [-1, 1] and codes z (N, z_dim)."""
        return -reconstruction_nll(self.decoder(z), images, self.likelihood)

    def loss_terms(self, real: torch.Tensor, eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Return the per-sample loss terms (N,) of a batch: "recon", and "kl" for a VAE.

        `eps` (N, z_dim) is the reparameterisation noise; None draws it from N(0, I).
        """
        mu, logvar = self.posterior(real)
        if not self.variational:
            return {"recon": reconstruction_nll(self.decoder(mu), real, self.likelihood)}
        if eps is None:
            eps = torch.randn_like(mu)
        # Reparameterisation: z is a differentiable function of (mu, logvar) and the noise.
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = reconstruction_nll(self.decoder(z), real, self.likelihood)
        return {"recon": recon, "kl": gaussian_kl(mu, logvar)}

    def loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """Return the batch mean of recon + beta * kl (the negative ELBO when beta = 1)."""
        per_sample = terms["recon"] + self.beta * terms["kl"] if "kl" in terms else terms["recon"]
        return per_sample.mean()

    # -- training ---------------------------------------------------------------------------

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Run one Adam step of encoder and decoder on a real batch (B, C, H, W) in [-1, 1].

        Returns scalar tensors: loss (recon + beta * kl, batch mean), recon (nats per image),
        kl (nats per image, VAE only) and grad_norm (encoder and decoder together).
        """
        terms = self.loss_terms(real)
        loss = self.loss(terms)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm([*self.encoder.parameters(), *self.decoder.parameters()])
        self.optimizer.step()

        stats = {"loss": loss.detach(), "recon": terms["recon"].detach().mean()}
        if "kl" in terms:
            stats["kl"] = terms["kl"].detach().mean()
        stats["grad_norm"] = norm
        return stats

    # -- codes, images and grids ------------------------------------------------------------

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Return the codes (N, z_dim) of images (N, C, H, W) in [-1, 1]: the posterior mean for a VAE."""
        return self.posterior(images.to(self.device))[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Return the images (N, C, H, W) in [-1, 1] that codes z (N, z_dim) decode to (the mean of p(x|z))."""
        return params_to_images(self.decoder(z.to(self.device)), self.likelihood)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Decode prior samples z ~ N(0, I) (N, z_dim) into images (N, C, H, W) in [-1, 1]; VAE only."""
        if not self.variational:
            raise GanganError(
                f"{self.model_name} is a plain autoencoder: it has no prior over its codes, so it cannot "
                f"sample new images from random z. Decode the codes of real images instead "
                f"(`gangan interpolate RUN_DIR --from-image A --to-image B`), or train a vae."
            )
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Return the reconstructions (N, C, H, W) in [-1, 1] of images in [-1, 1], through their codes."""
        return self.decode(self.encode(images))

    def fixed_inputs(self, n: int, seed: int, images: torch.Tensor) -> torch.Tensor:
        """Return `grid_count(n)` training images (float, [-1, 1]) drawn with `seed`, for every grid of a run."""
        m = min(grid_count(n), images.shape[0])
        index = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))[:m]
        return images[index].float().div(127.5).sub(1.0).to(self.device)

    def grid_nrow(self, n: int) -> int | None:
        """Return the images per grid row for n = 2N images, ceil(sqrt(n)), which `sample_grid` orders for."""
        return max(1, math.ceil(math.sqrt(n)))

    def sample_grid(self, fixed: torch.Tensor) -> torch.Tensor:
        """Return inputs and reconstructions (2N, C, H, W) ordered so each row of inputs has its reconstructions below.

        Rows hold `grid_nrow(2N)` = ceil(sqrt(2N)) images, also the width of an about square grid.
        """
        recon = self.reconstruct(fixed)
        row = self.grid_nrow(2 * fixed.shape[0])
        pieces = []
        for start in range(0, fixed.shape[0], row):
            pieces += [fixed[start : start + row], recon[start : start + row]]
        return torch.cat(pieces)
