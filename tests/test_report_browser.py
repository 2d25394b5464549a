"""The HTML report in a real browser: headless Chromium (Debian's `chromium`, which `make test` installs where it
can) driven by playwright. The page must render the leaderboard, the plots and the segment browser with no
script error, show hostile segments as text, sort and filter. A screenshot is left in the test's folder
(and copied to $MT_HARNESS_SCREENSHOT_DIR when set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_report import EVIL_NAME, HOSTILE, make_tiny_data, tiny_overrides

from harness.config import compose
from harness.report.output import write_report
from harness.run import evaluate

pytestmark = pytest.mark.slow

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (`make test` installs Debian's `chromium` with apt-get where it can; "
                    "otherwise install it, or any Chrome, by hand)")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Exception as e:  # an install that cannot start (missing libraries) is a skip with the reason
            pytest.skip(f"{executable} does not start: {str(e).splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    paths = make_tiny_data(folder / "data")
    evaluate(compose(tiny_overrides(paths)), output_dir=folder / "run")
    return write_report([folder / "run"], folder / "report", formats=["html"], plot_files=False)["html"]


def test_report_renders_in_chromium_without_script_errors(browser, report):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith(("file:", "data:"))
            else None)
    expect = pytest.importorskip("playwright.sync_api").expect
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_selector(".browser .seg", timeout=15_000)  # the page's script, allowed by its own CSP, ran

    # (waits go through locators: the page's CSP forbids the string evaluation wait_for_function uses)
    # the leaderboard, a plot that the browser decoded, and the segment view
    assert page.locator("table.board tbody tr").count() == 3
    assert page.evaluate("Array.from(document.querySelectorAll('img.plot')).every(i => i.complete && "
                         "i.naturalWidth > 100)")
    assert page.locator(".browser .seg").count() == 25
    assert "page 1 of 5" in page.inner_text(".browser .pager")

    # hostile segments are text: find them by id, see the markup as characters, and nothing ran
    box = page.locator(".browser input[type=search]")
    box.fill("id:h0")
    expect(page.locator(".browser .seg")).to_have_count(1)
    assert HOSTILE[0] in page.inner_text(".browser .seg")
    box.fill("id:h1")
    expect(page.locator(".browser .seg .head b")).to_have_text("segment h1")
    assert HOSTILE[1] in page.inner_text(".browser .seg")
    assert EVIL_NAME in page.inner_text(".browser .seg")
    assert page.evaluate("window.__pwned === undefined && document.querySelectorAll('img[src=x]').length === 0")

    # filtering by text, and sorting by a system pair: the biggest wins of A over B come first
    box.fill("")
    expect(page.locator(".browser .seg")).to_have_count(25)
    page.select_option(".browser select >> nth=0", "0")  # metric: BLEU
    page.locator(".browser label", has_text="sort").locator("select").select_option("win")
    heads = page.locator(".browser .seg .head").all_inner_texts()
    wins = [float(h.rsplit(":", 1)[1]) for h in heads]
    assert wins == sorted(wins, reverse=True) and wins[0] > 0

    # sorting the leaderboard by a column
    header = page.locator("table.board thead th", has_text="chrF2")
    header.click()
    first = page.locator("table.board tbody tr").first.inner_text()
    header.click()
    assert page.locator("table.board tbody tr").first.inner_text() != first

    page.evaluate("window.scrollTo(0, 0)")
    shot = report.parent / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("MT_HARNESS_SCREENSHOT_DIR"):
        target = Path(os.environ["MT_HARNESS_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "report.png")
    assert shot.stat().st_size > 10_000
    assert problems == []
