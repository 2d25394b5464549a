"""The HTML report at size: 10,000 segments x 5 systems x 4 metrics (BLEU, chrF2, chrF2++, TER).

The FLORES-200 devtest is repeated to 10,000 segments; the systems are the two shipped OPUS-MT outputs,
copy-source and two seeded word-dropped variants. One run is scored (files only), then `mt-harness report`
writes the HTML and the plots. Reported: the report command's time, report.html's size, and, where headless
Chromium and playwright are installed, the time until the page shows its first page of segments.

    python -m benchmarks report               # 10,000 segments (about a minute on 2 CPU cores)
    python -m benchmarks report -- --quick    # 300 segments, in seconds
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
FLORES_SRC = DATA / "flores200" / "vie_Latn.devtest"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
OUTPUTS = sorted((DATA / "outputs" / "flores200-devtest").glob("*/*.output"))
TARGET_OPEN_SECONDS = 5.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks report", description=__doc__.split("\n\n")[0])
    p.add_argument("--segments", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="300 segments")
    args = p.parse_args(argv)
    if args.quick:
        args.segments = 300
    return args


def lines(path: Path, n: int) -> list[str]:
    base = path.read_text(encoding="utf-8").split("\n")[:1012]
    return [base[i % len(base)] for i in range(n)]


def dropped(hyps: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(w for w in h.split() if rng.random() > 0.1) for h in hyps]


def open_seconds(html: Path) -> float | None:
    """Seconds until the segment browser shows rows, in headless Chromium (None where it is not installed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)
    if chromium is None:
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_selector(".browser .seg", timeout=60_000)
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    n = args.segments
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "src.vi").write_text("\n".join(lines(FLORES_SRC, n)) + "\n", encoding="utf-8")
        (tmp / "ref.en").write_text("\n".join(lines(FLORES_REF, n)) + "\n", encoding="utf-8")
        outputs = {p.parent.name.replace("+", "-"): lines(p, n) for p in OUTPUTS}  # Hydra keys take no "+"
        first = next(iter(outputs.values()))
        outputs["dropped-1"], outputs["dropped-2"] = dropped(first, 1), dropped(first, 2)
        overrides = ["testset=[parallel]", f"testsets.parallel.source={tmp / 'src.vi'}",
                     f"testsets.parallel.references={tmp / 'ref.en'}", "system=[copy_source]", "report=false"]
        for name, hyps in outputs.items():
            (tmp / f"{name}.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
            overrides.append(f"+hypotheses.{name}={tmp / f'{name}.txt'}")
        env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp / "results"), "MT_HARNESS_CACHE": str(tmp / "cache")}
        subprocess.run([sys.executable, "-m", "harness", "run", *overrides], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = next((tmp / "results" / "default").glob("2*"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness", "report", str(run), "-o", str(tmp / "report")], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        html = tmp / "report" / "report.html"
        size = html.stat().st_size
        opened = open_seconds(html)
    print(f"{n:,} segments x {len(outputs) + 1} systems x 4 metrics")
    print(f"mt-harness report (HTML, tables, plot files): {seconds:.1f} s")
    print(f"report.html: {size:,} bytes ({size / 2**20:.1f} MiB)")
    if opened is None:
        print("opening in headless Chromium: not measured (no playwright or no Chromium here)")
        return 0
    print(f"opening in headless Chromium to the first page of segments: {opened:.1f} s "
          f"(target <= {TARGET_OPEN_SECONDS:g} s)")
    return 0 if opened <= TARGET_OPEN_SECONDS or args.quick else 1
