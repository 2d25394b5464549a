"""`mt-harness list [GROUP]`: the configs available in each group, with their one-line descriptions."""

from __future__ import annotations

import argparse

HELP = "list the configs available for each group"
DESCRIPTION = "List the configs in configs/<group>/ with the first comment line of each."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.config import GROUPS

    p.add_argument("group", nargs="?", choices=sorted(GROUPS), help="only this group")


def run(args: argparse.Namespace) -> int:
    from harness.config import GROUPS, config_description, group_options

    for group in [args.group] if args.group else sorted(GROUPS):
        print(f"{group} (configs/{group}/):")
        for name in group_options(group):
            print(f"  {name:<28} {config_description(group, name)}")
    return 0
