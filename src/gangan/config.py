"""Typed run configuration: defaults, book presets, YAML files, command-line overrides, validation.

A run's configuration is resolved in layers, each overriding the one before:
config defaults < the model's preset for its architecture < a YAML file (--config) < flags.
The resolved configuration, with every value concrete, is saved as the run's config.yaml.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gangan.errors import GanganError

logger = logging.getLogger(__name__)

LOSSES = ("non-saturating", "minimax")
# Reconstruction likelihoods of ae and vae; "auto" resolves to bernoulli for 1 channel, gaussian otherwise.
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
DEVICES = ("auto", "cpu", "cuda", "mps")
# How the cgan discriminator sees the label: an extra image channel (book) or a projection (Miyato & Koyama).
CONDITIONINGS = ("concat", "projection")
SPLITS = ("train", "test", "all")


def _option(default, flag: str, help: str, minimum=None, choices=None, positive: bool = False):
    """Declare a config field with its command-line flag, help text and accepted range."""
    metadata = {"flag": flag, "help": help, "min": minimum, "choices": choices, "positive": positive}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class ModelConfig:
    """Model selection and architecture options."""

    name: str = _option("dcgan", "MODEL", "model to train")
    arch: str = _option("auto", "--arch", "architecture; auto picks it from the image size")
    z_dim: int = _option(100, "--z-dim", "size of the latent vector z", minimum=1)
    hidden: int = _option(128, "--hidden", "hidden layer width of the fully connected gan", minimum=1)
    width: int = _option(64, "--width", "base channel count of the Radford DCGAN", minimum=1)
    loss: str = _option("non-saturating", "--loss", "adversarial loss", choices=LOSSES)
    likelihood: str = _option("auto", "--likelihood", "reconstruction likelihood of ae and vae: bernoulli (BCE) or gaussian (MSE)", choices=LIKELIHOODS)
    beta: float = _option(1.0, "--beta", "weight of the KL term in the vae loss (1 is the ELBO)", minimum=0.0)
    conditioning: str = _option("concat", "--d-conditioning", "how the cgan discriminator sees the label", choices=CONDITIONINGS)
    labeled: int = _option(100, "--labeled", "labelled training images of sgan, the same number per class", minimum=1)
    baseline: bool = _option(False, "--baseline", "sgan: also train the same classifier on the labelled images alone")
    feature_matching: bool = _option(False, "--feature-matching", "sgan: train G to match the mean D features of real images (Salimans et al. 2016)")
    mode_seeking: float = _option(0.0, "--mode-seeking", "cgan: weight of the mode-seeking term that keeps samples of one class apart (Mao et al. 2019)", minimum=0.0)


@dataclass
class DataConfig:
    """Training data selection and image shape."""

    dataset: str = _option("mnist", "--dataset", "dataset name or folder:PATH")
    split: str = _option("train", "--split", "dataset split", choices=SPLITS)
    image_size: int | None = _option(None, "--image-size", "side length of the square images in pixels", minimum=1)
    channels: int | None = _option(None, "--channels", "1 for grayscale, 3 for RGB", choices=(1, 3))
    root: str | None = _option(None, "--data-root", "folder searched first for dataset files")


@dataclass
class OptimConfig:
    """Adam settings of both networks."""

    lr_G: float = _option(1e-3, "--lr-g", "generator learning rate", positive=True)
    lr_D: float = _option(1e-3, "--lr-d", "discriminator learning rate", positive=True)
    beta1: float = _option(0.9, "--beta1", "Adam beta1, in [0, 1)", minimum=0.0)
    beta2: float = _option(0.999, "--beta2", "Adam beta2, in [0, 1)", minimum=0.0)


@dataclass
class TrainConfig:
    """The training loop's length, batch size, schedules and device."""

    steps: int = _option(20000, "--steps", "total training steps (one D and one G update each)", minimum=1)
    batch_size: int = _option(128, "--batch-size", "images per batch", minimum=1)
    log_every: int = _option(100, "--log-every", "steps between metric records", minimum=1)
    sample_every: int = _option(1000, "--sample-every", "steps between sample grids", minimum=1)
    checkpoint_every: int = _option(1000, "--checkpoint-every", "steps between checkpoints", minimum=1)
    grid_size: int = _option(64, "--grid-size", "images in the fixed-z sample grid", minimum=1)
    seed: int = _option(0, "--seed", "seed for every random source", minimum=0)
    device: str = _option("auto", "--device", "where to train", choices=DEVICES)
    eval_every: int | None = _option(None, "--eval-every", "steps between classifier FID and class coverage evaluations (default: off)", minimum=1)
    eval_n: int = _option(10000, "--eval-n", "generated images per evaluation during training", minimum=2)


@dataclass
class RunConfig:
    """The complete configuration of one run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "configuration") -> RunConfig:
        """Build a config from nested values; raise GanganError for unknown keys or wrong types."""
        config = cls()
        apply_overrides(config, flatten(values, source), source)
        return config


SECTIONS = {section.name: section.type for section in dataclasses.fields(RunConfig)}


def _fields(config: RunConfig):
    """Yield (key, section object, field) for every option, keyed like "train.steps"."""
    for section_name in SECTIONS:
        section = getattr(config, section_name)
        for item in dataclasses.fields(section):
            yield f"{section_name}.{item.name}", section, item


def option_flag(key: str) -> str:
    """Return the command-line flag of a config key ("train.steps" -> "--steps")."""
    for name, _, item in _fields(RunConfig()):
        if name == key:
            return item.metadata["flag"]
    return key


def flatten(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Turn {"train": {"steps": 10}} into {"train.steps": 10}, rejecting unknown sections."""
    if not isinstance(values, dict):
        raise GanganError(f"{source} must be a mapping of sections ({', '.join(SECTIONS)}), got {type(values).__name__}")
    flat = {}
    for section, options in values.items():
        if section not in SECTIONS:
            raise GanganError(f"unknown section '{section}' in {source}; valid sections: {', '.join(SECTIONS)}")
        if options is None:
            continue
        if not isinstance(options, dict):
            raise GanganError(f"section '{section}' in {source} must be a mapping of options")
        for name, value in options.items():
            flat[f"{section}.{name}"] = value
    return flat


def _coerce(value: Any, annotation: str, key: str, source: str) -> Any:
    """Convert a YAML or flag value to the field's type, raising GanganError on a mismatch."""
    optional = "None" in annotation
    if value is None:
        if optional:
            return None
        raise GanganError(f"{option_flag(key)} ({key}) in {source} must have a value")
    base = annotation.replace("| None", "").strip()
    try:
        if base == "bool":
            # YAML gives booleans; strings come from hand-written overrides.
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise ValueError
            return value
        if base == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise GanganError(f"invalid {option_flag(key)} ({key}) {value!r} in {source}: expected {base}") from None


def apply_overrides(config: RunConfig, overrides: dict[str, Any], source: str) -> None:
    """Set options from a flat {"section.name": value} mapping, checking names and types."""
    known = {key: (section, item) for key, section, item in _fields(config)}
    for key, value in overrides.items():
        if key not in known:
            section = key.split(".")[0]
            names = [k.split(".", 1)[1] for k in known if k.startswith(section + ".")]
            hint = f"; valid options in [{section}]: {', '.join(names)}" if names else ""
            raise GanganError(f"unknown option '{key}' in {source}{hint}")
        section, item = known[key]
        setattr(section, item.name, _coerce(value, str(item.type), key, source))


def validate(config: RunConfig) -> None:
    """Check every option's range and choices; raise GanganError naming the flag and the accepted values."""
    for key, section, item in _fields(config):
        value = getattr(section, item.name)
        if value is None:
            continue
        meta = item.metadata
        flag = meta["flag"]
        if meta["choices"] is not None and value not in meta["choices"]:
            choices = ", ".join(map(str, meta["choices"]))
            raise GanganError(f"invalid {flag} {value!r}; valid values: {choices}")
        if isinstance(value, float) and not math.isfinite(value):
            raise GanganError(f"invalid {flag} {value}: must be a finite number")
        if meta["positive"] and value <= 0:
            raise GanganError(f"invalid {flag} {value}: must be greater than 0")
        if meta["min"] is not None and value < meta["min"]:
            raise GanganError(f"invalid {flag} {value}: must be at least {meta['min']}")
    for flag, beta in (("--beta1", config.optim.beta1), ("--beta2", config.optim.beta2)):
        if not 0.0 <= beta < 1.0:
            raise GanganError(f"invalid {flag} {beta}: must be in [0, 1)")
    train = config.train
    if train.eval_every is not None and train.eval_every % train.log_every:
        # Evaluation scores join the metrics record of their step, so they need a log step.
        raise GanganError(f"invalid --eval-every {train.eval_every}: must be a multiple of --log-every ({train.log_every})")


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config file into a flat {"section.name": value} mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GanganError(f"config file not found: {path}") from None
    except OSError as error:
        raise GanganError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise GanganError(f"config file {path} is not valid YAML: {error}") from None
    return flatten(values, str(path))


def save_yaml(config: RunConfig, path: str | os.PathLike) -> None:
    """Write the config as YAML through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def resolve_config(
    model: str | None,
    config_file: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Resolve a run's configuration from a model name, an optional YAML file and flag overrides.

    Image size and channels default to the dataset's own; when the model cannot train at the
    dataset's size (dcgan on 8x8 digits), the smallest supported size above it is used and
    logged. The architecture is then chosen, its preset applied, and the result validated.

    Raises:
        GanganError: unknown model, dataset or option, wrong type, or value out of range.
    """
    from gangan.data.registry import dataset_spec
    from gangan.models.registry import model_spec

    # Each layer keeps its source, so an error names the file or the flags it came from.
    layers: list[tuple[dict[str, Any], str]] = []
    if config_file is not None:
        layers.append((load_yaml(config_file), str(config_file)))
    flags = {key: value for key, value in (overrides or {}).items() if value is not None}
    if model is not None:
        flags["model.name"] = model
    layers.append((flags, "the command-line options"))

    # First pass: the user's values on top of the defaults tell the model and the data.
    probe = RunConfig()
    for values, source in layers:
        apply_overrides(probe, values, source)
    spec = model_spec(probe.model.name)
    data_spec = dataset_spec(probe.data.dataset)

    derived: dict[str, Any] = {}
    if probe.data.image_size is None:
        size = data_spec.image_size
        supported = spec.supported_sizes()
        if supported is not None and size not in supported:
            larger = [s for s in supported if s >= size]
            size = larger[0] if larger else supported[-1]
            logger.info("%s cannot train at %s's %dx%d; resizing images to %dx%d", spec.name,
                        data_spec.name, data_spec.image_size, data_spec.image_size, size, size)
        derived["data.image_size"] = size
    if probe.data.channels is None:
        derived["data.channels"] = data_spec.channels
    arch = spec.arch_for(derived.get("data.image_size", probe.data.image_size), probe.model.arch)

    # Second pass: defaults < preset < file < flags, then the values derived from the data.
    config = RunConfig()
    apply_overrides(config, spec.presets.get(arch, {}), f"the {spec.name} preset")
    for values, source in layers:
        apply_overrides(config, values, source)
    apply_overrides(config, derived, "the dataset")
    config.model.arch = arch
    if config.model.likelihood == "auto":
        # Bernoulli suits grayscale pixels read as probabilities in [0, 1]; colour images get a Gaussian.
        config.model.likelihood = "bernoulli" if config.data.channels == 1 else "gaussian"
    validate(config)
    return config
