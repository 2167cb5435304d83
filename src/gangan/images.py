"""Conversion of [-1, 1] image tensors to uint8, and the writers built on it.

Every image that gangan writes or scores goes through `to_uint8`, so a sample saved as
PNG and the same sample held in memory have identical pixel values.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Convert float images in [-1, 1] to uint8 in [0, 255].

    Args:
        images: float tensor (N, C, H, W) or (C, H, W); values outside [-1, 1] are clamped.

    Returns:
        uint8 tensor of the same shape: round(clamp((x + 1) / 2, 0, 1) * 255).
    """
    return ((images.detach().float() + 1) / 2).clamp_(0, 1).mul_(255).round_().to(torch.uint8)


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Arrange a batch of [-1, 1] images (N, C, H, W) into one PIL image.

    `nrow` is the number of images per row; the default makes the grid about square.
    """
    if nrow is None:
        nrow = max(1, math.ceil(math.sqrt(images.shape[0])))
    # make_grid pads with 0, which is black after the uint8 conversion.
    grid = make_grid(to_uint8(images.cpu()), nrow=nrow, padding=padding, pad_value=0)
    return _to_pil(grid)


def _to_pil(image: torch.Tensor) -> Image.Image:
    array = image.permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], mode="L")
    return Image.fromarray(array, mode="RGB")


def save_atomic(image: Image.Image, path: str | os.PathLike, **save_kwargs) -> None:
    """Save a PIL image through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format=_format_for(path), **save_kwargs)
    os.replace(tmp, path)


def _format_for(path: Path) -> str:
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
    return formats.get(path.suffix.lower(), "PNG")


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> None:
    """Write a batch of [-1, 1] images (N, C, H, W) as one grid image file."""
    save_atomic(grid_image(images, nrow=nrow), path)


def save_images(images: torch.Tensor, directory: str | os.PathLike, prefix: str = "sample") -> list[Path]:
    """Write each [-1, 1] image of a batch (N, C, H, W) as its own PNG; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(images.shape[0] - 1)))
    paths = []
    for index, image in enumerate(to_uint8(images.cpu())):
        path = directory / f"{prefix}-{index:0{width}d}.png"
        save_atomic(_to_pil(image), path)
        paths.append(path)
    return paths


def save_gif(frames: list[str | os.PathLike], path: str | os.PathLike, frame_ms: int = 400) -> None:
    """Animate image files into a looping GIF; the last frame is held three times as long."""
    if not frames:
        return
    images = [Image.open(frame).convert("RGB") for frame in frames]
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * 3]
    save_atomic(images[0], path, save_all=True, append_images=images[1:], duration=durations, loop=0)
