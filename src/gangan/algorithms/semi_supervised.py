"""The semi-supervised GAN update (chapter 7): D becomes a K-class classifier from a few labels.

D outputs K class logits; its real-vs-fake logit is their logsumexp (Salimans et al. 2016,
section 5; see `gangan.models.sgan`). Each D step uses three disjoint streams:

1. a labelled real batch, scored with the supervised cross-entropy over the K classes;
2. an unlabelled real batch (every training image outside the labelled subset), which D
   must judge real;
3. a fake batch G(z), which D must judge fake.

The G step rewards fakes that D judges real, as in the book, or with --feature-matching
fakes whose mean D features match the real ones (Salimans et al. 2016).
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from gangan import losses
from gangan.algorithms.base import Algorithm, frozen, grad_norm
from gangan.algorithms.gan import adversarial_stats
from gangan.algorithms.optim import adam
from gangan.data import TensorBatches
from gangan.errors import GanganError
from gangan.models.sgan import real_fake_logit

if TYPE_CHECKING:
    from gangan.config import RunConfig
    from gangan.data import ImageData

logger = logging.getLogger(__name__)

# Offsets from the run's seed for the subset choice and the two streams, so that none of
# them repeats the trainer's own shuffle order.
_SUBSET_SEED, _LABELED_SEED, _UNLABELED_SEED = 101, 102, 103
_EVAL_BATCH = 1000


def choose_labeled(labels: torch.Tensor, n_labeled: int, num_classes: int, seed: int) -> torch.Tensor:
    """Pick n_labeled indices, n_labeled / K per class, each class's share drawn with `seed`.

    Args:
        labels: int64 (N,) class of every training image, in [0, K).
        n_labeled: size of the subset; a multiple of K, at most N.
        num_classes: K.
        seed: the same seed gives the same subset.

    Returns:
        int64 (n_labeled,) sorted indices into the training set.

    Raises:
        GanganError: n_labeled exceeds N, does not divide by K, or a class has too few images.
    """
    total = labels.shape[0]
    if n_labeled > total:
        raise GanganError(
            f"invalid --labeled {n_labeled}: the training data contains only {total} images; "
            f"use at most {total - total % num_classes}, a multiple of the {num_classes} classes"
        )
    if n_labeled % num_classes != 0:
        lower = max(num_classes, n_labeled - n_labeled % num_classes)
        raise GanganError(
            f"invalid --labeled {n_labeled}: it must split evenly across the {num_classes} classes; "
            f"use a multiple of {num_classes} such as {lower}"
        )
    per_class = n_labeled // num_classes
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    labels = labels.cpu()
    for c in range(num_classes):
        members = torch.nonzero(labels == c).squeeze(1)
        if members.shape[0] < per_class:
            raise GanganError(
                f"invalid --labeled {n_labeled}: class {c} has only {members.shape[0]} images, "
                f"fewer than the {per_class} per class it needs"
            )
        chosen.append(members[torch.randperm(members.shape[0], generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


class SemiSupervisedGAN(Algorithm):
    """SGAN: an unconditional G and a K-class D trained with labelled, unlabelled and fake streams.

    With `config.model.baseline`, a copy of D with the same initial weights (network "C") is
    trained alongside on the labelled batches alone, with the same optimizer settings, so
    the run measures what the unlabelled images and the fakes added.

    Args:
        G: maps z (N, z_dim) to images (N, C, H, W) in [-1, 1].
        D: maps images to class logits (N, K).
        config: supplies z_dim, the loss, Adam settings, --labeled, --baseline, the batch size,
            the seed and the data options (the test split is loaded for the test accuracy).
        device: where the networks live and the batches arrive.
        num_classes: K.
    """

    def __init__(self, G: nn.Module, D: nn.Module, config: RunConfig, device: torch.device, num_classes: int):
        self.device = device
        self.config = config
        self.G, self.D = G.to(device), D.to(device)
        self.networks = {"G": self.G, "D": self.D}
        self.G_params, self.D_params = list(self.G.parameters()), list(self.D.parameters())
        self.z_dim = config.model.z_dim
        self.num_labels = num_classes
        betas = (config.optim.beta1, config.optim.beta2)
        self.opt_G = adam(self.G.parameters(), config.optim.lr_G, betas, device)
        self.opt_D = adam(self.D.parameters(), config.optim.lr_D, betas, device)
        self.optimizers = {"G": self.opt_G, "D": self.opt_D}
        self.C: nn.Module | None = None
        if config.model.baseline:
            self.C = copy.deepcopy(self.D)
            self.networks["C"] = self.C
            self.optimizers["C"] = adam(self.C.parameters(), config.optim.lr_D, betas, device)
        self.generator_loss = losses.GENERATOR_LOSSES[config.model.loss]
        self.labeled_index: torch.Tensor | None = None
        self.labeled: TensorBatches | None = None
        self.unlabeled: TensorBatches | None = None
        self.test_images: torch.Tensor | None = None
        self.test_labels: torch.Tensor | None = None

    # -- data -----------------------------------------------------------------------------

    def attach_data(self, data: ImageData) -> None:
        """Choose the labelled subset, build the labelled and unlabelled streams, load the test split."""
        if data.labels is None:
            raise GanganError(f"sgan needs class labels for its labelled subset, and {data.name} has none")
        index = choose_labeled(data.labels, self.config.model.labeled, self.num_labels, self.config.train.seed + _SUBSET_SEED)
        self._make_streams(data, index)
        logger.info("sgan: %d labelled images (%d per class), %d unlabelled", index.shape[0],
                    index.shape[0] // self.num_labels, self.unlabeled.images.shape[0])
        self._load_test_split()

    def _make_streams(self, data: ImageData, index: torch.Tensor) -> None:
        batch_size, seed = self.config.train.batch_size, self.config.train.seed
        unlabeled_mask = torch.ones(len(data), dtype=torch.bool)
        unlabeled_mask[index] = False
        if int(unlabeled_mask.sum()) < batch_size:
            raise GanganError(
                f"invalid --labeled {index.shape[0]}: it leaves {int(unlabeled_mask.sum())} unlabelled images "
                f"of {len(data)}, fewer than one batch of {batch_size}; label fewer images"
            )
        images, labels = data.images.to(self.device), data.labels.to(self.device)
        self.data_size = len(data)
        self.labeled_index = index.cpu()
        # The labelled subset is often smaller than a batch (100 images): its batches hold all of it.
        self.labeled = TensorBatches(images[index.to(self.device)], labels[index.to(self.device)],
                                     min(batch_size, index.shape[0]), seed=seed + _LABELED_SEED)
        self.unlabeled = TensorBatches(images[unlabeled_mask.to(self.device)], None, batch_size, seed=seed + _UNLABELED_SEED)
        self._data = data

    def _load_test_split(self) -> None:
        from gangan.data import load_dataset

        data_cfg = self.config.data
        if data_cfg.split != "train":
            logger.warning("sgan: trained on the %s split, so no held-out test split is left for the test accuracy", data_cfg.split)
            return
        try:
            test = load_dataset(data_cfg.dataset, "test", data_cfg.root, data_cfg.image_size, data_cfg.channels)
        except GanganError as error:
            logger.warning("sgan: no test accuracy, the test split cannot be loaded: %s", error)
            return
        self.test_images, self.test_labels = test.images.to(self.device), test.labels.to(self.device)

    # -- training ---------------------------------------------------------------------------

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Run one D update on three streams, one G update and, with --baseline, one C update.

        The trainer's batch (`real`, `labels`) is not used: it draws from every training image,
        labelled ones included, while SGAN needs its labelled and unlabelled streams disjoint.

        Returns scalar tensors: the GAN scalars (loss_D, loss_G, D_acc_real on the unlabelled
        batch, D_acc_fake, D_acc, D_x, D_G_z, grad norms), loss_supervised and acc_labeled (D's
        accuracy on the labelled batch), and with --baseline loss_baseline and baseline_acc_labeled.
        """
        if self.labeled is None:
            raise RuntimeError("attach_data must be called before train_step")
        G, D = self.G, self.D
        x_labeled, y_labeled = next(self.labeled)
        x_unlabeled, _ = next(self.unlabeled)
        batch = x_unlabeled.shape[0]

        # 1. Discriminator: supervised cross-entropy on the labelled batch, plus the GAN loss on
        #    log Z(x) for the unlabelled (real) and the fake batch. Three separate forward passes,
        #    so BatchNorm never mixes the statistics of real and fake images.
        with torch.no_grad():
            fake = G(torch.randn(batch, self.z_dim, device=self.device))
        class_logits = D(x_labeled)
        loss_supervised = F.cross_entropy(class_logits, y_labeled)
        real_logits = real_fake_logit(D(x_unlabeled))
        fake_logits = real_fake_logit(D(fake))
        loss_unsupervised = losses.discriminator_loss(real_logits, fake_logits)
        loss_D = loss_supervised + loss_unsupervised
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        grad_norm_D = grad_norm(self.D_params)
        self.opt_D.step()

        # 2. Generator: new z, D frozen, reward fakes that D judges real; or, with feature
        #    matching (Salimans et al. 2016, section 3.1), fakes whose mean D features match
        #    those of the unlabelled batch, which gives D better fakes to learn classes from.
        with frozen(self.D_params):
            fake_G = G(torch.randn(batch, self.z_dim, device=self.device))
            if self.config.model.feature_matching:
                with torch.no_grad():
                    real_features = D.features(x_unlabeled).flatten(1).mean(0)
                loss_G = (D.features(fake_G).flatten(1).mean(0) - real_features).pow(2).mean()
            else:
                loss_G = self.generator_loss(real_fake_logit(D(fake_G)))
            self.opt_G.zero_grad(set_to_none=True)
            loss_G.backward()
        grad_norm_G = grad_norm(self.G_params)
        self.opt_G.step()

        stats = {}
        # 3. Baseline: the same network on the same labelled batch, nothing else.
        if self.C is not None:
            baseline_logits = self.C(x_labeled)
            loss_baseline = F.cross_entropy(baseline_logits, y_labeled)
            self.optimizers["C"].zero_grad(set_to_none=True)
            loss_baseline.backward()
            self.optimizers["C"].step()
            stats["loss_baseline"] = loss_baseline.detach()
            stats["baseline_acc_labeled"] = (baseline_logits.argmax(1) == y_labeled).float().mean()

        with torch.no_grad():
            return {
                **adversarial_stats(loss_D, loss_G, real_logits, fake_logits, grad_norm_D, grad_norm_G),
                "loss_supervised": loss_supervised.detach(),
                "loss_unsupervised": loss_unsupervised.detach(),
                "acc_labeled": (class_logits.argmax(1) == y_labeled).float().mean(),
                **stats,
            }

    # -- classification and evaluation ----------------------------------------------------

    @torch.no_grad()
    def classify(self, images: torch.Tensor, network: str = "D") -> torch.Tensor:
        """Class probabilities (N, K) of images (N, C, H, W) in [-1, 1], by D or the baseline "C", in eval mode."""
        net = self.networks[network]
        was_training = net.training
        net.eval()
        try:
            return torch.cat([F.softmax(net(chunk.to(self.device)), dim=1) for chunk in images.split(_EVAL_BATCH)])
        finally:
            net.train(was_training)

    def accuracy(self, images_uint8: torch.Tensor, labels: torch.Tensor, network: str = "D") -> float:
        """Share of uint8 images (N, C, H, W) whose predicted class equals `labels` (N,)."""
        correct = 0
        for chunk, target in zip(images_uint8.split(_EVAL_BATCH), labels.split(_EVAL_BATCH)):
            probs = self.classify(chunk.float().div(127.5).sub(1.0), network)
            correct += int((probs.argmax(1) == target.to(probs.device)).sum())
        return correct / labels.shape[0]

    def evaluate(self) -> dict[str, float]:
        """Test accuracy of D as a classifier, and of the baseline with --baseline; {} without a test split."""
        if self.test_images is None:
            return {}
        result = {"test_acc": self.accuracy(self.test_images, self.test_labels, "D")}
        if self.C is not None:
            result["baseline_test_acc"] = self.accuracy(self.test_images, self.test_labels, "C")
        return result

    # -- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.labeled is not None:
            state["sgan"] = {
                "labeled_index": self.labeled_index,
                "labeled_batches": self.labeled.state_dict(),
                "unlabeled_batches": self.unlabeled.state_dict(),
            }
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        saved = state.get("sgan")
        if saved is None:
            return
        self.labeled_index = saved["labeled_index"]
        if self.labeled is None:
            return  # Loaded for sampling or classifying: no streams to restore.
        if self.data_size != saved["unlabeled_batches"]["perm"].shape[0] + saved["labeled_index"].shape[0]:
            raise GanganError("the checkpoint's labelled subset is for a training set of another size; resume with the same data")
        self._make_streams(self._data, saved["labeled_index"])
        self.labeled.load_state_dict(saved["labeled_batches"])
        self.unlabeled.load_state_dict(saved["unlabeled_batches"])
