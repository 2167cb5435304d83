"""The ae and vae models: loss formulas, grids, sampling, configuration and training on real data."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import tiny_config
from gangan.algorithms import build_algorithm
from gangan.algorithms.autoencoder import (
    GAUSSIAN_VARIANCE,
    Autoencoder,
    gaussian_kl,
    grid_count,
    reconstruction_nll,
)
from gangan.config import resolve_config
from gangan.errors import GanganError
from gangan.training import Trainer, create_run_dir, load_checkpoint

CPU = torch.device("cpu")


def _vae(**overrides) -> Autoencoder:
    torch.manual_seed(0)
    return build_algorithm(tiny_config("vae", **overrides), CPU)


def _batch(n: int = 5, size: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_kl_zero_when_posterior_is_prior():
    kl = gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4))
    assert torch.equal(kl, torch.zeros(3))


def test_kl_golden_value():
    # KL(N((1, 2), diag(1, 4)) || N(0, I)) = 0.5 * [(1 + 1 - 1 - 0) + (4 + 4 - 1 - log 4)].
    kl = gaussian_kl(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, math.log(4.0)]]))
    assert kl.item() == pytest.approx(0.5 * (1.0 + 7.0 - math.log(4.0)), abs=1e-6)


def test_kl_positive_away_from_prior():
    mu = torch.tensor([[0.5, -0.5], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    assert (gaussian_kl(mu, logvar) > 0).all()


def test_bernoulli_nll_by_hand():
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 3.0]]]])
    real = torch.tensor([[[[1.0, -1.0], [0.0, 1.0]]]])  # targets 1, 0, 0.5, 1
    targets = [1.0, 0.0, 0.5, 1.0]
    expected = 0.0
    for logit, t in zip([0.0, 2.0, -1.0, 3.0], targets):
        p = 1 / (1 + math.exp(-logit))
        expected -= t * math.log(p) + (1 - t) * math.log(1 - p)
    assert reconstruction_nll(logits, real, "bernoulli").item() == pytest.approx(expected, rel=1e-6)


def test_gaussian_nll_by_hand():
    params = torch.tensor([[[[0.0, 0.5]]]])
    real = torch.tensor([[[[0.2, -0.3]]]])
    means = [math.tanh(0.0), math.tanh(0.5)]
    expected = sum(
        (x - m) ** 2 / (2 * GAUSSIAN_VARIANCE) + 0.5 * math.log(2 * math.pi * GAUSSIAN_VARIANCE)
        for x, m in zip([0.2, -0.3], means)
    )
    assert reconstruction_nll(params, real, "gaussian").item() == pytest.approx(expected, rel=1e-6)


def test_reconstruction_nll_rejects_unknown_likelihood():
    with pytest.raises(GanganError, match="invalid --likelihood 'poisson'"):
        reconstruction_nll(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), "poisson")


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_vae_loss_equals_elbo_by_hand(beta):
    vae = _vae(model_beta=beta)
    real = _batch()
    eps = torch.randn(5, vae.z_dim, generator=torch.Generator().manual_seed(2))

    loss = vae.loss(vae.loss_terms(real, eps))

    # -ELBO by hand: encoder output split into mean and log-variance, one reparameterised sample,
    # Bernoulli log-likelihood through log-sigmoid, the closed-form Gaussian KL.
    out = vae.encoder(real)
    mu, logvar = out[:, : vae.z_dim], out[:, vae.z_dim :]
    z = mu + torch.exp(logvar / 2) * eps
    logits = vae.decoder(z).flatten(1)
    target = ((real + 1) / 2).flatten(1)
    log_px = (target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)).sum(1)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)
    expected = (-log_px + beta * kl).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_train_step_reports_loss_before_update():
    vae = _vae()
    real = _batch(16)
    before = copy.deepcopy(vae)
    torch.manual_seed(7)
    stats = vae.train_step(real, None)
    torch.manual_seed(7)
    mu = before.posterior(real)[0]
    terms = before.loss_terms(real, torch.randn_like(mu))
    assert stats["loss"].item() == pytest.approx(before.loss(terms).item(), rel=1e-5)
    assert stats["recon"].item() == pytest.approx(terms["recon"].mean().item(), rel=1e-5)
    assert stats["kl"].item() == pytest.approx(terms["kl"].mean().item(), rel=1e-5)
    assert set(stats) == {"loss", "recon", "kl", "grad_norm"}


def test_ae_loss_is_reconstruction_of_code():
    torch.manual_seed(0)
    ae = build_algorithm(tiny_config("ae"), CPU)
    real = _batch()
    terms = ae.loss_terms(real)
    assert set(terms) == {"recon"}
    expected = reconstruction_nll(ae.decoder(ae.encoder(real)), real, "bernoulli").mean()
    assert ae.loss(terms).item() == pytest.approx(expected.item(), rel=1e-6)


def test_ae_generate_explains_missing_prior():
    ae = build_algorithm(tiny_config("ae"), CPU)
    with pytest.raises(GanganError, match="no prior over its codes"):
        ae.generate(torch.zeros(2, ae.z_dim))


def test_vae_generate_decodes_prior_samples():
    vae = _vae()
    z = torch.randn(3, vae.z_dim)
    images = vae.generate(z)
    assert images.shape == (3, 1, 8, 8)
    assert torch.equal(images, torch.sigmoid(vae.decoder(z)) * 2 - 1)


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 2), (7, 2), (8, 8), (16, 8), (64, 50), (100, 98)])
def test_grid_count(n, expected):
    assert grid_count(n) == expected


def test_grid_puts_inputs_above_reconstructions():
    vae = _vae()
    images = (torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(3)) * 255).to(torch.uint8)
    fixed = vae.fixed_inputs(16, seed=5, images=images)
    assert fixed.shape == (8, 1, 8, 8)
    assert fixed.min() >= -1 and fixed.max() <= 1
    grid = vae.sample_grid(fixed)
    row = vae.grid_nrow(grid.shape[0])
    assert row == 4
    recon = vae.reconstruct(fixed)
    assert torch.equal(grid[0:4], fixed[0:4])
    assert torch.equal(grid[4:8], recon[0:4])
    assert torch.equal(grid[8:12], fixed[4:8])
    assert torch.equal(grid[12:16], recon[4:8])


def test_fixed_inputs_repeat_with_seed():
    vae = _vae()
    images = (torch.rand(40, 1, 8, 8) * 255).to(torch.uint8)
    assert torch.equal(vae.fixed_inputs(16, 5, images), vae.fixed_inputs(16, 5, images))
    assert not torch.equal(vae.fixed_inputs(16, 5, images), vae.fixed_inputs(16, 6, images))


def test_config_resolves_likelihood_by_channels():
    assert resolve_config("vae", None, {"data.dataset": "mnist"}).model.likelihood == "bernoulli"
    assert resolve_config("vae", None, {"data.dataset": "cifar10"}).model.likelihood == "gaussian"
    chosen = resolve_config("vae", None, {"data.dataset": "mnist", "model.likelihood": "gaussian"})
    assert chosen.model.likelihood == "gaussian"


def test_config_picks_architecture_by_size():
    assert resolve_config("vae", None, {"data.dataset": "mnist"}).model.arch == "mlp"
    assert resolve_config("ae", None, {"data.dataset": "cifar10"}).model.arch == "conv"
    conv = resolve_config("vae", None, {"data.dataset": "mnist", "model.arch": "conv"})
    assert conv.model.arch == "conv"
    with pytest.raises(GanganError, match="--image-size 8 is not supported by vae --arch conv"):
        resolve_config("vae", None, {"data.dataset": "digits", "model.arch": "conv"})


def test_config_rejects_bad_likelihood_and_beta():
    with pytest.raises(GanganError, match="invalid --likelihood 'laplace'"):
        resolve_config("vae", None, {"data.dataset": "mnist", "model.likelihood": "laplace"})
    with pytest.raises(GanganError, match="invalid --beta -0.5: must be at least 0"):
        resolve_config("vae", None, {"data.dataset": "mnist", "model.beta": -0.5})


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3)])
def test_conv_networks_shapes(size, channels):
    from gangan.models.autoencoder import ConvDecoder, ConvEncoder

    encoder = ConvEncoder(channels, size, out_dim=6, width=8)
    decoder = ConvDecoder(3, channels, size, width=8)
    codes = encoder(torch.zeros(2, channels, size, size))
    assert codes.shape == (2, 6)
    assert decoder(codes[:, :3]).shape == (2, channels, size, size)


def test_conv_vae_trains_on_rgb():
    config = tiny_config("vae", dataset="digits", data_image_size=32, data_channels=3, model_width=8)
    assert (config.model.arch, config.model.likelihood) == ("conv", "gaussian")
    vae = build_algorithm(config, CPU)
    stats = vae.train_step(_batch(4, 32).expand(-1, 3, -1, -1), None)
    assert all(torch.isfinite(value) for value in stats.values())


def _train(config, run_dir, resume=False):
    return Trainer(config, run_dir, resume=resume).run()


def test_training_lowers_loss_on_mnist(mnist_dir, tmp_path):
    for model in ("vae", "ae"):
        config = tiny_config(model, dataset="mnist", data_split="test", data_root=str(mnist_dir),
                             train_steps=40, train_batch_size=32, train_log_every=10, train_sample_every=40,
                             train_checkpoint_every=40)
        run_dir = create_run_dir(tmp_path, model, model, "mnist")
        _train(config, run_dir)
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [record["step"] for record in records] == [10, 20, 30, 40]
        assert records[-1]["loss"] < 0.8 * records[0]["loss"], (model, records[0]["loss"], records[-1]["loss"])
        assert records[-1]["diagnosis"] == "training"
        if model == "vae":
            assert records[-1]["kl"] > 0
            assert records[-1]["loss"] == pytest.approx(records[-1]["recon"] + records[-1]["kl"], rel=1e-4)


def test_resume_matches_uninterrupted_run(tmp_path):
    full = tiny_config("vae", train_steps=6)
    first_half = tiny_config("vae", train_steps=3)
    _train(full, create_run_dir(tmp_path, "full", "vae", "digits"))
    _train(first_half, create_run_dir(tmp_path, "half", "vae", "digits"))
    _train(full, tmp_path / "half", resume=True)
    a = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "half" / "checkpoints" / "last.pt")
    assert set(a["networks"]) == {"encoder", "decoder"}
    for name in a["networks"]:
        for key, value in a["networks"][name].items():
            assert torch.equal(value, b["networks"][name][key]), (name, key)
    assert torch.equal(a["fixed"], b["fixed"])


def test_cli_trains_vae_and_samples(run_cli, tmp_path):
    code, out, err = run_cli("train", "vae", "--dataset", "digits", "--steps", "4", "--log-every", "2",
                             "--sample-every", "4", "--grid-size", "8", "--beta", "0.5", "--device", "cpu",
                             "--out", tmp_path, "--name", "v")
    assert code == 0, err
    assert "negative ELBO loss (bernoulli likelihood, beta 0.5)" in out
    assert "KL" in out
    saved = yaml.safe_load((tmp_path / "v" / "config.yaml").read_text())
    assert saved["model"]["likelihood"] == "bernoulli"
    assert saved["model"]["beta"] == 0.5
    assert (tmp_path / "v" / "samples" / "step-00000004.png").is_file()

    code, out, err = run_cli("sample", tmp_path / "v", "--n", "4", "--out", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").is_file()


def test_cli_ae_sample_fails_with_reason(run_cli, tmp_path):
    code, _, err = run_cli("train", "ae", "--dataset", "digits", "--steps", "2", "--log-every", "1",
                           "--device", "cpu", "--out", tmp_path, "--name", "a")
    assert code == 0, err
    code, _, err = run_cli("sample", tmp_path / "a", "--n", "4")
    assert code == 1
    assert "no prior over its codes" in err
