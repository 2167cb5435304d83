"""cgan: networks, label sampling, the per-class grid, sampling by label and its errors."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_config

from gangan.algorithms import build_algorithm
from gangan.algorithms.conditional import ConditionalGAN
from gangan.errors import GanganError
from gangan.training import Trainer, create_run_dir, load_generator_run


def _cgan(conditioning: str = "concat", **overrides) -> ConditionalGAN:
    config = tiny_config("cgan", "digits", model_conditioning=conditioning, **overrides)
    return build_algorithm(config, torch.device("cpu"))


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_networks_depend_on_the_label(conditioning):
    algorithm = _cgan(conditioning)
    G, D = algorithm.G.eval(), algorithm.D.eval()
    z = torch.randn(4, algorithm.z_dim)
    zeros, threes = torch.zeros(4, dtype=torch.int64), torch.full((4,), 3)
    images = G(z, zeros)
    assert images.shape == (4, 1, 8, 8)
    assert images.abs().max() <= 1.0
    # The same z with another label gives another image, and D scores the pair, not the image alone.
    assert not torch.allclose(images, G(z, threes))
    # Projection D starts with small class vectors; make them differ clearly for the check.
    if conditioning == "projection":
        torch.nn.init.normal_(D.embed.weight)
    assert D(images, zeros).shape == (4,)
    assert not torch.allclose(D(images, zeros), D(images, threes))


def test_book_and_radford_archs_build_for_their_sizes():
    for dataset, size, arch in (("fashion-mnist", 28, "book"), ("cifar10", 32, "radford")):
        for conditioning in ("concat", "projection"):
            config = tiny_config("cgan", dataset, model_conditioning=conditioning)
            assert config.model.arch == arch
            algorithm = build_algorithm(config, torch.device("cpu"))
            labels = torch.tensor([0, 9])
            images = algorithm.generate(torch.randn(2, algorithm.z_dim), labels)
            assert images.shape == (2, config.data.channels, size, size)
            assert algorithm.D(images, labels).shape == (2,)


def test_label_sampling_reaches_every_class_uniformly():
    algorithm = _cgan()
    labels = algorithm.sample_labels(20000, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels, minlength=10)
    assert counts.shape == (10,)
    assert labels.min() == 0 and labels.max() == 9
    # 2,000 expected per class; 5 standard deviations is about +-212.
    assert (counts - 2000).abs().max() < 212


def test_fixed_batch_has_one_row_per_class():
    algorithm = _cgan()
    fixed = algorithm.fixed_inputs(16, seed=1, images=torch.empty(0))
    # ceil(16 / 10) = 2 images per class, class by class.
    assert fixed.shape == (20, algorithm.z_dim + 1)
    assert fixed[:, -1].tolist() == [float(c) for c in range(10) for _ in range(2)]
    assert algorithm.grid_nrow(20) == 2
    assert algorithm.sample_grid(fixed).shape == (20, 1, 8, 8)


def test_unknown_label_is_an_error():
    algorithm = _cgan()
    with pytest.raises(GanganError, match=r"unknown label 10: valid labels are 0-9 \(10 classes\)"):
        algorithm.generate(torch.randn(1, algorithm.z_dim), torch.tensor([10]))
    with pytest.raises(GanganError, match=r"unknown label -1"):
        algorithm.generate(torch.randn(1, algorithm.z_dim), torch.tensor([-1]))


def test_unlabelled_dataset_is_an_error(tmp_path):
    from PIL import Image

    for index in range(4):
        Image.new("L", (8, 8), color=index * 40).save(tmp_path / f"{index}.png")
    with pytest.raises(GanganError, match=r"cgan needs class labels.*has none"):
        build_algorithm(tiny_config("cgan", f"folder:{tmp_path}", data_image_size=8, data_channels=1), torch.device("cpu"))


@pytest.fixture(scope="module")
def trained_cgan(tmp_path_factory):
    """A cgan trained for 6 steps on the MNIST test split when present, on digits otherwise."""
    from conftest import SHARED_MNIST

    dataset, root = ("mnist", str(SHARED_MNIST)) if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file() else ("digits", None)
    config = tiny_config("cgan", dataset, data_split="test", data_root=root, model_arch="mlp")
    run_dir = create_run_dir(tmp_path_factory.mktemp("runs"), "cgan", "cgan", dataset)
    result = Trainer(config, run_dir).run()
    return run_dir, result


def _image_size(run_dir) -> int:
    """Side length of the fixture run's images: 28 on the MNIST test split, 8 on digits."""
    return load_generator_run(run_dir, "cpu").config.data.image_size


def test_a_few_training_steps_write_a_run(trained_cgan):
    run_dir, result = trained_cgan
    assert result.step == 6
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    for record in records:
        assert 0 <= record["D_acc"] <= 1 and torch.isfinite(torch.tensor(record["loss_G"]))
    from PIL import Image

    # grid_size 16 -> 2 images per class -> 2 per row, 10 rows, with 2-pixel padding.
    cell = _image_size(run_dir) + 2
    grid = Image.open(run_dir / "samples" / "step-00000006.png")
    assert grid.size == (2 * cell + 2, 10 * cell + 2)


def test_sample_classes_gives_the_requested_rows_in_order(trained_cgan):
    run_dir, _ = trained_cgan
    loaded = load_generator_run(run_dir, "cpu")
    size = _image_size(run_dir)
    rows = loaded.sample_classes([7, 0, 3], per_class=4, seed=5)
    assert rows.shape == (12, 1, size, size)
    # Each row equals the images generated for that class directly, in the requested order.
    everything = loaded.sample_classes(None, per_class=4, seed=5)
    assert everything.shape == (40, 1, size, size)
    for row, c in enumerate([7, 0, 3]):
        assert torch.equal(rows[4 * row : 4 * row + 4], everything[4 * c : 4 * c + 4])
    # Class 7's images differ from class 0's: the label reaches G.
    assert not torch.equal(rows[:4], rows[4:8])
    with pytest.raises(GanganError, match=r"unknown label 10: valid labels are 0-9 \(10 classes\)"):
        loaded.sample_classes([3, 10], per_class=2)
    with pytest.raises(GanganError, match=r"invalid --per-class 0"):
        loaded.sample_classes([3], per_class=0)


def test_sample_cli_by_label(trained_cgan, run_cli, tmp_path):
    run_dir, _ = trained_cgan
    out = tmp_path / "grid.png"
    code, stdout, stderr = run_cli("sample", run_dir, "--labels", "0,3,7", "--per-class", "5", "--out", out, "--device", "cpu")
    assert code == 0, stderr
    assert "15 images" in stdout
    from PIL import Image

    cell = _image_size(run_dir) + 2
    assert Image.open(out).size == (5 * cell + 2, 3 * cell + 2)
    code, _, stderr = run_cli("sample", run_dir, "--labels", "0,10", "--out", out, "--device", "cpu")
    assert code == 1 and "unknown label 10" in stderr and "0-9" in stderr
    code, _, stderr = run_cli("sample", run_dir, "--labels", "zero", "--out", out, "--device", "cpu")
    assert code == 1 and "invalid --labels 'zero'" in stderr


def test_uniform_samples_are_reproducible(trained_cgan):
    run_dir, _ = trained_cgan
    loaded = load_generator_run(run_dir, "cpu")
    first = loaded.sample(10, seed=3, batch_size=4)
    # Equal up to float rounding: matrix products of other batch sizes may sum in another order.
    assert torch.allclose(first, loaded.sample(10, seed=3, batch_size=10), atol=1e-5)
    assert not torch.equal(first, loaded.sample(10, seed=4))


def test_within_class_diversity_sees_collapse():
    from gangan.monitor import diversity, diversity_within_classes

    # Two classes, each collapsed to one image: the batch varies, each class does not.
    images = torch.cat([torch.zeros(4, 1, 8, 8), torch.ones(4, 1, 8, 8)])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    assert diversity(images) > 0
    assert diversity_within_classes(images, labels) == 0.0


def test_cgan_records_diversity_within_classes(trained_cgan, monkeypatch):
    from gangan.training import trainer

    run_dir, result = trained_cgan
    assert result.last_record["diversity_ratio"] > 0

    # A generator that makes one image per class, whatever z: the ratio must be 0.
    algorithm = load_generator_run(run_dir, "cpu").algorithm
    fixed = algorithm.fixed_inputs(20, 1, None)
    monkeypatch.setattr(algorithm, "sample_grid", lambda f: algorithm.grid_labels(f).float().view(-1, 1, 1, 1).expand(-1, 1, 28, 28))
    interval = trainer._Interval()
    interval.add({key: torch.tensor(0.5) for key in ("loss_D", "loss_G", "D_acc", "D_acc_real", "D_acc_fake")})
    record = trainer.Trainer._make_record(300, interval, algorithm, fixed, 1.0, trainer.Diagnoser())
    assert record["diversity_ratio"] == 0.0
    assert record["diagnosis"] == "collapse"
    assert "--mode-seeking 1" in record["diagnosis_message"]


def test_mode_seeking_loss_values():
    from gangan.algorithms.conditional import mode_seeking_loss

    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    same = torch.zeros(8, 1, 2, 2)
    varied = z[:, :4].view(8, 1, 2, 2)
    assert mode_seeking_loss(z, same) > 1e4
    assert torch.isclose(mode_seeking_loss(z, varied), torch.tensor(1.0), atol=1e-4)


def test_mode_seeking_term_logged_and_validated(run_cli, tmp_path):
    algorithm = build_algorithm(tiny_config("cgan", "digits", model_arch="mlp", model_mode_seeking=1.0), torch.device("cpu"))
    stats = algorithm.train_step(torch.zeros(16, 1, 8, 8), torch.arange(16) % 10)
    assert stats["loss_mode_seeking"] > 0

    code, _, err = run_cli("train", "cgan", "--dataset", "digits", "--mode-seeking", "-1", "--out", str(tmp_path))
    assert code != 0
    assert "--mode-seeking" in err
