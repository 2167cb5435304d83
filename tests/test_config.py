import pytest

from gangan.config import RunConfig, load_yaml, resolve_config, save_yaml
from gangan.errors import GanganError


def test_dcgan_book_preset_on_fashion_mnist():
    config = resolve_config("dcgan", None, {"data.dataset": "fashion-mnist"})
    assert config.model.arch == "book"
    assert (config.data.image_size, config.data.channels) == (28, 1)
    assert config.optim.lr_G == pytest.approx(1e-3)
    assert config.optim.beta1 == pytest.approx(0.9)
    assert config.train.batch_size == 128
    assert config.train.steps == 20000


def test_dcgan_radford_preset_for_64px():
    config = resolve_config("dcgan", None, {"data.dataset": "cifar10", "data.image_size": 64})
    assert config.model.arch == "radford"
    assert config.optim.lr_D == pytest.approx(2e-4)
    assert config.optim.beta1 == pytest.approx(0.5)
    assert config.data.channels == 3


def test_dcgan_on_digits_resizes_to_28():
    config = resolve_config("dcgan", None, {"data.dataset": "digits"})
    assert config.data.image_size == 28
    assert config.model.arch == "book"


def test_precedence_preset_file_flags(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("optim:\n  lr_G: 0.005\n  lr_D: 0.004\ntrain:\n  steps: 50\n")
    config = resolve_config("dcgan", path, {"optim.lr_D": 0.003, "data.dataset": "digits"})
    assert config.optim.lr_G == pytest.approx(0.005)
    assert config.optim.lr_D == pytest.approx(0.003)
    assert config.train.steps == 50
    assert config.optim.beta2 == pytest.approx(0.999)


def test_saved_config_round_trips(tmp_path):
    config = resolve_config("gan", None, {"data.dataset": "digits", "train.steps": 7})
    save_yaml(config, tmp_path / "config.yaml")
    again = resolve_config(None, tmp_path / "config.yaml", {})
    assert again == config
    assert RunConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train.steps": 0}, r"--steps 0: must be at least 1"),
        ({"train.steps": -5}, r"--steps -5"),
        ({"train.batch_size": 0}, r"--batch-size 0: must be at least 1"),
        ({"optim.lr_G": -0.1}, r"--lr-g -0.1: must be greater than 0"),
        ({"optim.lr_D": 0.0}, r"--lr-d 0.0: must be greater than 0"),
        ({"optim.beta1": 1.0}, r"--beta1 1.0: must be in \[0, 1\)"),
        ({"model.loss": "hinge"}, r"--loss 'hinge'; valid values: non-saturating, minimax"),
        ({"train.device": "tpu"}, r"--device 'tpu'; valid values: auto, cpu, cuda, mps"),
        ({"data.channels": 2}, r"--channels 2; valid values: 1, 3"),
        ({"data.image_size": 48}, r"--image-size 48 is not supported by dcgan; supported sizes: 28, 32, 64"),
    ],
)
def test_invalid_values_name_the_option(overrides, message):
    with pytest.raises(GanganError, match=message):
        resolve_config("dcgan", None, {"data.dataset": "digits", **overrides})


def test_unknown_model_lists_valid_names():
    with pytest.raises(GanganError, match=r"unknown model 'stylegan'; valid models: gan, dcgan"):
        resolve_config("stylegan", None, {})


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(GanganError, match=r"unknown dataset 'imagenet'; valid datasets: mnist, fashion-mnist, kmnist, cifar10, digits"):
        resolve_config("gan", None, {"data.dataset": "imagenet"})


def test_yaml_unknown_option_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  stepz: 10\n")
    with pytest.raises(GanganError, match=r"unknown option 'train.stepz' in .*bad.yaml; valid options in \[train\]: steps"):
        resolve_config("gan", path, {})


def test_yaml_wrong_type_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  steps: many\n")
    with pytest.raises(GanganError, match=r"invalid --steps \(train.steps\) 'many'.*expected int"):
        load_yaml(path) and resolve_config("gan", path, {})


def test_yaml_missing_and_malformed(tmp_path):
    with pytest.raises(GanganError, match="config file not found"):
        load_yaml(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [steps: 1\n")
    with pytest.raises(GanganError, match="is not valid YAML"):
        load_yaml(broken)
