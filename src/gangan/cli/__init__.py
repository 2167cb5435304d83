"""The `gangan` command line: parse and check options, call the library, show progress.

This package is the only place that prints for the user. Each command lives in its own
module, registered on the shared Typer `app` when the module is imported here.
"""

# Importing a command module registers its commands; the order sets the order in --help.
from gangan.cli import train  # noqa: F401  isort: skip
from gangan.cli import sample  # noqa: F401  isort: skip
from gangan.cli import evaluate  # noqa: F401  isort: skip
from gangan.cli import interpolate  # noqa: F401  isort: skip
from gangan.cli import classify  # noqa: F401  isort: skip
from gangan.cli import info  # noqa: F401  isort: skip
from gangan.cli import report  # noqa: F401  isort: skip
from gangan.cli import lab  # noqa: F401  isort: skip
from gangan.cli.app import app, main

__all__ = ["app", "main"]
