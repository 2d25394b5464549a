"""`mt-harness compare RUN_A RUN_B`: score differences between two runs (run folders, `latest` links or baseline
files) with paired significance tests on the stored per-segment statistics, as a table (text, Markdown, JSON).
`mt-harness compare MULTIRUN_FOLDER` compares every job of a Hydra multirun with its first job (job 0), the usual
"what did this sweep value change" question; compare two jobs directly for any other pair.

The work is in harness/compare.py; this module parses arguments and prints. The pair and significance options
are shared with `check` (harness/commands/check.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.errors import DataError

HELP = "compare two runs or baseline files (or a multirun's jobs): score differences with paired significance"
DESCRIPTION = ("For every test set and metric both runs have, the score difference of each system (matched by name, "
               "or with --pair OLD=NEW) and its paired significance test (bootstrap or approximate randomisation) on "
               "the stored per-segment statistics: nothing is translated or scored again. A RUN is a run folder, "
               "results/<experiment>/latest or a baseline file (mt-harness baseline). With one multirun folder "
               "(results/<experiment>/multirun_<stamp>), every job is compared with job 0. Runs whose test sets or "
               "metric signatures differ are refused (exit status 2), naming the field.")


def add_shared_arguments(p: argparse.ArgumentParser) -> None:
    """--pair and the paired-test options of `compare` and `check`."""
    p.add_argument("--pair", action="append", default=[], metavar="OLD=NEW",
                   help="compare system OLD of the first run (the baseline) with system NEW of the other, instead of "
                        "matching systems by name (repeatable)")
    sig = p.add_argument_group("paired test (default: the run's own significance settings; bootstrap if it had none)")
    sig.add_argument("--test", choices=("bootstrap", "ar"), default=None,
                     help="paired bootstrap resampling or approximate randomisation")
    sig.add_argument("--resamples", type=int, default=None, metavar="N", help="bootstrap resamples (run's: 1000)")
    sig.add_argument("--trials", type=int, default=None, metavar="N", help="AR trials (run's: 10000)")
    sig.add_argument("--seed", type=int, default=None, help="random seed of the resamples (run's: 12345)")
    sig.add_argument("--alpha", type=float, default=None, help="significance level (run's: 0.05)")
    sig.add_argument("--correction", choices=("none", "holm"), default="none",
                     help="holm: adjust the p-values over every difference compared (all test sets, systems and "
                          "metrics), so that the chance of any false 'significant' stays at most alpha (default: "
                          "none, each difference tested on its own, as sacreBLEU does)")


def parse_pairs(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise DataError(f"--pair {item!r}: expected OLD=NEW, the system's name in the first run (the baseline) "
                            f"and in the other, e.g. --pair opus-mt=opus-mt-v2")
        pairs.append((old, new))
    return pairs


def settings_from_args(run, args: argparse.Namespace):
    """The paired test: `run`'s own settings with the options given."""
    from harness.compare import comparison_settings

    return comparison_settings(run, test=args.test, resamples=args.resamples, trials=args.trials, seed=args.seed,
                               alpha=args.alpha, correction=args.correction)


def describe(path: str | Path, run) -> str:
    """How a run is named in tables and messages: the path as given, its experiment and start time."""
    kind = "" if run.output_dir is not None else "baseline of the "
    return f"{path} ({kind}{run.experiment} run of {run.started})"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="RUN_A RUN_B (run folders, results/<experiment>/latest, baseline files), or one multirun "
                        "folder")
    p.add_argument("-f", "--format", choices=("text", "json", "markdown"), default="text", help="output format")
    add_shared_arguments(p)


def _multirun_comparisons(folder: str, args: argparse.Namespace):
    """Every job of a multirun folder against job 0, labelled with the overrides that set the jobs apart."""
    from harness.baseline import job_overrides, multirun_jobs
    from harness.compare import compare_runs
    from harness.results import load_run

    jobs = multirun_jobs(folder)
    if not jobs:
        raise DataError(f"one RUN was given and {folder} is not a multirun folder (job folders 0, 1, ...): give two "
                        f"runs to compare, RUN_A RUN_B")
    completed = [job for job in jobs if (job / "scores.json").is_file()]
    skipped = [job.name for job in jobs if job not in completed]
    if len(completed) < 2:
        raise DataError(f"{folder} has {len(completed)} completed job(s) (of {len(jobs)}); comparing needs two")
    overrides = {job: job_overrides(job) for job in completed}
    common = set.intersection(*(set(o) for o in overrides.values()))

    def label(job: Path) -> str:
        own = [o for o in overrides[job] if o not in common]
        return f"job {job.name} ({' '.join(own) if own else 'no overrides of its own'})"

    first = load_run(completed[0])
    settings = settings_from_args(first, args)
    comparisons = []
    for job in completed[1:]:
        comparison = compare_runs(first, load_run(job), settings=settings, pairs=parse_pairs(args.pair),
                                  label_a=label(completed[0]), label_b=label(job))
        if skipped:
            comparison.notes.append(f"jobs without results (failed or running): {', '.join(skipped)}")
        comparisons.append(comparison)
    return comparisons


def run(args: argparse.Namespace) -> int:
    from harness.baseline import load_scored_run
    from harness.compare import compare_runs, comparison_json, comparison_markdown, comparison_text

    if len(args.runs) > 2:
        raise DataError(f"compare takes two runs (or one multirun folder), not {len(args.runs)}: "
                        f"{' '.join(args.runs)}")
    if len(args.runs) == 1:
        comparisons = _multirun_comparisons(args.runs[0], args)
    else:
        a, b = (load_scored_run(path) for path in args.runs)
        comparisons = [compare_runs(a, b, settings=settings_from_args(b, args), pairs=parse_pairs(args.pair),
                                    label_a=describe(args.runs[0], a), label_b=describe(args.runs[1], b))]
    if args.format == "json":
        docs = [comparison_json(c) for c in comparisons]
        print(json.dumps(docs[0] if len(args.runs) == 2 else {"multirun": args.runs[0], "comparisons": docs},
                         ensure_ascii=False, indent=2))
    else:
        render = comparison_markdown if args.format == "markdown" else comparison_text
        heading = "#### " if args.format == "markdown" else "== "
        blocks = [render(c) if len(comparisons) == 1 and len(args.runs) == 2
                  else f"{heading}{c.label_a} → {c.label_b}\n\n{render(c)}" for c in comparisons]
        print("\n\n".join(blocks))
    return 0
