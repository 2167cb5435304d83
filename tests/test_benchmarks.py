"""The throughput benchmark runs end to end on a small dataset (no timing is checked here)."""

import importlib.util
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_runs_and_writes_section(tmp_path):
    throughput = _load("throughput")
    chunk = {"gangan": 3, "dataloader-0": 2, "dataloader-2": 2}
    row = throughput.measure("gan", "digits", "train", 2, chunk, torch.device("cpu"), warmup=1)
    assert row["model"] == "gan"
    for loop in ("gangan", "dataloader-0", "dataloader-2"):
        assert row[loop] > 0
    assert row["low"] <= row["ratio"] <= row["high"]

    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nbefore\n\n{throughput.START}\nold table\n{throughput.END}\n\nafter\n", encoding="utf-8")
    table = throughput.format_table([row])
    throughput.write_section(page, table, "python benchmarks/throughput.py", 2, "test machine")
    text = page.read_text(encoding="utf-8")
    assert "old table" not in text
    assert table in text
    assert text.count(throughput.START) == 1
    assert "before" in text
    assert "after" in text
