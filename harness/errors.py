"""Errors a user can act on. The CLI prints their message (no traceback) and exits with status 2."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The closest known names to `name`, formatted for an error message, or None."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered:
        return repr(lowered[name.lower()])
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    if not close:
        return None
    return " or ".join(repr(lowered[c]) for c in close)


class HarnessError(Exception):
    """Base class: the message names the bad input and says how to fix it."""


class ConfigError(HarnessError):
    """A configuration value is missing, unknown or inconsistent."""


class UnknownNameError(ConfigError):
    """A name (metric, system, test set, config field, ...) is not one of the known ones."""

    def __init__(self, kind: str, name: str, known: list[str], where: str | None = None):
        self.kind, self.name, self.known = kind, name, sorted(known)
        hint = did_you_mean(name, self.known)
        msg = f"unknown {kind} {name!r}" + (f" in {where}" if where else "") + "."
        if hint:
            msg += f" Did you mean {hint}?"
        msg += f" Known {kind}s: {', '.join(self.known) or '(none)'}."
        super().__init__(msg)


class DataError(HarnessError):
    """An input file or data set is unreadable, malformed or inconsistent."""


class ModelUnavailableError(HarnessError):
    """A model, checkpoint or data set could not be obtained (not on disk, hub unreachable, ...)."""


class SystemNotApplicable(HarnessError):
    """A system has nothing to offer for a test set (e.g. a file system with no output for it).

    Not a failure: the run notes it and leaves the system out of that test set's table."""
