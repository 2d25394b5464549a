"""Per-segment statistics for many systems (harness/metric_statistics.py): worker processes give the same numbers as
one process, the persistent cache makes a re-run compute nothing, and failures are reported per metric."""

import dataclasses
import json
import pickle

import pytest
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT, count_statistics_calls

import harness.metric_statistics as statistics
from harness.cache import STATISTICS, STATISTICS_BLOCK, STATISTICS_MATRIX, Cache
from harness.cli import main
from harness.config import build_metric
from harness.data import load_parallel
from harness.errors import HarnessError
from harness.metric_statistics import compute_missing, look_up_statistics
from harness.metrics.base import Metric
from harness.metrics.sacrebleu_metrics import CHRF
from harness.textio import read_lines


@pytest.fixture(scope="module")
def flores():
    ts = load_parallel("flores", FLORES_SRC, FLORES_REF)
    systems = [read_lines(OPUS_2020), read_lines(OPUS_BT), [s.src for s in ts.segments]]
    return ts, systems


def statistics_of(metrics, ts, systems, workers, tmp_path=None):
    cache = Cache(None)
    jobs = [look_up_statistics(m, ts, hyps, cache) for m in metrics for hyps in systems]
    assert compute_missing(jobs, cache, workers=workers, progress=False) == {}
    return [job.result()[0] for job in jobs]


def test_worker_processes_give_the_statistics_of_one_process(flores):
    ts, systems = flores
    metrics = [build_metric("bleu"), build_metric("chrf++"), build_metric("ter")]
    sequential = statistics_of(metrics, ts, systems, workers=1)
    parallel = statistics_of(metrics, ts, systems, workers=2)
    assert len(parallel) == 9
    for a, b in zip(sequential, parallel):
        assert a.shape == b.shape and (a == b).all()


def test_spawned_workers_give_the_same_statistics(flores, monkeypatch):
    # spawn is what runs once torch is imported (fork is unsafe then): workers re-import the harness
    import multiprocessing

    ts, systems = flores
    small = dataclasses.replace(ts, segments=ts.segments[:40])
    hyps = [h[:40] for h in systems]
    monkeypatch.setattr(statistics, "MIN_PARALLEL_ROWS", 0)
    monkeypatch.setattr(statistics, "_pool_context", lambda: multiprocessing.get_context("spawn"))
    parallel = statistics_of([build_metric("chrf")], small, hyps, workers=2)
    expected = [build_metric("chrf").segment_statistics(h, [s.refs for s in small.segments]) for h in hyps]
    assert all((a == b).all() for a, b in zip(parallel, expected))


def test_metric_objects_travel_to_workers_without_their_reference_caches(flores):
    ts, systems = flores
    refs = [s.refs for s in ts.segments]
    for metric in (build_metric("bleu"), build_metric("chrf++"), build_metric("ter")):
        metric.segment_statistics(systems[0][:200], refs[:200])
        payload = len(pickle.dumps(metric))
        assert payload < 5000, (metric.name, payload)  # the prepared references stay behind
        assert metric._sb._ref_cache is not None  # and the original keeps them


class Failing(Metric):
    """A metric whose statistics fail in a worker process."""

    name = "failing"
    parallel_safe = True

    def signature(self, num_refs=1):
        return "failing"

    def segment_statistics(self, hyps, refs, srcs=None):
        raise HarnessError("no statistics today")

    def scores_from_statistics(self, summed):
        return summed[..., 0]

    def segment_scores(self, stats):
        return stats[:, 0]


def test_a_failing_metric_is_reported_and_the_others_complete(flores):
    ts, systems = flores
    cache = Cache(None)
    jobs = [look_up_statistics(m, ts, hyps, cache) for m in (Failing(), build_metric("bleu")) for hyps in systems]
    errors = compute_missing(jobs, cache, workers=2, progress=False)
    assert errors == {"failing": "no statistics today"}
    assert all(job.result()[0].shape == (1012, 10) for job in jobs if job.metric.name == "BLEU")


def test_score_with_a_cache_dir_computes_nothing_the_second_time(tmp_path, monkeypatch, capsys):
    calls = count_statistics_calls(monkeypatch, CHRF)
    argv = ["score", "-r", str(FLORES_REF), str(OPUS_2020), str(OPUS_BT), "-m", "chrf", "--paired-bs",
            "--cache-dir", str(tmp_path), "-j", "1", "--format", "json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert sum(calls) == 2 * 1012
    calls.clear()
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert calls == []
    assert [r["scores"] for r in again["results"]] == [r["scores"] for r in first["results"]]
    assert again["significance"] == first["significance"]


def test_another_implementation_tag_misses_the_statistics_cache(flores, tmp_path):
    """A fix to the extraction code bumps the metric's implementation tag: statistics the old code stored are
    not reused, though the public signature (and so every reported number's label) stays the same."""
    from harness.metric_statistics import segment_statistics

    ts, systems = flores
    cache = Cache(tmp_path / "c.sqlite")
    metric = build_metric("chrf")
    assert segment_statistics(metric, ts, systems[0], cache)[1] == 1012
    assert segment_statistics(metric, ts, systems[0], cache)[1] == 0
    signature = metric.signature()
    metric.implementation = metric.implementation + "-fixed"
    assert metric.signature() == signature
    assert segment_statistics(metric, ts, systems[0], cache)[1] == 1012
    cache.close()


def test_string_metrics_are_cached_a_block_of_segments_at_a_time(flores, tmp_path):
    """1,012 segments in blocks of 1,000: two values per system, no row per segment; one changed hypothesis
    makes its block (and only its block) be computed again."""
    ts, systems = flores
    cache = Cache(tmp_path / "c.sqlite")
    metric = build_metric("chrf")
    jobs = [look_up_statistics(metric, ts, hyps, cache) for hyps in systems]
    compute_missing(jobs, cache, workers=1, progress=False)
    assert cache.count(STATISTICS_BLOCK) == 3 * 2 and cache.count(STATISTICS) == cache.count(STATISTICS_MATRIX) == 0
    again = look_up_statistics(metric, ts, systems[0], cache)
    assert len(again.missing) == 0 and (again.result()[0] == jobs[0].result()[0]).all()
    refs = [s.refs for s in ts.segments]
    for i, block in ((5, range(1000)), (1011, range(1000, 1012))):
        changed = list(systems[0])
        changed[i] = "a new translation"
        partial = look_up_statistics(metric, ts, changed, cache)
        assert list(partial.missing) == list(block)
        compute_missing([partial], cache, workers=1, progress=False)
        assert (partial.result()[0] == build_metric("chrf").segment_statistics(changed, refs)).all()


def test_model_metrics_keep_a_row_per_segment_and_read_a_complete_system_as_one_matrix(flores, tmp_path):
    """A metric whose rows took a model's forward pass (here chrF made to look like one) keeps every row: one
    changed hypothesis computes only that segment."""
    ts, systems = flores
    cache = Cache(tmp_path / "c.sqlite")
    metric = build_metric("chrf")
    metric.parallel_safe = False
    jobs = [look_up_statistics(metric, ts, hyps, cache) for hyps in systems]
    compute_missing(jobs, cache, workers=1, progress=False)
    assert cache.count(STATISTICS_MATRIX) == 3 and cache.count(STATISTICS_BLOCK) == 0
    assert cache.count(STATISTICS) == len({k for job in jobs for k in job.keys})  # shared rows stored once
    again = look_up_statistics(metric, ts, systems[0], cache)
    assert again.matrix is not None and again.missing == []
    assert (again.result()[0] == jobs[0].result()[0]).all()
    # one changed hypothesis: another whole-system key, and only that segment is computed
    changed = list(systems[0])
    changed[5] = "a new translation"
    partial = look_up_statistics(metric, ts, changed, cache)
    assert partial.matrix is None and partial.missing == [5]


def test_without_a_cache_file_no_key_is_built_and_chunks_share_prepared_references(flores, monkeypatch):
    """`Cache(None)` (`score` without --cache-dir) stores nothing, so no key is built (at a million segments
    that is most of the time and memory); segments are computed in chunks, each chunk's references prepared
    once for all systems; the numbers are those of one call per system."""
    import harness.cache
    from harness.metrics.chrf_fast import FastCHRF

    ts, systems = flores

    def no_keys(*args):
        raise AssertionError("a cache key was built")

    monkeypatch.setattr(statistics, "statistics_key", no_keys)
    monkeypatch.setattr(statistics, "statistics_matrix_key", no_keys)
    monkeypatch.setattr(harness.cache, "content_key", no_keys)
    monkeypatch.setattr(statistics, "STRING_CHUNK", 400)
    prepared = []
    original = FastCHRF._cache_references
    monkeypatch.setattr(FastCHRF, "_cache_references",
                        lambda self, refs: prepared.append(len(refs[0])) or original(self, refs))
    metric = build_metric("chrf++")
    got = statistics_of([metric], ts, systems, workers=1)
    assert prepared == [400, 400, 212]  # three chunks, each prepared once for the three systems
    refs = [s.refs for s in ts.segments]
    for stats, hyps in zip(got, systems):
        assert stats.dtype == float and (stats == build_metric("chrf++").segment_statistics(hyps, refs)).all()


def test_partly_cached_systems_in_small_chunks_in_workers(flores, tmp_path, monkeypatch):
    """Blocks missing here and there (one system cached, one changed in a few segments, one new), computed by
    two worker processes in chunks of 100 segments: the statistics of one plain call per system."""
    ts, systems = flores
    cache = Cache(tmp_path / "c.sqlite")
    metrics = [build_metric("bleu"), build_metric("chrf++")]
    monkeypatch.setattr(statistics, "STRING_CACHE_BLOCK", 100)
    for m in metrics:
        statistics.segment_statistics(m, ts, systems[0], cache)
    changed = list(systems[0])
    for i in (3, 500, 1011):
        changed[i] = "a changed translation"
    monkeypatch.setattr(statistics, "MIN_PARALLEL_ROWS", 0)
    monkeypatch.setattr(statistics, "STRING_CHUNK", 100)
    inputs = [systems[0], changed, systems[1][:300] + systems[2][300:]]
    jobs = [look_up_statistics(m, ts, hyps, cache) for m in metrics for hyps in inputs]
    # blocks of 100: the changed segments' blocks 0, 5 and 10 (10 holds the last 12 segments)
    assert [len(job.missing) for job in jobs][:2] == [0, 212] and len(jobs[2].missing) == 1012
    assert compute_missing(jobs, cache, workers=2, progress=False) == {}
    refs = [s.refs for s in ts.segments]
    for job, (m, hyps) in zip(jobs, [(m, h) for m in metrics for h in inputs]):
        assert (job.result()[0] == build_metric(m.name.lower()).segment_statistics(hyps, refs)).all()
    cache.close()


def test_a_run_hashes_each_outputs_text_once_for_all_its_string_metrics(flores, tmp_path, monkeypatch):
    """BLEU and chrF depend on the same (hypothesis, references) rows: their cache keys share one digest per
    block, so each output is hashed once; a warm re-run then finds every block of both metrics."""
    from harness.run import score_all
    from harness.run_result import SystemResult

    ts, systems = flores
    hashed = []
    digests = statistics.block_digests
    monkeypatch.setattr(statistics, "block_digests", lambda *a: hashed.append(a[1]) or digests(*a))

    def run():
        results = [SystemResult(ts.name, f"s{i}", ok=True, hypotheses=h) for i, h in enumerate(systems[:2])]
        assert score_all({ts.name: ts}, [build_metric("bleu"), build_metric("chrf")], results, strict=True,
                         cache=Cache(tmp_path / "c.sqlite"), workers=1) == {}
        return results

    first = run()
    assert hashed == systems[:2]  # once per output, not once per metric
    calls = count_statistics_calls(monkeypatch, CHRF)
    again = run()
    assert calls == [] and all((a.statistics[m] == b.statistics[m]).all() for a, b in zip(first, again)
                               for m in ("BLEU", "chrF2"))


def test_an_interrupt_while_the_pool_starts_stays_an_interrupt(monkeypatch):
    """Ctrl-C or SIGTERM inside `submit`, before the pool's manager thread has started, makes `shutdown` fail
    with "cannot join thread before it is started": the run must still end as interrupted (exit 130), not with
    that error."""
    from concurrent.futures import ProcessPoolExecutor

    def interrupted(*args):
        raise KeyboardInterrupt

    def not_started(self, *args, **kwargs):
        raise RuntimeError("cannot join thread before it is started")

    monkeypatch.setattr(statistics, "_run_pool", interrupted)
    monkeypatch.setattr(ProcessPoolExecutor, "shutdown", not_started)
    with pytest.raises(KeyboardInterrupt):
        statistics._pooled([], Cache(None), 1, None, {})
