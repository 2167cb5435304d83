"""The Typer application, its consoles and the entry point that turns user errors into messages.

Every GanganError, and every OSError such as a full disk, ends in a one-line message and a
non-zero exit status, without a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from gangan import __version__
from gangan.errors import GanganError

app = typer.Typer(
    help="Train, watch and evaluate GANs and autoencoders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
err_console = Console(stderr=True)

def _version_callback(value: bool) -> None:
    if value:
        console.print(f"gangan {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also show debug messages."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_time=False, show_path=False, markup=False)],
        force=True,
    )
    logging.getLogger("gangan").setLevel(logging.DEBUG if verbose else logging.INFO)


def main() -> None:
    """Entry point of the `gangan` console script."""
    try:
        app()
    except GanganError as error:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}")
        sys.exit(1)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        err_console.print(f"[bold red]error:[/] could not access{escape(where)}: {escape(error.strerror or str(error))}")
        sys.exit(1)
