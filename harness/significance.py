"""Significance for every metric: paired bootstrap resampling, paired approximate randomisation (AR),
confidence intervals, Holm correction, significance clusters and a power estimate.

Everything works on per-segment sufficient statistics (`harness.metrics.base`): a metric is scored on any
sum of segment rows, so a resample is a weighted sum of rows and thousands of resamples are one matrix
product, scored by the metric's vectorised `scores_from_statistics`. No Python loop per resample, and no
metric-specific code here: BLEU, chrF, TER and COMET (statistics `[segment score, 1]`) all go the same way.

Same definitions as sacreBLEU's `--paired-bs` / `--paired-ar` (sacrebleu/significance.py):
- resample indices come from the same generator calls with the same seed: paired bootstrap
  `default_rng(seed).choice(n, (B, n))`, AR `default_rng(seed).integers(2, (R, n), dtype=bool)`; every pair
  of systems shares them, as sacreBLEU's baseline and each system do;
- sacreBLEU sums bootstrap resamples in float32 and scores them with numpy scalars, which rounds chrF's
  precision and recall and TER's ratio to float32; metrics whose `bootstrap_dtype` is float32 score
  float32 sums the same way, so p-values and intervals are sacreBLEU's to the last digit;
- bootstrap p = (#{|d*| - mean |d*| > |d|} + 1) / (B + 1), AR p = (#{|d*| > |d|} + 1) / (R + 1), where d is the
  observed score difference and d* its resampled or shuffled value; the interval is sacreBLEU's: the mean of
  the resampled scores ± half the distance between the resamples at ranks B//40 and B - B//40 - 1.
The seed is an explicit setting (recorded with the results), never read from the environment.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields
from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np

from harness.errors import ConfigError, UnknownNameError
from harness.metrics.base import Metric

TESTS = ("bootstrap", "ar", "none")
CORRECTIONS = ("none", "holm")
# Rows of the resample-count matrix scored per block: bounds memory at about 8 bytes x this many cells.
_BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class SignificanceSettings:
    """How a run (or `mt-harness score`) tests differences between systems. Config: `significance:`."""

    #: paired test between systems: bootstrap (paired bootstrap resampling), ar (approximate
    #: randomisation) or none (no intervals, no tests, plain ranks)
    test: str = "bootstrap"
    #: bootstrap resamples, for every confidence interval and for the bootstrap test
    resamples: int = 1000
    #: approximate-randomisation trials
    trials: int = 10000
    seed: int = 12345
    alpha: float = 0.05
    #: system whose p-values against every other system are shown in the leaderboard (null: none)
    baseline: str | None = None
    #: test every pair of systems (needed for clusters and rank ranges); false: only against the baseline
    all_pairs: bool = True
    #: multiple-comparison correction of the all-pairs p-values that clusters use: none or holm
    correction: str = "none"
    #: power of the segment-count estimate (the chance of detecting a true difference of `power_delta`)
    power: float = 0.8
    #: the score difference the power estimate asks about; null: each metric's own (1 point; COMET 0.01)
    power_delta: float | None = None

    def __post_init__(self):
        if self.test not in TESTS:
            raise UnknownNameError("significance test", self.test, list(TESTS))
        if self.correction not in CORRECTIONS:
            raise UnknownNameError("multiple-comparison correction", self.correction, list(CORRECTIONS))
        for name in ("resamples", "trials"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"significance.{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"significance.alpha must be between 0 and 1, not {self.alpha}")
        if not 0 < self.power < 1:
            raise ConfigError(f"significance.power must be between 0 and 1, not {self.power}")
        if self.power_delta is not None and not self.power_delta > 0:
            raise ConfigError(f"significance.power_delta must be positive (or null), not {self.power_delta}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"significance.seed must be a non-negative integer, not {self.seed!r}")

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | None) -> "SignificanceSettings":
        """From a config mapping; unknown keys get a "did you mean" error, wrong types a one-line error."""
        import typing

        from harness.config import check_value

        node = dict(node or {})
        known = [f.name for f in fields(cls)]
        hints = typing.get_type_hints(cls)
        for key in node:
            if key not in known:
                raise UnknownNameError("significance setting", key, known)
            check_value(node[key], hints[key], f"significance.{key}")
        return cls(**node)

    @property
    def enabled(self) -> bool:
        return self.test != "none"

    def signature(self) -> str:
        """Every setting that changes a p-value or an interval, sacreBLEU-signature style."""
        if not self.enabled:
            return "significance:none"
        test = f"paired-bs|n:{self.resamples}" if self.test == "bootstrap" else \
            f"paired-ar|trials:{self.trials}|bs:{self.resamples}"
        return f"{test}|seed:{self.seed}|alpha:{self.alpha}|pairs:{'all' if self.all_pairs else 'baseline'}" \
               f"|corr:{self.correction}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Interval:
    """A 95% bootstrap confidence interval, as sacreBLEU reports it (`μ ± CI`)."""

    mean: float        # mean of the resampled scores (sacreBLEU's μ)
    half_width: float  # sacreBLEU's "± CI": half the distance between the 2.5% and 97.5% resamples
    lower: float       # the 2.5% resample
    upper: float       # the 97.5% resample


@dataclass(frozen=True)
class PowerEstimate:
    """How many segments a test set needs to detect a difference of `delta` (two-sided test at `alpha`).

    From the bootstrap variance of the score difference between two systems, which shrinks as 1/n: at n
    segments the difference has standard deviation sd, so n * sd^2 * (z_{1-alpha/2} + z_{power})^2 / delta^2
    segments detect `delta` with probability `power`. The median over pairs of systems is reported."""

    delta: float
    alpha: float
    power: float
    segments: int                  # the test set's size
    segments_needed: int           # to detect `delta`
    detectable_difference: float   # the smallest difference detectable with the test set's segments
    pairs: int                     # pairs of systems the median is over


@dataclass
class MetricSignificance:
    """One metric on one test set: intervals, p-values, clusters and power for its systems."""

    metric: str
    higher_is_better: bool
    systems: list[str]
    scores: np.ndarray                   # (S,) corpus scores
    intervals: list[Interval | None]     # (S,)
    p_values: np.ndarray                 # (S, S) paired p-values as sacreBLEU computes them, nan where not tested
    p_values_holm: np.ndarray            # (S, S) Holm-adjusted over every tested pair (no-difference pairs at 1)
    no_difference: np.ndarray            # (S, S) True where two systems have the same score (e.g. identical outputs)
    baseline: str | None
    rank_ranges: list[tuple[int, int]]   # (S,) 1-based best and worst rank consistent with the tests
    clusters: list[int]                  # (S,) 1-based cluster of systems not separable from each other
    power: PowerEstimate | None

    def index(self, system: str) -> int:
        return self.systems.index(system)

    def p_value(self, a: str, b: str) -> float | None:
        p = self.p_values[self.index(a), self.index(b)]
        return None if np.isnan(p) else float(p)

    def differ(self, a: str, b: str, alpha: float) -> bool:
        """Whether a and b differ significantly (uncorrected p): never when their scores are the same."""
        p = self.p_value(a, b)
        return p is not None and p < alpha and not self.no_difference[self.index(a), self.index(b)]


# ----------------------------------------------------------------------------------- resampling primitives

def bootstrap_indices(n_segments: int, resamples: int, seed: int) -> np.ndarray:
    """(B, n) segment indices of B bootstrap resamples: sacreBLEU's, for the same seed."""
    return np.random.default_rng(seed).choice(n_segments, size=(resamples, n_segments), replace=True)


def ar_swaps(n_segments: int, trials: int, seed: int) -> np.ndarray:
    """(R, n) booleans of R approximate-randomisation trials (True: the pair's first system keeps its
    own segment): sacreBLEU's `pos_sel`, for the same seed."""
    return np.random.default_rng(seed).integers(2, size=(trials, n_segments), dtype=bool)


def _row_blocks(n_rows: int, n_segments: int):
    step = max(1, _BLOCK_CELLS // max(1, n_segments))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def resampled_sums(indices: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Summed statistics of every bootstrap resample: (B, ...) from (n, ...) statistics.

    A resample's sum is counts @ stats, where counts[b, i] says how often segment i was drawn: one matrix
    product for all resamples (and, with statistics stacked side by side, for all systems at once)."""
    n = stats.shape[0]
    flat = stats.reshape(n, -1)
    out = np.empty((indices.shape[0], flat.shape[1]), dtype=np.float64)
    for rows in _row_blocks(indices.shape[0], n):
        idx = indices[rows]
        offsets = (np.arange(idx.shape[0]) * n)[:, None]
        counts = np.bincount((idx + offsets).ravel(), minlength=idx.shape[0] * n).reshape(idx.shape[0], n)
        out[rows] = counts.astype(np.float64) @ flat
    return out.reshape((indices.shape[0],) + stats.shape[1:])


def resampled_scores(metric: Metric, indices: np.ndarray, stats: Sequence[np.ndarray]) -> np.ndarray:
    """(B, S) scores of S systems (their (n, k) statistics) on the same B bootstrap resamples."""
    stacked = np.stack([np.asarray(s, dtype=np.float64) for s in stats], axis=1)  # (n, S, k)
    sums = resampled_sums(indices, stacked).astype(metric.bootstrap_dtype)
    return np.asarray(metric.scores_from_statistics(sums), dtype=np.float64)


def confidence_interval(resampled: np.ndarray) -> Interval:
    """sacreBLEU's `estimate_ci`: the resamples at ranks B//40 and B-B//40-1 bound a 95% interval."""
    ordered = np.sort(np.asarray(resampled, dtype=np.float64))
    n = len(ordered)
    lower, upper = ordered[n // 40], ordered[n - n // 40 - 1]
    return Interval(mean=float(ordered.mean()), half_width=float(0.5 * (upper - lower)),
                    lower=float(lower), upper=float(upper))


def _p_value(null_statistics: np.ndarray, observed: float) -> float:
    # "+1": the observed assignment counts as one of the resamples, so p never reaches 0 (multeval, sacreBLEU)
    return (int(np.sum(null_statistics > observed)) + 1) / (len(null_statistics) + 1)


def paired_bootstrap_p(resampled_a: np.ndarray, resampled_b: np.ndarray, score_a: float, score_b: float) -> float:
    """sacreBLEU's paired bootstrap p-value: the resampled differences, centred on their mean, are the
    null distribution of the absolute difference."""
    sample_diffs = np.abs(resampled_b - resampled_a)
    return _p_value(sample_diffs - sample_diffs.mean(), abs(score_a - score_b))


def paired_ar_p_values(metric: Metric, stats: Sequence[np.ndarray], scores: Sequence[float],
                       pairs: Sequence[tuple[int, int]], swaps: np.ndarray) -> dict[tuple[int, int], float]:
    """sacreBLEU's paired approximate-randomisation p-values for `pairs` of systems (indices into `stats`).

    In trial r, pseudo-system A takes system a's statistics where swaps[r] is True and b's elsewhere, B the
    rest: A = total_b + swaps @ (s_a - s_b) and B = total_a + total_b - A. swaps @ s is computed once per
    system, so all pairs cost little more than one."""
    stats = [np.asarray(s, dtype=np.float64) for s in stats]
    stacked = np.stack(stats, axis=1)  # (n, S, k)
    n, n_sys, k = stacked.shape
    flat = stacked.reshape(n, n_sys * k)
    totals = stacked.sum(axis=0)  # exact: integer-valued statistics sum exactly in float64
    exceed = {pair: 0 for pair in pairs}
    for rows in _row_blocks(swaps.shape[0], n):
        kept = (swaps[rows].astype(np.float64) @ flat).reshape(-1, n_sys, k)  # (r, S, k): swaps @ s_i
        for a, b in pairs:
            shuffled_a = totals[b] + kept[:, a] - kept[:, b]
            shuffled_b = totals[a] + totals[b] - shuffled_a
            both = metric.scores_from_statistics(np.stack([shuffled_a, shuffled_b]))
            exceed[(a, b)] += int(np.sum(np.abs(both[0] - both[1]) > abs(scores[a] - scores[b])))
    trials = swaps.shape[0]
    return {pair: (count + 1) / (trials + 1) for pair, count in exceed.items()}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down; monotone; capped at 1)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def significance_clusters(scores: Sequence[float], higher_is_better: bool,
                          significant: np.ndarray) -> tuple[list[tuple[int, int]], list[int]]:
    """Rank ranges and clusters from pairwise significance (WMT style).

    A system's rank range runs from 1 + the number of better systems that differ from it significantly to
    S - the number of worse ones that do. Clusters are cut between neighbours in the ranking wherever every
    system above the cut is significantly different from every system below it, so a cluster holds systems
    that cannot be told apart (it may also hold systems that differ from each other only through chains)."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    key = -scores if higher_is_better else scores
    order = list(np.argsort(key, kind="stable"))
    ranges: list[tuple[int, int]] = [(0, 0)] * n
    for pos, i in enumerate(order):
        better = sum(bool(significant[i, j]) for j in order[:pos])
        worse = sum(bool(significant[i, j]) for j in order[pos + 1:])
        ranges[i] = (1 + better, n - worse)
    clusters = [0] * n
    cluster = 1
    for pos, i in enumerate(order):
        if pos > 0 and all(significant[a, b] for a in order[:pos] for b in order[pos:]):
            cluster += 1
        clusters[i] = cluster
    return ranges, clusters


def power_estimate(resampled: np.ndarray, pairs: Sequence[tuple[int, int]], n_segments: int, delta: float,
                   alpha: float, power: float) -> PowerEstimate | None:
    """See PowerEstimate. None with fewer than two systems (no difference to measure)."""
    if not pairs:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    # per-segment variance of the difference: the bootstrap variance at n segments, times n
    unit_var = float(np.median([np.var(resampled[:, a] - resampled[:, b], ddof=1) for a, b in pairs])) * n_segments
    needed = math.ceil(unit_var * z * z / (delta * delta)) if unit_var > 0 else 1
    return PowerEstimate(delta=delta, alpha=alpha, power=power, segments=n_segments, segments_needed=max(1, needed),
                         detectable_difference=z * math.sqrt(unit_var / n_segments), pairs=len(pairs))


# ---------------------------------------------------------------------------------------------- analysis

def analyse_metric(metric: Metric, systems: Sequence[str], stats: Sequence[np.ndarray], scores: Sequence[float],
                   settings: SignificanceSettings, indices: np.ndarray | None = None,
                   swaps: np.ndarray | None = None) -> MetricSignificance:
    """Intervals, p-values, clusters and power for one metric's systems on one test set.

    `stats[i]` is system i's (n, k) per-segment statistics and `scores[i]` its corpus score. `indices` and
    `swaps` (from `bootstrap_indices` / `ar_swaps`) may be passed in to share them across metrics."""
    n_sys = len(systems)
    n = int(np.asarray(stats[0]).shape[0])
    scores = np.asarray(scores, dtype=np.float64)
    if settings.baseline is not None and settings.baseline not in systems:
        raise UnknownNameError("baseline system", settings.baseline, list(systems))
    base = systems.index(settings.baseline) if settings.baseline is not None else None
    every_pair = list(itertools.combinations(range(n_sys), 2))
    if settings.all_pairs:
        pairs = every_pair
    else:
        pairs = [(base, b) for b in range(n_sys) if b != base] if base is not None else []

    if indices is None:
        indices = bootstrap_indices(n, settings.resamples, settings.seed)
    resampled = resampled_scores(metric, indices, stats)  # (B, S)
    intervals = [confidence_interval(resampled[:, i]) for i in range(n_sys)]

    p = np.full((n_sys, n_sys), np.nan)
    if settings.test == "bootstrap":
        found = {(a, b): paired_bootstrap_p(resampled[:, a], resampled[:, b], scores[a], scores[b]) for a, b in pairs}
    else:
        if swaps is None:
            swaps = ar_swaps(n, settings.trials, settings.seed)
        found = paired_ar_p_values(metric, stats, scores, pairs, swaps)
    for (a, b), value in found.items():
        p[a, b] = p[b, a] = value
    # sacreBLEU's p-value is (count + 1) / (B + 1) even for a zero observed difference (the same output twice
    # gets p = 0.001); p keeps that value for compatibility, but no decision here ever calls such a pair
    # different: Holm takes it at 1, and ranks and clusters treat it as not significant.
    no_difference = scores[:, None] == scores[None, :]
    decided = {pair: 1.0 if no_difference[pair] else value for pair, value in found.items()}
    p_holm = np.full((n_sys, n_sys), np.nan)
    if pairs:
        for (a, b), value in zip(pairs, holm([decided[pair] for pair in pairs])):
            p_holm[a, b] = p_holm[b, a] = value

    used = p_holm if settings.correction == "holm" else p
    significant = (np.nan_to_num(used, nan=1.0) < settings.alpha) & ~no_difference
    if settings.all_pairs:
        ranges, clusters = significance_clusters(scores, metric.higher_is_better, significant)
    else:  # without every pair there is no ranking by significance
        ranges, clusters = [], []
    delta = settings.power_delta if settings.power_delta is not None else metric.meaningful_difference
    power = power_estimate(resampled, every_pair, n, delta, settings.alpha, settings.power)
    return MetricSignificance(metric=metric.name, higher_is_better=metric.higher_is_better, systems=list(systems),
                              scores=scores, intervals=intervals, p_values=p, p_values_holm=p_holm,
                              no_difference=no_difference, baseline=settings.baseline, rank_ranges=ranges, clusters=clusters, power=power)


def analyse(metrics: Sequence[Metric], systems: Sequence[str], stats: Mapping[str, Sequence[np.ndarray]],
            scores: Mapping[str, Sequence[float]], settings: SignificanceSettings) -> dict[str, MetricSignificance]:
    """`analyse_metric` for several metrics of the same systems on one test set, sharing resample indices."""
    if not settings.enabled or not systems:
        return {}
    n = int(np.asarray(next(iter(stats.values()))[0]).shape[0])
    indices = bootstrap_indices(n, settings.resamples, settings.seed)
    swaps = ar_swaps(n, settings.trials, settings.seed) if settings.test == "ar" and len(systems) > 1 else None
    return {m.name: analyse_metric(m, systems, stats[m.name], scores[m.name], settings, indices, swaps)
            for m in metrics if m.name in stats}


def as_json(result: MetricSignificance) -> dict[str, Any]:
    """A MetricSignificance as plain JSON (p-values keyed by system name)."""
    def matrix(values: np.ndarray) -> dict[str, dict[str, float]]:
        return {a: {b: float(values[i, j]) for j, b in enumerate(result.systems) if not np.isnan(values[i, j])}
                for i, a in enumerate(result.systems)}

    return {
        "baseline": result.baseline,
        "systems": {s: {"score": float(result.scores[i]),
                        "ci": asdict(result.intervals[i]) if result.intervals[i] else None,
                        "rank_range": list(result.rank_ranges[i]) if result.rank_ranges else None,
                        "cluster": result.clusters[i] if result.clusters else None}
                    for i, s in enumerate(result.systems)},
        "p_values": matrix(result.p_values),
        "p_values_holm": matrix(result.p_values_holm),
        # pairs with the same score (e.g. identical outputs): never significant, whatever p says
        "no_difference": [[a, b] for (i, a), (j, b) in itertools.combinations(enumerate(result.systems), 2)
                          if result.no_difference[i, j]],
        "power": asdict(result.power) if result.power else None,
    }
