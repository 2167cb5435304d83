"""Walking through a trained model's latent space: interpolation paths and the 2-D manifold grid.

A GAN's latent space is explored between two z drawn from its N(0, I) prior, along the great
circle. Gaussian z concentrate near a sphere of radius sqrt(z_dim), and a straight line between
two of them passes through short vectors the generator rarely saw, so spherical interpolation
is the default there. An autoencoder or VAE is explored along a straight line between the codes
of two real images.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2

from gangan.algorithms import Algorithm
from gangan.errors import GanganError
from gangan.images import grid_image, save_atomic

METHODS = ("auto", "slerp", "linear")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Return (1 - t) * z0 + t * z1 for codes (R, D) and fractions t (T,) as (R, T, D)."""
    t = t.view(1, -1, 1).to(z0)
    return z0.unsqueeze(1) * (1 - t) + z1.unsqueeze(1) * t


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Return the spherical interpolation of codes (R, D) at fractions t (T,) as (R, T, D).

    slerp(t) = sin((1 - t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1, with w the angle between
    z0 and z1 (Shoemake 1985). Pairs that are almost parallel (sin w < 1e-6) fall back to `lerp`.
    """
    unit0 = z0 / z0.norm(dim=1, keepdim=True).clamp_min(1e-12)
    unit1 = z1 / z1.norm(dim=1, keepdim=True).clamp_min(1e-12)
    omega = torch.acos((unit0 * unit1).sum(dim=1).clamp(-1.0, 1.0)).view(-1, 1, 1)
    sin_omega = torch.sin(omega)
    t = t.view(1, -1, 1).to(z0)
    spherical = (torch.sin((1 - t) * omega) * z0.unsqueeze(1) + torch.sin(t * omega) * z1.unsqueeze(1)) / sin_omega
    return torch.where(sin_omega.abs() < 1e-6, lerp(z0, z1, t.view(-1)), spherical)


def latent_path(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str) -> torch.Tensor:
    """Return `steps` evenly spaced points from z0 to z1 (both (R, D)) as (R, steps, D).

    The first and last points are z0 and z1 exactly. `method` is "slerp" or "linear".
    """
    if steps < 2:
        raise GanganError(f"invalid --steps {steps}: an interpolation needs at least 2 steps")
    if method not in ("slerp", "linear"):
        raise GanganError(f"invalid --method {method!r}; valid values: {', '.join(METHODS)}")
    t = torch.linspace(0.0, 1.0, steps)
    path = slerp(z0, z1, t) if method == "slerp" else lerp(z0, z1, t)
    # Rounding in sin/acos may move the endpoints by an ulp; pin them to the inputs.
    path[:, 0], path[:, -1] = z0, z1
    return path


def manifold_latents(n: int, quantile: float = 0.05) -> torch.Tensor:
    """Return an n x n grid over the 2-D latent plane, (n * n, 2), row by row.

    Coordinates are the N(0, 1) quantiles Phi^-1(p) for p evenly spaced in [quantile, 1 - quantile],
    so the grid covers the prior's mass evenly. z1 grows left to right, z2 bottom to top.
    """
    if n < 2:
        raise GanganError(f"invalid --n {n}: the manifold grid needs at least 2 points per side")
    coords = torch.special.ndtri(torch.linspace(quantile, 1.0 - quantile, n, dtype=torch.float64)).float()
    z2, z1 = torch.meshgrid(coords.flip(0), coords, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)


def _latent_size(algorithm: Algorithm, model: str) -> int:
    z_dim = getattr(algorithm, "z_dim", None)
    if not z_dim:
        raise GanganError(f"{model} has no latent space (it maps images to images), so there is nothing to interpolate")
    return int(z_dim)


def read_image(path: str | os.PathLike, channels: int, image_size: int, option: str = "--from-image") -> torch.Tensor:
    """Read an image file as (1, C, S, S) in [-1, 1], resized (shorter side) and center-cropped to S.

    Raises:
        GanganError: the file is missing or is not an image PIL can read.
    """
    path = Path(path)
    if not path.is_file():
        raise GanganError(f"image not found: {path}; check the path given to {option}")
    try:
        with Image.open(path) as image:
            pixels = v2.PILToTensor()(image.convert("L" if channels == 1 else "RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise GanganError(f"cannot read {path} as an image ({error}); pass a PNG or JPEG file to {option}") from None
    pixels = v2.CenterCrop(image_size)(v2.Resize(image_size, antialias=True)(pixels))
    return pixels.unsqueeze(0).float().div(127.5).sub(1.0)


def interpolation_path(
    algorithm: Algorithm,
    model: str,
    steps: int = 10,
    images: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    rows: int = 1,
    method: str = "auto",
) -> torch.Tensor:
    """Return latent paths (rows, steps, z_dim) on the CPU, each from one endpoint code to the other.

    Args:
        algorithm: a trained algorithm; autoencoders have `encode` and `decode`.
        model: the model name, for messages.
        steps: points per path, endpoints included (at least 2).
        images: for autoencoders, (A, B) real images (R, C, H, W) in [-1, 1] whose codes are the
            endpoints; one path per row. Models without an encoder reject them.
        seed: for GANs, seeds the R pairs of z drawn from the prior.
        rows: paths drawn with `seed` (GANs only; with `images` the rows come from the images).
        method: "slerp", "linear", or "auto" (slerp between prior samples, linear between codes).

    Raises:
        GanganError: no latent space, images for a model without encoder (or none for one
            with an encoder), or invalid steps, rows or method.
    """
    _latent_size(algorithm, model)
    if method not in METHODS:
        raise GanganError(f"invalid --method {method!r}; valid values: {', '.join(METHODS)}")
    if rows < 1:
        raise GanganError(f"invalid --rows {rows}: must be at least 1")

    if hasattr(algorithm, "encode"):
        if images is None:
            raise GanganError(f"{model} interpolates between the codes of two real images: pass --from-image A --to-image B")
        z0, z1 = algorithm.encode(images[0]).cpu(), algorithm.encode(images[1]).cpu()
        return latent_path(z0, z1, steps, "linear" if method == "auto" else method)
    if images is not None:
        raise GanganError(f"{model} has no encoder, so real images have no codes; interpolate between random z with --seed S")
    z = algorithm.sample_z(2 * rows, torch.Generator().manual_seed(seed)).cpu()
    return latent_path(z[:rows], z[rows:], steps, "slerp" if method == "auto" else method)


def decode_path(algorithm: Algorithm, path: torch.Tensor) -> torch.Tensor:
    """Decode latent paths (R, T, z_dim) into images (R, T, C, H, W) in [-1, 1] on the CPU.

    Autoencoders decode with `decode` (an `ae` has no prior, but its decoder still maps codes
    to images); GANs with `generate`.
    """
    decode = algorithm.decode if hasattr(algorithm, "decode") else algorithm.generate
    flat = decode(path.reshape(-1, path.shape[-1])).cpu()
    return flat.view(*path.shape[:2], *flat.shape[1:])


def manifold(algorithm: Algorithm, model: str, n: int = 15, quantile: float = 0.05) -> torch.Tensor:
    """Return the decoded n x n grid over a 2-D prior's latent plane, (n * n, C, H, W) in [-1, 1].

    Raises:
        GanganError: the latent space is not 2-D, or the model has no prior to sample (ae).
    """
    z_dim = _latent_size(algorithm, model)
    if z_dim != 2:
        raise GanganError(
            f"the manifold picture needs a 2-D latent space, but this {model} run has z_dim {z_dim}; "
            f"train one with `gangan train {model} --z-dim 2`"
        )
    return algorithm.generate(manifold_latents(n, quantile)).cpu()


def save_interpolation(images: torch.Tensor, path: str | os.PathLike, frame_ms: int = 120) -> None:
    """Write paths (R, T, C, H, W) in [-1, 1] as a PNG grid (one path per row) or a GIF.

    The GIF's frame t shows the t-th image of every path side by side; it plays forward, then
    back, and loops.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    rows, steps = images.shape[:2]
    if suffix == ".png":
        save_atomic(grid_image(images.reshape(rows * steps, *images.shape[2:]), nrow=steps), path)
        return
    if suffix != ".gif":
        raise GanganError(f"invalid --out {path}: write a .png (grid) or a .gif (animation)")
    frames = [grid_image(images[:, t], nrow=rows).convert("P") for t in range(steps)]
    frames = frames + frames[-2:0:-1]
    save_atomic(frames[0], path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)


def dataset_pairs(config, rows: int, seed: int, data_root: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return `rows` pairs of images (A, B), each (rows, C, H, W) in [-1, 1], drawn with `seed` from a run's data.

    The images come from the dataset and split the run trained on, at its size and channels.
    """
    from gangan.data import load_dataset

    data = config.data
    loaded = load_dataset(data.dataset, data.split, data_root or data.root, data.image_size, data.channels)
    if len(loaded) < 2 * rows:
        raise GanganError(f"invalid --rows {rows}: {loaded.name} holds only {len(loaded)} images")
    index = torch.randperm(len(loaded), generator=torch.Generator().manual_seed(seed))[: 2 * rows]
    chosen = loaded.images[index].float().div(127.5).sub(1.0)
    return chosen[:rows], chosen[rows:]
