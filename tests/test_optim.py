import copy

import pytest
import torch
from torch import nn

from gangan.algorithms.optim import Adam, adam


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.LeakyReLU(0.01), nn.Linear(5, 1))


def _train(net: nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int = 1) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(8, 6, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        net(x).pow(2).mean().backward()
        optimizer.step()


def _pair(lr: float, betas: tuple[float, float]):
    """Return two equal networks, one with gangan's Adam and one with torch's fused Adam."""
    net_a, net_b = _net(), _net()
    ours = Adam(net_a.parameters(), lr=lr, betas=betas)
    reference = torch.optim.Adam(net_b.parameters(), lr=lr, betas=betas, fused=True)
    return net_a, ours, net_b, reference


def _assert_same(net_a, opt_a, net_b, opt_b):
    for a, b in zip(net_a.parameters(), net_b.parameters(), strict=True):
        assert torch.equal(a, b)
    state_a, state_b = opt_a.state_dict(), opt_b.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    for index, entry in state_a["state"].items():
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(entry[key], state_b["state"][index][key]), f"{key} of parameter {index} differs"


def test_adam_matches_torch_fused_adam():
    net_a, ours, net_b, reference = _pair(1e-2, (0.5, 0.999))
    _train(net_a, ours, 6)
    _train(net_b, reference, 6)
    _assert_same(net_a, ours, net_b, reference)
    assert ours._groups is not None, "the direct call was never taken"

    # A changed learning rate is read at every step.
    for optimizer in (ours, reference):
        optimizer.param_groups[0]["lr"] = 3e-3
    _train(net_a, ours, 3, seed=2)
    _train(net_b, reference, 3, seed=2)
    _assert_same(net_a, ours, net_b, reference)


def test_adam_resumes_from_state_dict():
    net_a, ours, net_b, reference = _pair(1e-2, (0.9, 0.999))
    _train(net_a, ours, 3)
    _train(net_b, reference, 3)

    # Resume both from the reference's state: the cached lists must point at the new tensors.
    saved_net, saved_state = copy.deepcopy(net_b.state_dict()), copy.deepcopy(reference.state_dict())
    net_a.load_state_dict(saved_net)
    ours.load_state_dict(saved_state)
    _train(net_a, ours, 4, seed=5)
    _train(net_b, reference, 4, seed=5)
    _assert_same(net_a, ours, net_b, reference)


def test_adam_skips_parameters_without_grad():
    net_a, ours, net_b, reference = _pair(1e-2, (0.9, 0.999))
    _train(net_a, ours, 2)
    _train(net_b, reference, 2)
    for net, optimizer in ((net_a, ours), (net_b, reference)):
        optimizer.zero_grad(set_to_none=True)
        net(torch.ones(4, 6)).sum().backward()
        net[2].bias.grad = None
        optimizer.step()
    _assert_same(net_a, ours, net_b, reference)


def test_adam_runs_hooks_once():
    net = _net()
    optimizer = Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.999))
    calls = []
    optimizer.register_step_pre_hook(lambda *_: calls.append("pre"))
    optimizer.register_step_post_hook(lambda *_: calls.append("post"))
    # Building a torch.optim.Adam wraps torch's own step with the hooks as well.
    torch.optim.Adam(_net().parameters(), fused=True)
    _train(net, optimizer, 3)
    assert calls == ["pre", "post"] * 3


@pytest.mark.parametrize("device, expected", [("cpu", Adam), ("mps", torch.optim.Adam)])
def test_adam_factory_per_device(device, expected):
    optimizer = adam(_net().parameters(), 1e-3, (0.5, 0.999), torch.device(device))
    assert type(optimizer) is expected
