"""`evaluate(cfg)`: the whole experiment as one plain function (tests call it without the CLI).

config -> test sets -> systems (translate) -> metrics (statistics, scores) -> significance -> results files
-> leaderboard.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from harness.cache import Cache, cached_map, content_key, signature_key
from harness.data.testset import TestSet
from harness.errors import ConfigError, HarnessError, SystemNotApplicable, UnknownNameError
from harness.metrics.base import CorpusScore, Metric
from harness.significance import MetricSignificance, SignificanceSettings, analyse
from harness.statistics import compute_missing, plan
from harness.systems.base import TranslationSystem

log = logging.getLogger(__name__)


@dataclass
class SystemResult:
    """One system on one test set."""

    testset: str
    system: str
    ok: bool
    reason: str = ""  # why it did not run
    hypotheses: list[str] = field(default_factory=list)
    scores: dict[str, CorpusScore] = field(default_factory=dict)  # by metric name
    segment_scores: dict[str, np.ndarray] = field(default_factory=dict)
    statistics: dict[str, np.ndarray] = field(default_factory=dict)
    segment_details: dict[str, list[dict]] = field(default_factory=dict)  # by metric name, e.g. xCOMET error spans
    translate_seconds: float = 0.0
    cached_translations: int = 0

    @property
    def n_empty(self) -> int:
        return sum(1 for h in self.hypotheses if not h.strip())


@dataclass
class RunResult:
    experiment: str
    output_dir: Path | None
    testsets: dict[str, TestSet]
    systems: dict[str, TranslationSystem]
    metrics: list[Metric]
    results: list[SystemResult]
    not_applicable: list[tuple[str, str, str]] = field(default_factory=list)  # (testset, system, reason)
    metric_errors: dict[str, str] = field(default_factory=dict)
    significance_settings: SignificanceSettings = field(default_factory=SignificanceSettings)
    significance: dict[str, dict[str, MetricSignificance]] = field(default_factory=dict)  # test set -> metric ->
    rank_by: str = ""
    started: str = ""
    seconds: float = 0.0

    def for_testset(self, name: str) -> list[SystemResult]:
        return [r for r in self.results if r.testset == name]

    def get(self, testset: str, system: str) -> SystemResult:
        for r in self.results:
            if r.testset == testset and r.system == system:
                return r
        raise KeyError((testset, system))


def _instantiate_all(nodes: Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    from hydra.utils import instantiate

    if not nodes:
        raise ConfigError(f"the config selects no {kind}s; add one, e.g. `{kind}=[...]` on the command line")
    out = {}
    for key, node in nodes.items():
        if node is None or "_target_" not in node:
            raise ConfigError(f"{kind}s.{key} has no _target_; every {kind} config names the class or function to build")
        try:
            out[key] = instantiate(node)
        except HarnessError:
            raise
        except Exception as e:  # hydra wraps constructor errors; keep the cause, name the config node
            cause = e.__cause__ or e
            if isinstance(cause, HarnessError):
                raise cause from None
            raise ConfigError(f"cannot build {kind}s.{key} ({node.get('_target_')}): {cause}") from None
    return out


def resolve_output_dir(cfg, output_dir: str | Path | None) -> Path:
    if output_dir is not None:
        return Path(output_dir)
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return Path(HydraConfig.get().runtime.output_dir)
    except ImportError:  # pragma: no cover - hydra is a dependency
        pass
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Path(cfg.paths.results_dir) / cfg.experiment_name / stamp


def _translate(system: TranslationSystem, testset: TestSet, cache: Cache) -> tuple[list[str], int]:
    """Hypotheses for a test set, from the translation cache where possible. Returns (hyps, n_cached)."""
    if not system.cacheable:
        return system.translate(testset), 0
    sig = signature_key(system.signature())
    keys = [content_key(sig, testset.src_lang, testset.tgt_lang, s) for s in testset.sources]
    hyps, n_new = cached_map(cache, "translations", keys, lambda idx: system.translate(testset.subset(idx)))
    return hyps, len(keys) - n_new


def translate_all(testsets: dict[str, TestSet], systems: Mapping[str, TranslationSystem], cache: Cache,
                  strict: bool) -> tuple[list[SystemResult], list[tuple[str, str, str]]]:
    results, not_applicable = [], []
    for ts in testsets.values():
        for system in systems.values():
            start = time.perf_counter()
            try:
                hyps, n_cached = _translate(system, ts, cache)
            except SystemNotApplicable as e:
                not_applicable.append((ts.name, system.name, str(e)))
                continue
            except HarnessError as e:
                if strict:
                    raise HarnessError(f"system {system.name!r} did not run on {ts.name!r} (strict=true): {e}") from None
                log.warning("system %s not run on %s: %s", system.name, ts.name, e)
                results.append(SystemResult(ts.name, system.name, ok=False, reason=str(e)))
                continue
            if len(hyps) != len(ts):
                raise HarnessError(f"system {system.name!r} returned {len(hyps)} hypotheses for the {len(ts)} "
                                   f"segments of {ts.name!r}")
            r = SystemResult(ts.name, system.name, ok=True, hypotheses=list(hyps), cached_translations=n_cached,
                             translate_seconds=time.perf_counter() - start)
            if r.n_empty:
                log.warning("%s on %s: %d empty hypotheses (scored as empty)", system.name, ts.name, r.n_empty)
            results.append(r)
    return results, not_applicable


def score_all(testsets: dict[str, TestSet], metrics: list[Metric], results: list[SystemResult],
              strict: bool, cache: Cache | None = None, workers: int | None = 1) -> dict[str, str]:
    """Fill statistics, corpus and segment scores in place; returns metric name -> error for metrics that failed.

    Statistics come from the cache where possible; the rest are computed for all systems together, in
    `workers` processes (None: one per CPU) for string metrics."""
    cache = cache or Cache(None)
    jobs = [(r, plan(metric, testsets[r.testset], r.hypotheses, cache))
            for metric in metrics for r in results if r.ok]
    errors = compute_missing([job for _, job in jobs], cache, workers)
    if errors and strict:
        name, message = next(iter(errors.items()))
        raise HarnessError(f"metric {name} failed (strict=true): {message}")
    for name, message in errors.items():
        log.warning("metric %s not computed: %s", name, message)
    for r, job in jobs:
        metric = job.metric
        if metric.name in errors:
            continue
        stats, details, n_computed = job.result()
        if n_computed < len(stats):
            log.info("%s for %s on %s: %d of %d segments from the cache", metric.name, r.system, r.testset,
                     len(stats) - n_computed, len(stats))
        r.statistics[metric.name] = stats
        r.scores[metric.name] = metric.corpus_score(stats, job.testset.num_refs)
        r.segment_scores[metric.name] = metric.segment_scores(stats)
        if details is not None:
            r.segment_details[metric.name] = details
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


def evaluate(cfg, output_dir: str | Path | None = None, write: bool = True) -> RunResult:
    """Run the experiment described by a composed config; write results unless `write=False`."""
    from omegaconf import OmegaConf

    from harness.results import write_results

    started = datetime.now().astimezone()
    t0 = time.perf_counter()
    strict = bool(cfg.get("strict", False))
    testsets: dict[str, TestSet] = _instantiate_all(cfg.get("testsets"), "testset")
    testsets = {ts.name: ts for ts in testsets.values()}
    metrics: list[Metric] = list(_instantiate_all(cfg.get("metrics"), "metric").values())
    systems: dict[str, TranslationSystem] = _instantiate_all(cfg.get("systems"), "system")
    for key, system in systems.items():
        system.config_key = f"systems.{key}"
    names = [s.name for s in systems.values()]
    if len(set(names)) != len(names):
        raise ConfigError(f"two systems share a name: {sorted(n for n in names if names.count(n) > 1)}; "
                          f"set distinct `name:` fields")
    rank_by = cfg.get("rank_by") or metrics[0].name
    if rank_by not in [m.name for m in metrics]:
        raise UnknownNameError("rank_by metric", rank_by, [m.name for m in metrics])
    settings = SignificanceSettings.from_config(cfg.get("significance"))
    if settings.baseline is not None and settings.baseline not in names:
        raise UnknownNameError("significance.baseline system", settings.baseline, names)

    cache_cfg = cfg.get("cache") or {}
    cache_file = Path(cache_cfg["dir"]) / "cache.sqlite" if cache_cfg.get("dir") else None
    translation_cache = Cache(cache_file if cache_cfg.get("translations", False) else None)
    statistics_cache = Cache(cache_file if cache_cfg.get("statistics", False) else None)
    for ts in testsets.values():
        log.info("test set %s: %d segments, %s", ts.name, len(ts), ts.signature())
    results, not_applicable = translate_all(testsets, systems, translation_cache, strict)
    metric_errors = score_all(testsets, metrics, results, strict, statistics_cache, workers=cfg.get("workers"))
    translation_cache.close()
    statistics_cache.close()
    significance = compare_systems(testsets, metrics, results, settings)

    run = RunResult(experiment=str(cfg.get("experiment_name", "default")), output_dir=None, testsets=testsets,
                    systems={s.name: s for s in systems.values()}, metrics=metrics, results=results,
                    not_applicable=not_applicable, metric_errors=metric_errors, significance_settings=settings,
                    significance=significance, rank_by=rank_by,
                    started=started.isoformat(timespec="seconds"), seconds=time.perf_counter() - t0)
    if write:
        run.output_dir = resolve_output_dir(cfg, output_dir)
        write_results(run, OmegaConf.to_container(cfg, resolve=True))
        log.info("results written to %s", run.output_dir)
    return run
