"""Datasets: registry, discovery on this machine, download, and in-memory batching."""

from gangan.data.batches import TensorBatches
from gangan.data.registry import DATASETS, DatasetSpec, dataset_spec, native_shape
from gangan.data.loading import ImageData, dataset_status, load_dataset

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "ImageData",
    "TensorBatches",
    "dataset_spec",
    "dataset_status",
    "load_dataset",
    "native_shape",
]
