"""Building blocks shared by several architectures."""

from gangan.nn.activations import Tanh
from gangan.nn.init import init_dcgan_weights, init_glorot_uniform

__all__ = ["Tanh", "init_dcgan_weights", "init_glorot_uniform"]
