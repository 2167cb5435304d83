"""The report page in a real browser: headless Chromium opens the file, every image loads, no console errors.

Chromium runs with everything that would reach an outside host switched off, with a fresh
profile, on report files under the test's temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import tiny_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--window-size=1100,1400",
]

ALL_IMAGES = """
return Array.from(document.images).map(img => ({
    alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    src: img.getAttribute('src').slice(0, 40)}));
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(f"Chromium or ChromeDriver missing ({CHROMIUM}, {CHROMEDRIVER}); apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    from gangan.training import Trainer, create_run_dir

    run_dir = create_run_dir(tmp_path_factory.mktemp("runs"), "browser", "gan", "digits")
    Trainer(tiny_config("gan", train_steps=8), run_dir).run()
    (run_dir / "evaluations.jsonl").write_text(
        '{"step": 8, "metrics": {"fid": 321.5}, "provenance": {"features": "classifier", "n_generated": 64}}\n', encoding="utf-8")
    return run_dir


def _open(browser, path: Path) -> tuple[list[dict], list[dict]]:
    browser.get_log("browser")  # drop messages of earlier pages
    browser.get(path.as_uri())
    browser.execute_script("return document.readyState")
    images = browser.execute_script(ALL_IMAGES)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return images, errors


def test_report_renders_with_every_image_and_no_console_error(browser, report_run, tmp_path):
    from gangan.report import write_report

    path = write_report(report_run)
    images, errors = _open(browser, path)
    assert errors == []
    assert len(images) == 6 + 1 + 3  # plots, progress.gif, the grids of steps 3, 6 and 8
    broken = [image for image in images if not (image["complete"] and image["width"] > 0 and image["height"] > 0)]
    assert broken == []
    assert "gan on digits" in browser.title
    assert "321.5" in browser.find_element("id", "evaluations").text
    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000


def test_copied_report_with_linked_samples_still_loads_them(browser, report_run, tmp_path, monkeypatch):
    from gangan.report import html as report_html
    from gangan.report import write_report

    monkeypatch.setattr(report_html, "EMBED_TOTAL_BYTES", 0)
    copy = tmp_path / "copied elsewhere" / report_run.name
    shutil.copytree(report_run, copy)
    path = write_report(copy)
    images, errors = _open(browser, path)
    assert errors == []
    linked = [image for image in images if not image["src"].startswith("data:")]
    assert [image["alt"] for image in linked] == [
        "samples/progress.gif", "samples/step-00000003.png", "samples/step-00000006.png", "samples/step-00000008.png"]
    assert all(image["complete"] and image["width"] > 0 for image in images)
    # A missing file shows up as a broken image, so the check above can fail.
    (copy / "samples" / "step-00000003.png").unlink()
    images, _ = _open(browser, path)
    assert [image["alt"] for image in images if image["width"] == 0] == ["samples/step-00000003.png"]
