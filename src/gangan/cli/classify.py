"""`gangan classify`: the classifier of a trained sgan run applied to image files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from gangan.cli.app import app, console
from gangan.errors import GanganError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
NETWORKS = {"d": "D", "baseline": "C"}


def read_images(path: Path, channels: int, image_size: int):
    """Read one image file or every image under a folder as uint8 (N, C, S, S), resized and centre-cropped.

    Returns (paths, images). Raises GanganError when nothing readable is found.
    """
    import torch
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms import v2

    if path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not paths:
            raise GanganError(f"no .png, .jpg, .jpeg or .webp file under {path}; pass an image file or a folder of images")
    elif path.is_file():
        paths = [path]
    else:
        raise GanganError(f"--input not found: {path}")
    transform = v2.Compose([v2.PILToTensor(), v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)])
    mode = "L" if channels == 1 else "RGB"
    images = []
    for file in paths:
        try:
            with Image.open(file) as image:
                images.append(transform(image.convert(mode)))
        except (UnidentifiedImageError, OSError, ValueError):
            raise GanganError(f"cannot read {file} as an image; remove it or pass another --input") from None
    return paths, torch.stack(images)


@app.command()
def classify(
    run: Path = typer.Argument(..., help="Run directory or checkpoint file of an sgan run."),
    input: Path = typer.Option(..., "--input", "-i", help="An image file, or a folder searched recursively for png/jpg/webp images."),
    network: str = typer.Option("d", help="d: the SGAN discriminator; baseline: the classifier trained on the labels alone (--baseline runs)."),
    out: Optional[Path] = typer.Option(None, help="Also write the predictions to this CSV file."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
) -> None:
    """Classify images with the classifier of a trained semi-supervised GAN."""
    from gangan.data import dataset_spec
    from gangan.training import load_generator_run

    if network not in NETWORKS:
        raise GanganError(f"invalid --network {network!r}; valid values: {', '.join(NETWORKS)}")
    loaded = load_generator_run(run, device)
    algorithm = loaded.algorithm
    if not hasattr(algorithm, "classify"):
        raise GanganError(f"{run} is a {loaded.config.model.name} run, which has no classifier; gangan classify needs an sgan run")
    key = NETWORKS[network]
    if key not in algorithm.networks:
        raise GanganError(f"{run} was trained without --baseline, so it has no baseline classifier; use --network d")
    data = loaded.config.data
    paths, images = read_images(input, data.channels, data.image_size)
    probs = algorithm.classify(images.float().div(127.5).sub(1.0), key).cpu()
    confidence, predicted = probs.max(dim=1)
    names = dataset_spec(data.dataset).class_names

    table = Table("image", "class", "name", "probability")
    rows = []
    for file, c, p in zip(paths, predicted.tolist(), confidence.tolist()):
        name = names[c] if c < len(names) else str(c)
        rows.append((str(file), c, name, p))
        table.add_row(escape(str(file)), str(c), escape(name), f"{p:.1%}")
    console.print(table)
    if out is not None:
        if not out.parent.is_dir():
            raise GanganError(f"output folder not found: {out.parent}; create it or choose another --out")
        with open(out, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["image", "class", "name", "probability"])
            writer.writerows((f, c, n, f"{p:.6f}") for f, c, n, p in rows)
        console.print(f"wrote {len(rows)} predictions to {escape(str(out))}")
