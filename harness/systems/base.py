"""The TranslationSystem interface: a test set in, one hypothesis per segment out, batch by batch."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any, Iterator

from harness.data.testset import TestSet


@dataclass
class TranslatedBatch:
    """Hypotheses for some segments of the test set passed to `translate_batches`.

    `indices` are positions in that test set; `details` (one JSON-serialisable dict per hypothesis, or None)
    carry what a system knows about each output, e.g. an LLM's raw answer before cleaning. The run stores
    each batch in the translation cache as soon as it arrives, so an interrupted run keeps every finished
    batch."""

    indices: list[int]
    hypotheses: list[str]
    details: list[dict[str, Any]] | None = None
    generated_tokens: int = 0   # tokens the model generated for this batch (0 where unknown)
    oom_retries: int = 0        # times the batch was halved after running out of memory

    def __post_init__(self):
        if len(self.indices) != len(self.hypotheses):
            raise ValueError(f"a batch has {len(self.indices)} indices but {len(self.hypotheses)} hypotheses")
        if self.details is not None and len(self.details) != len(self.hypotheses):
            raise ValueError(f"a batch has {len(self.hypotheses)} hypotheses but {len(self.details)} details")


class TranslationSystem(ABC):
    """A named MT system. Subclasses load lazily (on the first batch), so building one from a config is cheap.

    A subclass implements `translate` (all at once: files, copy-source) or `translate_batches` (model
    backends: each finished batch is yielded, and cached by the run, before the next starts).

    Raise `ModelUnavailableError` when the system cannot be loaded and `SystemNotApplicable` when it has
    nothing for a test set; the run reports both, and any other failure of one system, without stopping
    the other systems."""

    #: True when outputs depend only on `signature()` and the source, so the run may cache them
    cacheable: bool = False
    #: where this system sits in the run's config (e.g. "systems.opus_mt_vi_en"), for error messages
    config_key: str | None = None
    #: sanity checks (harness/sanity.py) this system fails by design, not reported for it
    expected_flags: frozenset[str] = frozenset()

    def __init__(self, name: str):
        self.name = name

    def signature(self) -> dict[str, Any]:
        """Everything that determines the output, for results files and the translation cache.

        Settings only: it must not change when the model loads (detected facts go to `runtime_info`)."""
        return {"type": type(self).__name__, "name": self.name}

    def runtime_info(self) -> dict[str, Any]:
        """Facts known only after loading (device, resolved model revision, ...), for the results file."""
        return {}

    def output_file(self, testset: str) -> str | None:
        """The file this system's outputs for `testset` were read from, if any (sanity checks read its bytes)."""
        return None

    def translate(self, testset: TestSet) -> list[str]:
        """One hypothesis per segment of `testset`, in order."""
        if type(self).translate_batches is TranslationSystem.translate_batches:
            raise NotImplementedError(f"{type(self).__name__} implements neither translate nor translate_batches")
        out: list[str | None] = [None] * len(testset)
        for batch in self.translate_batches(testset):
            for i, hyp in zip(batch.indices, batch.hypotheses):
                out[i] = hyp
        missing = [i for i, h in enumerate(out) if h is None]
        if missing:
            raise RuntimeError(f"system {self.name!r} gave no hypothesis for {len(missing)} segments")
        return out  # type: ignore[return-value]

    def translate_batches(self, testset: TestSet) -> Iterator[TranslatedBatch]:
        """Hypotheses batch by batch, in any order (each batch says which segments it covers)."""
        if type(self).translate is TranslationSystem.translate:
            raise NotImplementedError(f"{type(self).__name__} implements neither translate nor translate_batches")
        yield TranslatedBatch(list(range(len(testset))), list(self.translate(testset)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
