"""The TranslationSystem interface: a test set in, one hypothesis per segment out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from harness.data.testset import TestSet


class TranslationSystem(ABC):
    """A named MT system. Subclasses load lazily (in `translate`), so building one from a config is cheap.

    Raise `ModelUnavailableError` when the system cannot be loaded and `SystemNotApplicable` when it has
    nothing for a test set; the run reports both without stopping the other systems."""

    #: True when outputs depend only on `signature()` and the source, so the run may cache them
    cacheable: bool = False
    #: where this system sits in the run's config (e.g. "systems.opus_mt_vi_en"), for error messages
    config_key: str | None = None

    def __init__(self, name: str):
        self.name = name

    def signature(self) -> dict[str, Any]:
        """Everything that determines the output, for results files and the translation cache."""
        return {"type": type(self).__name__, "name": self.name}

    def runtime_info(self) -> dict[str, Any]:
        """Facts known only after loading (device, resolved model revision, ...), for the results file."""
        return {}

    @abstractmethod
    def translate(self, testset: TestSet) -> list[str]:
        """One hypothesis per segment of `testset`, in order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
