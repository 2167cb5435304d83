"""Reports of a run: matplotlib plots of the equilibrium signals and the HTML page of a run directory."""

from gangan.report.html import REPORT_NAME, read_jsonl_tolerant, render_report, write_report
from gangan.report.plots import (
    d_output_figure,
    diagnosis_figure,
    diagnosis_segments,
    equilibrium_figure,
    gradient_figure,
    loss_figure,
    other_figure,
)

__all__ = [
    "REPORT_NAME",
    "d_output_figure",
    "diagnosis_figure",
    "diagnosis_segments",
    "equilibrium_figure",
    "gradient_figure",
    "loss_figure",
    "other_figure",
    "read_jsonl_tolerant",
    "render_report",
    "write_report",
]
