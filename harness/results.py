"""The run document (scores.json) and the results folder: `run_document(run)` is the one JSON shape for a
run's facts — `mt-harness score --format json` prints it too — and `write_results` writes the folder
(atomic writes):

    config.yaml                      the resolved config
    testsets/<testset>.jsonl         the test set as scored: seg_id, doc_id, src, refs per segment
    hyps/<testset>/<system>.txt      one hypothesis per line
    statistics/<testset>/<system>.npz  per-segment metric statistics, one array per metric (what `compare` and
                                     `check` test differences on, with no re-scoring)
    segments.jsonl                   segment-level scores, one line per (test set, system, segment)
    scores.json                      the run document: corpus scores, signatures, significance, provenance
    leaderboard.md                   the Markdown leaderboard
    status.json                      running | completed | failed | interrupted, with the error of a failed run
                                     (a run killed outright stays "running", with the pid that ran it)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from harness.config import project_root
from harness.errors import HarnessError
from harness.provenance import git_state, package_versions
from harness.run_result import RunResult
from harness.textio import read_lines, read_text, write_bytes, write_json, write_jsonl, write_lines, write_text

SCHEMA_VERSION = 3  # 2: adds "significance"; 3: per-result "translation" facts and "translation_details" counts


def safe_filename(name: str) -> str:
    """A system or test-set name as a file name: path separators and odd characters become '_'."""
    return re.sub(r"[^\w.+@=-]+", "_", name).strip("._") or "_"


def hypotheses_path(testset: str, system: str) -> str:
    return f"hyps/{safe_filename(testset)}/{safe_filename(system)}.txt"


def testset_path(testset: str) -> str:
    return f"testsets/{safe_filename(testset)}.jsonl"


def statistics_path(testset: str, system: str) -> str:
    return f"statistics/{safe_filename(testset)}/{safe_filename(system)}.npz"


def compact(stats: np.ndarray) -> np.ndarray:
    """Statistics in the smallest exact dtype: string metrics count n-grams and edits (integers), COMET-style
    metrics are floats."""
    if stats.size and np.all(stats == np.round(stats)) and np.abs(stats).max() < 2 ** 31:
        return stats.astype(np.int32)
    return stats


def write_statistics(path: Path, statistics: dict[str, np.ndarray]) -> None:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: compact(np.asarray(stats)) for name, stats in statistics.items()})
    write_bytes(path, buffer.getvalue())


def read_statistics(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name].astype(np.float64) for name in data.files}


def significance_document(run: RunResult) -> dict[str, Any]:
    """Settings (seed, resamples, ...), their signature, and per test set and metric: every system's 95%
    interval, rank range and cluster, the pairwise p-values (raw and Holm-adjusted) and the power estimate."""
    from harness.significance import as_json

    settings = run.significance_settings
    return {"settings": settings.to_dict(), "signature": settings.signature(),
            "testsets": {ts: {metric: as_json(result) for metric, result in by_metric.items()}
                         for ts, by_metric in run.significance.items()}}


def _result_entry(r) -> dict[str, Any]:
    entry = {"testset": r.testset, "system": r.system, "status": "ok" if r.ok else "not run", "reason": r.reason,
             "empty_hypotheses": r.n_empty, "cached_translations": r.translation.cached,
             "translation": r.translation.as_dict(),
             "hypotheses_file": hypotheses_path(r.testset, r.system) if r.ok else None,
             "scores": {m: {"score": s.score, "signature": s.signature, "details": s.details}
                        for m, s in r.scores.items()}}
    if r.ok:
        entry["flags"] = [flag.as_dict() for flag in r.flags]
    if r.translation_details:  # e.g. LLM answers: how many needed cleaning
        entry["translation_details"] = {
            "segments": sum(d is not None for d in r.translation_details),
            "cleaned": sum(bool(d and d.get("cleaning")) for d in r.translation_details)}
    return entry


def run_document(run: RunResult) -> dict[str, Any]:
    """Everything about a run except segment-level data, as written to scores.json."""
    return {
        "schema_version": SCHEMA_VERSION,
        "experiment": run.experiment,
        "created": run.started,
        "seconds": round(run.seconds, 2),
        "harness": git_state(project_root()),
        "packages": package_versions(),
        "rank_by": run.rank_by,
        "testsets": {name: {"signature": ts.signature(), "segments": len(ts), "src_lang": ts.src_lang,
                            "tgt_lang": ts.tgt_lang, "num_refs": ts.num_refs, "origin": ts.origin,
                            "notes": list(ts.notes),
                            "flags": [f.as_dict() for f in run.testset_flags.get(name, [])]}
                     for name, ts in run.testsets.items()},
        "systems": {name: {"signature": s.signature(), "runtime": s.runtime_info()} for name, s in run.systems.items()},
        "metrics": {m.name: {"higher_is_better": m.higher_is_better, "class": type(m).__name__,
                             "display_digits": m.display_digits, "runtime": m.runtime_info()} for m in run.metrics},
        "results": [_result_entry(r) for r in run.results],
        "not_applicable": [{"testset": t, "system": s, "reason": why} for t, s, why in run.not_applicable],
        "metric_errors": run.metric_errors,
        "significance": significance_document(run),
    }


def segment_rows(run: RunResult):
    for r in run.results:
        if not r.ok:
            continue
        ts = run.testsets[r.testset]
        for i, (seg, hyp) in enumerate(zip(ts.segments, r.hypotheses)):
            row = {"testset": r.testset, "system": r.system, "seg_id": seg.id, "doc_id": seg.doc_id, "hyp": hyp,
                   "scores": {m: float(v[i]) for m, v in r.segment_scores.items()}}
            if r.segment_details:  # e.g. xCOMET's error spans, by metric name
                row["details"] = {m: d[i] for m, d in r.segment_details.items()}
            if r.translation_details and r.translation_details[i] is not None:  # e.g. an LLM's raw answer
                row["translation"] = r.translation_details[i]
            yield row


def update_latest_link(output_dir: Path, experiment_dir: Path | None = None) -> None:
    """`<experiment_dir>/latest` -> `output_dir` (relative, so a moved results tree keeps working); a multirun
    job's folder (`multirun_<stamp>/<n>`) is linked from the experiment folder too. Without `experiment_dir`,
    or when `output_dir` is not inside it, the link goes beside `output_dir`. Best effort: some file systems
    have no symlinks."""
    output_dir = output_dir.resolve()
    parent = experiment_dir.resolve() if experiment_dir is not None else output_dir.parent
    if parent not in output_dir.parents:
        parent = output_dir.parent
    link = parent / "latest"
    tmp = parent / f".latest.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.path.relpath(output_dir, parent), target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)


def write_status(output_dir: Path, status: str, **facts: Any) -> None:
    """status.json of a run folder: what state the run is in (see the module docstring)."""
    from datetime import datetime

    write_json(output_dir / "status.json", {"status": status, "pid": os.getpid(),
                                            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
                                            **facts})


def start_run_folder(output_dir: Path) -> None:
    """Create the run folder and mark it running; a folder that cannot be written fails here, before any work."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        write_status(output_dir, "running")
    except OSError as e:
        raise HarnessError(f"cannot write the results folder {output_dir}: {e.strerror or e}. Set "
                           f"paths.results_dir (or MT_HARNESS_RESULTS) to a folder you can write") from None


def write_results(run: RunResult, resolved_config: dict[str, Any]) -> dict[str, Any]:
    """Write the results folder of `run` (to `run.output_dir`); returns the run document (scores.json)."""
    import yaml

    from harness.report import leaderboard_markdown

    from harness.secrets import redact

    out: Path = run.output_dir
    out.mkdir(parents=True, exist_ok=True)
    # secrets (a `+hub.token=...` override, `${oc.env:HF_TOKEN}` resolved) never reach a results file
    write_text(out / "config.yaml", yaml.safe_dump(redact(resolved_config), sort_keys=False, allow_unicode=True))
    for name, ts in run.testsets.items():
        write_jsonl(out / testset_path(name), ({"seg_id": seg.id, "doc_id": seg.doc_id, "src": seg.src,
                                                "refs": list(seg.refs)} for seg in ts.segments))
    for r in run.results:
        if r.ok:
            write_lines(out / hypotheses_path(r.testset, r.system), r.hypotheses)
            if r.statistics:
                write_statistics(out / statistics_path(r.testset, r.system), r.statistics)
    write_jsonl(out / "segments.jsonl", segment_rows(run))
    doc = redact(run_document(run))
    write_json(out / "scores.json", doc)
    write_text(out / "leaderboard.md", leaderboard_markdown(doc))
    return doc


def load_scores(run_dir: str | Path) -> dict[str, Any]:
    """Read scores.json of a run folder (or of results/<experiment>/latest)."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / "scores.json"
    return json.loads(read_text(path))


# ------------------------------------------------------------------------------------------ reading a run back

def resolve_run_dir(path: str | Path) -> Path:
    """A run folder from what a user types: the folder, its scores.json, or `results/<experiment>/latest`."""
    path = Path(path)
    if path.is_file() and path.name == "scores.json":
        path = path.parent
    if not (path / "scores.json").is_file():
        if (path / "latest" / "scores.json").is_file():
            return (path / "latest").resolve()
        status = path / "status.json"
        if status.is_file():
            state = json.loads(read_text(status)).get("status")
            raise HarnessError(f"{path} is a run folder whose run is {state}: it has no scores.json")
        raise HarnessError(f"{path} is not a run folder (no scores.json); give results/<experiment>/<run> or "
                           f"results/<experiment>/latest")
    return path.resolve()


def load_run(path: str | Path) -> RunResult:
    """A results folder read back as a RunResult: test sets, hypotheses, per-segment statistics, corpus scores
    and segment scores, and the metrics rebuilt from the run's config (so scores can be recomputed from the
    statistics, e.g. for paired tests between runs). `document` holds scores.json as written; `systems` and
    `significance` are left empty (their facts are in the document)."""
    import yaml

    from harness.config import instantiate_node
    from harness.data.testset import build_testset

    folder = resolve_run_dir(path)
    doc = load_scores(folder)
    config = yaml.safe_load(read_text(folder / "config.yaml")) or {}
    metrics = [instantiate_node(node, f"metrics.{key}") for key, node in (config.get("metrics") or {}).items()]
    testsets = {}
    for name, facts in doc["testsets"].items():
        rows = [json.loads(line) for line in read_lines(folder / testset_path(name))]
        testsets[name] = build_testset(name, facts["src_lang"], facts["tgt_lang"], [r["src"] for r in rows],
                                       [tuple(r["refs"]) for r in rows], ids=[r["seg_id"] for r in rows],
                                       doc_ids=[r["doc_id"] for r in rows], origin=facts.get("origin", ""))

    def stored(entry: dict[str, Any]) -> tuple[list[str], dict[str, np.ndarray]]:
        stats_file = folder / statistics_path(entry["testset"], entry["system"])
        return (read_lines(folder / entry["hypotheses_file"]),
                read_statistics(stats_file) if stats_file.is_file() else {})

    return run_from_document(doc, testsets, metrics, stored, output_dir=folder)


def run_from_document(doc: dict[str, Any], testsets: dict[str, Any], metrics: list, stored, *,
                      output_dir: Path | None) -> RunResult:
    """A RunResult rebuilt from a run document (scores.json) and what was stored beside it: `stored(entry)`
    gives (hypotheses, statistics by metric) of one result entry that ran. Run folders (`load_run`) and
    baseline files (`harness.baseline.read_baseline`) store them differently; the rest is this."""
    from harness.metrics.base import CorpusScore
    from harness.run_result import SystemResult
    from harness.significance import SignificanceSettings

    by_name = {m.name: m for m in metrics}
    results = []
    for entry in doc["results"]:
        r = SystemResult(entry["testset"], entry["system"], ok=entry["status"] == "ok", reason=entry["reason"])
        if r.ok:
            r.hypotheses, r.statistics = stored(entry)
            for metric, s in entry["scores"].items():
                r.scores[metric] = CorpusScore(metric, s["score"], s["signature"], s.get("details", ""))
                if metric in by_name and metric in r.statistics:
                    r.segment_scores[metric] = by_name[metric].segment_scores(r.statistics[metric])
        results.append(r)
    settings = doc.get("significance", {}).get("settings") or {}
    return RunResult(experiment=doc["experiment"], testsets=testsets, systems={}, metrics=metrics, results=results,
                     significance_settings=SignificanceSettings(**settings) if settings else SignificanceSettings(),
                     not_applicable=[(x["testset"], x["system"], x["reason"]) for x in doc.get("not_applicable", [])],
                     metric_errors=doc.get("metric_errors", {}), rank_by=doc.get("rank_by", ""),
                     started=doc.get("created", ""), seconds=doc.get("seconds", 0.0), output_dir=output_dir,
                     document=doc)


def segments_frame(path: str | Path):
    """A run's segments as one tidy pandas DataFrame, one row per (test set, system, segment): `testset`,
    `system`, `segment` (0-based position in the test set), `seg_id` (the test set's own id), `doc_id`, `src`,
    `ref` (the first reference; `refs` holds all), `hyp`, and one column per metric with the segment score."""
    import pandas as pd

    run = load_run(path)
    rows = []
    for r in run.results:
        if not r.ok:
            continue
        segments = run.testsets[r.testset].segments
        for i, (seg, hyp) in enumerate(zip(segments, r.hypotheses)):
            row = {"testset": r.testset, "system": r.system, "segment": i, "seg_id": seg.id, "doc_id": seg.doc_id,
                   "src": seg.src, "ref": seg.refs[0], "refs": list(seg.refs), "hyp": hyp}
            row.update({metric: float(values[i]) for metric, values in r.segment_scores.items()})
            rows.append(row)
    return pd.DataFrame(rows)
