"""The Metric interface: per-segment sufficient statistics in, scores out.

Every metric turns (hypotheses, references[, sources]) into an array of per-segment sufficient statistics
of shape (n_segments, n_stats). Summing rows and calling `scores_from_statistics` gives the corpus score;
the same function, vectorised over leading axes, scores thousands of resamples at once. So significance
tests, caching and the CI gate never need to know which metric they handle (as inside sacreBLEU).
An averaged metric such as COMET uses statistics [segment_score, 1] and the score sum/count.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class CorpusScore:
    """A metric's corpus-level result for one system on one test set."""

    metric: str
    score: float
    signature: str
    details: str = ""  # e.g. BLEU's n-gram precisions and brevity penalty


class Metric(ABC):
    """Base class of all metrics. Subclasses set `name` (the leaderboard column) and the flags."""

    name: str
    higher_is_better: bool = True
    needs_references: bool = True
    needs_sources: bool = False
    #: digits shown in tables (sacreBLEU shows two)
    display_digits: int = 2
    #: True when `segment_statistics_with_details` also gives per-segment details (e.g. xCOMET's error spans);
    #: the run caches them like statistics and writes them to segments.jsonl
    has_segment_details: bool = False
    #: dtype that bootstrap resample sums are scored in. sacreBLEU's metrics say float32, because sacreBLEU
    #: resamples float32 statistics and its score code rounds some ratios to float32 on the way; their
    #: `scores_from_statistics` does the same for float32 input, so intervals and p-values match sacreBLEU's
    bootstrap_dtype: type = np.float64
    #: True when statistics can be computed in worker processes (pure CPU work, the object pickles cheaply);
    #: neural metrics say False: they hold a model and would load one per worker
    parallel_safe: bool = False
    #: the score difference a power estimate asks about by default (1 point on a 0-100 scale)
    meaningful_difference: float = 1.0
    #: tag of the code that computes the statistics: part of the statistics cache key, not of the signature.
    #: Bump it whenever that code changes, so statistics computed by the old code are never reused.
    implementation: str = "1"

    @abstractmethod
    def signature(self, num_refs: int = 1) -> str:
        """A string that pins down every setting that can change the number (sacreBLEU style).

        It keys the statistics cache, so it holds settings only; facts about the data (e.g. how many inputs
        a neural metric truncated) belong in the CorpusScore that `corpus_score` returns."""

    @abstractmethod
    def segment_statistics(self, hyps: Sequence[str], refs: Sequence[Sequence[str]],
                           srcs: Sequence[str] | None = None) -> np.ndarray:
        """Per-segment sufficient statistics, shape (len(hyps), n_stats), float64."""

    def segment_statistics_with_details(self, hyps: Sequence[str], refs: Sequence[Sequence[str]],
                                        srcs: Sequence[str] | None = None) -> tuple[np.ndarray, list[dict] | None]:
        """Statistics plus one JSON-serialisable dict per segment (None for metrics without details)."""
        return self.segment_statistics(hyps, refs, srcs), None

    @abstractmethod
    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        """Scores from summed statistics of shape (..., n_stats); returns shape (...), float64.

        Vectorised over the leading axes: significance tests pass thousands of resampled sums at once."""

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        """Segment-level scores from per-segment statistics (default: score each row on its own)."""
        return self.scores_from_statistics(stats)

    def for_language(self, tgt_lang: str) -> "Metric":
        """The metric as it applies to a test set in `tgt_lang` (e.g. BLEU picks a Chinese tokenizer for
        Chinese, as sacreBLEU does); `self` for metrics whose settings do not depend on the language."""
        return self

    def runtime_info(self) -> dict:
        """Facts known only after computing (device, load time, ...), for scores.json; {} when there are none."""
        return {}

    def corpus_score(self, stats: np.ndarray, num_refs: int = 1) -> CorpusScore:
        total = stats.sum(axis=0)
        return CorpusScore(self.name, float(self.scores_from_statistics(total)), self.signature(num_refs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.signature()})"
