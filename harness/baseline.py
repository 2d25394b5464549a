"""Baseline files, and reading whatever `compare` and `check` are given as one RunResult.

A baseline file is a run folder cut down to what a regression check needs, in one file small enough to commit
(`mt-harness baseline RUN -o FILE`): gzip-compressed JSON (`zcat FILE | jq .` reads it), written
deterministically (no time stamp in the gzip header, so the same run gives the same bytes):

    format, format_version   "mt-harness-baseline", 1
    source                   the run folder it was made from
    document                 the run's scores.json (corpus scores and their signatures, test-set signatures with
                             the content hash, system signatures, package versions, git commit, significance
                             settings) without the run's own per-test-set intervals and p-values
    metrics                  the `metrics:` section of the run's config.yaml: rebuilds the Metric objects that
                             score resamples of the statistics
    testsets                 per test set the segment ids (the content itself stays in the repository: its hash
                             is in the document's test-set signature)
    statistics               per test set, system and metric the per-segment statistics, one list per statistic
                             (column-major: each list holds one kind of count, which compresses best)
    hypotheses               per test set and system, only with --with-hypotheses

`load_scored_run(path)` returns a RunResult from a run folder, a `latest` link or a baseline file, so
`harness.compare` never needs to know which it got. A baseline's test sets are `RecordedTestSet`s: segment ids
and the recorded signature, no sources or references. `multirun_jobs(path)` finds the job folders of a Hydra
multirun folder (results/<exp>/multirun_<stamp>/0, 1, ...).
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.testset import Segment, TestSet
from harness.errors import DataError, HarnessError
from harness.results import compact, load_run, resolve_run_dir
from harness.run_result import RunResult

FORMAT = "mt-harness-baseline"
FORMAT_VERSION = 1
#: the file name suffix `mt-harness baseline` suggests; any name works (the content says what it is)
SUFFIX = ".baseline.json.gz"
_GZIP_MAGIC = b"\x1f\x8b"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedTestSet(TestSet):
    """A test set known from a baseline file by its recorded facts: segment ids, languages, reference count and
    content hash. `signature()` and `fingerprint()` give the recorded values; sources and references are empty
    (compare and check need only the hash, which proves that the content is the same)."""

    recorded_fingerprint: str = ""
    recorded_num_refs: int = 1

    def fingerprint(self) -> str:
        return self.recorded_fingerprint

    @property
    def num_refs(self) -> int:
        return self.recorded_num_refs


@dataclass(frozen=True)
class BaselineWritten:
    """What `write_baseline` wrote, for the command's message."""

    path: Path
    bytes: int
    testsets: int
    systems: int
    metrics: int
    hypotheses: bool


# ------------------------------------------------------------------------------------------------ writing

def baseline_document(run_folder: str | Path, with_hypotheses: bool = False) -> dict[str, Any]:
    """The baseline of a run folder (or `latest` link) as a JSON-ready dict; see the module docstring."""
    import yaml

    from harness.textio import read_text

    if multirun_jobs(run_folder):
        raise DataError(f"{run_folder} is a multirun folder; make a baseline from one of its jobs, e.g. "
                        f"{Path(run_folder) / '0'}")
    run = load_run(run_folder)
    folder = run.output_dir
    config = yaml.safe_load(read_text(folder / "config.yaml")) or {}
    doc = json.loads(json.dumps(run.document))  # a copy: the run's own document stays as read
    significance = doc.get("significance") or {}
    doc["significance"] = {key: significance[key] for key in ("settings", "signature") if key in significance}
    statistics: dict[str, dict[str, dict[str, list]]] = {}
    hypotheses: dict[str, dict[str, list[str]]] = {}
    for entry, r in zip(doc["results"], run.results):
        entry["hypotheses_file"] = None
        if not r.ok:
            continue
        missing = [m for m in r.scores if m not in r.statistics]
        if missing:
            raise DataError(f"{folder} has no per-segment statistics of {', '.join(missing)} for system {r.system!r} "
                            f"on {r.testset!r} (statistics/ in the run folder; runs written before the harness kept "
                            f"them lack it): run the experiment again with this version, then make the baseline")
        statistics.setdefault(r.testset, {})[r.system] = {m: compact(np.asarray(s)).T.tolist()
                                                          for m, s in r.statistics.items() if m in r.scores}
        if with_hypotheses:
            hypotheses.setdefault(r.testset, {})[r.system] = list(r.hypotheses)
    out = {"format": FORMAT, "format_version": FORMAT_VERSION, "source": str(folder), "document": doc,
           "metrics": config.get("metrics") or {},
           "testsets": {name: {"seg_ids": [s.id for s in ts.segments]} for name, ts in run.testsets.items()},
           "statistics": statistics}
    if with_hypotheses:
        out["hypotheses"] = hypotheses
    return out


def write_baseline(run_folder: str | Path, path: str | Path, with_hypotheses: bool = False) -> BaselineWritten:
    """Write the baseline of a run folder to `path` (gzip-compressed unless the name ends in `.json`)."""
    from harness.textio import write_bytes

    path = Path(path)
    document = baseline_document(run_folder, with_hypotheses)
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if path.suffix != ".json":
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime=0: same run, same bytes
    write_bytes(path, data)
    systems = {entry["system"] for entry in document["document"]["results"]}
    return BaselineWritten(path=path, bytes=len(data), testsets=len(document["testsets"]), systems=len(systems),
                           metrics=len(document["document"]["metrics"]), hypotheses=with_hypotheses)


# ------------------------------------------------------------------------------------------------ reading

def read_baseline_document(path: str | Path) -> dict[str, Any]:
    """The JSON of a baseline file (gzip-compressed or plain); errors say what the file is instead."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"baseline file not found: {path} (relative paths are taken from {Path.cwd()})") from None
    except OSError as e:
        raise DataError(f"cannot read the baseline file {path}: {e.strerror or e}") from None
    try:
        text = (gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw).decode("utf-8")
        document = json.loads(text)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path} is not a baseline file ({type(e).__name__}: {e}); make one with "
                        f"`mt-harness baseline RUN -o FILE`, or give a run folder") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{path} is not a baseline file (no \"format\": \"{FORMAT}\"); make one with "
                        f"`mt-harness baseline RUN -o FILE`, or give a run folder")
    if document.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path} is a baseline file of format version {document.get('format_version')}, but this "
                        f"harness reads version {FORMAT_VERSION}: refresh it with `mt-harness baseline RUN -o {path}`")
    return document


def _recorded_testset(name: str, facts: dict[str, Any], seg_ids: list[str], where: Path) -> RecordedTestSet:
    signature = facts["signature"]
    fingerprint = signature.rpartition("sha256:")[2]
    segments = tuple(Segment(id=str(i), src="", refs=("",)) for i in seg_ids)
    ts = RecordedTestSet(name=name, src_lang=facts["src_lang"], tgt_lang=facts["tgt_lang"], segments=segments,
                         origin=facts.get("origin", ""), recorded_fingerprint=fingerprint,
                         recorded_num_refs=int(facts["num_refs"]))
    if ts.signature() != signature:  # the ids and the recorded facts must tell the same story
        raise DataError(f"baseline file {where}: test set {name!r} has {len(seg_ids)} segment ids but its signature "
                        f"says {signature!r}; the file was edited or truncated: make it again")
    return ts


def _statistics(columns: list, n_segments: int, where: Path, testset: str, system: str, metric: str) -> np.ndarray:
    stats = np.asarray(columns, dtype=np.float64).T  # stored one list per statistic: (k, n) -> (n, k)
    if stats.ndim != 2 or stats.shape[0] != n_segments:
        raise DataError(f"baseline file {where}: the {metric} statistics of {system!r} on {testset!r} cover "
                        f"{stats.shape[0] if stats.ndim == 2 else 'no'} segments, the test set has {n_segments}; "
                        f"the file was edited or truncated: make it again")
    return stats


def read_baseline(path: str | Path) -> RunResult:
    """A baseline file read back as a RunResult, like `load_run` reads a run folder: scores, statistics, segment
    scores, metrics rebuilt from the run's config (hypotheses only when the file has them). `document` is the
    run's scores.json as kept in the file; `output_dir` is None."""
    from harness.config import instantiate_node
    from harness.results import run_from_document

    path = Path(path)
    raw = read_baseline_document(path)
    doc = raw["document"]
    metrics = []
    for key, node in (raw.get("metrics") or {}).items():
        try:
            metrics.append(instantiate_node(node, f"metrics.{key}"))
        except HarnessError as e:
            # e.g. a metric class whose options changed since the file was written: the run being compared
            # rebuilds the same metric from its own config, which is all `compare` needs
            log.warning("baseline file %s: metric %s not rebuilt (%s); the other run's is used", path, key, e)
    testsets = {name: _recorded_testset(name, facts, raw["testsets"][name]["seg_ids"], path)
                for name, facts in doc["testsets"].items()}
    hypotheses = raw.get("hypotheses") or {}

    def stored(entry: dict[str, Any]) -> tuple[list[str], dict[str, np.ndarray]]:
        testset, system = entry["testset"], entry["system"]
        columns_by_metric = raw["statistics"].get(testset, {}).get(system, {})
        return (list(hypotheses.get(testset, {}).get(system, [])),
                {m: _statistics(columns, len(testsets[testset]), path, testset, system, m)
                 for m, columns in columns_by_metric.items()})

    return run_from_document(doc, testsets, metrics, stored, output_dir=None)


def is_baseline_path(path: str | Path) -> bool:
    """Whether `path` names a file that is not a run's own scores.json, i.e. should be a baseline file."""
    path = Path(path)
    return path.is_file() and path.name != "scores.json"


def multirun_jobs(path: str | Path) -> list[Path]:
    """The job folders (0, 1, ...) of a multirun folder, in job order; [] when `path` is not one."""
    path = Path(path)
    if not path.is_dir() or (path / "scores.json").is_file():
        return []
    jobs = [p for p in path.iterdir() if p.is_dir() and p.name.isdigit()
            and ((p / "scores.json").is_file() or (p / "status.json").is_file())]
    return sorted(jobs, key=lambda p: int(p.name))


def job_overrides(job: Path) -> list[str]:
    """The command-line overrides a multirun job ran with (Hydra's .hydra/overrides.yaml), [] when unknown."""
    import yaml

    file = job / ".hydra" / "overrides.yaml"
    try:
        return [str(x) for x in (yaml.safe_load(file.read_text(encoding="utf-8")) or [])]
    except (OSError, yaml.YAMLError):
        return []


def load_scored_run(path: str | Path) -> RunResult:
    """A run folder, `results/<experiment>/latest` or a baseline file, read back as a RunResult."""
    if is_baseline_path(path):
        return read_baseline(path)
    if multirun_jobs(path):
        raise DataError(f"{path} is a multirun folder (jobs {', '.join(p.name for p in multirun_jobs(path))}); give "
                        f"one job's folder, e.g. {Path(path) / '0'}, or compare its jobs: mt-harness compare {path}")
    return load_run(resolve_run_dir(path))
