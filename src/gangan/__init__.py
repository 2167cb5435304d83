"""gangan: train, watch and evaluate GANs and autoencoders with PyTorch."""

from gangan.errors import GanganError

__version__ = "0.1.0"

__all__ = ["GanganError", "__version__"]
