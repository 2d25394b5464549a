"""`mt-harness baseline RUN -o FILE`: write a run's baseline file, one compact file to commit that `check` and
`compare` read like a run folder (scores, signatures, test-set hashes, per-segment statistics; hypotheses only
with --with-hypotheses). The format is described in harness/baseline.py."""

from __future__ import annotations

import argparse

HELP = "write a run's compact baseline file (for check and compare; small enough to commit)"
DESCRIPTION = ("Write one gzip-compressed JSON file holding RUN's corpus scores with their signatures, the test sets' "
               "content hashes and segment ids, and the per-segment statistics the paired tests need (hypotheses "
               "only with --with-hypotheses). `mt-harness check --baseline FILE RUN` and `mt-harness compare` read "
               "it like a run folder. Suggested name: <name>.baseline.json.gz (a name ending in .json is written "
               "uncompressed).")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="a run folder or results/<experiment>/latest")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the baseline file to write")
    p.add_argument("--with-hypotheses", action="store_true",
                   help="also store every system's hypotheses (larger; compare and check never need them)")


def run(args: argparse.Namespace) -> int:
    from harness.baseline import write_baseline

    written = write_baseline(args.run, args.output, with_hypotheses=args.with_hypotheses)
    print(f"wrote {written.path}: {written.bytes:,} bytes ({written.testsets} test set(s), {written.systems} "
          f"system(s), {written.metrics} metric(s); hypotheses {'included' if written.hypotheses else 'left out'})")
    print(f"check a run against it: mt-harness check --baseline {written.path} RUN")
    return 0
