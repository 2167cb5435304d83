"""`gangan interpolate` and `gangan manifold`: pictures of a trained model's latent space."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from gangan.cli.app import app, console
from gangan.errors import GanganError


def _check_out(out: Path, suffixes: tuple[str, ...]) -> None:
    if out.suffix.lower() not in suffixes:
        raise GanganError(f"invalid --out {out}: the file name must end in {' or '.join(suffixes)}")
    if not out.parent.is_dir():
        raise GanganError(f"output folder not found: {out.parent}; create it or choose another --out")


@app.command()
def interpolate(
    run: Path = typer.Argument(..., help="Run directory or checkpoint file."),
    from_image: Optional[Path] = typer.Option(None, help="ae/vae: image file whose code starts the path."),
    to_image: Optional[Path] = typer.Option(None, help="ae/vae: image file whose code ends the path."),
    seed: Optional[int] = typer.Option(None, help="Seed of the endpoints: random z for GANs, images of the run's dataset for ae/vae (default: 0)."),
    steps: int = typer.Option(10, help="Images per path, both endpoints included."),
    rows: int = typer.Option(1, help="Paths drawn with --seed, one per row."),
    method: str = typer.Option("auto", help="slerp, linear, or auto (slerp between random z, linear between image codes)."),
    out: Optional[Path] = typer.Option(None, help="A .png grid or a .gif animation (default: RUN/samples/interpolate-seed<S>.png)."),
    data_root: Optional[Path] = typer.Option(None, help="Folder searched first for the run's dataset (ae/vae with --seed)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
) -> None:
    """Decode a straight or spherical path through latent space into a grid or animation.

    GANs move between two z drawn from the prior. Autoencoders move between the codes of two
    real images: --from-image A --to-image B, or a pair from the run's dataset chosen by --seed.
    """
    from gangan.latent import dataset_pairs, decode_path, interpolation_path, read_image, save_interpolation
    from gangan.training import load_generator_run

    if (from_image is None) != (to_image is None):
        raise GanganError("--from-image and --to-image go together: pass both image files, or neither and --seed S")
    if from_image is not None and seed is not None:
        raise GanganError("pass either --from-image A --to-image B or --seed S, not both")
    if from_image is not None and rows != 1:
        raise GanganError("--rows needs --seed: two image files make one path")
    if out is not None:
        _check_out(out, (".png", ".gif"))
    loaded = load_generator_run(run, device)
    cfg = loaded.config
    seed = 0 if seed is None else seed

    images = None
    if from_image is not None:
        images = (read_image(from_image, cfg.data.channels, cfg.data.image_size, "--from-image"),
                  read_image(to_image, cfg.data.channels, cfg.data.image_size, "--to-image"))
    elif hasattr(loaded.algorithm, "encode"):
        if rows < 1:
            raise GanganError(f"invalid --rows {rows}: must be at least 1")
        images = dataset_pairs(cfg, rows, seed, str(data_root) if data_root else None)
    path = interpolation_path(loaded.algorithm, cfg.model.name, steps, images=images, seed=seed, rows=rows, method=method)
    paths = decode_path(loaded.algorithm, path)

    if out is None:
        out = loaded.checkpoint.parent.parent / "samples" / f"interpolate-seed{seed}.png"
        _check_out(out, (".png",))
    save_interpolation(paths, out)
    console.print(f"wrote {paths.shape[0]} path(s) of {steps} images from step {loaded.step:,} to {escape(str(out))}")


@app.command()
def manifold(
    run: Path = typer.Argument(..., help="Run directory or checkpoint file of a model with a 2-D latent space (--z-dim 2)."),
    n: int = typer.Option(15, "--n", "-n", help="Images per side of the square grid."),
    quantile: float = typer.Option(0.05, help="The grid spans the prior's quantiles from this to 1 minus this, in (0, 0.5)."),
    out: Optional[Path] = typer.Option(None, help="Grid image to write (.png) (default: RUN/samples/manifold.png)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
) -> None:
    """Draw the learned manifold of a 2-D latent space: decoded images on a grid over the latent plane."""
    from gangan.images import save_grid
    from gangan.latent import manifold as manifold_images
    from gangan.training import load_generator_run

    if not 0.0 < quantile < 0.5:
        raise GanganError(f"invalid --quantile {quantile}: must be in (0, 0.5)")
    if out is not None:
        _check_out(out, (".png",))
    loaded = load_generator_run(run, device)
    images = manifold_images(loaded.algorithm, loaded.config.model.name, n, quantile)
    if out is None:
        out = loaded.checkpoint.parent.parent / "samples" / "manifold.png"
        _check_out(out, (".png",))
    save_grid(images, out, nrow=n)
    console.print(f"wrote the {n}x{n} latent manifold from step {loaded.step:,} to {escape(str(out))}")
