"""`mt-harness` command line. Thin: parse arguments, call plain functions, print.

    mt-harness run [HYDRA OVERRIDES...]   run an experiment from configs/ (Hydra)
    mt-harness score -r REF HYP [HYP...]  score output files (a drop-in for sacrebleu / comet-score)
    mt-harness list [GROUP]               show the configs available for each group
    mt-harness align SRC_DOC REF_DOC -o OUT.jsonl   a document and its translation -> aligned test set
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from harness import __version__
from harness.errors import HarnessError

CONFIG_GROUPS = {"testset": "testsets", "system": "systems", "metric": "metrics", "experiment": "experiments"}


def _add_score_parser(sub) -> None:
    from harness.score import add_arguments

    p = sub.add_parser("score", help="score hypothesis files against references (like sacrebleu / comet-score)",
                       description="Score one or more hypothesis files against reference file(s). The first "
                                   "hypothesis is the baseline for significance tests.")
    add_arguments(p)


def _add_align_parser(sub) -> None:
    from harness.align.command import add_arguments

    p = sub.add_parser("align", help="align a document with its translation into a sentence-level test set",
                       description="Align a source document with its (published) translation: segment both into "
                                   "sentences, align them offline (length, shared numbers and names, paragraph "
                                   "structure), drop material without a counterpart (bylines, captions, site "
                                   "chrome), and write a JSONL test set plus a review file.")
    add_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mt-harness", description="Config-driven machine-translation evaluation.")
    parser.add_argument("--version", action="version", version=f"mt-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run an experiment from configs/ (Hydra overrides follow; try `run --help`)",
                   add_help=False)
    _add_score_parser(sub)
    p = sub.add_parser("list", help="list the configs available for each group")
    p.add_argument("group", nargs="?", choices=sorted(CONFIG_GROUPS), help="only this group")
    _add_align_parser(sub)
    return parser


def check_group_overrides(overrides: Sequence[str]) -> None:
    """Unknown config names in `system=[...]`-style overrides get a "did you mean" error before Hydra runs."""
    if any(o.startswith(("hydra.searchpath", "--config-dir", "-cd")) for o in overrides):
        return  # configs may come from elsewhere; let Hydra decide
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from harness.config import group_options
    from harness.errors import UnknownNameError

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except Exception:
        return  # Hydra reports syntax errors itself
    for o in parsed:
        group = o.key_or_group.lstrip("+~").split("@")[0]
        if group not in CONFIG_GROUPS or o.is_delete():
            continue
        value = o.value()
        names = value if isinstance(value, list) else [value]
        known = group_options(group)
        for name in names:
            if isinstance(name, str) and name not in known and name != "null":
                raise UnknownNameError(f"{group} config", name, known)


def run_hydra(overrides: list[str]) -> int:
    """Hand over to Hydra, which composes configs/config.yaml with the overrides and calls `evaluate`."""
    import hydra
    from omegaconf import DictConfig

    from harness.config import config_dir, register_resolvers

    check_group_overrides(overrides)
    register_resolvers()

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
    def _main(cfg: DictConfig) -> None:
        from harness.report import leaderboard_markdown
        from harness.results import scores_document
        from harness.run import evaluate

        try:
            run = evaluate(cfg)
        except HarnessError as e:
            logging.getLogger("harness").error("%s", e)
            raise SystemExit(2) from None
        print(leaderboard_markdown(scores_document(run)))
        print(f"Results: {run.output_dir}")

    sys.argv = ["mt-harness run", *overrides]
    _main()
    return 0


def list_configs(group: str | None) -> int:
    from harness.config import config_dir, group_options

    for g in [group] if group else sorted(CONFIG_GROUPS):
        print(f"{g} (configs/{g}/):")
        for name in group_options(g):
            first = (config_dir() / g / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
            desc = next((line.lstrip("# ").strip() for line in first[1:] if line.startswith("#")), "")
            print(f"  {name:<28} {desc}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `run` passes everything after it to Hydra untouched (overrides, --multirun, --cfg job, --help, ...).
    if argv and argv[0] == "run":
        try:
            return run_hydra(argv[1:])
        except HarnessError as e:
            print(f"mt-harness: error: {e}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "score":
            from harness.score import run_score

            return run_score(args)
        if args.command == "list":
            return list_configs(args.group)
        if args.command == "align":
            from harness.align.command import run_align

            return run_align(args)
    except HarnessError as e:
        print(f"mt-harness: error: {e}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2
