"""Sample-quality metrics as pure functions: features or logits in, a score out.

Each file names the paper and the reference implementation it follows. Feature extraction
and running a generator live in `gangan.evaluation`.
"""

from gangan.metrics.coverage import Coverage, class_coverage, class_histogram, kl_divergence
from gangan.metrics.fid import GaussianStats, feature_statistics, fid_from_features, frechet_distance
from gangan.metrics.inception_score import inception_score
from gangan.metrics.kid import kernel_inception_distance
from gangan.metrics.modes import ModeCount, count_modes, stacked_mode_labels
from gangan.metrics.precision_recall import precision_recall

__all__ = [
    "Coverage",
    "GaussianStats",
    "ModeCount",
    "class_coverage",
    "class_histogram",
    "count_modes",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "kl_divergence",
    "precision_recall",
    "stacked_mode_labels",
]
