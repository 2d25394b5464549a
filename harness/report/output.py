"""Writing reports: `write_report(paths, out)` (the `report` command) reads run folders and multirun folders back
and writes the leaderboards (leaderboard.md, .csv, .json, .tex), report.html and the plots as SVG and PNG
(plots/); `write_run_report(run)` writes a finished run's report.html into its own folder (`run` does it at
the end of every job unless `report: false`).

A multirun folder (`results/<exp>/multirun_<stamp>/`, one run folder per job: 0, 1, ...) is one group of
runs: Hydra's `<job>/.hydra/overrides.yaml` says what each job set, and the overrides whose values differ
between jobs are the sweep, shown as columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.report.analysis import bucket_analyses, disagreements, document_scores, speed_rows
from harness.report.board import Board, RunInfo, build_boards
from harness.report.html import BoardExtras, report_html
from harness.report.tables import markdown, report_title, to_csv, to_json, to_latex
from harness.results import load_run, resolve_run_dir, safe_filename
from harness.textio import read_text, write_bytes, write_text

log = logging.getLogger("harness")

FORMATS = ("md", "csv", "json", "tex", "html")
PLOTS_DIR = "plots"


# ------------------------------------------------------------------------------------------ finding runs

def _job_key(path: Path):
    return (0, int(path.name), "") if path.name.isdigit() else (1, 0, path.name)


def multirun_jobs(path: Path) -> list[Path]:
    """The job folders (with scores.json) of a multirun folder, in job order; [] when `path` is not one."""
    if not path.is_dir() or (path / "scores.json").is_file():
        return []
    return sorted((d for d in path.iterdir() if d.is_dir() and not d.is_symlink() and (d / "scores.json").is_file()),
                  key=_job_key)


def job_overrides(job: Path) -> dict[str, str]:
    """What a multirun job set on the command line: `<job>/.hydra/overrides.yaml`, as key -> value."""
    import yaml

    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    items = yaml.safe_load(read_text(path)) or []
    return dict(str(item).split("=", 1) if "=" in str(item) else (str(item), "") for item in items)


def find_runs(paths: Sequence[str | Path]) -> list[RunInfo]:
    """Run folders (or their scores.json, or results/<exp>/latest) and multirun folders, as RunInfos with
    labels: a run's date, `job N` for a multirun job (prefixed with its folder when several are given)."""
    runs: list[RunInfo] = []
    groups: list[list[RunInfo]] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise HarnessError(f"{path} does not exist; give run folders (results/<experiment>/<run>, or "
                               f"results/<experiment>/latest) or multirun folders (results/<experiment>/multirun_...)")
        jobs = multirun_jobs(path)
        if jobs:
            overrides = {job: job_overrides(job) for job in jobs}
            keys = list(dict.fromkeys(k for o in overrides.values() for k in o))
            swept = [k for k in keys if len({o.get(k) for o in overrides.values()}) > 1]
            group = [RunInfo(doc={}, path=job.resolve(), group=str(path.resolve()), job=job.name,
                             sweep={k: overrides[job].get(k, "") for k in swept}) for job in jobs]
            groups.append(group)
            runs += group
        else:
            runs.append(RunInfo(doc={}, path=resolve_run_dir(path)))
    seen: set[Path] = set()
    unique = []
    for run in runs:  # the same folder given twice (e.g. a run and `latest`) is one run
        if run.path not in seen:
            seen.add(run.path)
            unique.append(run)
    return unique


def _label(runs: list[RunInfo]) -> None:
    several_groups = len({r.group for r in runs if r.group}) > 1
    for run in runs:
        if run.group:
            run.label = (f"{Path(run.group).name}/" if several_groups else "") + f"job {run.job}"
        else:
            run.label = run.date
    labels = [r.label for r in runs]
    for run in runs:
        if labels.count(run.label) > 1:  # two runs started in the same minute
            run.label = f"{run.label} ({run.path.name})"


def load_runs(paths: Sequence[str | Path]) -> list[RunInfo]:
    """`find_runs`, each read back (`harness.results.load_run`: statistics, hypotheses, metrics)."""
    runs = find_runs(paths)
    if not runs:
        raise HarnessError("no runs given: name at least one run folder or multirun folder")
    for run in runs:
        run.result = load_run(run.path)
        run.doc = run.result.document
    _label(runs)
    return runs


# ------------------------------------------------------------------------------------------ writing

def board_extras(board: Board, figures: bool = True) -> tuple[BoardExtras, list]:
    """The analyses of one board, and its matplotlib figures as (file stem, caption, figure)."""
    found, with_averaged = disagreements(board)
    extras = BoardExtras(buckets=bucket_analyses(board), disagreements=found, with_averaged=with_averaged,
                         documents=document_scores(board))
    made = []
    if figures:
        try:
            import matplotlib  # noqa: F401  (an optional dependency: the dev extra installs it)
        except ImportError:
            log.warning("no plots in the report: matplotlib is not installed (pip install matplotlib)")
            return extras, []
        from harness.report import plots

        stem = safe_filename(board.title)
        length = next((a for a in extras.buckets if a.kind == "source length"), None)
        for name, caption, fig in [
                ("intervals", "Scores with 95% confidence intervals", plots.intervals_figure(board)),
                ("distributions", "Segment-score distributions", plots.distributions_figure(board)),
                ("length", "Score by source length (whitespace tokens)",
                 plots.buckets_figure(board, length) if length else None)]:
            if fig is not None:
                made.append((f"{stem}-{name}", caption, fig))
        extras.figures = [(s, c, plots.to_svg(f)) for s, c, f in made]
    return extras, made


def html_page(boards: list[Board], title: str | None = None, figures: bool = True,
              files: str | None = None) -> tuple[str, list]:
    """report.html's text, and the figures drawn for it."""
    extras, made = [], []
    for board in boards:
        extra, figs = board_extras(board, figures)
        extras.append(extra)
        made += figs
    generated = datetime.now().astimezone().isoformat(timespec="seconds")
    return report_html(boards, extras, speed_rows(boards), title or report_title(boards), generated, files), made


def write_report(paths: Sequence[str | Path], out: str | Path, formats: Sequence[str] = FORMATS,
                 rank_by: str | None = None, title: str | None = None, plot_files: bool = True) -> dict[str, Path]:
    """Read the runs at `paths` and write the report into the folder `out`; returns what was written, by kind."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise HarnessError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"{out} is a file; -o names the folder the report is written into")
    runs = load_runs(paths)
    boards = build_boards(runs, rank_by)
    if rank_by and not any(c.metric == rank_by for b in boards for c in b.columns):
        raise HarnessError(f"--rank-by {rank_by}: no such metric in these runs; they have "
                           f"{', '.join(sorted({c.metric for b in boards for c in b.columns}))}")
    written: dict[str, Path] = {}
    renderers = {"md": ("leaderboard.md", lambda: markdown(boards, title=title)),
                 "csv": ("leaderboard.csv", lambda: to_csv(boards)),
                 "json": ("leaderboard.json", lambda: to_json(boards, title)),
                 "tex": ("leaderboard.tex", lambda: to_latex(boards, title))}
    for fmt in formats:
        if fmt in renderers:
            name, render = renderers[fmt]
            write_text(out / name, render())
            written[fmt] = out / name
    if "html" in formats:
        page, figures = html_page(boards, title, files=PLOTS_DIR if plot_files else None)
        write_text(out / "report.html", page)
        written["html"] = out / "report.html"
        if plot_files:
            from harness.report.plots import to_png, to_svg

            for stem, _, fig in figures:
                write_text(out / PLOTS_DIR / f"{stem}.svg", to_svg(fig))
                write_bytes(out / PLOTS_DIR / f"{stem}.png", to_png(fig))
            if figures:
                written["plots"] = out / PLOTS_DIR
    return written


def write_run_report(run: Any) -> Path:
    """report.html in a finished run's folder, from the run in memory (a harness.run_result.RunResult; nothing is
    read back)."""
    if run.output_dir is None or run.document is None:
        raise HarnessError("the run was not written (no results folder), so it has no report")
    info = RunInfo(doc=run.document, path=run.output_dir, result=run)
    _label([info])
    page, _ = html_page(build_boards([info]), files=None)
    write_text(run.output_dir / "report.html", page)
    return run.output_dir / "report.html"
