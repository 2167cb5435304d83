"""`gangan evaluate` and `gangan evaluator train`: scores of a generator, and the classifier behind them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from gangan.cli.app import app, console
from gangan.errors import GanganError

evaluator_app = typer.Typer(help="Manage the classifier that scores generated images.", no_args_is_help=True)
app.add_typer(evaluator_app, name="evaluator")

# Display label and number format of each score, in table order.
_SHOWN = [
    ("fid", "FID", "{:.3f}"),
    ("kid", "KID", "{:.5f}"),
    ("kid_std", "KID std", "{:.5f}"),
    ("is", "Inception Score", "{:.3f}"),
    ("is_std", "IS std", "{:.3f}"),
    ("is_real", "IS of real images", "{:.3f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("coverage_kl", "class KL (generated || real)", "{:.4f}"),
    ("modes_kl", "mode KL (generated || uniform)", "{:.4f}"),
]


def _per_class_table(scores: dict, dataset: str) -> Table:
    """Table of the label accuracy and, when measured, the FID of each requested class."""
    from gangan.data import dataset_spec

    names = dataset_spec(dataset).class_names or ()
    table = Table(show_header=True, header_style="bold")
    table.add_column("class")
    table.add_column("label accuracy", justify="right")
    fids = scores.get("fid_per_class")
    if fids is not None:
        table.add_column("FID", justify="right")
    for c, accuracy in enumerate(scores["label_accuracy_per_class"]):
        name = f"{c} ({names[c]})" if c < len(names) else str(c)
        row = [name, f"{accuracy:.1%}"]
        if fids is not None:
            row.append("n/a" if fids[c] is None else f"{fids[c]:.3f}")
        table.add_row(*row)
    return table


def _scores_table(scores: dict) -> Table:
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, pattern in _SHOWN:
        if key in scores:
            table.add_row(label, pattern.format(scores[key]))
    if "coverage" in scores:
        table.add_row("classes covered", f"{scores['coverage']} of {scores['coverage_classes']}")
    if "modes" in scores:
        table.add_row("Stacked MNIST modes", f"{scores['modes']} of {scores['modes_total']}")
    shown = {key for key, _, _ in _SHOWN} | {"coverage", "coverage_classes", "modes", "modes_total", "class_shares"}
    for key, value in scores.items():
        if key not in shown and isinstance(value, (int, float)):
            table.add_row(key, f"{value:.4g}")
    return table


@app.command()
def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run directory or checkpoint file (omit with --real)."),
    metrics: Optional[str] = typer.Option(None, help="Comma-separated metrics: fid, kid, is, pr, coverage, modes, nll (vae only), labels (cgan: label accuracy and FID per class) (default: all that apply except nll and labels)."),
    n: Optional[int] = typer.Option(None, "--n", "-n", help="Generated images to score, and real images up to the split's size (default: 10000; 26000 for stacked-mnist, as in PacGAN)."),
    features: str = typer.Option("auto", help="Feature extractor: auto (classifier for labelled datasets), classifier or inception."),
    reference: Optional[str] = typer.Option(None, help="Reference split: train, test or all (default: the run's training split; test with --real)."),
    seed: int = typer.Option(0, help="Seed of the latent vectors, the KID subsets and the IS shuffle."),
    real: Optional[Path] = typer.Option(None, help="Score this folder of generated images instead of a checkpoint (needs --dataset)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Reference dataset (default: the run's)."),
    data_root: Optional[Path] = typer.Option(None, help="Folder searched first for dataset files (also: GANGAN_DATA)."),
    classifier: Optional[Path] = typer.Option(None, help="Classifier file from `gangan evaluator train --out` (default: the cached one)."),
    inception_weights: Optional[Path] = typer.Option(None, help="Inception-v3 weights file (also: GANGAN_INCEPTION_WEIGHTS)."),
    device: str = typer.Option("auto", help="Where the generator runs: auto, cpu, cuda or mps."),
    out: Optional[Path] = typer.Option(None, help="JSON Lines file the result is appended to (default: RUN/evaluations.jsonl or FOLDER/evaluations.jsonl)."),
) -> None:
    """Score a generator against real data and append the scores with their provenance to evaluations.jsonl."""
    from gangan.evaluation import append_record, default_metrics, evaluate_folder, evaluate_run, parse_metrics, run_dir_of
    from gangan.metrics.modes import PACGAN_SAMPLES
    from gangan.training import find_checkpoint, load_checkpoint

    if (run is None) == (real is None):
        raise GanganError("pass either RUN (a run directory or checkpoint) or --real FOLDER (generated images), not both")
    if n is not None and n < 2:
        raise GanganError(f"invalid --n {n}: the metrics need at least 2 generated images")

    if real is not None:
        if dataset is None:
            raise GanganError("--real FOLDER needs --dataset NAME: the dataset whose real images the folder is compared with")
        names = parse_metrics(metrics) if metrics else default_metrics(dataset, features)
        console.print(f"scoring images under {escape(str(real))} against {escape(dataset)} ({', '.join(names)})")
        result = evaluate_folder(real, dataset, names, features, reference or "test", n or 10000, seed, data_root, classifier, inception_weights)
        record_path = out or real / "evaluations.jsonl"
    else:
        checkpoint = find_checkpoint(run)
        run_dataset = dataset or load_checkpoint(checkpoint)["config"]["data"]["dataset"]
        names = parse_metrics(metrics) if metrics else default_metrics(run_dataset, features)
        if n is None:
            n = PACGAN_SAMPLES if run_dataset == "stacked-mnist" else 10000
        console.print(f"scoring {n:,} samples of {escape(str(checkpoint))} ({', '.join(names)})")
        result = evaluate_run(run, names, n, features, reference, seed, dataset, data_root, classifier, inception_weights, device)
        record_path = out or run_dir_of(checkpoint) / "evaluations.jsonl"

    console.print(_scores_table(result.scores))
    if "label_accuracy_per_class" in result.scores:
        console.print(_per_class_table(result.scores, run_dataset))
    if "class_shares" in result.scores:
        # Stacked MNIST has 1,000 classes: show the ten largest shares instead of all of them.
        shares = list(enumerate(result.scores["class_shares"]))
        label = "class shares"
        if len(shares) > 20:
            largest = sorted(shares, key=lambda item: -item[1])[:10]
            shares, label = [item for item in largest if item[1] > 0], "largest class shares"
        console.print(f"{label}: " + "  ".join(f"{index}:{share:.0%}" for index, share in shares))
    prov = result.provenance
    console.print(
        f"provenance: {prov['features']} features ({escape(prov['extractor'])}, weights sha256 {prov['weights_sha256'][:12]}), "
        f"{prov['n_generated']:,} generated vs {prov['n_real']:,} real ({escape(prov['reference'])}), "
        f"resize: {escape(prov['resize'])}, seed {prov['seed']}, gangan {prov['gangan_version']}, {result.seconds:.1f} s"
    )
    append_record(record_path, result.record())
    console.print(f"appended to {escape(str(record_path))}")


@evaluator_app.command("train")
def evaluator_train(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Labelled dataset whose classifier to train (stacked-mnist uses mnist's)."),
    split: Optional[str] = typer.Option(None, help="Split to train on (default: train when present, else 80% of test, tested on the other 20%)."),
    steps: int = typer.Option(1500, help="Training steps of 128 images."),
    seed: int = typer.Option(0, help="Seed of the weights, data order, holdout and augmentation."),
    data_root: Optional[Path] = typer.Option(None, help="Folder searched first for dataset files (also: GANGAN_DATA)."),
    retrain: bool = typer.Option(False, help="Train again even when a cached classifier exists."),
    out: Optional[Path] = typer.Option(None, help="Also write the classifier to this file, for `gangan evaluate --classifier`."),
) -> None:
    """Train (or load from the cache) the evaluation classifier of a dataset and print its test accuracy."""
    from rich.progress import Progress

    from gangan.evaluation import get_classifier, save_classifier

    if split is not None and split not in ("train", "test", "all"):
        raise GanganError(f"invalid --split '{split}'; valid splits: train, test, all")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("training classifier", total=steps)
        trained = get_classifier(dataset, data_root, split, steps, seed, retrain,
                                 progress=lambda step, loss: progress.update(task, completed=step, description=f"loss {loss:.3f}"))
    info = trained.info
    console.print(
        f"[bold]{escape(info.dataset)}[/] classifier: test accuracy [bold]{info.test_accuracy:.2%}[/] on "
        f"{escape(info.test_split)} ({info.n_test:,} images); trained on {escape(info.train_split)} "
        f"({info.n_train:,} images, {info.steps:,} steps, seed {info.seed})"
    )
    console.print(f"cached at {escape(str(trained.path))} (sha256 {trained.weights_sha256[:12]})")
    if out is not None:
        if not out.parent.is_dir():
            raise GanganError(f"output folder not found: {out.parent}; create it or choose another --out")
        save_classifier(trained, out)
        console.print(f"wrote {escape(str(out))}")
