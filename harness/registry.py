"""A small name -> factory registry with "did you mean ...?" errors (lm-evaluation-harness style)."""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterable, TypeVar

from harness.errors import UnknownNameError

T = TypeVar("T")


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


class Registry(Generic[T]):
    """Maps names (and aliases) to factories; `get` raises UnknownNameError listing the known names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._canonical: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., T], aliases: Iterable[str] = ()) -> None:
        for key in (name, *aliases):
            if key in self._canonical:
                raise ValueError(f"{self.kind} name {key!r} is registered twice")
            self._canonical[key] = name
        self._factories[name] = factory

    def names(self) -> list[str]:
        return list(self._factories)

    def canonical(self, name: str) -> str:
        try:
            return self._canonical[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._canonical)) from None

    def create(self, name: str, **kwargs) -> T:
        return self._factories[self.canonical(name)](**kwargs)
