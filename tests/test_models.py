import pytest
import torch
from torch import nn

from gangan.models.dcgan import BookDiscriminator, BookGenerator, RadfordDiscriminator, RadfordGenerator
from gangan.models.gan import MLPDiscriminator, MLPGenerator


def _linear_sizes(module: nn.Module) -> list[tuple[int, int]]:
    return [(layer.in_features, layer.out_features) for layer in module.modules() if isinstance(layer, nn.Linear)]


def test_book_gan_layer_sizes():
    G, D = MLPGenerator(100, (1, 28, 28), 128), MLPDiscriminator((1, 28, 28), 128)
    assert _linear_sizes(G) == [(100, 128), (128, 784)]
    assert _linear_sizes(D) == [(784, 128), (128, 1)]
    slopes = {layer.negative_slope for layer in [*G.modules(), *D.modules()] if isinstance(layer, nn.LeakyReLU)}
    assert slopes == {0.01}


@pytest.mark.parametrize(
    ("G", "D", "shape"),
    [
        (MLPGenerator(100, (1, 28, 28)), MLPDiscriminator((1, 28, 28)), (1, 28, 28)),
        (BookGenerator(100, 1), BookDiscriminator(1), (1, 28, 28)),
        (BookGenerator(64, 3), BookDiscriminator(3), (3, 28, 28)),
        (RadfordGenerator(100, 3, 32, 16), RadfordDiscriminator(3, 32, 16), (3, 32, 32)),
        (RadfordGenerator(100, 1, 64, 8), RadfordDiscriminator(1, 64, 8), (1, 64, 64)),
    ],
)
def test_shapes_and_ranges(G, D, shape):
    z = torch.randn(5, G.z_dim) * 10
    images = G(z)
    assert tuple(images.shape) == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1
    logits = D(images)
    assert tuple(logits.shape) == (5,)


def test_book_dcgan_intermediate_shapes():
    G = BookGenerator(100, 1)
    x = G.fc(torch.randn(2, 100)).view(-1, 256, 7, 7)
    sizes = []
    for layer in G.net:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(128, 14, 14), (64, 14, 14), (1, 28, 28)]


def test_discriminator_rejects_wrong_image_size():
    with pytest.raises(AssertionError, match="expected 28x28 images"):
        BookDiscriminator(1)(torch.zeros(2, 1, 32, 32))


def test_tanh_matches_torch_tanh():
    from gangan.nn import Tanh

    x = torch.linspace(-12, 12, 5001, dtype=torch.float64).float().requires_grad_(True)
    reference = x.detach().clone().requires_grad_(True)
    y = Tanh()(x)
    expected = torch.tanh(reference)
    (y * torch.arange(5001.0)).sum().backward()
    (expected * torch.arange(5001.0)).sum().backward()

    assert torch.allclose(y, expected, atol=3e-7, rtol=0)
    assert torch.allclose(x.grad, reference.grad, atol=1e-6 * 5001, rtol=1e-5)


def test_inplace_tanh_matches_torch_tanh():
    from gangan.nn import Tanh

    torch.manual_seed(0)
    layer = nn.Linear(3, 50)
    x = torch.randn(16, 3) * 4
    reference = torch.tanh(layer(x))
    (reference * torch.arange(50.0)).sum().backward()
    expected_grad = layer.weight.grad.clone()
    layer.zero_grad()

    y = Tanh(inplace=True)(layer(x))
    (y * torch.arange(50.0)).sum().backward()
    assert torch.allclose(y, reference, atol=3e-7, rtol=0)
    assert torch.allclose(layer.weight.grad, expected_grad, atol=1e-3, rtol=1e-4)

    # Without autograd it overwrites the input and returns it.
    with torch.no_grad():
        h = layer(x)
        out = Tanh(inplace=True)(h)
    assert out is h
    assert torch.allclose(out, reference, atol=3e-7, rtol=0)


def test_inplace_tanh_gradcheck():
    from gangan.nn import Tanh

    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: Tanh(inplace=True)(v * 1.0), (x,))


def _all_discriminators():
    from gangan.config import resolve_config
    from gangan.models.registry import MODELS, build_networks

    for name in MODELS:
        if name in ("ae", "vae"):
            continue
        config = resolve_config(name, None, {"data.dataset": "digits", "data.image_size": 28})
        yield name, build_networks(config)["D"]


def test_joint_scoring_only_without_batchnorm():
    from torch.nn.modules.batchnorm import _BatchNorm

    declared = []
    for name, D in _all_discriminators():
        if getattr(D, "independent_scores", False):
            declared.append(name)
            assert not any(isinstance(m, _BatchNorm) for m in D.modules()), f"{name}'s D has BatchNorm"
    assert "gan" in declared


def test_joint_scores_equal_separate():
    from gangan.algorithms import build_algorithm
    from gangan.config import resolve_config

    config = resolve_config("gan", None, {"data.dataset": "digits", "data.image_size": 28})
    algorithm = build_algorithm(config, torch.device("cpu"))
    real, fake = torch.rand(5, 1, 28, 28) * 2 - 1, torch.rand(7, 1, 28, 28) * 2 - 1
    real_logits, fake_logits = algorithm.score(real, fake)
    assert torch.allclose(real_logits, algorithm.D(real), atol=1e-5)
    assert torch.allclose(fake_logits, algorithm.D(fake), atol=1e-5)
