"""python -m benchmarks [NAME ...] [-- ARGS for each benchmark]"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    known = available()
    for name in names:
        if name not in known:
            print(f"unknown benchmark {name!r}; known: {', '.join(known) or '(none)'}", file=sys.stderr)
            return 2
    status = 0
    for name in names or known:
        print(f"== benchmark: {name}", flush=True)
        status |= importlib.import_module(f"benchmarks.bench_{name}").main(extra) or 0
    return status


raise SystemExit(main(sys.argv[1:]))
