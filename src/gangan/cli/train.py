"""`gangan train`: resolve the configuration, create or reopen the run directory, show progress."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from gangan.cli.app import app, console
from gangan.errors import GanganError

# Options that may change when a run is resumed; all others are fixed by its checkpoint.
RESUMABLE = {"train.steps", "train.log_every", "train.sample_every", "train.checkpoint_every", "train.device",
             "train.eval_every", "train.eval_n"}

STATE_STYLES = {
    "equilibrium": "green",
    "d_ahead": "yellow",
    "g_ahead": "yellow",
    "d_dominating": "red",
    "g_fooling": "red",
    "collapse": "red",
    "diverged": "bold red",
}


@app.command()
def train(
    model: Optional[str] = typer.Argument(None, help="Model to train (see `gangan models`); omit with --resume."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset name (see `gangan datasets`) or folder:PATH."),
    split: Optional[str] = typer.Option(None, help="Dataset split: train, test or all."),
    image_size: Optional[int] = typer.Option(None, help="Side length of the square training images in pixels (default: the dataset's)."),
    channels: Optional[int] = typer.Option(None, help="1 for grayscale, 3 for RGB (default: the dataset's)."),
    data_root: Optional[Path] = typer.Option(None, help="Folder searched first for dataset files (also: GANGAN_DATA)."),
    steps: Optional[int] = typer.Option(None, help="Total training steps, each one D and one G update."),
    batch_size: Optional[int] = typer.Option(None, help="Images per batch."),
    lr: Optional[float] = typer.Option(None, help="Learning rate of both G and D."),
    lr_g: Optional[float] = typer.Option(None, "--lr-g", help="Generator learning rate."),
    lr_d: Optional[float] = typer.Option(None, "--lr-d", help="Discriminator learning rate."),
    beta1: Optional[float] = typer.Option(None, help="Adam beta1, in [0, 1)."),
    beta2: Optional[float] = typer.Option(None, help="Adam beta2, in [0, 1)."),
    z_dim: Optional[int] = typer.Option(None, help="Size of the latent vector z."),
    loss: Optional[str] = typer.Option(None, help="Generator loss: non-saturating or minimax (saturates, for the lesson)."),
    likelihood: Optional[str] = typer.Option(None, help="Reconstruction likelihood of ae and vae: bernoulli (BCE) or gaussian (MSE) (default: bernoulli for grayscale, else gaussian)."),
    beta: Optional[float] = typer.Option(None, help="Weight of the KL term in the vae loss; 1 gives the ELBO."),
    arch: Optional[str] = typer.Option(None, help="Architecture; auto picks it from the image size."),
    hidden: Optional[int] = typer.Option(None, help="Hidden layer width of the fully connected gan."),
    width: Optional[int] = typer.Option(None, help="Base channel count of the Radford DCGAN."),
    d_conditioning: Optional[str] = typer.Option(None, "--d-conditioning", help="How the cgan discriminator sees the label: concat (book) or projection (Miyato & Koyama)."),
    labeled: Optional[int] = typer.Option(None, help="sgan: labelled training images, the same number per class (default 100)."),
    baseline: Optional[bool] = typer.Option(None, "--baseline/--no-baseline", help="sgan: also train the same classifier on the labelled images alone, for comparison."),
    feature_matching: Optional[bool] = typer.Option(None, "--feature-matching/--no-feature-matching", help="sgan: train G to match the mean D features of real images (Salimans et al. 2016) instead of fooling D."),
    mode_seeking: Optional[float] = typer.Option(None, "--mode-seeking", help="cgan: weight of the mode-seeking term (Mao et al. 2019) that keeps a class's samples apart, against one image per class (default: 0, off)."),
    log_every: Optional[int] = typer.Option(None, help="Steps between metric records."),
    sample_every: Optional[int] = typer.Option(None, help="Steps between sample grids."),
    checkpoint_every: Optional[int] = typer.Option(None, help="Steps between checkpoints."),
    grid_size: Optional[int] = typer.Option(None, help="Images in the fixed-z sample grid."),
    seed: Optional[int] = typer.Option(None, help="Seed for every random source."),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda or mps."),
    eval_every: Optional[int] = typer.Option(None, help="Steps between classifier FID and class coverage evaluations, a multiple of --log-every; the best FID keeps checkpoints/best.pt (default: off)."),
    eval_n: Optional[int] = typer.Option(None, help="Generated images per evaluation during training (default: 10000)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file with model/data/optim/train sections."),
    out: Path = typer.Option(Path("runs"), help="Folder that holds run directories."),
    name: Optional[str] = typer.Option(None, help="Run directory name (default: <model>-<dataset>-<timestamp>)."),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this directory from its last checkpoint."),
) -> None:
    """Train a model and write a run directory (config, metrics, samples, checkpoints)."""
    from gangan.config import RunConfig, resolve_config, save_yaml, validate
    from gangan.training import Trainer, create_run_dir, load_checkpoint
    from gangan.training.run_dir import remove_unused_run_dir

    if lr is not None and not lr > 0:
        raise GanganError(f"invalid --lr {lr}: must be greater than 0")
    overrides = {
        "data.dataset": dataset, "data.split": split, "data.image_size": image_size, "data.channels": channels,
        "data.root": str(data_root) if data_root else None,
        "train.steps": steps, "train.batch_size": batch_size, "train.log_every": log_every,
        "train.sample_every": sample_every, "train.checkpoint_every": checkpoint_every,
        "train.grid_size": grid_size, "train.seed": seed, "train.device": device,
        "train.eval_every": eval_every, "train.eval_n": eval_n,
        "optim.lr_G": lr_g if lr_g is not None else lr, "optim.lr_D": lr_d if lr_d is not None else lr,
        "optim.beta1": beta1, "optim.beta2": beta2,
        "model.z_dim": z_dim, "model.loss": loss, "model.arch": arch, "model.hidden": hidden, "model.width": width,
        "model.likelihood": likelihood, "model.beta": beta,
        "model.conditioning": d_conditioning, "model.labeled": labeled, "model.baseline": baseline,
        "model.feature_matching": feature_matching, "model.mode_seeking": mode_seeking,
    }
    given = {key: value for key, value in overrides.items() if value is not None}

    if resume is not None:
        if model is not None or config is not None or name is not None:
            raise GanganError("--resume continues an existing run: drop MODEL, --config and --name")
        fixed = sorted(key for key in given if key not in RESUMABLE)
        if fixed:
            from gangan.config import option_flag

            flags = ", ".join(option_flag(key) for key in fixed)
            raise GanganError(f"{flags} cannot change when resuming; only --steps, --log-every, --sample-every, --checkpoint-every, --device, --eval-every and --eval-n can")
        run_dir = resume
        if run_dir.is_file() and run_dir.parent.name == "checkpoints":
            raise GanganError(f"--resume takes a run directory, not a checkpoint file: use --resume {run_dir.parent.parent}")
        if run_dir.is_file():
            raise GanganError(f"--resume takes a run directory, not a file: {run_dir} is a file; use --resume {run_dir.parent} if that is the run")
        state = load_checkpoint(run_dir / "checkpoints" / "last.pt") if run_dir.is_dir() else None
        if state is None:
            raise GanganError(f"run directory not found: {run_dir}; pass the folder that `gangan train` created, such as runs/<name>")
        run_config = RunConfig.from_dict(state["config"], source=str(run_dir))
        _check_run_matches_checkpoint(run_dir, state)
        from gangan.config import apply_overrides

        apply_overrides(run_config, given, "the options")
        validate(run_config)
        if run_config.train.steps <= state["step"]:
            raise GanganError(
                f"{run_dir} already reached step {state['step']} of {run_config.train.steps}; "
                f"pass --steps N with N > {state['step']} to train further"
            )
        save_yaml(run_config, run_dir / "config.yaml")
    else:
        if model is None and config is None:
            raise GanganError("missing MODEL: write `gangan train MODEL` (see `gangan models`), or pass --config FILE or --resume RUN_DIR")
        run_config = resolve_config(model, config, given)
        run_dir = create_run_dir(out, name, run_config.model.name, run_config.data.dataset)

    cfg = run_config
    console.print(
        f"[bold]{cfg.model.name}[/] ({cfg.model.arch}) on [bold]{escape(cfg.data.dataset)}[/] {cfg.data.split} split, "
        f"{cfg.data.channels}x{cfg.data.image_size}x{cfg.data.image_size}, {cfg.train.steps:,} steps of "
        f"{cfg.train.batch_size}, {_loss_name(cfg)}"
    )
    console.print(f"run directory: {escape(str(run_dir))}")
    try:
        _run_training(Trainer(cfg, run_dir, resume=resume is not None), cfg.train.steps)
    except BaseException:
        # A new run that failed before its first record (missing data, bad --labeled) would
        # otherwise leave an empty folder that blocks its own --name.
        if resume is None:
            remove_unused_run_dir(run_dir)
        raise



def _check_run_matches_checkpoint(run_dir: Path, state: dict) -> None:
    """Raise GanganError when the run's config.yaml describes other networks than its checkpoint (a file copied in by hand)."""
    from gangan.config import RunConfig, apply_overrides, load_yaml
    from gangan.training.checkpoint import check_compatible

    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        return
    written = RunConfig()
    apply_overrides(written, load_yaml(config_path), str(config_path))
    check_compatible(state, written, run_dir / "checkpoints" / "last.pt")
def _run_training(trainer, total_steps: int) -> None:
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("training", total=total_steps, rate="")

        def on_step(step: int, record: dict | None) -> None:
            if record is not None:
                progress.console.print(format_record(record))
                progress.update(task, rate=f"{record['steps_per_s']:.1f} steps/s")
            progress.update(task, completed=step)

        trainer.progress = on_step
        progress.update(task, completed=0)
        result = trainer.run()
    if result.interrupted:
        console.print(f"stopped at step {result.step:,}; resume with: gangan train --resume {escape(str(result.run_dir))}")
        # 128 + SIGINT, the shell's status for a program stopped by Ctrl-C, so scripts can tell.
        raise typer.Exit(130)
    else:
        console.print(f"done: {escape(str(result.run_dir))} (samples in samples/, checkpoint in checkpoints/last.pt)")


def _loss_name(cfg) -> str:
    from gangan.models import model_spec

    kind = model_spec(cfg.model.name).algorithm
    if kind == "vae":
        return f"negative ELBO loss ({cfg.model.likelihood} likelihood, beta {cfg.model.beta:g})"
    if kind == "autoencoder":
        return f"{cfg.model.likelihood} reconstruction loss"
    if kind == "cgan":
        mode_seeking = f", mode seeking {cfg.model.mode_seeking:g}" if cfg.model.mode_seeking else ""
        return f"{cfg.model.loss} loss, {cfg.model.conditioning} discriminator{mode_seeking}"
    if kind == "sgan" and cfg.model.feature_matching:
        return "feature-matching loss for G"
    return f"{cfg.model.loss} loss"


def format_autoencoder_record(record: dict) -> str:
    """Format a record of a model without a discriminator (ae, vae): loss, its terms, gradient norm."""
    parts = [f"step {record['step']:>7,}", f"loss {record['loss']:.2f}", f"recon {record['recon']:.2f}"]
    if "kl" in record:
        parts.append(f"KL {record['kl']:.2f}")
    parts.append(f"|grad| {record['grad_norm']:.2f}")
    return "  ".join(parts)


def format_record(record: dict) -> str:
    """Format one metrics record as a compact status line with rich markup."""
    if "D_acc" not in record and "recon" in record:
        return format_autoencoder_record(record)
    style = STATE_STYLES.get(record.get("diagnosis", ""), "white")
    parts = [
        f"step {record['step']:>7,}",
        f"loss D {record['loss_D']:.3f} G {record['loss_G']:.3f}",
        f"D acc {record['D_acc']:.0%} (real {record['D_acc_real']:.0%}, fake {record['D_acc_fake']:.0%})",
        f"D(x) {record['D_x']:.2f} D(G(z)) {record['D_G_z']:.2f}",
    ]
    if "grad_norm_D" in record and "grad_norm_G" in record:
        parts.append(f"|grad| D {record['grad_norm_D']:.2g} G {record['grad_norm_G']:.2g}")
    if "diversity_ratio" in record:
        parts.append(f"diversity {record['diversity_ratio']:.2f}")
    if "fid" in record:
        coverage = f", {record['coverage']:.0f} classes covered" if "coverage" in record else ""
        parts.append(f"FID {record['fid']:.2f}{coverage}")
    # Classifier accuracies of sgan (and of its --baseline), when the record has them.
    for key, label in (("acc_labeled", "labelled acc"), ("test_acc", "test acc"), ("baseline_test_acc", "baseline test acc")):
        if key in record:
            parts.append(f"{label} {record[key]:.1%}")
    line = "  ".join(parts)
    return f"{line}\n  [{style}]{escape(record.get('diagnosis_message', ''))}[/]"


