"""`mt-harness list [GROUP] [--config-dir DIR]`: the configs available in each group, with their one-line
descriptions, including a user's own config folders (as `run --config-dir DIR` sees them)."""

from __future__ import annotations

import argparse

HELP = "list the configs available for each group"
DESCRIPTION = ("List the configs in configs/<group>/ (and in your own config folders given with --config-dir) "
               "with the first comment line of each.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.config import GROUPS

    p.add_argument("group", nargs="?", choices=sorted(GROUPS), help="only this group")
    p.add_argument("--config-dir", "-cd", dest="config_dirs", action="append", default=[], metavar="DIR",
                   help="also list the configs in DIR/<group>/ (repeatable), as `mt-harness run --config-dir DIR`")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.config import GROUPS, config_description, config_dir, group_options
    from harness.errors import DataError

    extra = [Path(d).expanduser().resolve() for d in args.config_dirs]
    for d in extra:
        if not d.is_dir():
            raise DataError(f"--config-dir {d} is not a folder")
    for group in [args.group] if args.group else sorted(GROUPS):
        print(f"{group} (configs/{group}/" + "".join(f", {d}/{group}/" for d in extra) + "):")
        for name in group_options(group, extra_dirs=extra):
            folder = next((d for d in [config_dir(), *extra] if (d / group / f"{name}.yaml").is_file()))
            where = "" if folder == config_dir() else f"  [{folder}]"
            print(f"  {name:<28} {config_description(group, name, folder)}{where}")
    return 0
