"""Matplotlib figures of a run's metrics records: losses, equilibrium signals, gradients, diagnoses.

Every function takes the records of metrics.jsonl (a list of dicts with a "step" key) and
returns a `matplotlib.figure.Figure` built without pyplot, so the figures work under any
backend, in threads, and in notebooks (where a Figure is displayed as an image). A key that
no record holds is left out of its plot; a plot with nothing to show returns None.
"""

from __future__ import annotations

import io
import math

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

# One colour per diagnosis state, in the spirit of the console's: green is good, yellow is
# drifting, red needs attention.
STATE_COLOURS = {
    "equilibrium": "#2e9d4a",
    "d_ahead": "#e0b020",
    "g_ahead": "#e0b020",
    "d_dominating": "#d0453a",
    "g_fooling": "#d0453a",
    "collapse": "#9b2fae",
    "diverged": "#000000",
    "training": "#7f8c99",
}
FIGURE_SIZE = (7.0, 3.2)


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    """Steps and values of one scalar; missing, null and non-finite values are skipped."""
    steps, values = [], []
    for record in records:
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            steps.append(record["step"])
            values.append(float(value))
    return steps, values


def _new_figure(title: str) -> tuple[Figure, object]:
    # Fixed margins instead of layout="constrained", which doubles the time of a report.
    figure = Figure(figsize=FIGURE_SIZE, dpi=100)
    figure.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel("step")
    axes.grid(True, alpha=0.3)
    return figure, axes


def _plot_keys(records: list[dict], keys: list[tuple[str, str]], title: str, ylabel: str,
               log_scale: bool = False) -> Figure | None:
    figure, axes = _new_figure(title)
    plotted = 0
    for key, label in keys:
        steps, values = _series(records, key)
        if steps:
            axes.plot(steps, values, label=label, marker="." if len(steps) < 30 else None)
            plotted += 1
    if not plotted:
        return None
    axes.set_ylabel(ylabel)
    if log_scale:
        axes.set_yscale("log")
        # Labels on minor ticks crowd the axis and overflow the fixed margin.
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.legend(loc="best")
    return figure


# Loss terms of autoencoders, drawn with the losses.
LOSS_TERMS = ("recon", "kl")
# Scalars with plots of their own, or none: the rest go to `other_figure`.
PLOTTED_ELSEWHERE = {"step", "interval_start", "steps_per_s", "D_acc", "D_acc_real", "D_acc_fake", "D_x", "D_G_z"}


def _loss_keys(records: list[dict]) -> list[str]:
    keys = {key for record in records for key in record}
    return sorted(key for key in keys if key.startswith("loss") or key in LOSS_TERMS)


def loss_figure(records: list[dict]) -> Figure | None:
    """Every `loss*` scalar (loss_D, loss_G, an autoencoder's loss) and the recon and kl terms, over steps."""
    return _plot_keys(records, [(key, key) for key in _loss_keys(records)], "Losses", "loss")


def other_figure(records: list[dict]) -> Figure | None:
    """Numeric scalars no other figure shows (diversity ratio, a classifier's accuracy, ...)."""
    skip = PLOTTED_ELSEWHERE | set(_loss_keys(records))
    keys = sorted({
        key for record in records for key, value in record.items()
        if key not in skip and not key.startswith("grad_norm") and isinstance(value, (int, float)) and not isinstance(value, bool)
    })
    return _plot_keys(records, [(key, key) for key in keys], "Other signals", "value")


def equilibrium_figure(records: list[dict]) -> Figure | None:
    """D's accuracy on real and on fake images, and overall, against the 50% equilibrium line.

    At equilibrium D can only guess, so its accuracy sits near 50%; a D that is right on
    nearly every image dominates, and G's gradients vanish. Returns None for runs without a
    discriminator (no D_acc in the records).
    """
    if not any("D_acc" in record for record in records):
        return None
    figure, axes = _new_figure("Discriminator accuracy (equilibrium at 50%)")
    for key, label, style in (("D_acc_real", "on real", "-"), ("D_acc_fake", "on fake", "-"), ("D_acc", "overall", "--")):
        steps, values = _series(records, key)
        if steps:
            axes.plot(steps, [100 * value for value in values], style, label=label,
                      marker="." if len(steps) < 30 else None)
    axes.axhline(50, color="black", linewidth=1.2, linestyle=":", label="50% equilibrium")
    axes.set_ylim(-3, 103)
    axes.set_ylabel("accuracy (%)")
    axes.legend(loc="best")
    return figure


def d_output_figure(records: list[dict]) -> Figure | None:
    """Mean D(x) on real images and mean D(G(z)) on fakes, as probabilities in [0, 1]."""
    figure = _plot_keys(records, [("D_x", "D(x), real"), ("D_G_z", "D(G(z)), fake")],
                        "Mean discriminator output", "probability of 'real'")
    if figure is not None:
        axes = figure.axes[0]
        axes.axhline(0.5, color="black", linewidth=1.2, linestyle=":", label="0.5")
        axes.set_ylim(-0.03, 1.03)
        axes.legend(loc="best")
    return figure


def gradient_figure(records: list[dict]) -> Figure | None:
    """Gradient norms of every `grad_norm*` scalar, on a log scale when all are positive and span over 10x."""
    keys = sorted({key for record in records for key in record if key.startswith("grad_norm")})
    values = [v for key in keys for v in _series(records, key)[1]]
    # A log scale only pays off over more than a decade; below that it shows one tick label or none.
    log_scale = bool(values) and min(values) > 0 and max(values) / min(values) > 10
    return _plot_keys(records, [(key, "|grad " + key[len("grad_norm_"):] + "|" if key.startswith("grad_norm_") else "|grad|") for key in keys],
                      "Gradient norms", "L2 norm", log_scale=log_scale)


def diagnosis_segments(records: list[dict]) -> list[dict]:
    """Group consecutive records with the same diagnosis into segments.

    Returns dicts with "state", "start" (the first record's interval start), "end" (the last
    record's step) and "message" (the segment's first message), in step order.
    """
    segments: list[dict] = []
    for record in records:
        state = record.get("diagnosis")
        if not state:
            continue
        start = record.get("interval_start", record["step"])
        if segments and segments[-1]["state"] == state:
            segments[-1]["end"] = record["step"]
        else:
            segments.append({"state": state, "start": start, "end": record["step"],
                             "message": record.get("diagnosis_message", "")})
    return segments


def diagnosis_figure(records: list[dict]) -> Figure | None:
    """A timeline bar coloured by diagnosis state, one colour per state."""
    segments = diagnosis_segments(records)
    if not segments:
        return None
    figure = Figure(figsize=(FIGURE_SIZE[0], 1.6), dpi=100)
    figure.subplots_adjust(left=0.03, right=0.74, top=0.8, bottom=0.3)
    axes = figure.add_subplot()
    axes.set_title("Diagnosis over training")
    for segment in segments:
        colour = STATE_COLOURS.get(segment["state"], "#7f8c99")
        axes.broken_barh([(segment["start"], max(segment["end"] - segment["start"], 1))], (0, 1), color=colour)
    axes.set_xlim(min(s["start"] for s in segments), max(s["end"] for s in segments))
    axes.set_ylim(0, 1)
    axes.set_yticks([])
    axes.set_xlabel("step")
    states = list(dict.fromkeys(segment["state"] for segment in segments))
    axes.legend(handles=[Patch(color=STATE_COLOURS.get(s, "#7f8c99"), label=s) for s in states],
                loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return figure


def figure_png(figure: Figure) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
