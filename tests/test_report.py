"""The run report: plots from metrics records, the HTML page, `gangan report`, and the trainer's hook."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import tiny_config
from gangan.errors import GanganError
from gangan.report import html as report_html
from gangan.report import plots, render_report, write_report


def _record(step, acc_real, acc_fake, state, start=None, **extra):
    return {
        "step": step, "interval_start": step - 10 if start is None else start,
        "loss_D": 0.6, "loss_G": 0.9, "D_acc_real": acc_real, "D_acc_fake": acc_fake,
        "D_acc": (acc_real + acc_fake) / 2, "D_x": 0.6, "D_G_z": 0.4,
        "grad_norm_D": 1.0, "grad_norm_G": 2.0, "diagnosis": state, "diagnosis_message": f"{state} at {step}",
        **extra,
    }


RECORDS = [
    _record(10, 1.0, 1.0, "d_dominating", start=0),
    _record(20, 1.0, 0.98, "d_dominating"),
    _record(30, 0.7, 0.6, "d_ahead"),
    _record(40, 0.55, 0.5, "equilibrium"),
    _record(50, 0.5, 0.45, "equilibrium"),
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A 6-step gan run on digits, trained by the real Trainer (which writes report.html)."""
    from gangan.training import Trainer, create_run_dir

    config = tiny_config("gan")
    run_dir = create_run_dir(tmp_path_factory.mktemp("runs"), "tiny", "gan", "digits")
    Trainer(config, run_dir).run()
    return run_dir


def test_diagnosis_segments_group_consecutive_states():
    segments = plots.diagnosis_segments(RECORDS)
    assert [(s["state"], s["start"], s["end"]) for s in segments] == [
        ("d_dominating", 0, 20), ("d_ahead", 20, 30), ("equilibrium", 30, 50),
    ]
    assert segments[0]["message"] == "d_dominating at 10"


def test_equilibrium_figure_has_the_50_percent_line_and_the_accuracies_in_percent():
    figure = plots.equilibrium_figure(RECORDS)
    lines = figure.axes[0].get_lines()
    by_label = {line.get_label(): line for line in lines}
    assert list(by_label["50% equilibrium"].get_ydata()) == [50, 50]
    assert list(by_label["on real"].get_xdata()) == [10, 20, 30, 40, 50]
    assert list(by_label["on fake"].get_ydata()) == pytest.approx([100, 98, 60, 50, 45])


def test_plots_skip_missing_and_non_finite_values():
    records = [{"step": 1, "loss": 2.0, "recon": 1.5, "kl": 0.5, "grad_norm": 3.0},
               {"step": 2, "loss": None, "recon": 1.0, "kl": 0.25, "grad_norm": 0.0}]
    assert plots.equilibrium_figure(records) is None  # an autoencoder has no D
    assert plots.d_output_figure(records) is None
    lines = {line.get_label(): line for line in plots.loss_figure(records).axes[0].get_lines()}
    assert sorted(lines) == ["kl", "loss", "recon"]
    assert list(lines["loss"].get_xdata()) == [1]  # the null (NaN) loss is left out
    # A zero gradient norm cannot be drawn on a log scale, so the scale stays linear.
    assert plots.gradient_figure(records).axes[0].get_yscale() == "linear"
    assert plots.gradient_figure(RECORDS).axes[0].get_yscale() == "linear"  # 1 to 2: under a decade
    wide = [dict(r, grad_norm_G=10.0 ** -i) for i, r in enumerate(RECORDS)]
    assert plots.gradient_figure(wide).axes[0].get_yscale() == "log"


def test_other_figure_shows_only_scalars_without_a_plot_of_their_own():
    records = [dict(r, test_acc=0.1 * i, diversity_ratio=0.9) for i, r in enumerate(RECORDS)]
    labels = sorted(line.get_label() for line in plots.other_figure(records).axes[0].get_lines())
    assert labels == ["diversity_ratio", "test_acc"]
    assert plots.other_figure(RECORDS) is None


def test_pick_grids_spreads_evenly_and_keeps_first_and_last():
    paths = [Path(f"step-{i:08d}.png") for i in range(1, 31)]
    chosen = report_html.pick_grids(paths, limit=12)
    assert len(chosen) == 12 and chosen[0] == paths[0] and chosen[-1] == paths[-1]
    indices = [paths.index(p) for p in chosen]
    gaps = {b - a for a, b in zip(indices, indices[1:])}
    assert gaps <= {2, 3}
    assert report_html.pick_grids(paths[:5], limit=12) == paths[:5]
    assert report_html.pick_grids(paths, limit=1) == [paths[-1]]


def test_evaluation_rows_separate_results_from_provenance():
    rows = report_html.evaluation_rows([
        {"step": 600, "metrics": {"fid": 12.5, "kid": 0.01}, "provenance": {"features": "classifier", "n": 1000}},
        {"step": 700, "fid": 10.0, "features": "inception", "seed": 3},
        # The layout `gangan evaluate` appends: time, scores, provenance.
        {"time": "2026-12-04T20:00:00+00:00", "scores": {"fid": 3.5, "coverage_histogram": [0.5, 0.5]},
         "provenance": {"n_generated": 100}},
    ])
    assert rows[0] == {"when": {"step": 600}, "metrics": {"fid": 12.5, "kid": 0.01},
                       "provenance": {"features": "classifier", "n": 1000}}
    assert rows[1] == {"when": {"step": 700}, "metrics": {"fid": 10.0, "seed": 3}, "provenance": {"features": "inception"}}
    assert rows[2] == {"when": {"time": "2026-12-04T20:00:00+00:00"},
                       "metrics": {"fid": 3.5, "coverage_histogram": [0.5, 0.5]}, "provenance": {"n_generated": 100}}


def _img_sources(text: str) -> list[str]:
    return re.findall(r'<img[^>]* src="([^"]+)"', text)


def _decode(source: str) -> Image.Image:
    header, data = source.split(",", 1)
    assert header.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_training_writes_a_report_with_config_plots_samples_and_diagnoses(trained_run):
    text = (trained_run / "report.html").read_text(encoding="utf-8")
    assert "<h1>gan on digits</h1>" in text
    for section in ("Configuration", "Losses", "Equilibrium", "Gradient norms", "Diagnoses", "Samples", "Evaluations"):
        assert f"<h2>{section}</h2>" in text
    assert "<td>batch_size</td><td>16</td>" in text
    assert "No evaluations yet" in text
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert f"step {records[-1]['step']:,} of 6" in text
    assert records[-1]["diagnosis_message"] in text
    # 6 plots (losses, D accuracy, D outputs, gradients, diversity, diagnoses), the
    # animation and the grids of steps 3 and 6, all embedded and decodable.
    sources = _img_sources(text)
    assert len(sources) == 6 + 1 + 2
    formats = [_decode(source).format for source in sources]
    assert formats == ["PNG"] * 6 + ["GIF", "PNG", "PNG"]
    assert _decode(sources[-1]).size == Image.open(trained_run / "samples" / "step-00000006.png").size


def test_large_samples_are_linked_relatively_and_resolve_after_copying(trained_run, tmp_path, monkeypatch):
    monkeypatch.setattr(report_html, "EMBED_TOTAL_BYTES", 0)
    copy = tmp_path / "elsewhere" / "run"
    shutil.copytree(trained_run, copy)
    write_report(copy)
    shutil.rmtree(copy / "checkpoints")  # the report needs nothing but itself and samples/
    sources = _img_sources((copy / "report.html").read_text(encoding="utf-8"))
    linked = [s for s in sources if not s.startswith("data:")]
    assert linked == ["samples/progress.gif", "samples/step-00000003.png", "samples/step-00000006.png"]
    for source in linked:
        assert (copy / source).is_file()


def test_evaluations_appear_with_their_provenance(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    record = {"step": 6, "metrics": {"fid": 123.25}, "provenance": {"features": "classifier", "n_generated": 500}}
    (run / "evaluations.jsonl").write_text(json.dumps(record) + "\n" + '{"step": 7, "fid"', encoding="utf-8")
    text = render_report(run)
    assert "fid: 123.2" in text and "features: classifier" in text and "n_generated: 500" in text
    assert "No evaluations yet" not in text


def test_a_cut_off_metrics_line_is_skipped(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as stream:
        stream.write('{"step": 8, "loss_D": 0.')
    assert "step 6 of 6" in render_report(run)


def test_autoencoder_records_give_a_page_without_equilibrium(tmp_path):
    run = tmp_path / "ae-run"
    run.mkdir()
    (run / "config.yaml").write_text("model: {name: ae}\ndata: {dataset: digits}\ntrain: {steps: 2}\n", encoding="utf-8")
    (run / "metrics.jsonl").write_text(
        "\n".join(json.dumps({"step": s, "loss": 1.0 / s, "recon": 1.0 / s, "diagnosis": "training",
                              "diagnosis_message": "training: no discriminator"}) for s in (1, 2)), encoding="utf-8")
    text = render_report(run)
    assert "no discriminator, so there is no equilibrium" in text
    assert "No sample grids yet" in text


def test_report_errors_name_the_path(tmp_path):
    with pytest.raises(GanganError, match="run directory not found: .*missing"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanganError, match="neither config.yaml nor metrics.jsonl; is it a gangan run directory"):
        write_report(tmp_path / "empty")


def test_report_command(trained_run, tmp_path, run_cli):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "report.html").unlink()
    code, out, err = run_cli("report", run)
    assert code == 0, err
    assert "report written" in out and (run / "report.html").is_file()
    code, out, err = run_cli("report", tmp_path / "nope")
    assert code == 1 and "run directory not found" in err and "Traceback" not in err


def test_a_failing_report_is_logged_and_the_run_is_kept(tmp_path, monkeypatch, caplog):
    from gangan import report
    from gangan.training import Trainer, create_run_dir

    def broken(run_dir):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report, "write_report", broken)
    run_dir = create_run_dir(tmp_path, "run", "gan", "digits")
    with caplog.at_level(logging.WARNING, logger="gangan"):
        result = Trainer(tiny_config("gan", train_steps=3), run_dir).run()
    assert result.step == 3 and not result.interrupted
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert (run_dir / "samples" / "progress.gif").is_file()
    assert not (run_dir / "report.html").exists()
    assert "disk on fire" in caplog.text and "gangan report" in caplog.text
