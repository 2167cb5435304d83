"""`gangan models` and `gangan datasets`: what this installation can train, and on what."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from gangan.cli.app import app, console


@app.command()
def models() -> None:
    """List the models that `gangan train` accepts."""
    from gangan.models import MODELS

    table = Table("model", "image sizes", "description")
    for spec in MODELS.values():
        sizes = spec.supported_sizes()
        table.add_row(spec.name, "any" if sizes is None else ", ".join(map(str, sizes)), spec.description)
    console.print(table)


@app.command()
def datasets(data_root: Optional[Path] = typer.Option(None, help="Folder searched first for dataset files.")) -> None:
    """List the datasets and where each one's files are on this machine."""
    from gangan.data import DATASETS, dataset_status

    table = Table("dataset", "split", "status", "where it is, or how to get it")
    for name in DATASETS:
        for index, (split, status, detail) in enumerate(dataset_status(name, data_root)):
            colour = "green" if status == "found" else "yellow"
            table.add_row(name if index == 0 else "", split, f"[{colour}]{status}[/]", escape(detail))
    table.add_row("folder:PATH", "all", "", "your own png/jpg/webp images, searched recursively")
    console.print(table)
    for spec in DATASETS.values():
        console.print(f"[bold]{spec.name}[/]: {escape(spec.description)}")
