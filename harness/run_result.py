"""What a run produced, in memory: the one data model that `evaluate` fills, `results.py` writes, and the
`score` command and the reports read.

    RunResult                 one experiment (test sets x systems x metrics), with significance
      results: SystemResult   one system on one test set: hypotheses, statistics, scores, translation facts
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # for annotations only: importing them here would pull their modules into every reader
    from harness.data.testset import TestSet
    from harness.metrics.base import CorpusScore, Metric
    from harness.sanity import Flag
    from harness.significance import MetricSignificance, SignificanceSettings
    from harness.systems.base import TranslationSystem


@dataclass
class TranslationFacts:
    """How one system's hypotheses for one test set came about (written to scores.json)."""

    seconds: float = 0.0        # wall time of the translation step, cache look-ups included
    cached: int = 0             # hypotheses taken from the translation cache
    translated: int = 0         # hypotheses the system produced in this run
    batches: int = 0            # batches the system delivered in this run
    generated_tokens: int = 0   # tokens generated in this run, where the system counts them
    oom_retries: int = 0        # batches halved after running out of GPU memory

    def as_dict(self) -> dict[str, Any]:
        def rate(amount: int) -> float | None:
            return round(amount / self.seconds, 2) if amount and self.seconds > 0 else None

        return {"seconds": round(self.seconds, 3), "cached": self.cached, "translated": self.translated,
                "batches": self.batches, "segments_per_second": rate(self.translated),
                "generated_tokens": self.generated_tokens, "tokens_per_second": rate(self.generated_tokens),
                "oom_retries": self.oom_retries}


@dataclass
class SystemResult:
    """One system on one test set.

    `ok` is False when the system did not run there (`reason` says why); then everything else is empty.
    Statistics, scores and segment scores are keyed by metric name (the leaderboard column, e.g. `chrF2`)."""

    testset: str
    system: str
    ok: bool
    reason: str = ""
    hypotheses: list[str] = field(default_factory=list)
    #: per segment, what the system reported about its output (e.g. an LLM's raw answer); None when nothing
    translation_details: list[dict[str, Any]] | None = None
    translation: TranslationFacts = field(default_factory=TranslationFacts)
    statistics: dict[str, np.ndarray] = field(default_factory=dict)      # (segments, k) per metric
    scores: dict[str, "CorpusScore"] = field(default_factory=dict)
    segment_scores: dict[str, np.ndarray] = field(default_factory=dict)  # (segments,) per metric
    segment_details: dict[str, list[dict]] = field(default_factory=dict)  # per metric, e.g. xCOMET error spans
    flags: list["Flag"] = field(default_factory=list)  # sanity checks (harness/sanity.py) this output failed

    @property
    def n_empty(self) -> int:
        return sum(1 for h in self.hypotheses if not h.strip())


@dataclass
class RunResult:
    """One experiment: every (test set, system) result, the metrics' signatures and the significance tests.

    `significance[testset][metric]` holds intervals, p-values, rank ranges and clusters (empty when the
    run's significance test is `none`). `output_dir` is None for a run that was not written."""

    experiment: str
    testsets: dict[str, "TestSet"]
    systems: dict[str, "TranslationSystem"]     # by system name
    metrics: list["Metric"]
    results: list[SystemResult]
    significance_settings: "SignificanceSettings"
    significance: dict[str, dict[str, "MetricSignificance"]] = field(default_factory=dict)
    not_applicable: list[tuple[str, str, str]] = field(default_factory=list)  # (testset, system, reason)
    metric_errors: dict[str, str] = field(default_factory=dict)              # metric name -> why it failed
    testset_flags: dict[str, list["Flag"]] = field(default_factory=dict)     # sanity checks of the test sets
    rank_by: str = ""
    started: str = ""
    seconds: float = 0.0
    output_dir: Path | None = None
    #: the run document as written to scores.json (None for a run that was not written)
    document: dict[str, Any] | None = None

    def for_testset(self, name: str) -> list[SystemResult]:
        return [r for r in self.results if r.testset == name]

    def get(self, testset: str, system: str) -> SystemResult:
        for r in self.results:
            if r.testset == testset and r.system == system:
                return r
        raise KeyError((testset, system))
