"""Importance-weighted negative log-likelihood and the ELBO of a VAE on binarised images.

The estimate follows Burda, Grosse & Salakhutdinov (2016, "Importance Weighted Autoencoders",
eq. 8) with the VAE's own posterior as the proposal:

    log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x),  i = 1..k.

For every image it is at most log p(x) in expectation and it rises towards log p(x) as k grows,
so the reported NLL (its negation, in nats) falls towards the true value with more samples. With
k = 1 it is a one-sample ELBO. The ELBO reported beside it is the mean of the same k log-weights,
so NLL_k <= -ELBO is exact for every image, because the log of a mean is at least the mean of the logs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from gangan.errors import GanganError

BINARIZATIONS = ("dynamic", "static")
LOG_2PI = math.log(2 * math.pi)


@dataclass
class NLLResult:
    """Mean estimates over the test images, in nats per image.

    nll: importance-weighted estimate of -log p(x) with k samples; elbo: mean ELBO of the same
    samples (a lower bound on log p(x), so -elbo >= nll); nll_stderr: standard error of the mean
    NLL over images; k, images, binarization, seed, dataset, split: the protocol.
    """

    nll: float
    elbo: float
    nll_stderr: float
    k: int
    images: int
    binarization: str
    seed: int
    dataset: str = ""
    split: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def binarize(images: torch.Tensor, mode: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return binary images {-1, 1} (N, C, H, W) from grayscale images in [-1, 1].

    "dynamic" draws each pixel from Bernoulli((x + 1) / 2) with `generator`. "static" sets the
    pixels whose intensity (x + 1) / 2 is above 0.5.

    NOTE: the fixed binarised MNIST file of Larochelle & Murray (2011) is not available offline,
    so "static" is a deterministic threshold, not that file; numbers differ from papers using it.
    """
    probs = ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0)
    if mode == "dynamic":
        bits = torch.bernoulli(probs.cpu(), generator=generator).to(images.device)
    elif mode == "static":
        bits = (probs > 0.5).float()
    else:
        raise GanganError(f"invalid binarization {mode!r}; valid values: {', '.join(BINARIZATIONS)}")
    return bits * 2.0 - 1.0


def _check_vae(algorithm) -> None:
    if not getattr(algorithm, "variational", False):
        name = getattr(algorithm, "model_name", type(algorithm).__name__)
        raise GanganError(
            f"the nll metric needs a vae: {name} defines no likelihood p(x) "
            f"(GANs have only samples, a plain autoencoder has no prior over its codes)"
        )
    if algorithm.likelihood != "bernoulli":
        raise GanganError(
            f"the nll metric scores binarised images under a Bernoulli decoder, but this vae was trained with "
            f"--likelihood {algorithm.likelihood}; train with --likelihood bernoulli (1-channel data)"
        )


@torch.no_grad()
def log_weights(algorithm, images: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Return the importance log-weights log p(x|z_i) + log p(z_i) - log q(z_i|x), shape (N, k).

    Args:
        algorithm: a trained `gangan.algorithms.autoencoder.Autoencoder` with variational=True.
        images: (N, C, H, W) in [-1, 1], scored as Bernoulli targets (x + 1) / 2.
        eps: (N, k, z_dim) standard normal noise; z_i = mu + sigma * eps_i.
    """
    device = algorithm.device
    images = images.to(device)
    eps = eps.to(device)
    n, k = eps.shape[:2]
    mu, logvar = algorithm.posterior(images)
    std = torch.exp(0.5 * logvar)
    z = mu.unsqueeze(1) + std.unsqueeze(1) * eps  # (N, k, z_dim)

    # Diagonal Gaussian log-densities, summed over latent dimensions:
    # log q(z|x) = -0.5 * sum(eps^2 + logvar + log 2pi);  log p(z) = -0.5 * sum(z^2 + log 2pi).
    log_q = -0.5 * (eps.pow(2) + logvar.unsqueeze(1) + LOG_2PI).sum(dim=2)
    log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)

    repeated = images.unsqueeze(1).expand(n, k, *images.shape[1:]).reshape(n * k, *images.shape[1:])
    log_px_z = algorithm.log_likelihood(repeated, z.reshape(n * k, -1)).view(n, k)
    return log_px_z + log_prior - log_q


def importance_weighted_nll(
    algorithm,
    images: torch.Tensor,
    k: int = 200,
    binarization: str = "dynamic",
    seed: int = 0,
    batch_size: int = 100,
) -> NLLResult:
    """Estimate the negative log-likelihood of binarised images under a VAE, with its ELBO.

    Args:
        algorithm: a trained VAE (`Autoencoder` with variational=True and a Bernoulli decoder).
        images: grayscale test images (N, 1, H, W) in [-1, 1], binarised here with `binarization`.
        k: importance samples per image (200 for reported figures; a few for tests).
        binarization: "dynamic" (one Bernoulli draw per pixel, seeded) or "static" (threshold 0.5).
        seed: seeds the binarisation and the importance samples; the result does not depend on
            `batch_size`.
        batch_size: images scored together (memory grows with batch_size * k).

    Returns:
        NLLResult in nats per image.

    Raises:
        GanganError: not a VAE with a Bernoulli decoder, k < 1, or no images.
    """
    _check_vae(algorithm)
    if k < 1:
        raise GanganError(f"invalid k {k}: the importance-weighted estimate needs at least 1 sample")
    if images.shape[0] < 1:
        raise GanganError("no test images to score")
    if batch_size < 1:
        raise GanganError(f"invalid batch size {batch_size}: must be at least 1")

    generator = torch.Generator().manual_seed(seed)
    binary = binarize(images, binarization, generator)
    was_training = {name: net.training for name, net in algorithm.networks.items()}
    for net in algorithm.networks.values():
        net.eval()
    try:
        nll_parts, elbo_parts = [], []
        for start in range(0, binary.shape[0], batch_size):
            chunk = binary[start : start + batch_size]
            # Each image's noise comes from its own generator, so results do not depend on batch_size.
            eps = torch.stack([
                torch.randn(k, algorithm.z_dim, generator=torch.Generator().manual_seed(seed * 1_000_003 + start + i + 1))
                for i in range(chunk.shape[0])
            ])
            weights = log_weights(algorithm, chunk, eps)
            nll_parts.append(-(torch.logsumexp(weights, dim=1) - math.log(k)).cpu())
            elbo_parts.append(weights.mean(dim=1).cpu())
    finally:
        for name, net in algorithm.networks.items():
            net.train(was_training[name])

    nll = torch.cat(nll_parts).double()
    elbo = torch.cat(elbo_parts).double()
    stderr = (nll.std(unbiased=True) / math.sqrt(nll.shape[0])).item() if nll.shape[0] > 1 else float("nan")
    return NLLResult(nll.mean().item(), elbo.mean().item(), stderr, k, int(nll.shape[0]), binarization, seed)


def run_nll(
    loaded,
    k: int = 200,
    binarization: str = "dynamic",
    seed: int = 0,
    split: str = "test",
    n_images: int | None = None,
    data_root: str | None = None,
    batch_size: int = 100,
) -> NLLResult:
    """Estimate the NLL of a loaded VAE run (`gangan.training.LoadedRun`) on its dataset's `split`.

    The images are the first `n_images` of the split (all when None), at the run's size and
    channels; see `importance_weighted_nll` for the other arguments.
    """
    from gangan.data import load_dataset

    _check_vae(loaded.algorithm)
    data = loaded.config.data
    if n_images is not None and n_images < 1:
        raise GanganError(f"invalid number of images {n_images}: must be at least 1")
    test = load_dataset(data.dataset, split, data_root or data.root, data.image_size, data.channels)
    images = test.images[:n_images].float().div(127.5).sub(1.0)
    result = importance_weighted_nll(loaded.algorithm, images, k, binarization, seed, batch_size)
    result.dataset, result.split = test.name, split
    return result


def nll_scores(run, images: torch.Tensor, seed: int = 0, k: int = 200, binarization: str = "dynamic") -> dict:
    """Return the `gangan evaluate --metrics nll` scores of a loaded VAE run on uint8 images.

    Args:
        run: the loaded run (`gangan.training.LoadedRun`), or None when a folder of images is
            evaluated, which has no model to score.
        images: uint8 (N, 1, H, W) reference images, binarised here.
        seed, k, binarization: see `importance_weighted_nll`.

    Returns:
        {"nll", "elbo", "nll_stderr"} in nats per image, with the protocol as "nll_k",
        "nll_images" and "nll_binarization".
    """
    if run is None:
        raise GanganError("--metrics nll scores a model's likelihood: evaluate a vae run directory, not a folder of images")
    result = importance_weighted_nll(run.algorithm, images.float().div(127.5).sub(1.0), k, binarization, seed)
    return {
        "nll": result.nll, "elbo": result.elbo, "nll_stderr": result.nll_stderr,
        "nll_k": result.k, "nll_images": result.images, "nll_binarization": result.binarization,
    }
