"""Training throughput of gangan's loop against a conventional DataLoader loop.

Both loops train the same networks with the same update rule, in the same process and on the
same device, at the book's batch size of 128. The conventional loop feeds batches the way
most tutorials do: a Dataset that turns each stored image into a PIL image and applies
torchvision's ToTensor and Normalize, batched by torch.utils.data.DataLoader. gangan holds the
dataset as one uint8 tensor on the device and batches it by index.

The shared machines this runs on change speed by a third from one minute to the next, so the
three loops (gangan, DataLoader with 0 and with 2 workers) are timed in short alternating
chunks of about a second each, in a rotating order. Each round gives one ratio: gangan's
steps/s divided by the faster DataLoader loop's in that round. The printed ratio is the
median over the rounds, and the steps/s columns are the medians of each loop's chunks.

Usage: python benchmarks/throughput.py [--dataset fashion-mnist] [--rounds 15] [--write docs/benchmarks.md]
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
LOOPS = ("gangan", "dataloader-0", "dataloader-2")


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


class Loop:
    """One training loop: an algorithm and where its batches come from."""

    def __init__(self, next_batch, algorithm, device: torch.device):
        self.next_batch, self.algorithm, self.device = next_batch, algorithm, device

    def steps(self, n: int) -> None:
        for _ in range(n):
            real, labels = self.next_batch()
            self.algorithm.train_step(real.to(self.device, non_blocking=True), labels)
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def rate(self, n: int, settle: int) -> float:
        """Run `settle` untimed steps (they use up batches a loader prefetched meanwhile), then return steps/s over n."""
        self.steps(settle)
        start = time.perf_counter()
        self.steps(n)
        return n / (time.perf_counter() - start)


def measure(model: str, dataset: str, split: str, rounds: int, chunk: dict[str, int], device: torch.device, warmup: int) -> dict:
    config = resolve_config(model, None, {"data.dataset": dataset, "data.split": split, "train.device": device.type})
    data = load_dataset(dataset, split, image_size=config.data.image_size, channels=config.data.channels)
    batch_size = config.train.batch_size
    loops: dict[str, Loop] = {}
    torch.manual_seed(0)
    batches = TensorBatches(data.images.to(device), data.labels.to(device), batch_size, seed=0)
    loops["gangan"] = Loop(lambda: next(batches), build_algorithm(config, device), device)
    streams = {}
    for workers in (0, 2):
        torch.manual_seed(0)
        loader = DataLoader(PILDataset(data.images, data.labels), batch_size=batch_size, shuffle=True,
                            drop_last=True, num_workers=workers, persistent_workers=workers > 0,
                            pin_memory=device.type == "cuda")
        streams[workers] = _endless(loader)
        loops[f"dataloader-{workers}"] = Loop(lambda s=streams[workers]: next(s), build_algorithm(config, device), device)
    for loop in loops.values():
        loop.steps(warmup)

    rates: dict[str, list[float]] = {name: [] for name in LOOPS}
    ratios = []
    for r in range(rounds):
        order = LOOPS[r % 3:] + LOOPS[: r % 3]
        this_round = {name: loops[name].rate(chunk[name], settle=4 if name == "dataloader-2" else 0) for name in order}
        for name, value in this_round.items():
            rates[name].append(value)
        ratios.append(this_round["gangan"] / max(this_round["dataloader-0"], this_round["dataloader-2"]))
    del streams, loops
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {"model": model, **medians, "ratio": statistics.median(ratios), "low": min(ratios), "high": max(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--split", default="train")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write", type=Path, help="Markdown file whose throughput section is replaced with the results.")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    device = torch.device(args.device)

    # Chunks of about a second each on the 2-core CPU of docs/benchmarks.md.
    rows = [
        measure("gan", args.dataset, args.split, args.rounds,
                {"gangan": 250, "dataloader-0": 60, "dataloader-2": 60}, device, warmup=50),
        measure("dcgan", args.dataset, args.split, args.rounds,
                {"gangan": 4, "dataloader-0": 4, "dataloader-2": 4}, device, warmup=3),
    ]
    table = format_table(rows)
    print(table)
    if args.write:
        machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, device {device}"
        command = f"python benchmarks/throughput.py --dataset {args.dataset} --write {args.write}"
        write_section(args.write, table, command, args.rounds, machine)


def format_table(rows: list[dict]) -> str:
    header = ("| model | gangan steps/s | DataLoader, 0 workers | DataLoader, 2 workers | ratio (gangan / faster DataLoader) "
              "| lowest and highest round |\n|---|---|---|---|---|---|")
    lines = [f"| {r['model']} | {r['gangan']:.1f} | {r['dataloader-0']:.1f} | {r['dataloader-2']:.1f} | {r['ratio']:.2f}x "
             f"| {r['low']:.2f}x to {r['high']:.2f}x |" for r in rows]
    return "\n".join([header, *lines])


def write_section(path: Path, table: str, command: str, rounds: int, machine: str) -> None:
    """Replace the throughput section of the Markdown file at `path`, or append one."""
    section = (
        f"{START}\n## Training throughput\n\n"
        f"Command: `{command}` (batch 128; {rounds} rounds of alternating chunks of about a second per loop, "
        f"median ratio; {machine}; torch {torch.__version__}).\n"
        f"Targets: at least 4x for `gan`, at least 1x for `dcgan`.\n\n{table}\n{END}"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    main()
