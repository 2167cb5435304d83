"""Training throughput of gangan's loop against a conventional DataLoader loop.

Both loops train the same networks with the same update rule, in the same process and on the
same device, at the book's batch size of 128. The conventional loop feeds batches the way
most tutorials do: a Dataset that turns each stored image into a PIL image and applies
torchvision's ToTensor and Normalize, batched by torch.utils.data.DataLoader. gangan holds the
dataset as one uint8 tensor on the device and batches it by index. Printed ratios are
gangan steps/s divided by the faster of two baseline variants (0 and 2 loader workers).

Usage: python benchmarks/throughput.py [--dataset fashion-mnist] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from gangan.algorithms import build_algorithm
from gangan.config import resolve_config
from gangan.data import TensorBatches, load_dataset

START, END = "<!-- throughput:start -->", "<!-- throughput:end -->"


class PILDataset(Dataset):
    """The conventional per-sample path: uint8 array -> PIL image -> transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images[:, 0].numpy(), labels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index], mode="L")), int(self.labels[index])


def _endless(loader):
    while True:
        yield from loader


def time_steps(next_batch, algorithm, steps: int, warmup: int, device) -> float:
    """Return steps per second over `steps` steps after `warmup` untimed ones."""
    for _ in range(warmup):
        real, labels = next_batch()
        algorithm.train_step(real.to(device, non_blocking=True), labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        real, labels = next_batch()
        algorithm.train_step(real.to(device, non_blocking=True), labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def measure(model: str, dataset: str, split: str, steps: int, repeats: int, device: torch.device, warmup: int) -> dict:
    config = resolve_config(model, None, {"data.dataset": dataset, "data.split": split, "train.device": device.type})
    data = load_dataset(dataset, split, image_size=config.data.image_size, channels=config.data.channels)
    batch_size = config.train.batch_size
    results: dict[str, list[float]] = {"gangan": [], "dataloader-0": [], "dataloader-2": []}
    for _ in range(repeats):
        torch.manual_seed(0)
        algorithm = build_algorithm(config, device)
        batches = TensorBatches(data.images.to(device), data.labels.to(device), batch_size, seed=0)
        results["gangan"].append(time_steps(lambda: next(batches), algorithm, steps, warmup, device))
        for workers in (0, 2):
            torch.manual_seed(0)
            algorithm = build_algorithm(config, device)
            loader = DataLoader(PILDataset(data.images, data.labels), batch_size=batch_size, shuffle=True,
                                drop_last=True, num_workers=workers, persistent_workers=workers > 0,
                                pin_memory=device.type == "cuda")
            stream = _endless(loader)
            results[f"dataloader-{workers}"].append(time_steps(lambda: next(stream), algorithm, steps, warmup, device))
            del stream, loader
    medians = {name: statistics.median(values) for name, values in results.items()}
    baseline = max(medians["dataloader-0"], medians["dataloader-2"])
    return {"model": model, **medians, "ratio": medians["gangan"] / baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--split", default="train")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gan-steps", type=int, default=1000)
    parser.add_argument("--dcgan-steps", type=int, default=20)
    parser.add_argument("--write", type=Path, help="Markdown file whose throughput section is replaced with the results.")
    args = parser.parse_args()
    device = torch.device(args.device)

    rows = [
        measure("gan", args.dataset, args.split, args.gan_steps, args.repeats, device, warmup=50),
        measure("dcgan", args.dataset, args.split, args.dcgan_steps, args.repeats, device, warmup=5),
    ]
    header = "| model | gangan steps/s | DataLoader, 0 workers | DataLoader, 2 workers | ratio (gangan / faster DataLoader) |\n|---|---|---|---|---|"
    lines = [f"| {r['model']} | {r['gangan']:.1f} | {r['dataloader-0']:.1f} | {r['dataloader-2']:.1f} | {r['ratio']:.2f}x |" for r in rows]
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, device {device}"
    table = "\n".join([header, *lines])
    print(table)
    if args.write:
        section = (
            f"{START}\n## Training throughput\n\n"
            f"Command: `python benchmarks/throughput.py --dataset {args.dataset} --write {args.write}` "
            f"(batch 128, median of {args.repeats} repeats; {machine}; torch {torch.__version__}).\n"
            f"Targets: at least 4x for `gan`, at least 1x for `dcgan`.\n\n{table}\n{END}"
        )
        text = args.write.read_text(encoding="utf-8") if args.write.exists() else "# Benchmarks\n"
        if START in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
