"""The trainable models: what each is, which image sizes it supports, and its book hyperparameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from torch import nn

from gangan.errors import GanganError
from gangan.models.dcgan import BookDiscriminator, BookGenerator, RadfordDiscriminator, RadfordGenerator
from gangan.models.gan import MLPDiscriminator, MLPGenerator

if TYPE_CHECKING:
    from gangan.config import RunConfig


@dataclass(frozen=True)
class ModelSpec:
    """A trainable model as the command line lists it.

    `archs` maps each architecture to the image sizes it supports (None: any size);
    `presets` maps each architecture to the hyperparameters that differ from the config
    defaults, keyed like the YAML file ("optim.lr_G").
    """

    name: str
    description: str
    algorithm: str
    archs: dict[str, tuple[int, ...] | None]
    presets: dict[str, dict[str, object]] = field(default_factory=dict)

    def supported_sizes(self) -> tuple[int, ...] | None:
        sizes: set[int] = set()
        for arch_sizes in self.archs.values():
            if arch_sizes is None:
                return None
            sizes.update(arch_sizes)
        return tuple(sorted(sizes))

    def arch_for(self, image_size: int, arch: str = "auto") -> str:
        """Pick the architecture for an image size; raise GanganError when none fits."""
        if arch != "auto":
            if arch not in self.archs:
                raise GanganError(f"invalid --arch '{arch}' for {self.name}; valid: auto, {', '.join(self.archs)}")
            sizes = self.archs[arch]
            if sizes is not None and image_size not in sizes:
                raise GanganError(
                    f"--image-size {image_size} is not supported by {self.name} --arch {arch}; "
                    f"supported sizes: {', '.join(map(str, sizes))}"
                )
            return arch
        for name, sizes in self.archs.items():
            if sizes is None or image_size in sizes:
                return name
        raise GanganError(
            f"--image-size {image_size} is not supported by {self.name}; supported sizes: "
            f"{', '.join(map(str, self.supported_sizes() or ()))}"
        )


# The book trains with Keras' Adam() defaults (learning rate 0.001, betas 0.9 and 0.999),
# batches of 128 and 20,000 iterations, sampling every 1,000. Radford et al. use a learning
# rate of 0.0002 and beta1 = 0.5.
_BOOK = {"optim.lr_G": 1e-3, "optim.lr_D": 1e-3, "optim.beta1": 0.9, "optim.beta2": 0.999}
_RADFORD = {"optim.lr_G": 2e-4, "optim.lr_D": 2e-4, "optim.beta1": 0.5, "optim.beta2": 0.999}
# Salimans et al. (2016) train their fully connected semi-supervised GAN with Adam at 0.003,
# beta1 0.5, batches of 100 and feature matching for G.
_SALIMANS = {"optim.lr_G": 3e-3, "optim.lr_D": 3e-3, "optim.beta1": 0.5, "optim.beta2": 0.999,
             "train.batch_size": 100, "model.feature_matching": True}
# The book's chapter-2 VAE has one hidden layer of 256 units; it uses a 2-D latent for the
# manifold picture, which --z-dim 2 reproduces. Adam replaces its RMSprop; --lr-g sets the rate.
_AUTOENCODER = {**_BOOK, "model.hidden": 256, "model.z_dim": 20, "model.width": 32}

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="gan",
            description="the book's first GAN (chapter 3): one hidden fully connected layer in G and D",
            algorithm="gan",
            archs={"mlp": None},
            presets={"mlp": _BOOK},
        ),
        ModelSpec(
            name="dcgan",
            description="deep convolutional GAN: the book's 28x28 network (chapter 4), Radford et al. for 32x32 and 64x64",
            algorithm="gan",
            archs={"book": (28,), "radford": (32, 64)},
            presets={"book": _BOOK, "radford": _RADFORD},
        ),
        ModelSpec(
            name="cgan",
            description="conditional GAN (chapter 8): generates the class you ask for; label joined to z and to the image",
            algorithm="cgan",
            archs={"book": (28,), "radford": (32, 64), "mlp": None},
            presets={"book": _BOOK, "radford": _RADFORD, "mlp": _BOOK},
        ),
        ModelSpec(
            name="sgan",
            description="semi-supervised GAN (chapter 7): D becomes a classifier trained from --labeled images plus unlabelled ones",
            algorithm="sgan",
            archs={"book": (28,), "radford": (32, 64), "mlp": None, "salimans": None},
            presets={"book": _BOOK, "radford": _RADFORD, "mlp": _BOOK, "salimans": _SALIMANS},
        ),
        ModelSpec(
            name="ae",
            description="autoencoder (chapter 2) trained on reconstruction loss; it has no prior, so new images come only from the codes of real images (gangan interpolate)",
            algorithm="autoencoder",
            archs={"mlp": (8, 28), "conv": (28, 32, 64)},
            presets={"mlp": _AUTOENCODER, "conv": _AUTOENCODER},
        ),
        ModelSpec(
            name="vae",
            description="variational autoencoder (chapter 2, Kingma & Welling): negative ELBO loss, samples from the N(0, I) prior",
            algorithm="vae",
            archs={"mlp": (8, 28), "conv": (28, 32, 64)},
            presets={"mlp": _AUTOENCODER, "conv": _AUTOENCODER},
        ),
    ]
}


def model_spec(name: str) -> ModelSpec:
    """Return the spec of a model; raise GanganError listing the valid names otherwise."""
    if name not in MODELS:
        raise GanganError(f"unknown model '{name}'; valid models: {', '.join(MODELS)}")
    return MODELS[name]


def build_networks(config: RunConfig) -> dict[str, nn.Module]:
    """Build the freshly initialised networks of a resolved config, keyed by role ("G", "D")."""
    model = config.model
    channels, size = config.data.channels, config.data.image_size
    if model_spec(model.name).algorithm in ("autoencoder", "vae"):
        from gangan.models.autoencoder import build_autoencoder

        variational = model_spec(model.name).algorithm == "vae"
        return build_autoencoder(model.arch, variational, model.z_dim, channels, size, model.hidden, model.width)
    if model_spec(model.name).algorithm in ("cgan", "sgan"):
        from gangan.models.conditional import build_cgan_networks, dataset_classes
        from gangan.models.sgan import build_sgan_networks

        build = build_cgan_networks if model.name == "cgan" else build_sgan_networks
        return build(config, dataset_classes(config))
    if model.arch == "mlp":
        shape = (channels, size, size)
        return {"G": MLPGenerator(model.z_dim, shape, model.hidden), "D": MLPDiscriminator(shape, model.hidden)}
    if model.arch == "book":
        return {"G": BookGenerator(model.z_dim, channels), "D": BookDiscriminator(channels)}
    if model.arch == "radford":
        return {
            "G": RadfordGenerator(model.z_dim, channels, size, model.width),
            "D": RadfordDiscriminator(channels, size, model.width),
        }
    raise GanganError(f"unknown architecture '{model.arch}' for model {model.name}")
