"""Building blocks shared by several architectures."""

from gangan.nn.init import init_dcgan_weights, init_glorot_uniform

__all__ = ["init_dcgan_weights", "init_glorot_uniform"]
