"""The chapter notebooks: English and Japanese in step, and each one run top to bottom by a real kernel.

GANGAN_NOTEBOOK_STEPS makes every notebook train a few steps on scikit-learn's digits on
the CPU. Two notebooks run at a time, one kernel per core of a 2-core machine.
"""

from __future__ import annotations

import re
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(path.name for path in (NOTEBOOKS / "en").glob("*.ipynb"))
QUICK_STEPS = "4"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _read(language: str, name: str):
    return nbformat.read(NOTEBOOKS / language / name, as_version=4)


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_every_model_has_a_notebook():
    from gangan.models import MODELS

    trained = set()
    for name in NAMES:
        trained |= set(re.findall(r'api\.train\("([a-z0-9_-]+)"', "\n".join(_code(_read("en", name)))))
    assert sorted(set(MODELS) - trained) == [], "add a notebook (en and ja) for each new model"


@pytest.mark.parametrize("name", NAMES)
def test_english_and_japanese_notebooks_are_in_step(name):
    en, ja = _read("en", name), _read("ja", name)
    nbformat.validate(en)
    nbformat.validate(ja)
    # Same code, same cell layout; only the explanations differ.
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in ja.cells]
    assert _code(en) == _code(ja)
    for en_cell, ja_cell in zip(en.cells, ja.cells):
        if en_cell.cell_type == "markdown":
            assert JAPANESE.search(ja_cell.source), f"untranslated cell in ja/{name}: {ja_cell.source[:60]!r}"
            assert not JAPANESE.search(en_cell.source)
    # Notebooks are committed without outputs, so that a run shows only its own.
    assert all(not cell.get("outputs") for cell in en.cells + ja.cells if cell.cell_type == "code")


def _execute(language: str, name: str, folder: Path):
    """Run one notebook in a fresh kernel; return the executed notebook, or the exception it raised."""
    from nbclient import NotebookClient

    env = {**os.environ, "GANGAN_NOTEBOOK_STEPS": QUICK_STEPS, "GANGAN_RUNS": str(folder / "runs"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    notebook = _read(language, name)
    try:
        NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute(env=env)
    except Exception as error:  # noqa: BLE001  reported by the test of this notebook
        return error
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    """Every notebook in both languages, executed two at a time (one kernel per CPU core here)."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(language, name, tmp_path_factory.mktemp(f"{language}-{name[:-6]}")) for name in NAMES for language in ("en", "ja")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: _execute(*job), jobs)
        return {(language, name): (result, folder) for (language, name, folder), result in zip(jobs, results)}


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, language, executed):
    notebook, folder = executed[(language, name)]
    if isinstance(notebook, Exception):
        raise notebook

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    gifs = [output for output in outputs if "image/gif" in output.get("data", {})]
    # Sample grids and the plots are shown as pictures, and GANs show their animation.
    assert len(images) >= 4 and (gifs or name.startswith("02-"))
    runs = sorted((folder / "runs").iterdir())
    assert runs, "the notebook trained nothing into $GANGAN_RUNS"
    for run in runs:
        assert (run / "report.html").is_file()
        steps = [line for line in (run / "metrics.jsonl").read_text().splitlines() if line]
        assert f'"step": {QUICK_STEPS},' in steps[-1]
