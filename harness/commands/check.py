"""`mt-harness check --baseline BASELINE RUN`: the CI regression gate.

A metric fails when its drop from the baseline (for TER, its increase) exceeds its threshold AND the paired test
on the stored per-segment statistics calls the drop significant; a larger drop the test cannot confirm passes with
a warning that the test set is too small to detect it. Thresholds: harness.compare.DEFAULT_MAX_DROP, overridden
with --max-drop. Exit status 0 pass, 1 regression, 2 unusable input (missing test set, system or metric; other
test-set content or metric signature; segment mismatch).

Output: a short verdict on stdout (or the Markdown summary / JSON with --format), the Markdown summary appended
to the file named by $GITHUB_STEP_SUMMARY when that is set, and JUnit XML with --junit FILE."""

from __future__ import annotations

import argparse
import json
import os

from harness.errors import DataError, HarnessError

HELP = "CI gate: exit 1 when a run is significantly worse than a baseline by more than a threshold"
DESCRIPTION = ("Check RUN (a run folder or results/<experiment>/latest) against BASELINE (a baseline file from "
               "`mt-harness baseline`, or a run folder). A metric fails when its drop exceeds the threshold AND the "
               "paired test says the drop is significant; both numbers are shown. Exit status: 0 pass, 1 regression, "
               "2 unusable input (missing metric, segment mismatch, signature mismatch). With $GITHUB_STEP_SUMMARY "
               "set, a Markdown summary is appended to that file.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.commands.compare import add_shared_arguments
    from harness.compare import DEFAULT_MAX_DROP

    defaults = ",".join(f"{k}={v:g}" for k, v in DEFAULT_MAX_DROP.items())
    p.add_argument("run", metavar="RUN", help="the run to check: a run folder or results/<experiment>/latest")
    p.add_argument("--baseline", required=True, metavar="BASELINE",
                   help="a baseline file (mt-harness baseline RUN -o FILE) or a run folder")
    p.add_argument("--max-drop", action="append", default=[], metavar="METRIC=X[,METRIC=X...]",
                   help=f"largest tolerated drop per metric, in its units (TER: the largest increase); defaults "
                        f"{defaults}; other metrics half their meaningful difference (repeatable)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML: one test case per (test set, system, metric)")
    p.add_argument("--fail-on-flags", choices=("error", "warning"), default=None,
                   help="also fail (exit 1) when the run's own sanity checks raised a flag of this severity or worse "
                        "(an output shifted by a line, copied from the source, in the wrong language, ...)")
    p.add_argument("-f", "--format", choices=("text", "markdown", "json"), default="text",
                   help="stdout: the short verdict (text), the Markdown summary, or JSON")
    add_shared_arguments(p)


def parse_max_drop(items: list[str]) -> dict[str, float]:
    """["BLEU=0.5,chrF2=0.5", "COMET=0.005"] -> {"BLEU": 0.5, "chrF2": 0.5, "COMET": 0.005}."""
    out: dict[str, float] = {}
    for item in items:
        for part in filter(None, (x.strip() for x in item.split(","))):
            name, sep, value = part.partition("=")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                sep = ""
            if not sep or not name.strip():
                raise DataError(f"--max-drop {item!r}: expected METRIC=NUMBER[,METRIC=NUMBER...], e.g. "
                                f"--max-drop BLEU=0.5,chrF2=0.5,COMET=0.005")
    return out


def _append_summary(markdown: str) -> None:
    """Append to the file GitHub Actions names in $GITHUB_STEP_SUMMARY (shown on the run's page)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(markdown + "\n")
        except OSError as e:
            raise DataError(f"cannot append the summary to $GITHUB_STEP_SUMMARY ({path}): {e.strerror or e}") from None


def run(args: argparse.Namespace) -> int:
    from harness.baseline import load_scored_run
    from harness.commands.compare import describe, parse_pairs, settings_from_args
    from harness.compare import (
        check_error_markdown,
        check_json,
        check_markdown,
        check_runs,
        check_text,
        junit_error_xml,
        junit_xml,
    )
    from harness.textio import write_bytes

    try:
        baseline, candidate = load_scored_run(args.baseline), load_scored_run(args.run)
        result = check_runs(baseline, candidate, settings=settings_from_args(candidate, args),
                            max_drops=parse_max_drop(args.max_drop), pairs=parse_pairs(args.pair),
                            label_baseline=describe(args.baseline, baseline), label_run=describe(args.run, candidate),
                            fail_on_flags=args.fail_on_flags)
    except HarnessError as e:  # unusable input: CI still gets a report saying why (exit status 2 follows)
        if args.junit:
            write_bytes(args.junit, junit_error_xml(str(e)))
        _append_summary(check_error_markdown(str(e)))
        raise
    if args.format == "json":
        print(json.dumps(check_json(result), ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        print(check_markdown(result))
    else:
        print(check_text(result))
    if args.junit:
        write_bytes(args.junit, junit_xml(result))
    _append_summary(check_markdown(result))
    return result.exit_code
