"""Adam for the small networks of the book, with the Python work of each step cut down."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


class Adam(torch.optim.Adam):
    """torch.optim.Adam with the fused kernel, calling that kernel directly after the first step.

    For the discriminator of the book's `gan` on the CPU of docs/benchmarks.md, one
    torch.optim.Adam.step took 77 microseconds, of which about 30 were the fused kernel and the
    rest Python: hooks, grouping tensors by device and dtype, checking each parameter's state.
    After one step through the parent class, this class keeps each group's parameters and
    state tensors in lists. It then calls the same kernel, `torch._fused_adam_`, with the same
    arguments, and its step took 56 microseconds. The updates and the state_dict are those of
    `torch.optim.Adam(fused=True)` bit for bit.

    It takes the parent's path for anything the lists do not cover: a parameter without a
    gradient, a closure, a gradient scaler, and settings other than plain fused Adam
    (amsgrad, maximize, a tensor learning rate, decoupled weight decay). Step hooks and the
    profiler label work as for any optimizer. The lists are rebuilt after `load_state_dict`
    and `add_param_group`. `zero_grad(set_to_none=True)` walks the same lists.
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]):
        self._groups = None
        super().__init__(params, lr=lr, betas=betas, fused=True)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        self._groups = None

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._groups = None

    def _build_groups(self) -> list[tuple] | None:
        """Return (group, params, exp_avgs, exp_avg_sqs, steps) per param group, or None where the direct call does not apply."""
        groups = []
        for group in self.param_groups:
            plain = group["fused"] and not (
                group["amsgrad"] or group["maximize"] or group["differentiable"] or group["capturable"]
                or group.get("decoupled_weight_decay", False) or isinstance(group["lr"], torch.Tensor)
                or any(isinstance(beta, torch.Tensor) for beta in group["betas"])
            )
            states = [self.state.get(p) for p in group["params"]]
            if not plain or any(not state for state in states):
                return None
            groups.append((
                group,
                list(group["params"]),
                [state["exp_avg"] for state in states],
                [state["exp_avg_sq"] for state in states],
                [state["step"] for state in states],
            ))
        return groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none or self._groups is None:
            super().zero_grad(set_to_none)
            return
        for _, params, *_ in self._groups:
            for p in params:
                p.grad = None

    def step(self, closure=None):
        # torch.optim.Optimizer wraps `step` of every subclass with the step hooks and the
        # profiler label, so this method runs inside that wrapper in either case.
        groups = self._groups
        if (
            groups is None or closure is not None
            or getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None) is not None
            or any(p.grad is None for _, params, *_ in groups for p in params)
        ):
            # The parent's step without its own copy of the wrapper, so hooks run once.
            parent_step = getattr(torch.optim.Adam.step, "__wrapped__", torch.optim.Adam.step)
            loss = parent_step(self, closure)
            self._groups = self._build_groups()
            return loss
        with torch.no_grad():
            for group, params, exp_avgs, exp_avg_sqs, steps in groups:
                beta1, beta2 = group["betas"]
                torch._foreach_add_(steps, 1)
                torch._fused_adam_(
                    params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps,
                    lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                    eps=group["eps"], amsgrad=False, maximize=False,
                )
        return None


def adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Build Adam with the fused kernel where PyTorch has one for the device (CPU and CUDA).

    The fused kernel updates all parameters of the optimizer in one pass instead of about ten
    elementwise operations per parameter, and `Adam` above skips most of the Python work
    around it. The update rule and the state_dict layout are those of torch.optim.Adam, so
    checkpoints resume with either implementation.
    """
    if device.type in ("cpu", "cuda"):
        return Adam(params, lr=lr, betas=betas)
    return torch.optim.Adam(params, lr=lr, betas=betas)
