"""`mt-harness` command line. Thin: each subcommand lives in `harness/commands/<name>.py` (arguments,
printing); this module only dispatches and turns `HarnessError`s into one-line messages with exit status 2.

    mt-harness run [HYDRA OVERRIDES...]   run an experiment from configs/ (Hydra)
    mt-harness score -r REF HYP [HYP...]  score output files (a drop-in for sacrebleu / comet-score)
    mt-harness list [GROUP]               show the configs available for each group
    mt-harness align SRC_DOC REF_DOC -o OUT.jsonl   a document and its translation -> aligned test set
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from harness import __version__
from harness.errors import HarnessError

#: subcommands parsed with argparse: name -> module in harness/commands/ (`run` hands its arguments to Hydra)
COMMANDS = {"score": "score", "list": "list_configs", "align": "align",
            "compare": "compare", "check": "check", "baseline": "baseline", "report": "report"}


def _command(name: str):
    return importlib.import_module(f"harness.commands.{COMMANDS[name]}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `command`, only that subcommand gets its arguments (the others keep their help
    line), so `score` does not import what `align`, `compare` or `report` need to describe their options."""
    parser = argparse.ArgumentParser(prog="mt-harness", description="Config-driven machine-translation evaluation.")
    parser.add_argument("--version", action="version", version=f"mt-harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run an experiment from configs/ (Hydra overrides follow; try `run --help`)",
                   add_help=False)
    for name in COMMANDS:
        module = _command(name)
        subparser = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        if command is None or command == name:
            module.add_arguments(subparser)
    return parser


def _terminated(signum, frame):
    """SIGTERM (a scheduler or `kill`) ends a run as Ctrl-C does: the run folder says "interrupted"."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Bad input: one line and exit 2; Ctrl-C or SIGTERM: one line and exit 130; any other
    failure: one line and exit 1 (`--debug`, or MT_HARNESS_DEBUG=1, shows the traceback)."""
    import os
    import signal

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[:1] or os.environ.get("MT_HARNESS_DEBUG", "").lower() in ("1", "true", "yes")
    if argv[:1] == ["--debug"]:
        argv = argv[1:]
    if debug:
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra's own switch for full tracebacks inside `run`
    previous = signal.signal(signal.SIGTERM, _terminated) if _in_main_thread() else None
    try:
        return _main(argv)
    except HarnessError as e:
        print(f"mt-harness: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mt-harness: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if debug:
            raise
        print(f"mt-harness: error: {type(e).__name__}: {e} (a bug? `mt-harness --debug ...` shows the traceback)",
              file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    """Signal handlers can only be set from the main thread (tests call `main` from others)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def _main(argv: list[str]) -> int:
    # `run` passes everything after it to Hydra untouched (overrides, --multirun, --cfg job, --help, ...).
    if argv and argv[0] == "run":
        from harness.commands.run import run_from_command_line

        return run_from_command_line(argv[1:])
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return _command(args.command).run(args)
