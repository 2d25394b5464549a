"""Per-segment metric statistics for every system of a run: from the persistent cache where possible, the
rest computed in chunks of segments, in worker processes when there is enough work.

Cache keys (built in `harness.cache`) are (metric signature, implementation tag, hypothesis, source if the
metric reads it, references), so re-scoring a leaderboard after adding a system computes statistics for that
system only, and statistics are stored as they are computed, so an interrupted run resumes where it stopped.
String metrics (`cached_in_blocks`) store one binary value per block of STRING_CACHE_BLOCK consecutive
segments, keyed by all of the block's parts: their extraction is cheaper than a cached row per segment would be.
Model metrics store a row per segment (a segment is worth keeping: it took a model's forward pass), and a
complete system also as one binary matrix keyed by all its segments' parts, so a re-run with nothing new reads
one value per system and metric instead of decoding a row per segment. Without a cache file (`Cache(None)`,
`score` without `--cache-dir`) no key is built and nothing is stored.

How statistics are computed: each metric's missing segments are cut into chunks of consecutive segments, and
a chunk is computed for every system that misses it, one system after the other, so the metric prepares the
chunk's references once for all of them (as sacreBLEU reuses its reference cache). Chunks bound memory
(a metric holds one chunk's prepared references at a time) and are what worker processes share out: with two
systems and two cores, each core takes half the segments, so no reference is prepared twice. Rows go straight
into one float64 array per job, never into a Python list per segment.

    job = look_up_statistics(metric, testset, hyps, cache)   # what the cache has, what is missing
    compute_missing([job, ...], cache, workers)              # the rest, in worker processes where it pays
    stats, details, n_computed = job.result()
"""

from __future__ import annotations

import gc
import io
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from harness.cache import (
    SEGMENT_DETAILS,
    STATISTICS,
    STATISTICS_BLOCK,
    STATISTICS_MATRIX,
    Cache,
    metric_key,
    rows_digest,
    statistics_block_key,
    statistics_key,
    statistics_matrix_key,
)
from harness.data.testset import TestSet
from harness.errors import HarnessError
from harness.metrics.base import Metric
from harness.progress import progress_bar

log = logging.getLogger(__name__)

#: below this many missing rows in all, starting worker processes costs more than it saves
MIN_PARALLEL_ROWS = 1000
#: above this many segments in a test set, `workers=None` (the default) computes in this process: a worker adds
#: its own memory (imports, compiled kernels, chunks in flight; forked ones also copy what they touch of this
#: process' heap, which by then holds the whole test set) to a process that holds gigabytes already. An explicit
#: number of workers is always honoured.
MAX_AUTO_POOLED_SEGMENTS = 300_000
#: segments per chunk of a string metric (`parallel_safe`): large enough that memoising a chunk's words pays,
#: small enough that its prepared references stay in tens of megabytes (150 MB for chrF with the numpy engine)
STRING_CHUNK = 10_000
#: segments per chunk of other (neural) metrics: an interrupted run loses at most one chunk
MODEL_CHUNK = 2048
#: String metrics are cached this many consecutive segments at a time, one binary value per block: computing a
#: segment's row costs about what caching it would (a key hash, a JSON row and a SQLite row: more than the
#: extraction itself at 100k segments), while a block costs one hash pass and one write. An interrupted run
#: resumes from the last complete block; a system that differs in a few segments recomputes their blocks.
STRING_CACHE_BLOCK = 1000


def cached_in_blocks(metric: Metric) -> bool:
    """Whether `metric`'s statistics are cached a block of segments at a time (cheap string metrics) rather
    than a row per segment (model metrics, and any with per-segment details, whose rows are worth keeping)."""
    return metric.parallel_safe and not metric.has_segment_details


@dataclass
class StatisticsJob:
    """One metric on one system's hypotheses for one test set: what the cache holds and what is missing."""

    metric: Metric
    testset: TestSet
    hyps: list[str]
    #: one cache key per segment; empty when the cache stores nothing (then no key is ever built)
    keys: list[str]
    #: segments still to compute (a range when all are)
    missing: Sequence[int] = field(default_factory=list)
    #: key of the whole-system matrix, and the matrix when the cache had it (then nothing is missing)
    matrix_key: str = ""
    matrix: np.ndarray | None = None
    #: (segments, statistics) float64, filled as rows arrive from the cache or are computed (None before the
    #: first, when the width is not known yet)
    stats: np.ndarray | None = field(default=None, repr=False)
    details: list[dict | None] | None = field(default=None, repr=False)
    #: block caching (`cached_in_blocks`): segments per block (0: a row per segment), one key per block, and the
    #: rows each block still waits for (it is stored when that reaches 0)
    block: int = 0
    block_keys: list[str] = field(default_factory=list, repr=False)
    block_left: np.ndarray | None = field(default=None, repr=False)

    def inputs(self, indices: Sequence[int]) -> tuple[list[str], list[tuple[str, ...]], list[str] | None]:
        """(hypotheses, references, sources or None) of the segments at `indices`, as metrics take them."""
        segs = self.testset.segments
        if isinstance(indices, range) and indices.step == 1:  # slices: no index lookups
            chosen, hyps = segs[indices.start:indices.stop], self.hyps[indices.start:indices.stop]
        else:
            chosen, hyps = [segs[i] for i in indices], [self.hyps[i] for i in indices]
        srcs = [s.src for s in chosen] if self.metric.needs_sources else None
        return list(hyps), [s.refs for s in chosen], srcs

    def _fill(self, indices: Sequence[int], rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(len(indices), -1)
        if self.stats is None:
            self.stats = np.zeros((len(self.hyps), rows.shape[1]), dtype=np.float64)
        if isinstance(indices, range) and indices.step == 1:
            self.stats[indices.start:indices.stop] = rows
        else:
            self.stats[np.asarray(indices, dtype=np.int64)] = rows

    def save_rows(self, cache: Cache, indices: Sequence[int], stats: np.ndarray, details: list[dict] | None) -> None:
        """Keep freshly computed rows (and details) of the segments at `indices`, in the job and, when it
        stores anything, in the cache."""
        if self.metric.has_segment_details:
            if self.details is None:
                self.details = [None] * len(self.hyps)
            for i, d in zip(indices, details or []):
                self.details[i] = d
        self._fill(indices, stats)
        if self.block_keys:
            self._save_blocks(cache, indices)
        elif self.keys:
            if self.metric.has_segment_details:  # stored first: a row counts as done only when both are there
                cache.put_many(SEGMENT_DETAILS, {self.keys[i]: d for i, d in zip(indices, details or [])})
            rows = self.stats[list(indices)]
            cache.put_many(STATISTICS, {self.keys[i]: row.tolist() for i, row in zip(indices, rows)})

    def _save_blocks(self, cache: Cache, indices: Sequence[int]) -> None:
        """Store every block that the rows at `indices` complete."""
        touched, counts = np.unique(np.asarray(indices, dtype=np.int64) // self.block, return_counts=True)
        self.block_left[touched] -= counts
        done = [int(b) for b in touched if self.block_left[b] == 0]
        cache.put_blobs(STATISTICS_BLOCK, {self.block_keys[b]: _npy(self.stats[b * self.block:(b + 1) * self.block])
                                           for b in done})

    def result(self) -> tuple[np.ndarray, list[dict] | None, int]:
        """(statistics, details or None, rows computed); every missing row must have been stored."""
        if self.matrix is not None:
            return self.matrix, None, 0
        stats = self.stats if self.stats is not None else np.zeros((len(self.hyps), 0))
        return stats, (list(self.details) if self.metric.has_segment_details else None), len(self.missing)

    def save_matrix(self, cache: Cache) -> None:
        """Store the complete statistics as one matrix (see the module docstring); rows must all be there."""
        if self.matrix is None and self.matrix_key and not self.metric.has_segment_details and cache.path is not None:
            cache.put_blob(STATISTICS_MATRIX, self.matrix_key, _npy(self.result()[0]))


def _npy(matrix: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)
    return buffer.getvalue()


def _matrix_of(blob: bytes | None, shape0: int) -> np.ndarray | None:
    """The matrix of a cached blob, if it is one of `shape0` rows (else None: computed again)."""
    if blob is None:
        return None
    matrix = np.load(io.BytesIO(blob), allow_pickle=False)
    return matrix if matrix.ndim == 2 and matrix.shape[0] == shape0 else None


def _segment_parts(needs_sources: bool, testset: TestSet, hyps: Sequence[str], start: int = 0,
                   stop: int | None = None) -> list[tuple[str, ...]]:
    """What a segment's statistics depend on, for the segments in [start, stop): hypothesis, source ("" for
    metrics that do not read it), references."""
    segs = testset.segments[start:stop]
    return [(h, seg.src if needs_sources else "", *seg.refs) for h, seg in zip(hyps[start:stop], segs)]


def block_digests(testset: TestSet, hyps: Sequence[str], needs_sources: bool, block: int) -> list[str]:
    """`rows_digest` of each block of `block` consecutive segments: what a string metric's statistics of the
    block depend on. The same for every metric that reads sources alike, so a run hashes each system's text
    once, not once per metric (see `look_up_statistics(digests=...)`)."""
    return [rows_digest(_segment_parts(needs_sources, testset, hyps, s, s + block))
            for s in range(0, len(hyps), block)]


def _look_up_blocks(metric: Metric, testset: TestSet, hyps: list[str], cache: Cache, key: str,
                    block: int, digests: dict | None) -> StatisticsJob:
    n = len(hyps)
    starts = range(0, n, block)
    memo = digests if digests is not None else {}
    if (metric.needs_sources, block) not in memo:
        memo[(metric.needs_sources, block)] = block_digests(testset, hyps, metric.needs_sources, block)
    keys = [statistics_block_key(key, digest) for digest in memo[(metric.needs_sources, block)]]
    found = cache.get_blobs(STATISTICS_BLOCK, keys)
    sizes = np.array([min(n, s + block) - s for s in starts], dtype=np.int64)
    left = sizes.copy()
    job = StatisticsJob(metric, testset, hyps, [], range(n), block=block, block_keys=keys, block_left=left)
    for b, k in enumerate(keys):
        matrix = _matrix_of(found.get(k), int(sizes[b]))
        if matrix is not None:
            job._fill(range(starts[b], starts[b] + int(sizes[b])), matrix)
            left[b] = 0
    if not left.any():
        job.missing = []
    elif left.all():
        job.missing = range(n)
    else:
        job.missing = np.concatenate([np.arange(starts[b], starts[b] + sizes[b]) for b in np.flatnonzero(left)])
    return job


def look_up_statistics(metric: Metric, testset: TestSet, hyps: Sequence[str], cache: Cache,
                       block: int | None = None, digests: dict | None = None) -> StatisticsJob:
    """Look up the cached statistics of `metric` for `hyps` on `testset`; the job lists the missing segments.
    `block`: segments per cached block of a string metric (default STRING_CACHE_BLOCK). `digests`: a dict
    kept by the caller for this one (testset, hyps) pair, in which the block digests are remembered for the
    next metric."""
    hyps = list(hyps)
    if cache.path is None:  # nothing is stored, nothing found: no keys to build
        return StatisticsJob(metric, testset, hyps, [], range(len(hyps)))
    key = metric_key(metric.signature(testset.num_refs), metric.implementation)
    if cached_in_blocks(metric):
        return _look_up_blocks(metric, testset, hyps, cache, key, block or STRING_CACHE_BLOCK, digests)
    parts = _segment_parts(metric.needs_sources, testset, hyps)
    matrix_key = statistics_matrix_key(key, parts)
    if not metric.has_segment_details:
        matrix = _matrix_of(cache.get_blob(STATISTICS_MATRIX, matrix_key), len(parts))
        if matrix is not None:
            return StatisticsJob(metric, testset, hyps, [], [], matrix_key=matrix_key, matrix=matrix)
    keys = [statistics_key(key, h, src, refs) for h, src, *refs in parts]
    del parts
    found = cache.get_many(STATISTICS, keys)
    with_details = metric.has_segment_details
    found_details = cache.get_many(SEGMENT_DETAILS, keys) if with_details else {}
    missing = [i for i, k in enumerate(keys) if k not in found or (with_details and k not in found_details)]
    job = StatisticsJob(metric, testset, hyps, keys, missing, matrix_key)
    present = [i for i, k in enumerate(keys) if k in found and (not with_details or k in found_details)]
    if present:
        job._fill(present, np.array([found[keys[i]] for i in present], dtype=np.float64))
        if with_details:
            job.details = [found_details.get(k) for k in keys]
    return job


def _chunk_size(metric: Metric, chunk_size: int | None) -> int:
    return chunk_size if chunk_size is not None else STRING_CHUNK if metric.parallel_safe else MODEL_CHUNK


def segment_statistics_and_details(metric: Metric, testset: TestSet, hyps: list[str], cache: Cache,
                                   chunk_size: int | None = None) -> tuple[np.ndarray, list[dict] | None, int]:
    """Statistics of `metric` for one system (and the per-segment details of metrics that have them, None
    otherwise), missing rows computed and stored chunk by chunk. Returns (statistics, details, rows computed)."""
    job = look_up_statistics(metric, testset, hyps, cache, block=chunk_size)
    for task in _tasks([job], _chunk_size(metric, chunk_size)):
        _run_task(task, cache)
    job.save_matrix(cache)
    return job.result()


def segment_statistics(metric: Metric, testset: TestSet, hyps: list[str], cache: Cache,
                       chunk_size: int | None = None) -> tuple[np.ndarray, int]:
    """`segment_statistics_and_details` without the details: (statistics, rows computed)."""
    stats, _, n_computed = segment_statistics_and_details(metric, testset, hyps, cache, chunk_size)
    return stats, n_computed


# ------------------------------------------------------------------------------------------ chunks

@dataclass
class _Task:
    """One chunk of one metric: for each job that misses segments in it, those segments."""

    metric: Metric
    parts: list[tuple[StatisticsJob, Sequence[int]]]

    @property
    def rows(self) -> int:
        return sum(len(indices) for _, indices in self.parts)

    def save(self, cache: Cache, outputs: list[tuple[np.ndarray, list[dict] | None]]) -> None:
        """Keep the chunk's computed statistics (`_compute_chunk`'s outputs) in its jobs and the cache."""
        for (job, indices), (stats, details) in zip(self.parts, outputs):
            job.save_rows(cache, indices, stats, details)


def _within(missing: Sequence[int], start: int, stop: int) -> Sequence[int]:
    """The indices of `missing` (sorted) in [start, stop)."""
    if isinstance(missing, range):
        return range(max(start, missing.start), min(stop, missing.stop))
    lo, hi = np.searchsorted(missing, [start, stop])
    return missing[lo:hi]


def _tasks(jobs: Sequence[StatisticsJob], chunk_size: int) -> list[_Task]:
    """The jobs' missing segments as chunks of `chunk_size` consecutive segments, per metric, in order."""
    tasks = []
    for metric_jobs in _group([job for job in jobs if len(job.missing)]):
        end = max(job.missing[-1] for job in metric_jobs) + 1  # missing indices are sorted
        for start in range(0, end, chunk_size):
            parts = [(job, _within(job.missing, start, start + chunk_size)) for job in metric_jobs]
            parts = [(job, indices) for job, indices in parts if len(indices)]
            if parts:
                tasks.append(_Task(metric_jobs[0].metric, parts))
    return tasks


def _compute_chunk(metric: Metric, inputs: list[tuple]) -> list[tuple[np.ndarray, list[dict] | None]]:
    """Statistics of one metric for a chunk of several systems, one after the other (so a metric that prepares
    references prepares the chunk's once: consecutive calls with the same references reuse them)."""
    return [metric.segment_statistics_with_details(*args) for args in inputs]


def _run_task(task: _Task, cache: Cache) -> None:
    task.save(cache, _compute_chunk(task.metric, [job.inputs(indices) for job, indices in task.parts]))


# ------------------------------------------------------------------------------------------ many systems

def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _worker_started(parent: int) -> None:
    """In each worker process: Ctrl-C is the parent's to handle (the terminal sends SIGINT to the whole process
    group; a worker would print its own traceback), and the worker dies with its parent (on Linux), so a run
    killed with `kill -9` leaves no worker behind."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command line's handler, inherited by fork: SIGTERM ends
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except OSError:  # another libc: the worker then ends when the pool's queue closes
            return
        if os.getppid() != parent:  # the parent died before the line above: no signal will come
            os._exit(1)


def _pool_context():
    # fork starts workers in milliseconds with everything imported (and needs no `if __name__ == "__main__"`
    # guard in the caller's script); it is unsafe once threads run (torch, tokenizers, an HTTP client's pool),
    # so then spawn, which re-imports the harness in each worker. tqdm's monitor thread only sleeps and reads
    # its bars' clocks: it does not count.
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and type(t).__name__ != "TMonitor"]
    if "fork" in multiprocessing.get_all_start_methods() and not others and "torch" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def compute_missing(jobs: Sequence[StatisticsJob], cache: Cache, workers: int | None = None,
                    progress: bool = True) -> dict[str, str]:
    """Compute and store the missing rows of every job. Metrics that say `parallel_safe` run in `workers`
    processes (None: one per CPU, or this process alone past `MAX_AUTO_POOLED_SEGMENTS`) when there are enough
    rows; others run here in turn.

    Returns metric name -> error message for metrics whose computation failed (HarnessError); their jobs
    stay incomplete. Other exceptions propagate."""
    todo = [j for j in jobs if len(j.missing)]
    errors: dict[str, str] = {}
    if todo:
        errors = _compute(todo, cache, workers, progress)
    for job in jobs:
        if job.metric.name not in errors:
            job.save_matrix(cache)
    return errors


def _compute(todo: list[StatisticsJob], cache: Cache, workers: int | None, progress: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if workers is None:
        workers = default_workers() if max(len(j.hyps) for j in todo) <= MAX_AUTO_POOLED_SEGMENTS else 1
    workers = max(1, int(workers))
    pooled_jobs = [j for j in todo if j.metric.parallel_safe]
    local_jobs = [j for j in todo if not j.metric.parallel_safe]
    pooled: list[_Task] = []
    if workers >= 2 and sum(len(j.missing) for j in pooled_jobs) >= MIN_PARALLEL_ROWS:
        # chunks small enough that every worker gets several, so they finish together
        size = max(1000, min(STRING_CHUNK, -(-max(len(j.hyps) for j in pooled_jobs) // (2 * workers))))
        pooled = _spread(_tasks(pooled_jobs, size), 2 * workers)
    if len(pooled) < 2:
        local_jobs, pooled = pooled_jobs + local_jobs, []
    local = [task for group in _group(local_jobs) for task in _tasks(group, _chunk_size(group[0].metric, None))]
    total = sum(len(j.missing) for j in todo)
    with progress_bar(enabled=progress, total=total, desc="metric statistics", unit="seg", leave=False) as bar:
        if pooled:
            errors.update(_compute_pooled(pooled, cache, workers, bar))
        for task in local:
            if task.metric.name in errors:
                continue
            try:
                _run_task(task, cache)
            except HarnessError as e:
                errors[task.metric.name] = str(e)
            bar.update(task.rows)
    return errors


def _spread(tasks: list[_Task], slots: int) -> list[_Task]:
    """`tasks`, the largest split in two by system until there are `slots` of them or none has two systems: a
    small test set with many systems is one chunk, and its systems then share out the workers (each part
    prepares the chunk's references for itself, cheap at that size)."""
    tasks = list(tasks)
    while len(tasks) < slots:
        largest = max(range(len(tasks)), key=lambda i: tasks[i].rows) if tasks else None
        if largest is None or len(tasks[largest].parts) < 2:
            break
        task = tasks.pop(largest)
        half = len(task.parts) // 2
        tasks += [_Task(task.metric, task.parts[:half]), _Task(task.metric, task.parts[half:])]
    return tasks


def _group(jobs: list[StatisticsJob]) -> list[list[StatisticsJob]]:
    """Jobs by metric, in the order metrics first appear."""
    groups: dict[int, list[StatisticsJob]] = {}
    for job in jobs:
        groups.setdefault(id(job.metric), []).append(job)
    return list(groups.values())


def _compute_pooled(tasks: list[_Task], cache: Cache, workers: int, bar) -> dict[str, str]:
    errors: dict[str, str] = {}
    n_procs = min(workers, len(tasks))
    log.info("metric statistics: %d rows in %d chunks, %d worker processes", sum(t.rows for t in tasks), len(tasks),
             n_procs)
    # Forked workers share this process' memory until they write to it. Each metric computes one segment here
    # first, so what it loads on first use (compiled kernels: a hundred megabytes with numba) is loaded once and
    # shared, not once per worker; and the objects alive now are kept out of the sight of the workers' garbage
    # collectors, which would write to every object they scan (the whole test set).
    warmed = set()
    for task in tasks:
        if id(task.metric) not in warmed:
            warmed.add(id(task.metric))
            job, indices = task.parts[0]
            try:
                task.metric.segment_statistics_with_details(*job.inputs(indices[:1]))
            except HarnessError as e:
                errors[task.metric.name] = str(e)
    gc.freeze()
    try:
        return _pooled(tasks, cache, n_procs, bar, errors)
    finally:
        gc.unfreeze()


def _pooled(tasks: list[_Task], cache: Cache, n_procs: int, bar, errors: dict[str, str]) -> dict[str, str]:
    pool = ProcessPoolExecutor(max_workers=n_procs, mp_context=_pool_context(), initializer=_worker_started,
                               initargs=(os.getpid(),))
    try:
        result = _run_pool(pool, tasks, cache, n_procs, bar, errors)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or failed: stop the workers now instead of waiting for their chunks
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except RuntimeError:  # interrupted while the pool was starting its manager thread: nothing to join
            pass
        raise
    pool.shutdown(wait=True, cancel_futures=True)
    return result


def _run_pool(pool: ProcessPoolExecutor, tasks: list[_Task], cache: Cache, n_procs: int, bar,
              errors: dict[str, str]) -> dict[str, str]:
    # Submitted a few at a time: a submitted chunk holds its inputs until a worker has taken it.
    queue = list(reversed(tasks))
    pending = {}
    while queue or pending:
        while queue and len(pending) < 2 * n_procs:
            task = queue.pop()
            if task.metric.name in errors:
                continue
            inputs = [job.inputs(indices) for job, indices in task.parts]
            pending[pool.submit(_compute_chunk, task.metric, inputs)] = task
        if not pending:
            break
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            try:
                outputs = future.result()
            except HarnessError as e:
                errors[task.metric.name] = str(e)
                continue
            task.save(cache, outputs)
            bar.update(task.rows)
    return errors
