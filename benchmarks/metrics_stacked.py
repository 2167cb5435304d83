"""Stacked MNIST modes of real data: the ceiling a generator's mode count is read against.

Builds Stacked MNIST from the MNIST split at hand, labels every channel of every image with the
cached MNIST classifier (trained first when absent), and prints the modes covered (of 1,000),
the KL divergence to uniform, and how often the classifier's triple equals the true label.

Usage: python benchmarks/metrics_stacked.py [--split test] [--data-root DIR]
"""

from __future__ import annotations

import argparse

from gangan.data import load_dataset
from gangan.evaluation import build_extractor
from gangan.metrics import count_modes, stacked_mode_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    data = load_dataset("stacked-mnist", args.split, args.data_root)
    extractor = build_extractor("classifier", "stacked-mnist", args.data_root)
    digits = extractor.channel_digits(data.images)
    modes = count_modes(digits)
    agreement = (stacked_mode_labels(digits) == data.labels).float().mean().item()
    print(f"{extractor.description}")
    print(f"{len(data):,} real stacked-mnist {args.split} images: {modes.covered} of {modes.total} modes, "
          f"KL to uniform {modes.kl:.4f}, predicted mode equals the true label for {agreement:.2%}")


if __name__ == "__main__":
    main()
