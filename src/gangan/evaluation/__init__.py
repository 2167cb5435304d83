"""Evaluating generators: feature extractors, reference statistics, provenance records.

The metric formulas themselves are pure functions in `gangan.metrics`.
"""

from gangan.evaluation.classifier import (
    ClassifierInfo,
    TrainedClassifier,
    get_classifier,
    load_classifier,
    save_classifier,
    train_classifier,
)
from gangan.evaluation.evaluate import (
    DEFAULT_METRICS,
    METRICS,
    EvalInputs,
    EvaluationResult,
    append_record,
    build_extractor,
    default_metrics,
    evaluate_folder,
    evaluate_images,
    evaluate_run,
    parse_metrics,
    run_dir_of,
)
from gangan.evaluation.features import ClassifierExtractor, InceptionExtractor, resolve_inception_weights
from gangan.evaluation.reference import Reference, load_reference

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "ClassifierExtractor",
    "ClassifierInfo",
    "EvalInputs",
    "EvaluationResult",
    "InceptionExtractor",
    "Reference",
    "TrainedClassifier",
    "append_record",
    "build_extractor",
    "default_metrics",
    "evaluate_folder",
    "evaluate_images",
    "evaluate_run",
    "get_classifier",
    "load_classifier",
    "load_reference",
    "parse_metrics",
    "resolve_inception_weights",
    "run_dir_of",
    "save_classifier",
    "train_classifier",
]
