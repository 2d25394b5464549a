"""`mt-harness run [OVERRIDES...]`: Hydra composes configs/config.yaml with the overrides (sweeps, --multirun,
--cfg, --help work as usual) and each job calls `harness.run.evaluate`, then prints the leaderboard."""

from __future__ import annotations

import logging
import sys

from harness.errors import HarnessError

log = logging.getLogger("harness")


def run_job(cfg) -> None:
    """One Hydra job: evaluate, print the leaderboard; a HarnessError ends the job with status 2."""
    from harness.report import leaderboard_markdown
    from harness.results import run_document
    from harness.run import evaluate

    try:
        run = evaluate(cfg)
    except HarnessError as e:
        log.error("%s", e)
        raise SystemExit(2) from None
    print(leaderboard_markdown(run.document or run_document(run), markdown=False))
    print(f"Results: {run.output_dir}")


def run_from_command_line(overrides: list[str]) -> int:
    from harness.config import hydra_main

    hydra_main(overrides, run_job)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_from_command_line(sys.argv[1:]))
