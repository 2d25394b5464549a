"""Errors a user can act on. The CLI prints their message (no traceback) and exits with status 2."""


class HarnessError(Exception):
    """Base class: the message names the bad input and says how to fix it."""


class ConfigError(HarnessError):
    """A configuration value is missing, unknown or inconsistent."""


class UnknownNameError(ConfigError):
    """A name (metric, system, test set, ...) is not one of the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]):
        from harness.registry import did_you_mean

        self.kind, self.name, self.known = kind, name, sorted(known)
        hint = did_you_mean(name, self.known)
        msg = f"unknown {kind} {name!r}."
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
