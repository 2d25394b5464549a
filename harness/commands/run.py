"""`mt-harness run [OVERRIDES...]`: Hydra composes configs/config.yaml with the overrides (sweeps, --multirun,
--cfg, --help work as usual) and each job calls `harness.run.evaluate`, then prints the leaderboard."""

from __future__ import annotations

import logging
import sys

from harness.errors import HarnessError

log = logging.getLogger("harness")


def run_job(cfg) -> None:
    """One Hydra job: evaluate, print the leaderboard; a HarnessError ends the job with status 2."""
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig

    from harness.report import leaderboard_markdown
    from harness.results import run_document
    from harness.run import evaluate
    from harness.secrets import redact_files

    redact_files(Path(HydraConfig.get().runtime.output_dir) / ".hydra")  # Hydra wrote the overrides in clear text
    try:
        run = evaluate(cfg)
    except HarnessError as e:  # one line on the terminal, as every command prints its errors; also in run.log
        logging.getLogger("harness.runlog").error("%s", e)
        print(f"mt-harness: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(leaderboard_markdown(run.document or run_document(run), markdown=False))
    if cfg.get("report", True):
        write_report_html(run)
    print(f"Results: {run.output_dir}")


def write_report_html(run) -> None:
    """report.html in the run folder. The run's results are already written: a report that fails is logged,
    never a failed run."""
    from harness.report.output import write_run_report

    try:
        write_run_report(run)
    except Exception as e:  # noqa: BLE001 - the report is a convenience; the results stand without it
        log.warning("report.html not written: %s: %s (mt-harness report %s -o DIR retries)",
                    type(e).__name__, e, run.output_dir)


def run_from_command_line(overrides: list[str]) -> int:
    from harness.config import hydra_main

    hydra_main(overrides, run_job)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_from_command_line(sys.argv[1:]))
