"""Label accuracy of a trained cgan run: the share of images generated for class c that the
dataset's evaluation classifier (gangan.evaluation.classifier) assigns to c.

Usage: python benchmarks/cgan_label_accuracy.py RUN [--per-class 1000] [--seed 0]
Prints one line per class and the mean over classes, and the classifier's own test accuracy.
"""

from __future__ import annotations

import argparse

import torch

from gangan.data import dataset_spec
from gangan.evaluation.classifier import get_classifier
from gangan.images import to_uint8
from gangan.training import load_generator_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    loaded = load_generator_run(args.run, "cpu")
    dataset = loaded.config.data.dataset
    trained = get_classifier(dataset, loaded.config.data.root)
    classes = list(range(loaded.algorithm.num_classes))
    images = loaded.sample_classes(classes, args.per_class, seed=args.seed)
    # Score what a PNG would hold: uint8 pixels, back to [-1, 1].
    inputs = to_uint8(images).float().div(127.5).sub(1.0)
    with torch.no_grad():
        predicted = torch.cat([trained.model(chunk).argmax(1) for chunk in inputs.split(1000)])
    target = torch.arange(len(classes)).repeat_interleave(args.per_class)
    names = dataset_spec(dataset).class_names
    per_class = [(predicted[target == c] == c).float().mean().item() for c in classes]
    for c, accuracy in zip(classes, per_class):
        print(f"class {c} ({names[c]}): {accuracy:.1%}")
    print(f"label accuracy (mean over {len(classes)} classes, {args.per_class} images each): {sum(per_class) / len(per_class):.1%}")
    print(f"evaluation classifier test accuracy on real {dataset}: {trained.info.test_accuracy:.1%}")


if __name__ == "__main__":
    main()
