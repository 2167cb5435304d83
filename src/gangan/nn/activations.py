"""Activations with faster kernels than PyTorch's defaults on some hardware."""

from __future__ import annotations

import torch
from torch import nn


def _sigmoid_tanh_(x: torch.Tensor) -> torch.Tensor:
    """Overwrite x with tanh(x) = 2 * sigmoid(2x) - 1 and return it."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


class _SigmoidTanh(torch.autograd.Function):
    """Autograd function: tanh as 2 * sigmoid(2x) - 1 forward, PyTorch's tanh backward (1 - y^2) from the output."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = torch.mul(x, 2).sigmoid_().mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


class _SigmoidTanhInPlace(_SigmoidTanh):
    """`_SigmoidTanh` computed in the input's memory; the input must not be needed by anything else."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.mark_dirty(x)
        y = _sigmoid_tanh_(x)
        ctx.save_for_backward(y)
        return y


class Tanh(nn.Module):
    """tanh, computed through sigmoid on the CPU and with torch.tanh elsewhere.

    The two are the same function. PyTorch's CPU tanh kernel is several times slower than its
    sigmoid kernel: about 260 against 45 microseconds for a 128 x 784 batch on the AMD EPYC
    cores of docs/benchmarks.md. The generator's output layer is one of the largest
    activations of the book's `gan`, so this saves about a tenth of its training step. The
    results differ from torch.tanh by up to about 2e-7, far below one level of an 8-bit image.

    Args:
        inplace: overwrite the input, as nn.ReLU(inplace=True) does. Use it only right after
            a layer whose output nothing else reads (a Linear or a convolution); it saves one
            allocation and one pass over the activations.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            return torch.tanh_(x) if self.inplace else torch.tanh(x)
        if not self.inplace:
            return _SigmoidTanh.apply(x)
        if torch.is_grad_enabled() and x.requires_grad:
            return _SigmoidTanhInPlace.apply(x)
        return _sigmoid_tanh_(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
