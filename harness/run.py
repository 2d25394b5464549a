"""`evaluate(cfg)`: the whole experiment as one plain function (tests call it without the CLI).

config -> test sets -> systems (translate) -> metrics (statistics, scores) -> significance -> results files.
The steps are plain functions too (`translate_all`, `score_all`, `compare_systems`); the `score` command
runs the same steps on files.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.cache import SANITY, TRANSLATIONS, Cache, cached_map, sanity_key, translation_key
from harness.config import check_run_settings, instantiate_group, run_output_dir
from harness.data.testset import TestSet
from harness.errors import ConfigError, HarnessError, ModelUnavailableError, SystemNotApplicable, UnknownNameError
from harness.metric_statistics import compute_missing, look_up_statistics
from harness.metrics.base import Metric
from harness.progress import progress_bar
from harness.run_result import RunResult, SystemResult, TranslationFacts
from harness.significance import MetricSignificance, SignificanceSettings, analyse
from harness.systems.base import TranslationSystem

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ translation

def _cache_value(hypothesis: str, details: dict[str, Any] | None) -> Any:
    return hypothesis if details is None else {"hyp": hypothesis, "details": details}


def _from_cache_value(value: Any) -> tuple[str, dict[str, Any] | None]:
    return (value["hyp"], value.get("details")) if isinstance(value, dict) else (value, None)


def translate_testset(system: TranslationSystem, testset: TestSet, cache: Cache) -> SystemResult:
    """One system's hypotheses for one test set. Cached translations are looked up first; the system
    translates the rest, and each batch it finishes is stored in the cache at once (one transaction), so an
    interrupted run loses at most the batch in progress."""
    start = time.perf_counter()
    n = len(testset)
    hyps: list[str | None] = [None] * n
    details: list[dict[str, Any] | None] = [None] * n
    facts = TranslationFacts()
    keys: list[str] = []
    if system.cacheable:
        signature = system.signature()
        keys = [translation_key(signature, testset.src_lang, testset.tgt_lang, s) for s in testset.sources]
        found = cache.get_many(TRANSLATIONS, keys)
        for i, key in enumerate(keys):
            if key in found:
                hyps[i], details[i] = _from_cache_value(found[key])
        facts.cached = sum(h is not None for h in hyps)
    missing = [i for i, h in enumerate(hyps) if h is None]
    if missing:
        subset = testset if len(missing) == n else testset.subset(missing)
        # one bar per system and test set, on a terminal only: segments done / total, segments per second, ETA
        with progress_bar(total=len(missing), desc=f"{system.name} on {testset.name}", unit="seg",
                          leave=False) as bar:
            for batch in system.translate_batches(subset):
                positions = [missing[i] for i in batch.indices]
                batch_details = batch.details or [None] * len(positions)
                for i, hyp, d in zip(positions, batch.hypotheses, batch_details):
                    hyps[i], details[i] = hyp, d
                if keys:
                    cache.put_many(TRANSLATIONS, {keys[i]: _cache_value(h, d)
                                                  for i, h, d in zip(positions, batch.hypotheses, batch_details)})
                facts.translated += len(positions)
                facts.batches += 1
                facts.generated_tokens += batch.generated_tokens
                facts.oom_retries += batch.oom_retries
                bar.update(len(positions))
    absent = [i for i, h in enumerate(hyps) if h is None]
    if absent:
        raise HarnessError(f"system {system.name!r} gave no hypothesis for {len(absent)} of the {n} segments of "
                           f"{testset.name!r} (first: segment {testset.segments[absent[0]].id})")
    facts.seconds = time.perf_counter() - start
    return SystemResult(testset.name, system.name, ok=True, hypotheses=list(hyps),  # type: ignore[arg-type]
                        translation_details=details if any(d is not None for d in details) else None,
                        translation=facts)


def translate_all(testsets: Mapping[str, TestSet], systems: Mapping[str, TranslationSystem], cache: Cache,
                  strict: bool) -> tuple[list[SystemResult], list[tuple[str, str, str]]]:
    """Every system on every test set. A system that fails on a test set (it cannot load, its file is bad, or
    it raises anything while translating) is "not run" there with the reason, and the run goes on; one that
    cannot load is not tried again on the other test sets. With `strict`, the first failure ends the run.
    Returns (results, not applicable (test set, system, why))."""
    results, not_applicable = [], []
    unloadable: dict[str, str] = {}  # system name -> why it cannot load
    for ts in testsets.values():
        for system in systems.values():
            if system.name in unloadable:
                results.append(SystemResult(ts.name, system.name, ok=False, reason=unloadable[system.name]))
                continue
            try:
                r = translate_testset(system, ts, cache)
            except SystemNotApplicable as e:
                not_applicable.append((ts.name, system.name, str(e)))
                continue
            except Exception as e:  # one system's failure must not cost the others their results
                reason = str(e) if isinstance(e, HarnessError) else f"{type(e).__name__} while translating: {e}"
                # the whole reason (and any traceback) to run.log only (configs/hydra/default.yaml routes this
                # logger there); the terminal gets one short line, the leaderboard's notes the reason once
                logging.getLogger("harness.runlog").error("system %s failed on %s: %s", system.name, ts.name,
                                                          reason, exc_info=not isinstance(e, HarnessError))
                if strict:
                    raise HarnessError(f"system {system.name!r} did not run on {ts.name!r} (strict=true): "
                                       f"{reason}") from (None if isinstance(e, HarnessError) else e)
                short = reason if len(reason) <= 90 else reason[:88].rsplit(" ", 1)[0] + " …"
                if isinstance(e, ModelUnavailableError):
                    unloadable[system.name] = reason
                    log.warning("system %s not run: %s (the reason in full: leaderboard notes)", system.name, short)
                else:
                    log.warning("system %s not run on %s: %s (the reason in full: leaderboard notes)", system.name,
                                ts.name, short)
                results.append(SystemResult(ts.name, system.name, ok=False, reason=reason))
                continue
            if r.n_empty:
                log.warning("%s on %s: %d empty hypotheses (scored as empty)", system.name, ts.name, r.n_empty)
            results.append(r)
    return results, not_applicable


# ------------------------------------------------------------------------------------------ scoring

def score_all(testsets: Mapping[str, TestSet], metrics: Sequence[Metric], results: Sequence[SystemResult],
              strict: bool, cache: Cache | None = None, workers: int | None = 1) -> dict[str, str]:
    """Fill statistics, corpus and segment scores in place; returns metric name -> error for metrics that failed.

    Statistics come from the cache where possible; the rest are computed for all systems together, in
    `workers` processes (None: one per CPU) for string metrics."""
    cache = cache or Cache(None)
    # each test set gets the metric as it applies to its target language (BLEU's tokenizer for zh, ja, ko)
    digests: dict[int, dict] = {id(r): {} for r in results}  # each output's text hashed once for all metrics
    jobs = [(r, look_up_statistics(metric.for_language(testsets[r.testset].tgt_lang), testsets[r.testset],
                                   r.hypotheses, cache, digests=digests[id(r)]))
            for metric in metrics for r in results if r.ok]
    errors = compute_missing([job for _, job in jobs], cache, workers)
    if errors and strict:
        name, message = next(iter(errors.items()))
        raise HarnessError(f"metric {name} failed (strict=true): {message}")
    for name, message in errors.items():
        log.warning("metric %s not computed: %s", name, message)
    n_rows = n_cached = 0
    for r, job in jobs:
        metric = job.metric
        if metric.name in errors:
            continue
        stats, details, n_computed = job.result()
        n_rows += len(stats)
        n_cached += len(stats) - n_computed
        r.statistics[metric.name] = stats
        r.scores[metric.name] = metric.corpus_score(stats, job.testset.num_refs)
        r.segment_scores[metric.name] = metric.segment_scores(stats)
        if details is not None:
            r.segment_details[metric.name] = details
    if n_cached:
        log.info("metric statistics: %d of %d segment rows from the cache", n_cached, n_rows)
    return errors


def compare_systems(testsets: Mapping[str, TestSet], metrics: Sequence[Metric], results: Sequence[SystemResult],
                    settings: SignificanceSettings) -> dict[str, dict[str, MetricSignificance]]:
    """Confidence intervals, paired tests, clusters and power per test set and metric (see harness.significance).

    A baseline that did not run on a test set is left out there (with a log line), not an error."""
    out: dict[str, dict[str, MetricSignificance]] = {}
    if not settings.enabled:
        return out
    for name in testsets:
        ok = [r for r in results if r.testset == name and r.ok]
        present = [m for m in metrics if ok and all(m.name in r.statistics for r in ok)]
        if not present:
            continue
        local = settings
        if settings.baseline is not None and settings.baseline not in [r.system for r in ok]:
            log.info("significance on %s: baseline %s did not run there; no baseline p-values", name,
                     settings.baseline)
            local = dataclasses.replace(settings, baseline=None)
        stats = {m.name: [r.statistics[m.name] for r in ok] for m in present}
        scores = {m.name: [r.scores[m.name].score for r in ok] for m in present}
        out[name] = analyse(present, [r.system for r in ok], stats, scores, local)
    return out


# ------------------------------------------------------------------------------------------ sanity checks

def sanity_thresholds(node: Mapping[str, Any] | None):
    """`sanity.thresholds` of a run config as `harness.sanity.Thresholds` (unknown names and wrong types are
    one-line errors)."""
    import dataclasses as dc
    import typing

    from harness.config import check_value
    from harness.sanity import Thresholds

    node = dict(node or {})
    known = {f.name: f for f in dc.fields(Thresholds)}
    hints = typing.get_type_hints(Thresholds)
    for key, value in node.items():
        if key not in known:
            raise UnknownNameError("sanity threshold", key, list(known))
        check_value(value, hints[key], f"sanity.thresholds.{key}")
    return Thresholds(**node)


def _file_facts(path: str | None):
    from harness.sanity import file_facts

    if not path or not Path(path).is_file() or Path(path).suffix == ".gz":
        return None
    return file_facts(Path(path).read_bytes())


def check_outputs(testsets: Mapping[str, TestSet], systems: Mapping[str, TranslationSystem],
                  results: Sequence[SystemResult], thresholds, cache: Cache | None = None) -> dict[str, list]:
    """Sanity checks (harness/sanity.py) of every output that ran, into `result.flags`, and of every test set
    (returned by test-set name). Nothing here changes a score: the flags say when one is probably meaningless.
    With a cache file, flags are kept by content (a re-run checks nothing again: language identification alone
    takes 0.1 s per output)."""
    from dataclasses import asdict

    from harness.sanity import (
        check_hypotheses,
        check_references,
        compare_file_facts,
        flag_from_dict,
        implementation_tag,
    )

    cache = cache if cache is not None else Cache(None)
    settings = {"thresholds": asdict(thresholds), "implementation": implementation_tag()} \
        if cache.path is not None else {}

    def cached(check: str, ts: TestSet, rows, compute) -> list:
        if cache.path is None:  # no key to build
            return compute()
        key = sanity_key(check, {**settings, "src_lang": ts.src_lang, "tgt_lang": ts.tgt_lang}, rows)
        (stored,), _ = cached_map(cache, SANITY, [key], lambda missing: [[f.as_dict() for f in compute()]])
        return [flag_from_dict(d) for d in stored]

    by_name = {s.name: s for s in systems.values()}
    testset_flags = {
        name: cached("references", ts, ((s.src, *s.refs) for s in ts.segments),
                     lambda ts=ts: check_references(ts.sources, ts.references, ts.src_lang, ts.tgt_lang, thresholds))
        for name, ts in testsets.items()}
    for r in results:
        if not r.ok:
            continue
        ts, system = testsets[r.testset], by_name[r.system]
        flags = cached("hypotheses", ts, ((s.src, h, *s.refs) for s, h in zip(ts.segments, r.hypotheses)),
                       lambda: check_hypotheses(ts.sources, ts.references, r.hypotheses, ts.src_lang, ts.tgt_lang,
                                                thresholds))
        hyp_facts = _file_facts(system.output_file(ts.name))
        ref_facts = _file_facts(ts.reference_files[0]) if ts.reference_files else None
        if hyp_facts and ref_facts:
            flags += compare_file_facts(hyp_facts, ref_facts, thresholds)
        r.flags = [f for f in flags if f.check not in system.expected_flags]
        for flag in r.flags:
            log.warning("%s on %s: %s %s: %s", r.system, r.testset, flag.severity, flag.check, flag.message)
    for name, flags in testset_flags.items():
        for flag in flags:
            log.warning("test set %s: %s %s: %s", name, flag.severity, flag.check, flag.message)
    return testset_flags


# ------------------------------------------------------------------------------------------ the experiment

def _caches(cfg) -> tuple[Cache, Cache]:
    """(translation cache, statistics cache) as the `cache:` config asks; both may be the same file."""
    cache_cfg = cfg.get("cache") or {}
    cache_file = Path(cache_cfg["dir"]) / "cache.sqlite" if cache_cfg.get("dir") else None
    return (Cache(cache_file if cache_cfg.get("translations", False) else None),
            Cache(cache_file if cache_cfg.get("statistics", False) else None))


def evaluate(cfg, output_dir: str | Path | None = None, write: bool = True) -> RunResult:
    """Run the experiment described by a composed config; write results unless `write=False`."""
    from omegaconf import OmegaConf

    from harness.results import start_run_folder, update_latest_link, write_results, write_status

    started = datetime.now().astimezone()
    t0 = time.perf_counter()
    check_run_settings(cfg)
    strict = bool(cfg.get("strict", False))
    testsets: dict[str, TestSet] = {ts.name: ts for ts in instantiate_group(cfg.get("testsets"), "testset").values()}
    metrics: list[Metric] = list(instantiate_group(cfg.get("metrics"), "metric").values())
    from harness.systems.file import systems_from_hypotheses

    shorthand = systems_from_hypotheses(cfg.get("hypotheses"), list(testsets))
    systems: dict[str, TranslationSystem] = (instantiate_group(cfg.get("systems"), "system")
                                             if cfg.get("systems") or not shorthand else {})
    for key, system in systems.items():
        system.config_key = f"systems.{key}"
    for name, system in shorthand.items():
        system.config_key = f"hypotheses.{name}"
        systems[f"hypotheses.{name}"] = system
    names = [s.name for s in systems.values()]
    if len(set(names)) != len(names):
        raise ConfigError(f"two systems share a name: {sorted({n for n in names if names.count(n) > 1})}; "
                          f"set distinct `name:` fields")
    rank_by = cfg.get("rank_by") or metrics[0].name
    if rank_by not in [m.name for m in metrics]:
        raise UnknownNameError("rank_by metric", rank_by, [m.name for m in metrics])
    settings = SignificanceSettings.from_config(cfg.get("significance"))
    if settings.baseline is not None and settings.baseline not in names:
        raise UnknownNameError("significance.baseline system", settings.baseline, names)

    output = run_output_dir(cfg, output_dir) if write else None
    if output is not None:
        start_run_folder(output)
    try:
        run = _run(cfg, testsets, systems, metrics, settings, rank_by, strict, started, t0)
        if output is not None:
            run.output_dir = output
            run.document = write_results(run, OmegaConf.to_container(cfg, resolve=True))
    except BaseException as e:
        if output is not None:
            interrupted = isinstance(e, (KeyboardInterrupt, SystemExit))
            write_status(output, "interrupted" if interrupted else "failed",
                         error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        raise
    if output is not None:
        write_status(output, "completed", seconds=round(run.seconds, 2))
        update_latest_link(output, Path(cfg.paths.results_dir) / str(cfg.experiment_name))
        log.info("results written to %s", output)
    return run


def _run(cfg, testsets: dict[str, TestSet], systems: dict[str, TranslationSystem], metrics: list[Metric],
         settings: SignificanceSettings, rank_by: str, strict: bool, started: datetime, t0: float) -> RunResult:
    translation_cache, statistics_cache = _caches(cfg)
    for ts in testsets.values():
        log.info("test set %s: %d segments, %s", ts.name, len(ts), ts.signature())
    sanity = cfg.get("sanity") or {}
    try:
        results, not_applicable = translate_all(testsets, systems, translation_cache, strict)
        metric_errors = score_all(testsets, metrics, results, strict, statistics_cache, workers=cfg.get("workers"))
        testset_flags = (check_outputs(testsets, systems, results, sanity_thresholds(sanity.get("thresholds")),
                                       statistics_cache) if sanity.get("enabled", True) else {})
    finally:
        translation_cache.close()
        statistics_cache.close()
    significance = compare_systems(testsets, metrics, results, settings)
    return RunResult(experiment=str(cfg.get("experiment_name", "default")), testsets=testsets,
                     systems={s.name: s for s in systems.values()}, metrics=metrics, results=results,
                     significance_settings=settings, significance=significance, not_applicable=not_applicable,
                     metric_errors=metric_errors, testset_flags=testset_flags, rank_by=rank_by,
                     started=started.isoformat(timespec="seconds"), seconds=time.perf_counter() - t0)
