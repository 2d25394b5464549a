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

Memory stays bounded at any size: sacreBLEU holds the (B, n) index matrix and the (B, n, k) resampled
statistics (13 GB for two systems at 100k segments); here indices are drawn a block of resamples at a time,
from one generator, and each block is turned into per-segment counts and multiplied with each system's
statistics before the next is drawn, so neither matrix ever exists whole (see `bootstrap_index_blocks` and
`ar_swap_blocks` for why the blocks are sacreBLEU's numbers).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cache
from statistics import NormalDist
from typing import Any

import numpy as np

from harness.compiled import numba_compiled
from harness.errors import ConfigError, UnknownNameError
from harness.metrics.base import Metric

TESTS = ("bootstrap", "ar", "none")
CORRECTIONS = ("none", "holm")
# Cells (resamples x segments) of one block of resamples, whose counts are float64: bounds the memory of
# resampling at 8 bytes x this many cells (128 MB), whatever the test set's size. Indices are drawn in
# pieces of at most _DRAW_CELLS into it.
_BLOCK_CELLS = 16_000_000
_DRAW_CELLS = 1_000_000
# Statistics of every metric and system are multiplied with a block of counts as one stacked matrix (one pass
# over the counts) while that copy stays below this size, else one system at a time (no copy).
_STACK_BYTES = 256 * 2 ** 20
# Counting draws with the compiled counter pays for loading it (a few tenths of a second) from about this many
# draws in all; below, np.bincount counts.
_COMPILED_COUNT_CELLS = 32_000_000


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
    def from_config(cls, node: Mapping[str, Any] | None) -> SignificanceSettings:
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
    """(B, n) segment indices of B bootstrap resamples: sacreBLEU's, for the same seed. The whole matrix: the
    engine itself draws it in blocks (`bootstrap_index_blocks`)."""
    return np.random.default_rng(seed).choice(n_segments, size=(resamples, n_segments), replace=True)


def ar_swaps(n_segments: int, trials: int, seed: int) -> np.ndarray:
    """(R, n) booleans of R approximate-randomisation trials (True: the pair's first system keeps its
    own segment): sacreBLEU's `pos_sel`, for the same seed. The whole matrix: the engine draws it in blocks
    (`ar_swap_blocks`)."""
    return np.random.default_rng(seed).integers(2, size=(trials, n_segments), dtype=bool)


# Callers that analyse many pairs on one test set (compare, report boards) draw the index matrix once and
# share it while it stays below this many cells (int64: 400 MB); past it each analysis draws its own blocks
# (the same numbers, drawn again, never held whole).
SHARED_INDEX_CELLS = 50_000_000


def shared_resamples(n_segments: int, settings: SignificanceSettings) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(bootstrap indices, AR swaps) to pass to `analyse_metric` for every analysis on an n-segment test set:
    whole matrices while they are small, None (drawn block by block in each analysis) when they are not."""
    small = n_segments * max(settings.resamples, settings.trials) <= SHARED_INDEX_CELLS
    if not small:
        return None, None
    return (bootstrap_indices(n_segments, settings.resamples, settings.seed),
            ar_swaps(n_segments, settings.trials, settings.seed) if settings.test == "ar" else None)


def _rows_per_block(n_rows: int, n_segments: int) -> int:
    return max(1, min(n_rows, _BLOCK_CELLS // max(1, n_segments)))


def bootstrap_index_blocks(n_segments: int, resamples: int, seed: int,
                           rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of `bootstrap_indices(n_segments, resamples, seed)`, `rows` rows at a time (default:
    a block's worth), top to bottom: the same numbers, without the whole matrix.

    Why blocks drawn one after the other from one generator are the rows of one draw (numpy >= 1.17's
    Generator, checked by tests/test_significance.py against one draw for many sizes): `choice(n, size)` with
    replacement and no weights is `integers(0, n, size)`, which fills its output element by element in C order;
    below 2**32 each element is one bounded 32-bit draw (Lemire's method, rejections drawing again), taken from
    `next_uint32` of the bit generator, and PCG64 keeps the unused half of a 64-bit output in its own state
    between calls. So the stream of 32-bit words does not depend on how the elements are split into calls.
    (Above 2**32 elements are 64-bit draws, unbuffered: the same holds.)"""
    rng = np.random.default_rng(seed)
    step = rows or _rows_per_block(resamples, n_segments)
    for start in range(0, resamples, step):
        yield start, rng.choice(n_segments, size=(min(step, resamples - start), n_segments), replace=True)


def ar_swap_blocks(n_segments: int, trials: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of `ar_swaps(n_segments, trials, seed)`, a block of rows at a time, top to bottom.

    Unlike `choice`, `integers(2, dtype=bool)` buffers in the call, not in the generator: each call takes one
    32-bit word per 32 values and drops what is left of its last word. A block continues the stream where one
    draw of the whole matrix would only if it holds a multiple of 32 values, so blocks here have a multiple of
    32 / gcd(n, 32) rows (the last block may have fewer: nothing follows it). tests/test_significance.py checks
    both: aligned blocks give the whole draw, unaligned ones do not."""
    rng = np.random.default_rng(seed)
    unit = 32 // math.gcd(max(1, n_segments), 32)
    step = max(unit, _rows_per_block(trials, n_segments) // unit * unit)
    for start in range(0, trials, step):
        yield start, rng.integers(2, size=(min(step, trials - start), n_segments), dtype=bool)


def _row_blocks(n_rows: int, n_segments: int):
    step = _rows_per_block(n_rows, n_segments)
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _count_kernel(indices, out):
    """out[b] = counts of the values in indices[b], for every row (numba-compiled when available). Each row is
    zeroed just before it is counted, while it is in cache."""
    for b in range(indices.shape[0]):
        row = out[b]
        row[:] = 0.0
        for j in range(indices.shape[1]):
            row[indices[b, j]] += 1.0


@cache
def _compiled_counter():
    """`_count_kernel` compiled with numba (cached on disk), or None without numba (then `np.bincount`)."""
    return numba_compiled(_count_kernel)


def _count_into(indices: np.ndarray, out: np.ndarray, compiled: bool) -> None:
    """out[b, i] = how often row b of `indices` holds i; `out` is float64 (for BLAS; exact: small integers).
    `compiled`: whether the compiled counter is worth loading (many draws in all)."""
    counter = _compiled_counter() if compiled else None
    if counter is not None:
        counter(indices, out)
        return
    for b in range(indices.shape[0]):
        out[b] = np.bincount(indices[b], minlength=out.shape[1])


def _counts(indices: np.ndarray, compiled: bool = False) -> np.ndarray:
    """counts[b, i]: how often resample b drew segment i, float64."""
    out = np.empty(indices.shape, dtype=np.float64)
    _count_into(indices, out, compiled)
    return out


def _bootstrap_count_blocks(n_segments: int, resamples: int, seed: int) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, counts) for blocks of `bootstrap_indices(n_segments, resamples, seed)`: indices drawn a few rows at
    a time from one stream (`bootstrap_index_blocks`) and counted into one reused float64 buffer, which the
    caller must be done with before asking for the next block."""
    draw_rows = max(1, min(resamples, _DRAW_CELLS // max(1, n_segments)))
    block_rows = max(draw_rows, _rows_per_block(resamples, n_segments) // draw_rows * draw_rows)
    buffer = np.empty((min(block_rows, resamples), n_segments), dtype=np.float64)
    draws = bootstrap_index_blocks(n_segments, resamples, seed, rows=draw_rows)
    compiled = n_segments * resamples >= _COMPILED_COUNT_CELLS
    for start in range(0, resamples, block_rows):
        block = buffer[:min(block_rows, resamples - start)]
        filled = 0
        while filled < len(block):  # block boundaries are multiples of draw_rows: the pieces fit exactly
            _, indices = next(draws)
            _count_into(indices, block[filled:filled + len(indices)], compiled)
            filled += len(indices)
        yield slice(start, start + len(block)), block


def _as_float(stats: np.ndarray) -> np.ndarray:
    stats = np.asarray(stats)
    return stats if stats.dtype == np.float64 else stats.astype(np.float64)


def resampled_sums(indices: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Summed statistics of every bootstrap resample: (B, ...) from (n, ...) statistics.

    A resample's sum is counts @ stats, where counts[b, i] says how often segment i was drawn: one matrix
    product for all resamples (and, with statistics stacked side by side, for all systems at once). The sums
    are exact (integer statistics, float64)."""
    n = stats.shape[0]
    flat = _as_float(stats).reshape(n, -1)
    out = np.empty((indices.shape[0], flat.shape[1]), dtype=np.float64)
    compiled = indices.size >= _COMPILED_COUNT_CELLS
    for rows in _row_blocks(indices.shape[0], n):
        out[rows] = _counts(indices[rows], compiled) @ flat
    return out.reshape((indices.shape[0],) + stats.shape[1:])


class _Products:
    """Multiplies blocks of per-segment weights (r, n) with every metric's and system's statistics: stacked in
    one matrix while that copy is small (`_STACK_BYTES`), else one system at a time."""

    def __init__(self, stats: Sequence[Sequence[np.ndarray]]):
        self.stats = [[_as_float(s) for s in per_metric] for per_metric in stats]
        self.widths = [[s.shape[1] for s in per_metric] for per_metric in self.stats]
        n = self.stats[0][0].shape[0]
        self.stacked = None
        if n * sum(map(sum, self.widths)) * 8 <= _STACK_BYTES:
            self.stacked = np.concatenate([s for per_metric in self.stats for s in per_metric], axis=1)

    def __call__(self, weights: np.ndarray) -> list[list[np.ndarray]]:
        """Per metric, per system: weights @ statistics, (r, k)."""
        if self.stacked is None:
            return [[weights @ s for s in per_metric] for per_metric in self.stats]
        product = weights @ self.stacked
        out, column = [], 0
        for widths in self.widths:
            out.append([])
            for k in widths:
                out[-1].append(product[:, column:column + k])
                column += k
        return out


def _scores_of_sums(metric: Metric, sums: Sequence[np.ndarray]) -> np.ndarray:
    """(r, S) scores from each system's (r, k) resampled sums, in the metric's bootstrap dtype."""
    stacked = np.stack(sums, axis=1).astype(metric.bootstrap_dtype)  # (r, S, k)
    return np.asarray(metric.scores_from_statistics(stacked), dtype=np.float64)


def resampled_scores(metric: Metric, indices: np.ndarray, stats: Sequence[np.ndarray]) -> np.ndarray:
    """(B, S) scores of S systems (their (n, k) statistics) on the same B bootstrap resamples."""
    products = _Products([stats])
    out = np.empty((indices.shape[0], len(stats)), dtype=np.float64)
    compiled = indices.size >= _COMPILED_COUNT_CELLS
    for rows in _row_blocks(indices.shape[0], products.stats[0][0].shape[0]):
        out[rows] = _scores_of_sums(metric, products(_counts(indices[rows], compiled))[0])
    return out


def _resampled_scores_in_blocks(metrics: Sequence[Metric], stats: Sequence[Sequence[np.ndarray]], resamples: int,
                                seed: int) -> list[np.ndarray]:
    """`resampled_scores` of several metrics (stats[m][i]: metric m's statistics of system i) on sacreBLEU's
    resamples for `seed`, drawn block by block: (B, S) per metric."""
    products = _Products(stats)
    out = [np.empty((resamples, len(per_metric)), dtype=np.float64) for per_metric in stats]
    for rows, counts in _bootstrap_count_blocks(products.stats[0][0].shape[0], resamples, seed):
        for metric, sums, scores in zip(metrics, products(counts), out):
            scores[rows] = _scores_of_sums(metric, sums)
        del counts  # the buffer is filled again for the next block
    return out


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


def _ar_exceedances(metric: Metric, kept: Sequence[np.ndarray], totals: np.ndarray, scores: Sequence[float],
                    pairs: Sequence[tuple[int, int]], exceed: dict) -> None:
    """Add to `exceed[pair]` the trials of a block whose shuffled difference beats the observed; `kept[i]` is
    (r, k): the block's swaps @ system i's statistics."""
    for a, b in pairs:
        shuffled_a = totals[b] + kept[a] - kept[b]
        shuffled_b = totals[a] + totals[b] - shuffled_a
        both = metric.scores_from_statistics(np.stack([shuffled_a, shuffled_b]))
        exceed[(a, b)] += int(np.sum(np.abs(both[0] - both[1]) > abs(scores[a] - scores[b])))


def paired_ar_p_values(metric: Metric, stats: Sequence[np.ndarray], scores: Sequence[float],
                       pairs: Sequence[tuple[int, int]], swaps: np.ndarray) -> dict[tuple[int, int], float]:
    """sacreBLEU's paired approximate-randomisation p-values for `pairs` of systems (indices into `stats`).

    In trial r, pseudo-system A takes system a's statistics where swaps[r] is True and b's elsewhere, B the
    rest: A = total_b + swaps @ (s_a - s_b) and B = total_a + total_b - A. swaps @ s is computed once per
    system, so all pairs cost little more than one."""
    products = _Products([stats])
    totals = np.stack([s.sum(axis=0) for s in products.stats[0]])  # exact: integer statistics sum exactly
    exceed = {pair: 0 for pair in pairs}
    for rows in _row_blocks(swaps.shape[0], products.stats[0][0].shape[0]):
        _ar_exceedances(metric, products(swaps[rows].astype(np.float64))[0], totals, scores, pairs, exceed)
    trials = swaps.shape[0]
    return {pair: (count + 1) / (trials + 1) for pair, count in exceed.items()}


def _ar_p_values_in_blocks(metrics: Sequence[Metric], stats: Sequence[Sequence[np.ndarray]],
                           scores: Sequence[Sequence[float]], pairs: Sequence[tuple[int, int]], trials: int,
                           seed: int) -> list[dict[tuple[int, int], float]]:
    """`paired_ar_p_values` of several metrics on sacreBLEU's trials for `seed`, drawn block by block."""
    products = _Products(stats)
    totals = [np.stack([s.sum(axis=0) for s in per_metric]) for per_metric in products.stats]
    exceed = [{pair: 0 for pair in pairs} for _ in metrics]
    for _, swaps in ar_swap_blocks(products.stats[0][0].shape[0], trials, seed):
        kept = products(swaps.astype(np.float64))
        del swaps
        for metric, per_metric, total, score, counts in zip(metrics, kept, totals, scores, exceed):
            _ar_exceedances(metric, per_metric, total, score, pairs, counts)
    return [{pair: (count + 1) / (trials + 1) for pair, count in counts.items()} for counts in exceed]


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

def _pairs(systems: Sequence[str], settings: SignificanceSettings) -> tuple[list, list]:
    """(pairs tested, every pair) as index pairs; checks the baseline."""
    if settings.baseline is not None and settings.baseline not in systems:
        raise UnknownNameError("baseline system", settings.baseline, list(systems))
    base = systems.index(settings.baseline) if settings.baseline is not None else None
    every_pair = list(itertools.combinations(range(len(systems)), 2))
    if settings.all_pairs:
        return every_pair, every_pair
    return ([(base, b) for b in range(len(systems)) if b != base] if base is not None else []), every_pair


def analyse_metric(metric: Metric, systems: Sequence[str], stats: Sequence[np.ndarray], scores: Sequence[float],
                   settings: SignificanceSettings, indices: np.ndarray | None = None,
                   swaps: np.ndarray | None = None) -> MetricSignificance:
    """Intervals, p-values, clusters and power for one metric's systems on one test set.

    `stats[i]` is system i's (n, k) per-segment statistics and `scores[i]` its corpus score. `indices` and
    `swaps` (from `bootstrap_indices` / `ar_swaps`) may be passed in to share them across metrics; without
    them, they are drawn block by block and never held whole."""
    pairs, _ = _pairs(systems, settings)
    n = int(np.asarray(stats[0]).shape[0])
    if indices is None:
        resampled = _resampled_scores_in_blocks([metric], [stats], settings.resamples, settings.seed)[0]
    else:
        resampled = resampled_scores(metric, indices, stats)  # (B, S)
    ar = None
    if settings.test == "ar" and pairs:
        ar = (paired_ar_p_values(metric, stats, scores, pairs, swaps) if swaps is not None else
              _ar_p_values_in_blocks([metric], [stats], [scores], pairs, settings.trials, settings.seed)[0])
    return _analysis(metric, systems, n, scores, settings, resampled, ar)


def _analysis(metric: Metric, systems: Sequence[str], n: int, scores: Sequence[float],
              settings: SignificanceSettings, resampled: np.ndarray,
              ar: Mapping[tuple[int, int], float] | None) -> MetricSignificance:
    """`analyse_metric` from the (B, S) resampled scores and, for the AR test, its p-values by pair."""
    n_sys = len(systems)
    scores = np.asarray(scores, dtype=np.float64)
    pairs, every_pair = _pairs(systems, settings)
    intervals = [confidence_interval(resampled[:, i]) for i in range(n_sys)]

    p = np.full((n_sys, n_sys), np.nan)
    if settings.test == "bootstrap":
        found = {(a, b): paired_bootstrap_p(resampled[:, a], resampled[:, b], scores[a], scores[b]) for a, b in pairs}
    else:
        found = dict(ar or {})
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
    """`analyse_metric` for several metrics of the same systems on one test set, sharing resample indices
    (one pass over blocks of them for all metrics)."""
    if not settings.enabled or not systems:
        return {}
    present = [m for m in metrics if m.name in stats]
    if not present:
        return {}
    pairs, _ = _pairs(systems, settings)
    n = int(np.asarray(stats[present[0].name][0]).shape[0])
    per_metric = [stats[m.name] for m in present]
    resampled = _resampled_scores_in_blocks(present, per_metric, settings.resamples, settings.seed)
    ar: list = [None] * len(present)
    if settings.test == "ar" and len(systems) > 1 and pairs:
        ar = _ar_p_values_in_blocks(present, per_metric, [scores[m.name] for m in present], pairs, settings.trials,
                                    settings.seed)
    return {m.name: _analysis(m, systems, n, scores[m.name], settings, r, a)
            for m, r, a in zip(present, resampled, ar)}


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
