"""`gangan report RUN_DIR`: write the run's HTML report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from gangan.cli.app import app, console


@app.command()
def report(run_dir: Path = typer.Argument(..., help="Run directory written by `gangan train`.")) -> None:
    """Write RUN_DIR/report.html: configuration, equilibrium plots, diagnoses, samples and evaluations."""
    from gangan.report import write_report

    path = write_report(run_dir)
    console.print(f"report written: {escape(str(path))}")
    console.print("open it in a browser, or in JupyterLab's file browser; the run folder can be copied anywhere with it")
