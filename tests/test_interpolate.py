"""Latent paths, the 2-D manifold grid, and the `gangan interpolate` and `gangan manifold` commands."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

from conftest import tiny_config
from gangan.algorithms import Algorithm, build_algorithm
from gangan.data import load_dataset
from gangan.errors import GanganError
from gangan.images import save_grid, to_uint8
from gangan.latent import (
    decode_path,
    interpolation_path,
    latent_path,
    lerp,
    manifold,
    manifold_latents,
    read_image,
    slerp,
)
from gangan.training import Trainer, create_run_dir

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny trained runs on the 8x8 digits: a vae, a 2-D vae and a gan."""
    out = tmp_path_factory.mktemp("runs")
    made = {}
    for name, model, extra in [("vae", "vae", {}), ("vae2d", "vae", {"model_z_dim": 2}), ("gan", "gan", {})]:
        config = tiny_config(model, train_steps=2, train_sample_every=2, train_checkpoint_every=2, **extra)
        run_dir = create_run_dir(out, name, model, "digits")
        Trainer(config, run_dir).run()
        made[name] = run_dir
    return made


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_dataset("digits", "test").images[:4].float().div(127.5).sub(1.0)


def test_lerp_midpoint_is_mean():
    z0, z1 = torch.tensor([[0.0, 2.0]]), torch.tensor([[4.0, -2.0]])
    assert torch.equal(lerp(z0, z1, torch.tensor([0.5]))[0, 0], torch.tensor([2.0, 0.0]))


def test_slerp_keeps_norm_of_equal_norm_codes():
    z0, z1 = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    path = slerp(z0, z1, torch.linspace(0, 1, 5))
    assert torch.allclose(path.norm(dim=2), torch.full((1, 5), 3.0), atol=1e-5)
    assert torch.allclose(path[0, 2], torch.tensor([3 / math.sqrt(2), 3 / math.sqrt(2)]), atol=1e-5)


def test_slerp_parallel_codes_fall_back_to_lerp():
    z0 = torch.tensor([[1.0, 1.0]])
    path = slerp(z0, 2 * z0, torch.linspace(0, 1, 3))
    assert torch.allclose(path, lerp(z0, 2 * z0, torch.linspace(0, 1, 3)))


@pytest.mark.parametrize("method", ["slerp", "linear"])
def test_path_endpoints_exact(method):
    z = torch.randn(6, 7, generator=torch.Generator().manual_seed(0))
    path = latent_path(z[:3], z[3:], 9, method)
    assert path.shape == (3, 9, 7)
    assert torch.equal(path[:, 0], z[:3])
    assert torch.equal(path[:, -1], z[3:])


def test_path_rejects_bad_steps_and_method():
    z = torch.zeros(1, 2)
    with pytest.raises(GanganError, match="invalid --steps 1: an interpolation needs at least 2 steps"):
        latent_path(z, z, 1, "linear")
    with pytest.raises(GanganError, match="invalid --method 'cubic'"):
        latent_path(z, z, 3, "cubic")


def test_manifold_latents_golden():
    grid = manifold_latents(3, 0.05)
    q = 1.6448536  # Phi^-1(0.95)
    expected = torch.tensor([[-q, q], [0, q], [q, q], [-q, 0], [0, 0], [q, 0], [-q, -q], [0, -q], [q, -q]])
    assert torch.allclose(grid, expected, atol=1e-5)
    with pytest.raises(GanganError, match="invalid --n 1"):
        manifold_latents(1)


def _load(run_dir):
    from gangan.training import load_generator_run

    return load_generator_run(run_dir, "cpu")


def test_vae_path_endpoints_equal_codes(runs, digits):
    vae = _load(runs["vae"]).algorithm
    a, b = digits[:2], digits[2:4]
    path = interpolation_path(vae, "vae", 6, images=(a, b))
    assert path.shape == (2, 6, vae.z_dim)
    assert torch.equal(path[:, 0], vae.encode(a))
    assert torch.equal(path[:, -1], vae.encode(b))
    # "auto" moves along a straight line between codes: equal steps.
    steps = path[:, 1:] - path[:, :-1]
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-5)
    images = decode_path(vae, path)
    assert images.shape == (2, 6, 1, 8, 8)
    assert torch.allclose(images[:, 0], vae.reconstruct(a), atol=1e-6)


def test_gan_path_endpoints_are_seeded_prior_samples(runs):
    gan = _load(runs["gan"]).algorithm
    path = interpolation_path(gan, "gan", 5, seed=3, rows=2)
    z = gan.sample_z(4, torch.Generator().manual_seed(3))
    assert torch.equal(path[:, 0], z[:2])
    assert torch.equal(path[:, -1], z[2:])
    # Spherical: every point's norm lies between the endpoint norms (within rounding).
    norms = path.norm(dim=2)
    low = torch.minimum(norms[:, :1], norms[:, -1:]) - 1e-4
    high = torch.maximum(norms[:, :1], norms[:, -1:]) + 1e-4
    assert ((norms >= low) & (norms <= high)).all()


def test_gan_rejects_images(runs, digits):
    gan = _load(runs["gan"]).algorithm
    with pytest.raises(GanganError, match="gan has no encoder, so real images have no codes"):
        interpolation_path(gan, "gan", 5, images=(digits[:1], digits[1:2]))


def test_autoencoder_needs_images(runs):
    vae = _load(runs["vae"]).algorithm
    with pytest.raises(GanganError, match="pass --from-image A --to-image B"):
        interpolation_path(vae, "vae", 5)


class _ImageTranslator(Algorithm):
    """A model that maps images to images, like CycleGAN: no latent vector at all."""

    z_dim = 0


def test_model_without_latent_space_rejected():
    with pytest.raises(GanganError, match="cyclegan has no latent space"):
        interpolation_path(_ImageTranslator(), "cyclegan", 5, seed=0)
    with pytest.raises(GanganError, match="cyclegan has no latent space"):
        manifold(_ImageTranslator(), "cyclegan", 4)


def test_manifold_of_2d_vae(runs):
    vae = _load(runs["vae2d"]).algorithm
    images = manifold(vae, "vae", 4)
    assert images.shape == (16, 1, 8, 8)
    assert torch.equal(images, vae.generate(manifold_latents(4)))


def test_manifold_needs_2d_latent(runs):
    vae = _load(runs["vae"]).algorithm
    with pytest.raises(GanganError, match="needs a 2-D latent space, but this vae run has z_dim 20"):
        manifold(vae, "vae", 4)


def test_manifold_rejects_ae():
    ae = build_algorithm(tiny_config("ae", model_z_dim=2), CPU)
    with pytest.raises(GanganError, match="no prior over its codes"):
        manifold(ae, "ae", 4)


def test_read_image_round_trip(tmp_path, digits):
    path = tmp_path / "digit.png"
    Image.fromarray(to_uint8(digits[0, 0]).numpy(), mode="L").save(path)
    image = read_image(path, channels=1, image_size=8)
    assert image.shape == (1, 1, 8, 8)
    assert torch.equal(to_uint8(image), to_uint8(digits[:1]))


def test_read_image_errors(tmp_path):
    with pytest.raises(GanganError, match="image not found: .*missing.png; check the path given to --to-image"):
        read_image(tmp_path / "missing.png", 1, 8, "--to-image")
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    with pytest.raises(GanganError, match="cannot read .*notes.png as an image"):
        read_image(fake, 1, 8)


def test_cli_interpolate_png_and_gif(run_cli, runs, tmp_path):
    code, out, err = run_cli("interpolate", runs["vae"], "--steps", "5", "--rows", "2", "--seed", "1",
                             "--out", tmp_path / "p.png")
    assert code == 0, err
    assert "wrote 2 path(s) of 5 images" in out
    with Image.open(tmp_path / "p.png") as grid:
        assert grid.size == (5 * 10 + 2, 2 * 10 + 2)

    code, _, err = run_cli("interpolate", runs["gan"], "--steps", "4", "--rows", "3", "--out", tmp_path / "g.gif")
    assert code == 0, err
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.n_frames == 2 * 4 - 2
        assert gif.size == (3 * 10 + 2, 12)


def test_cli_interpolate_from_images(run_cli, runs, tmp_path, digits):
    save_grid(digits[:1], tmp_path / "a.png", nrow=1)
    save_grid(digits[1:2], tmp_path / "b.png", nrow=1)
    code, _, err = run_cli("interpolate", runs["vae"], "--from-image", tmp_path / "a.png",
                           "--to-image", tmp_path / "b.png", "--steps", "3", "--out", tmp_path / "ab.png")
    assert code == 0, err
    with Image.open(tmp_path / "ab.png") as grid:
        assert grid.size == (3 * 10 + 2, 12)


def test_cli_interpolate_default_out(run_cli, runs):
    code, out, err = run_cli("interpolate", runs["gan"], "--seed", "4", "--steps", "3")
    assert code == 0, err
    assert (runs["gan"] / "samples" / "interpolate-seed4.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-image", "missing-a.png", "--to-image", "missing-b.png"], "image not found: missing-a.png"),
        (["--from-image", "a.png"], "--from-image and --to-image go together"),
        (["--from-image", "a.png", "--to-image", "b.png", "--seed", "1"], "not both"),
        (["--out", "x.jpg"], "invalid --out x.jpg: the file name must end in .png or .gif"),
        (["--out", "no-such-folder/x.png"], "output folder not found: no-such-folder"),
        (["--steps", "1"], "invalid --steps 1"),
        (["--rows", "0"], "invalid --rows 0"),
        (["--method", "cubic"], "invalid --method 'cubic'"),
    ],
)
def test_cli_interpolate_errors(run_cli, runs, args, message):
    code, _, err = run_cli("interpolate", runs["vae"], *args)
    assert code == 1
    assert message in err


def test_cli_interpolate_missing_run(run_cli, tmp_path):
    code, _, err = run_cli("interpolate", tmp_path / "nothing")
    assert code == 1
    assert "run directory or checkpoint not found" in err


def test_cli_manifold(run_cli, runs, tmp_path):
    code, out, err = run_cli("manifold", runs["vae2d"], "--n", "5", "--out", tmp_path / "m.png")
    assert code == 0, err
    assert "5x5 latent manifold" in out
    with Image.open(tmp_path / "m.png") as grid:
        assert grid.size == (5 * 10 + 2, 5 * 10 + 2)

    code, _, err = run_cli("manifold", runs["vae"], "--out", tmp_path / "m.png")
    assert code == 1
    assert "--z-dim 2" in err
    code, _, err = run_cli("manifold", runs["vae2d"], "--quantile", "0.5")
    assert code == 1
    assert "invalid --quantile 0.5" in err
