"""Per-segment metric statistics for every system of a run: from the persistent cache where possible, the
rest computed, in worker processes when several systems need string metrics.

Cache keys (built in `harness.cache`) are (metric signature, implementation tag, hypothesis, source if the
metric reads it, references), so re-scoring a leaderboard after adding a system computes statistics for that
system only, and rows are stored as they are computed, so an interrupted run resumes where it stopped. A
complete system is also stored as one binary matrix keyed by the same parts for all its segments: a re-run
with nothing new reads one value per system and metric instead of decoding a row per segment (what keeps a
warm re-score far under a second).

    job = look_up_statistics(metric, testset, hyps, cache)   # what the cache has, what is missing
    compute_missing([job, ...], cache, workers)              # the rest, in worker processes where it pays
    stats, details, n_computed = job.result()
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from harness.cache import (
    SEGMENT_DETAILS,
    STATISTICS,
    STATISTICS_MATRIX,
    Cache,
    metric_key,
    statistics_key,
    statistics_matrix_key,
)
from harness.data.testset import TestSet
from harness.errors import HarnessError
from harness.metrics.base import Metric

log = logging.getLogger(__name__)

#: below this many missing rows in all, starting worker processes costs more than it saves
MIN_PARALLEL_ROWS = 1000


@dataclass
class StatisticsJob:
    """One metric on one system's hypotheses for one test set: what the cache holds and what is missing."""

    metric: Metric
    testset: TestSet
    hyps: list[str]
    keys: list[str]
    found: dict[str, list]
    found_details: dict[str, dict] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    #: key of the whole-system matrix, and the matrix when the cache had it (then nothing is missing)
    matrix_key: str = ""
    matrix: np.ndarray | None = None

    def inputs(self, indices: Sequence[int]) -> tuple[list[str], list[tuple[str, ...]], list[str] | None]:
        """(hypotheses, references, sources or None) of the segments at `indices`, as metrics take them."""
        segs = [self.testset.segments[i] for i in indices]
        srcs = [s.src for s in segs] if self.metric.needs_sources else None
        return [self.hyps[i] for i in indices], [s.refs for s in segs], srcs

    def save_rows(self, cache: Cache, indices: Sequence[int], stats: np.ndarray, details: list[dict] | None) -> None:
        """Store freshly computed rows (and details) of the segments at `indices`, in the cache and in the job."""
        if self.metric.has_segment_details:  # stored first: a row counts as done only when both are there
            fresh_details = {self.keys[i]: d for i, d in zip(indices, details or [])}
            cache.put_many(SEGMENT_DETAILS, fresh_details)
            self.found_details.update(fresh_details)
        fresh = {self.keys[i]: row.tolist() for i, row in zip(indices, np.asarray(stats, dtype=np.float64))}
        cache.put_many(STATISTICS, fresh)
        self.found.update(fresh)

    def result(self) -> tuple[np.ndarray, list[dict] | None, int]:
        """(statistics, details or None, rows computed); every missing row must have been stored."""
        if self.matrix is not None:
            return self.matrix, None, 0
        stats = np.array([self.found[k] for k in self.keys], dtype=np.float64)
        details = [self.found_details[k] for k in self.keys] if self.metric.has_segment_details else None
        return stats, details, len(self.missing)

    def save_matrix(self, cache: Cache) -> None:
        """Store the complete statistics as one matrix (see the module docstring); rows must all be there."""
        if self.matrix is None and not self.metric.has_segment_details and cache.path is not None:
            buffer = io.BytesIO()
            np.save(buffer, self.result()[0], allow_pickle=False)
            cache.put_blob(STATISTICS_MATRIX, self.matrix_key, buffer.getvalue())


def _cached_matrix(cache: Cache, key: str, shape0: int) -> np.ndarray | None:
    blob = cache.get_blob(STATISTICS_MATRIX, key)
    if blob is None:
        return None
    matrix = np.load(io.BytesIO(blob), allow_pickle=False)
    return matrix if matrix.ndim == 2 and matrix.shape[0] == shape0 else None


def look_up_statistics(metric: Metric, testset: TestSet, hyps: Sequence[str], cache: Cache) -> StatisticsJob:
    """Look up the cached rows of `metric` for `hyps` on `testset`; the job lists the missing ones."""
    key = metric_key(metric.signature(testset.num_refs), metric.implementation)
    parts = [(h, seg.src if metric.needs_sources else "", *seg.refs) for h, seg in zip(hyps, testset.segments)]
    matrix_key = statistics_matrix_key(key, parts)
    if not metric.has_segment_details:
        matrix = _cached_matrix(cache, matrix_key, len(parts))
        if matrix is not None:
            return StatisticsJob(metric, testset, list(hyps), [], {}, matrix_key=matrix_key, matrix=matrix)
    keys = [statistics_key(key, h, src, refs) for h, src, *refs in parts]
    found = cache.get_many(STATISTICS, keys)
    with_details = metric.has_segment_details
    found_details = cache.get_many(SEGMENT_DETAILS, keys) if with_details else {}
    missing = [i for i, k in enumerate(keys) if k not in found or (with_details and k not in found_details)]
    return StatisticsJob(metric, testset, list(hyps), keys, found, found_details, missing, matrix_key)


def segment_statistics_and_details(metric: Metric, testset: TestSet, hyps: list[str], cache: Cache,
                                   chunk_size: int = 2048) -> tuple[np.ndarray, list[dict] | None, int]:
    """Statistics of `metric` for one system (and the per-segment details of metrics that have them, None
    otherwise), missing rows computed and stored chunk by chunk. Returns (statistics, details, rows computed)."""
    job = look_up_statistics(metric, testset, hyps, cache)
    _compute_in_process(job, cache, chunk_size)
    job.save_matrix(cache)
    return job.result()


def segment_statistics(metric: Metric, testset: TestSet, hyps: list[str], cache: Cache,
                       chunk_size: int = 2048) -> tuple[np.ndarray, int]:
    """`segment_statistics_and_details` without the details: (statistics, rows computed)."""
    stats, _, n_computed = segment_statistics_and_details(metric, testset, hyps, cache, chunk_size)
    return stats, n_computed


def _compute_in_process(job: StatisticsJob, cache: Cache, chunk_size: int = 2048) -> None:
    for start in range(0, len(job.missing), chunk_size):
        chunk = job.missing[start:start + chunk_size]
        stats, details = job.metric.segment_statistics_with_details(*job.inputs(chunk))
        job.save_rows(cache, chunk, stats, details)


# ------------------------------------------------------------------------------------------ many systems

def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _worker_task(metric: Metric, inputs: list[tuple]) -> list[tuple[np.ndarray, list[dict] | None]]:
    """In a worker process: statistics of one metric for a group of systems (sharing its reference cache)."""
    return [metric.segment_statistics_with_details(*args) for args in inputs]


def _pool_context():
    # fork starts workers in milliseconds with everything imported; it is unsafe once threads run (torch,
    # tokenizers, an HTTP client's pool), so then spawn, which re-imports the harness in each worker. tqdm's
    # monitor thread only sleeps and reads its bars' clocks: it does not count.
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and type(t).__name__ != "TMonitor"]
    if "fork" in multiprocessing.get_all_start_methods() and not others and "torch" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _split(jobs: list[StatisticsJob], groups: int) -> list[list[StatisticsJob]]:
    """Jobs into at most `groups` lists of about equal missing rows (largest first, into the lightest)."""
    bins: list[list[StatisticsJob]] = [[] for _ in range(min(groups, len(jobs)))]
    loads = [0] * len(bins)
    for job in sorted(jobs, key=lambda j: -len(j.missing)):
        i = loads.index(min(loads))
        bins[i].append(job)
        loads[i] += len(job.missing)
    return [b for b in bins if b]


def compute_missing(jobs: Sequence[StatisticsJob], cache: Cache, workers: int | None = None,
                    progress: bool = True) -> dict[str, str]:
    """Compute and store the missing rows of every job. Metrics that say `parallel_safe` run in `workers`
    processes (None: one per CPU) when there are several systems and enough rows; others run here in turn.

    Returns metric name -> error message for metrics whose computation failed (HarnessError); their jobs
    stay incomplete. Other exceptions propagate."""
    todo = [j for j in jobs if j.missing]
    errors: dict[str, str] = {}
    if todo:
        errors = _compute(todo, cache, workers, progress)
    for job in jobs:
        if job.metric.name not in errors:
            job.save_matrix(cache)
    return errors


def _compute(todo: list[StatisticsJob], cache: Cache, workers: int | None, progress: bool) -> dict[str, str]:
    from tqdm.auto import tqdm

    errors: dict[str, str] = {}
    workers = default_workers() if workers is None else max(1, int(workers))
    pooled = [j for j in todo if j.metric.parallel_safe]
    if workers < 2 or len(pooled) < 2 or sum(len(j.missing) for j in pooled) < MIN_PARALLEL_ROWS:
        pooled = []
    in_pool = {id(j) for j in pooled}
    local = [j for j in todo if id(j) not in in_pool]
    total = sum(len(j.missing) for j in todo)
    with tqdm(total=total, desc="metric statistics", unit="seg", leave=False,
              disable=None if progress else True) as bar:
        if pooled:
            errors.update(_compute_pooled(pooled, cache, workers, bar))
        for job in local:
            if job.metric.name in errors:
                continue
            try:
                _compute_in_process(job, cache)
            except HarnessError as e:
                errors[job.metric.name] = str(e)
            bar.update(len(job.missing))
    return errors


def _compute_pooled(jobs: list[StatisticsJob], cache: Cache, workers: int, bar) -> dict[str, str]:
    errors: dict[str, str] = {}
    by_metric: dict[int, list[StatisticsJob]] = {}
    for job in jobs:
        by_metric.setdefault(id(job.metric), []).append(job)
    # each metric's systems in `workers` groups, so every worker builds a reference cache once per group
    tasks = [group for metric_jobs in by_metric.values() for group in _split(metric_jobs, workers)]
    n_procs = min(workers, len(tasks))
    log.info("metric statistics: %d rows in %d worker processes", sum(len(j.missing) for j in jobs), n_procs)
    with ProcessPoolExecutor(max_workers=n_procs, mp_context=_pool_context()) as pool:
        pending = {pool.submit(_worker_task, group[0].metric, [j.inputs(j.missing) for j in group]): group
                   for group in sorted(tasks, key=lambda g: -sum(len(j.missing) for j in g))}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                group = pending.pop(future)
                try:
                    outputs = future.result()
                except HarnessError as e:
                    errors[group[0].metric.name] = str(e)
                    continue
                for job, (stats, details) in zip(group, outputs):
                    job.save_rows(cache, job.missing, stats, details)
                    bar.update(len(job.missing))
    return errors
