"""The importance-weighted NLL estimate and ELBO of a VAE on binarised images."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from conftest import tiny_config
from gangan.algorithms import build_algorithm
from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.metrics.nll import binarize, importance_weighted_nll, log_weights, run_nll
from gangan.training import Trainer, create_run_dir, load_generator_run

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory):
    """A vae trained for 100 steps on the 8x8 digits: far enough that its posterior is informative."""
    config = tiny_config("vae", train_steps=100, train_batch_size=32, train_log_every=50,
                         train_sample_every=100, train_checkpoint_every=100, model_z_dim=4)
    run_dir = create_run_dir(tmp_path_factory.mktemp("nll"), "vae", "vae", "digits")
    Trainer(config, run_dir).run()
    return load_generator_run(run_dir, "cpu")


@pytest.fixture(scope="module")
def test_images() -> torch.Tensor:
    return load_dataset("digits", "test").images[:120].float().div(127.5).sub(1.0)


def test_log_weights_match_distributions(trained_vae, test_images):
    vae = trained_vae.algorithm
    x = binarize(test_images[:2], "static")
    eps = torch.randn(2, 3, vae.z_dim, generator=torch.Generator().manual_seed(0))
    weights = log_weights(vae, x, eps)

    mu, logvar = vae.posterior(x)
    std = torch.exp(0.5 * logvar)
    for i in range(2):
        for j in range(3):
            z = mu[i] + std[i] * eps[i, j]
            log_q = Normal(mu[i], std[i]).log_prob(z).sum()
            log_prior = Normal(0.0, 1.0).log_prob(z).sum()
            logits = vae.decoder(z.unsqueeze(0))[0]
            log_px = Bernoulli(logits=logits).log_prob((x[i] + 1) / 2).sum()
            assert weights[i, j].item() == pytest.approx((log_px + log_prior - log_q).item(), rel=1e-5)


def test_nll_at_most_negative_elbo(trained_vae, test_images):
    result = importance_weighted_nll(trained_vae.algorithm, test_images, k=20, binarization="dynamic")
    assert result.nll <= -result.elbo
    assert result.nll > 0
    assert (result.k, result.images, result.binarization) == (20, 120, "dynamic")


def test_single_sample_nll_is_negative_elbo(trained_vae, test_images):
    result = importance_weighted_nll(trained_vae.algorithm, test_images, k=1)
    assert result.nll == pytest.approx(-result.elbo, rel=1e-6)


def test_nll_tightens_with_more_samples(trained_vae, test_images):
    nlls = [importance_weighted_nll(trained_vae.algorithm, test_images, k=k, seed=1).nll for k in (1, 10, 100)]
    assert nlls[0] > nlls[1] > nlls[2], nlls
    # The gain from 1 to 10 samples is larger than from 10 to 100: the estimate converges.
    assert nlls[0] - nlls[1] > nlls[1] - nlls[2], nlls


def test_nll_independent_of_batch_size(trained_vae, test_images):
    a = importance_weighted_nll(trained_vae.algorithm, test_images[:30], k=5, batch_size=30)
    b = importance_weighted_nll(trained_vae.algorithm, test_images[:30], k=5, batch_size=7)
    assert a.nll == pytest.approx(b.nll, rel=1e-6)
    assert a.elbo == pytest.approx(b.elbo, rel=1e-6)


def test_nll_repeats_with_seed(trained_vae, test_images):
    a = importance_weighted_nll(trained_vae.algorithm, test_images[:20], k=5, seed=3)
    b = importance_weighted_nll(trained_vae.algorithm, test_images[:20], k=5, seed=3)
    assert a == b


def test_binarize_static_threshold():
    images = torch.tensor([[[[-1.0, -0.2, 0.0, 0.2, 1.0]]]])
    assert binarize(images, "static").flatten().tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]


def test_binarize_dynamic_draws_pixel_probability():
    images = torch.full((1, 1, 100, 100), -0.4)  # probability (x + 1) / 2 = 0.3
    bits = binarize(images, "dynamic", torch.Generator().manual_seed(0))
    assert set(bits.unique().tolist()) == {-1.0, 1.0}
    assert ((bits + 1) / 2).mean().item() == pytest.approx(0.3, abs=0.02)


def test_binarize_rejects_unknown_mode():
    with pytest.raises(GanganError, match="invalid binarization 'otsu'"):
        binarize(torch.zeros(1, 1, 2, 2), "otsu")


def test_nll_rejects_models_without_likelihood():
    ae = build_algorithm(tiny_config("ae"), CPU)
    with pytest.raises(GanganError, match="the nll metric needs a vae: ae defines no likelihood"):
        importance_weighted_nll(ae, torch.zeros(2, 1, 8, 8), k=2)
    gan = build_algorithm(tiny_config("gan"), CPU)
    with pytest.raises(GanganError, match="the nll metric needs a vae"):
        importance_weighted_nll(gan, torch.zeros(2, 1, 8, 8), k=2)


def test_nll_rejects_gaussian_vae():
    vae = build_algorithm(tiny_config("vae", model_likelihood="gaussian"), CPU)
    with pytest.raises(GanganError, match="trained with --likelihood gaussian"):
        importance_weighted_nll(vae, torch.zeros(2, 1, 8, 8), k=2)


def test_nll_rejects_bad_arguments(trained_vae, test_images):
    with pytest.raises(GanganError, match="invalid k 0"):
        importance_weighted_nll(trained_vae.algorithm, test_images, k=0)
    with pytest.raises(GanganError, match="no test images"):
        importance_weighted_nll(trained_vae.algorithm, test_images[:0], k=2)


def test_run_nll_on_test_split(trained_vae):
    result = run_nll(trained_vae, k=4, n_images=50, binarization="static")
    assert (result.dataset, result.split, result.images) == ("digits", "test", 50)
    # A VAE on 64 binary pixels must beat the uniform model, 64 * log 2 nats.
    assert result.nll < 64 * math.log(2)
    with pytest.raises(GanganError, match="invalid number of images 0"):
        run_nll(trained_vae, k=4, n_images=0)


def test_nll_on_mnist_test_split(mnist_dir, tmp_path):
    config = tiny_config("vae", dataset="mnist", data_split="test", data_root=str(mnist_dir), train_steps=15,
                         train_batch_size=32, train_log_every=5, train_sample_every=15, train_checkpoint_every=15)
    run_dir = create_run_dir(tmp_path, "vae", "vae", "mnist")
    Trainer(config, run_dir).run()
    result = run_nll(load_generator_run(run_dir, "cpu"), k=8, n_images=100)
    # After 15 steps the model is poor but far better than 784 fair coins (543 nats).
    assert result.nll < 784 * math.log(2)
    assert result.nll <= -result.elbo


def test_nll_scores_need_a_run():
    from gangan.metrics.nll import nll_scores

    with pytest.raises(GanganError, match="--metrics nll scores a model's likelihood"):
        nll_scores(None, torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_evaluate_cli_reports_nll(trained_vae, run_cli, tmp_path):
    from gangan.evaluation import save_classifier, train_classifier
    from gangan.monitor.writers import read_jsonl

    classifier = tmp_path / "digits.pt"
    save_classifier(train_classifier("digits", steps=20, seed=0), classifier)
    run_dir = trained_vae.checkpoint.parent.parent
    code, out, err = run_cli("evaluate", run_dir, "--metrics", "nll", "--n", "40", "--reference", "test",
                             "--classifier", classifier, "--out", tmp_path / "e.jsonl")
    assert code == 0, err
    assert "nll" in out
    scores = read_jsonl(tmp_path / "e.jsonl")[0]["scores"]
    assert (scores["nll_k"], scores["nll_images"], scores["nll_binarization"]) == (200, 40, "dynamic")
    assert scores["nll"] <= -scores["elbo"]
    assert 0 < scores["nll"] < 64 * math.log(2)
