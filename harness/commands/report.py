"""`mt-harness report RUN [RUN ...] -o OUT`: leaderboards across runs (Markdown, CSV, JSON, LaTeX) and one
self-contained HTML report with plots, bucketed analysis, metric disagreements and a segment browser."""

from __future__ import annotations

import argparse

HELP = "leaderboards across runs and a self-contained HTML report"
DESCRIPTION = ("Read run folders (results/<experiment>/<run>, results/<experiment>/latest) and multirun folders "
               "(results/<experiment>/multirun_<stamp>: one table of the sweep points) and write into OUT: "
               "leaderboard.md, leaderboard.csv, leaderboard.json, leaderboard.tex (booktabs), report.html (one "
               "file, opens offline) and the plots as SVG and PNG in OUT/plots/. A system in several runs is one row "
               "per run; significance across runs is recomputed from the runs' per-segment statistics.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.report.output import FORMATS

    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders, their scores.json, or multirun folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="folder to write the report into")
    p.add_argument("-f", "--formats", nargs="+", default=list(FORMATS), choices=FORMATS, metavar="FORMAT",
                   help=f"what to write (default: all of {' '.join(FORMATS)})")
    p.add_argument("--rank-by", metavar="METRIC", help="metric to rank by (default: the first run's rank_by)")
    p.add_argument("--title", help="report title (default: the experiments' names)")
    p.add_argument("--no-plot-files", action="store_true",
                   help="keep the plots inside report.html only (no OUT/plots/*.svg, *.png)")


def run(args: argparse.Namespace) -> int:
    from harness.report.output import write_report

    written = write_report(args.runs, args.output, formats=args.formats, rank_by=args.rank_by, title=args.title,
                           plot_files=not args.no_plot_files)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0
