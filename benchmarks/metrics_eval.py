"""Speed of one classifier-feature evaluation, and the real-against-real floor of the scores.

Speed: an untrained book DCGAN generates N images (the baseline, measured in the same run),
then `evaluate_images` scores them against cached reference features, first with the metrics
that `--eval-every` computes during training (FID and class coverage), then with all five.
Floor: N images of the test split scored against N images of the training split, the best a
generator can hope for on the same features.

Wall seconds depend on what else runs on the machine, so CPU seconds (this process, all
threads) are printed beside them; on an otherwise idle machine wall time is at most the CPU time.

Usage: python benchmarks/metrics_eval.py [--dataset fashion-mnist] [--n 10000] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from gangan.algorithms import build_algorithm
from gangan.config import resolve_config
from gangan.data import load_dataset
from gangan.evaluation import build_extractor, evaluate_images, load_reference
from gangan.evaluation.reference import reference_features
from gangan.images import to_uint8


def _timed(function):
    """Return (value, wall seconds, CPU seconds of this process summed over its threads)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    extractor, seconds, _ = _timed(lambda: build_extractor("classifier", args.dataset, args.data_root))
    print(f"classifier ready in {seconds:.1f} s: {extractor.description}")
    reference = load_reference(args.dataset, "train", args.n, args.data_root)
    reference_features(reference, extractor, reference.images)
    _, seconds, cpu = _timed(lambda: extractor.extract(reference.images))
    print(f"classifier features of {len(reference):,} images: {seconds:.1f} s wall, {cpu:.1f} s CPU "
          f"(reference features are computed once and cached)")

    config = resolve_config("dcgan", None, {"data.dataset": args.dataset, "train.device": "cpu"})
    torch.manual_seed(0)
    algorithm = build_algorithm(config, torch.device("cpu"))
    z = algorithm.sample_z(args.n, torch.Generator().manual_seed(0))
    fake, generation, generation_cpu = _timed(lambda: torch.cat([to_uint8(algorithm.generate(chunk)) for chunk in z.split(500)]))
    print(f"baseline: generating {args.n:,} images with the book DCGAN: {generation:.1f} s wall, {generation_cpu:.1f} s CPU")

    for metrics in (["fid", "coverage"], ["fid", "kid", "is", "pr", "coverage"]):
        _, seconds, cpu = _timed(lambda: evaluate_images(fake, reference, extractor, metrics))
        print(f"scoring {args.n:,} images ({', '.join(metrics)}): {seconds:.1f} s wall, {cpu:.1f} s CPU "
              f"({cpu / generation_cpu:.2f}x generation); with generation {seconds + generation:.1f} s wall, "
              f"{cpu + generation_cpu:.1f} s CPU")

    test = load_dataset(args.dataset, "test", args.data_root).images[: args.n]
    floor = evaluate_images(test, reference, extractor, ["fid", "kid", "is", "pr", "coverage"]).scores
    print(f"floor, {len(test):,} test vs {len(reference):,} training images: FID {floor['fid']:.3f}, "
          f"KID {floor['kid']:.5f}, IS {floor['is']:.3f}, precision {floor['precision']:.3f}, "
          f"recall {floor['recall']:.3f}, coverage {floor['coverage']} of {floor['coverage_classes']}, "
          f"class KL {floor['coverage_kl']:.4f}")


if __name__ == "__main__":
    main()
