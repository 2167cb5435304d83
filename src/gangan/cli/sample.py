"""`gangan sample`: new images from a trained generator."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from gangan.cli.app import app, console
from gangan.errors import GanganError


@app.command()
def sample(
    run: Path = typer.Argument(..., help="Run directory or checkpoint file."),
    n: int = typer.Option(64, "--n", "-n", help="Number of images."),
    out: Optional[Path] = typer.Option(None, help="Grid image to write (.png) (default: RUN/samples/sample-seed<S>.png)."),
    out_dir: Optional[Path] = typer.Option(None, help="Write one PNG per image into this folder instead of a grid."),
    seed: int = typer.Option(0, help="Seed of the latent vectors; the same seed gives the same images."),
    nrow: Optional[int] = typer.Option(None, help="Images per grid row (default: about square)."),
    labels: Optional[str] = typer.Option(None, help="Conditional models: classes to generate, one grid row each, e.g. 0,3,7."),
    per_class: Optional[int] = typer.Option(None, help="Conditional models: images per class, one row per class (default 8); given alone, every class."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
) -> None:
    """Generate new images from a trained generator."""
    from gangan.images import save_grid, save_images
    from gangan.training import load_generator_run

    if out is not None and out_dir is not None:
        raise GanganError("pass either --out (one grid) or --out-dir (one file per image), not both")
    if nrow is not None and nrow < 1:
        raise GanganError(f"invalid --nrow {nrow}: must be at least 1")
    loaded = load_generator_run(run, device)
    if labels is not None or per_class is not None:
        per_class = 8 if per_class is None else per_class
        images = loaded.sample_classes(parse_labels(labels), per_class, seed=seed)
        n, nrow = images.shape[0], per_class
    else:
        images = loaded.sample(n, seed=seed)
    if out_dir is not None:
        paths = save_images(images, out_dir)
        console.print(f"wrote {len(paths)} images to {escape(str(out_dir))}")
        return
    if out is None:
        out = loaded.checkpoint.parent.parent / "samples" / f"sample-seed{seed}.png"
    if not out.parent.is_dir():
        raise GanganError(f"output folder not found: {out.parent}; create it or choose another --out")
    save_grid(images, out, nrow=nrow)
    console.print(f"wrote a grid of {n} images from step {loaded.step:,} to {escape(str(out))}")


def parse_labels(text: str | None) -> list[int] | None:
    """Parse "0,3,7" into [0, 3, 7]; None stays None (all classes)."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanganError(f"invalid --labels {text!r}: write class numbers separated by commas, such as 0,3,7") from None
