"""The HTML report of a run directory: configuration, equilibrium plots, diagnoses, samples, evaluations.

The page needs no server and no network: plots are embedded as PNG data, and sample images
are embedded too while they stay small; larger ones are linked by a path relative to the
run directory, so the folder can be copied anywhere and the page still shows them.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import yaml

from gangan import __version__
from gangan.errors import GanganError
from gangan.report import plots

logger = logging.getLogger(__name__)

REPORT_NAME = "report.html"
MAX_GRIDS = 12  # sample grids shown over time, evenly spaced, the last one always included
EMBED_FILE_BYTES = 2 * 1024 * 1024  # a sample image up to this size is embedded...
EMBED_TOTAL_BYTES = 16 * 1024 * 1024  # ...while all embedded samples stay under this

MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans CJK JP", sans-serif;
       margin: 0 auto; max-width: 980px; padding: 1.5rem; color: #1d232a; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #d5dbe1; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #5a6570; } .plot { max-width: 100%; display: block; margin: 0.8rem 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d5dbe1; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f1f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grids { display: flex; flex-wrap: wrap; gap: 0.8rem; } .grids figure { margin: 0; text-align: center; }
.grids img { width: 200px; image-rendering: pixelated; } .pixelated { image-rendering: pixelated; }
.state { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; }
.config { display: flex; flex-wrap: wrap; gap: 1rem; } .note { color: #5a6570; font-style: italic; }
"""


def read_jsonl_tolerant(path: str | os.PathLike) -> list[dict]:
    """Read a JSON Lines file, skipping a line cut off by a crash or a concurrent write; [] if it is missing."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("skipping unreadable line %d of %s", number, path)
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class _Images:
    """Turns sample files into <img> sources: embedded while small, else relative paths."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.embedded_bytes = 0

    def src(self, path: Path) -> str:
        size = path.stat().st_size
        if size <= EMBED_FILE_BYTES and self.embedded_bytes + size <= EMBED_TOTAL_BYTES:
            self.embedded_bytes += size
            return _data_uri(path.read_bytes(), MIME.get(path.suffix.lower(), "application/octet-stream"))
        return quote(path.relative_to(self.run_dir).as_posix())


def pick_grids(paths: list[Path], limit: int = MAX_GRIDS) -> list[Path]:
    """Choose at most `limit` paths evenly spaced over the list, keeping the first and the last."""
    if len(paths) <= limit:
        return list(paths)
    if limit == 1:
        return [paths[-1]]
    indices = sorted({round(i * (len(paths) - 1) / (limit - 1)) for i in range(limit)})
    return [paths[i] for i in indices]


def _step_of(path: Path) -> int | None:
    try:
        return int(path.stem.split("-")[-1])
    except ValueError:
        return None


def _format_value(value) -> str:
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (dict, list)):
        return html.escape(json.dumps(value, ensure_ascii=False))
    return html.escape(str(value))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def evaluation_rows(records: list[dict]) -> list[dict]:
    """Split evaluation records into what was measured and how.

    Each record becomes {"when": ..., "metrics": {...}, "provenance": {...}}: numbers at the
    top level or inside a "metrics", "results" or "scores" mapping are metrics; a
    "provenance" mapping and every other field describe how they were obtained.
    """
    rows = []
    for record in records:
        metrics, provenance = {}, {}
        when = {key: record[key] for key in ("step", "time", "timestamp", "created") if key in record}
        for key, value in record.items():
            if key in when:
                continue
            if key in ("metrics", "results", "scores") and isinstance(value, dict):
                metrics.update(value)
            elif key == "provenance" and isinstance(value, dict):
                provenance.update(value)
            elif _is_number(value):
                metrics[key] = value
            else:
                provenance[key] = value
        rows.append({"when": when, "metrics": metrics, "provenance": provenance})
    return rows


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _config_section(run_dir: Path) -> str:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return '<p class="note">config.yaml is missing.</p>'
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        return f'<p class="note">config.yaml could not be read: {html.escape(str(error))}</p>'
    tables = []
    for section, options in config.items():
        if isinstance(options, dict):
            rows = [[html.escape(str(k)), _format_value(v)] for k, v in options.items()]
            tables.append(f"<div><h3>{html.escape(str(section))}</h3>{_table(['option', 'value'], rows)}</div>")
    return f'<div class="config">{"".join(tables)}</div>'


def _plot(figure, alt: str) -> str:
    if figure is None:
        return ""
    return f'<img class="plot" alt="{html.escape(alt)}" src="{_data_uri(plots.figure_png(figure), "image/png")}">'


def _summary(records: list[dict], config: dict) -> str:
    if not records:
        return '<p class="note">No metrics were recorded yet (metrics.jsonl is empty or missing).</p>'
    last = records[-1]
    total = (config.get("train") or {}).get("steps")
    parts = [f"step {last['step']:,}" + (f" of {total:,}" if isinstance(total, int) else "")]
    if _is_number(last.get("D_acc")):
        parts.append(f"D accuracy {last['D_acc']:.0%} (real {last.get('D_acc_real', float('nan')):.0%}, "
                     f"fake {last.get('D_acc_fake', float('nan')):.0%}; 50% is equilibrium)")
    if _is_number(last.get("D_x")) and _is_number(last.get("D_G_z")):
        parts.append(f"D(x) {last['D_x']:.2f}, D(G(z)) {last['D_G_z']:.2f}")
    if _is_number(last.get("diversity_ratio")):
        parts.append(f"diversity {last['diversity_ratio']:.2f} of the real data's")
    message = html.escape(last.get("diagnosis_message", ""))
    return f"<p><strong>Last record:</strong> {html.escape('; '.join(parts))}.</p>" + (f"<p><strong>Diagnosis:</strong> {message}</p>" if message else "")


def _diagnosis_section(records: list[dict]) -> str:
    segments = plots.diagnosis_segments(records)
    if not segments:
        return '<p class="note">No diagnoses were recorded.</p>'
    rows = []
    for segment in segments:
        colour = plots.STATE_COLOURS.get(segment["state"], "#7f8c99")
        rows.append([
            f"{segment['start']:,} – {segment['end']:,}",
            f'<span class="state" style="background:{colour}"></span>{html.escape(segment["state"])}',
            html.escape(segment["message"]),
        ])
    return _plot(plots.diagnosis_figure(records), "diagnosis timeline") + _table(["steps", "state", "message (first record)"], rows)


def _samples_section(run_dir: Path, images: _Images) -> str:
    samples = run_dir / "samples"
    parts = []
    gif = samples / "progress.gif"
    if gif.is_file():
        parts.append(f'<h3>Progress animation</h3><img class="pixelated" alt="samples/progress.gif" src="{images.src(gif)}" style="width:320px">')
    grids = sorted(samples.glob("step-*.png")) if samples.is_dir() else []
    if grids:
        chosen = pick_grids(grids)
        figures = []
        for path in chosen:
            step = _step_of(path)
            label = f"step {step:,}" if step is not None else path.name
            figures.append(f'<figure><img alt="samples/{html.escape(path.name)}" src="{images.src(path)}"><figcaption>{label}</figcaption></figure>')
        shown = f"{len(chosen)} of {len(grids)}" if len(chosen) < len(grids) else f"all {len(grids)}"
        parts.append(f"<h3>Sample grids over time</h3><p class=\"meta\">The same fixed latent batch at each step ({shown} grids).</p>"
                     f'<div class="grids">{"".join(figures)}</div>')
    if not parts:
        return '<p class="note">No sample grids yet.</p>'
    return "".join(parts)


def _evaluation_section(run_dir: Path) -> str:
    records = read_jsonl_tolerant(run_dir / "evaluations.jsonl")
    if not records:
        return '<p class="note">No evaluations yet (evaluations.jsonl is absent).</p>'
    rows = []
    for row in evaluation_rows(records):
        when = ", ".join(f"{k} {_format_value(v)}" for k, v in row["when"].items())
        metrics = "<br>".join(f"{html.escape(str(k))}: {_format_value(v)}" for k, v in row["metrics"].items())
        provenance = "<br>".join(f"{html.escape(str(k))}: {_format_value(v)}" for k, v in row["provenance"].items())
        rows.append([when, metrics, provenance])
    return _table(["when", "results", "provenance"], rows)


def render_report(run_dir: str | os.PathLike) -> str:
    """Return the HTML text of the report of `run_dir` (see `write_report`)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GanganError(f"run directory not found: {run_dir}")
    if not (run_dir / "config.yaml").is_file() and not (run_dir / "metrics.jsonl").is_file():
        raise GanganError(f"{run_dir} holds neither config.yaml nor metrics.jsonl; is it a gangan run directory?")
    records = read_jsonl_tolerant(run_dir / "metrics.jsonl")
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    model, data = config.get("model") or {}, config.get("data") or {}
    title = f"{model.get('name', '?')} on {data.get('dataset', '?')}"
    images = _Images(run_dir)

    equilibrium = plots.equilibrium_figure(records)
    sections = [
        ("Summary", _summary(records, config)),
        ("Configuration", _config_section(run_dir)),
        ("Losses", _plot(plots.loss_figure(records), "loss curves") or '<p class="note">No losses recorded.</p>'),
        ("Equilibrium", (_plot(equilibrium, "discriminator accuracy with the 50% line") + _plot(plots.d_output_figure(records), "mean D(x) and D(G(z))"))
         if equilibrium is not None else '<p class="note">This model has no discriminator, so there is no equilibrium to show.</p>'),
        ("Gradient norms", _plot(plots.gradient_figure(records), "gradient norms") or '<p class="note">No gradient norms recorded.</p>'),
        ("Other signals", _plot(plots.other_figure(records), "other signals") or '<p class="note">None recorded.</p>'),
        ("Diagnoses", _diagnosis_section(records)),
        ("Samples", _samples_section(run_dir, images)),
        ("Evaluations", _evaluation_section(run_dir)),
    ]
    body = "".join(f'<section id="{html.escape(name.lower().replace(" ", "-"))}"><h2>{html.escape(name)}</h2>{content}</section>' for name, content in sections)
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        # A data: favicon keeps browsers from asking for /favicon.ico, which fails for a local file.
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>gangan report: {html.escape(title)} ({html.escape(run_dir.name)})</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">run {html.escape(run_dir.name)} · report written {generated} by gangan {__version__}</p>"
        f"{body}</body></html>\n"
    )


def write_report(run_dir: str | os.PathLike) -> Path:
    """Write run_dir/report.html from the run's config, metrics, samples and evaluations.

    The file is written to a temporary name and renamed, so a reader never sees half a page.

    Returns:
        The path of the report.

    Raises:
        GanganError: run_dir does not exist or is not a gangan run directory.
    """
    run_dir = Path(run_dir)
    text = render_report(run_dir)
    path = run_dir / REPORT_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
