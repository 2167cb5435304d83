"""Architectures, and the registry of trainable models with their book presets."""

from gangan.models.registry import MODELS, ModelSpec, build_networks, model_spec

__all__ = ["MODELS", "ModelSpec", "build_networks", "model_spec"]
