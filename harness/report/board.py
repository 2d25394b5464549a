"""Leaderboards as data, for every format to render: one `Board` per test set, its rows the systems (once per
run: a system in three runs is three rows, each with its run's date), its columns the metrics (one signature
each: a metric computed two ways across runs is two columns), ranked, with significance blocks.

A board of one run uses the run's own significance record (scores.json). A board of several runs has pairs
that no run tested, so its intervals, rank ranges and clusters are computed afresh, with the first run's
settings, from the per-segment statistics of every row (`harness.significance.analyse_metric`, which sees
each row as a system). Rows of a Hydra multirun that are identical in every respect (same system settings,
outputs and scores: e.g. copy-source while a model's beam size is swept) are one row, not one per job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.cells import metric_header, significance_blocks


@dataclass
class RunInfo:
    """One run going into a report: its document (scores.json), how tables name it, and, when the folder was
    read back, the run itself (hypotheses, statistics)."""

    doc: dict[str, Any]
    label: str = ""
    path: Path | None = None
    #: a multirun job's swept overrides: key -> value (only the keys whose values differ between jobs)
    sweep: dict[str, str] = field(default_factory=dict)
    #: the multirun folder a job belongs to, and the job's name in it ("0", "1", ...)
    group: str | None = None
    job: str | None = None
    result: Any = None  # harness.run_result.RunResult

    @property
    def date(self) -> str:
        """The run's start, to the minute: `2026-12-06 02:16`."""
        return str(self.doc.get("created", ""))[:16].replace("T", " ")


@dataclass
class Column:
    """One metric column: every score in it has the same signature."""

    label: str
    metric: str
    signature: str | None
    higher_is_better: bool
    digits: int

    @property
    def header(self) -> str:
        return metric_header(self.label, self.higher_is_better)


@dataclass
class Row:
    """One system of one run (or of several multirun jobs whose results are identical)."""

    key: str                          # unique in its board: the system, or `system @ run label`
    system: str
    runs: list[RunInfo]
    entry: dict[str, Any]             # the run document's results[] entry
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # column label -> score entry
    result: Any = None  # harness.run_result.SystemResult, when the run was read back

    @property
    def ok(self) -> bool:
        return self.entry["status"] == "ok"

    @property
    def reason(self) -> str:
        return self.entry.get("reason", "")

    @property
    def run(self) -> RunInfo:
        return self.runs[0]

    @property
    def run_label(self) -> str:
        if len(self.runs) == 1:
            return self.run.label
        jobs = [r.job for r in self.runs]
        return f"jobs {', '.join(str(j) for j in jobs)}"

    def sweep_value(self, key: str, all_jobs: int) -> str:
        """The swept value of `key` for this row: `any` for a row that is the same in every job."""
        if len(self.runs) > 1 and len(self.runs) == all_jobs:
            return "any"
        values = list(dict.fromkeys(r.sweep.get(key, "") for r in self.runs))
        return ", ".join(v for v in values if v)


@dataclass
class Board:
    """One test set's leaderboard: ranked rows x metric columns, with significance blocks keyed by row key."""

    testset: str
    title: str
    facts: dict[str, Any]             # scores.json's test-set facts: signature, segments, src_lang, tgt_lang
    columns: list[Column]
    rows: list[Row]
    rank_by: str | None               # a column label
    blocks: dict[str, dict[str, Any]]  # column label -> significance block (scores.json's shape)
    settings: dict[str, Any] | None   # the significance settings behind the blocks
    significance_signature: str | None
    sweep_keys: list[str]
    runs: list[RunInfo]
    not_applicable: list[tuple[str, str]] = field(default_factory=list)  # (system, reason)
    #: where the blocks come from: "run" (the run's own record), "recomputed" (across runs), "" (none)
    significance_source: str = ""
    #: why the ranking column is not the requested metric (across runs), or ""
    rank_note: str = ""

    @property
    def multi_run(self) -> bool:
        return len(self.runs) > 1

    @property
    def column(self) -> dict[str, Column]:
        return {c.label: c for c in self.columns}

    @property
    def ok_rows(self) -> list[Row]:
        return [r for r in self.rows if r.ok]

    def jobs_in_group(self, group: str | None) -> int:
        return sum(1 for r in self.runs if r.group == group and group is not None)

    def testset_object(self):
        """The TestSet (segments, doc ids) from the first run read back, or None."""
        for run in self.runs:
            if run.result is not None and self.testset in run.result.testsets:
                return run.result.testsets[self.testset]
        return None


# ------------------------------------------------------------------------------------------ building

def build_boards(runs: list[RunInfo], rank_by: str | None = None) -> list[Board]:
    """The boards of `runs`: one per test set (a test set whose content differs between runs, by signature,
    is one board per version). `rank_by`: a metric name (default: the first run's)."""
    groups: dict[tuple[str, str], list[RunInfo]] = {}
    for run in runs:
        for name, facts in run.doc["testsets"].items():
            groups.setdefault((name, facts["signature"]), []).append(run)
    names = [name for name, _ in groups]
    boards = []
    for (name, signature), members in groups.items():
        title = name if names.count(name) == 1 else f"{name} ({signature.rsplit('|', 1)[-1]})"
        boards.append(_board(name, title, members, rank_by or runs[0].doc.get("rank_by") or ""))
    return boards


def _row_identity(run: RunInfo, entry: dict[str, Any], result) -> str:
    """What makes two multirun rows the same row: system settings, status, scores and outputs."""
    system = run.doc.get("systems", {}).get(entry["system"], {}).get("signature")
    hyps = hash(tuple(result.hypotheses)) if result is not None else None
    return json.dumps([run.group, entry["system"], system, entry["status"], entry.get("reason"), entry["scores"],
                       hyps], sort_keys=True, default=str)


def _board(name: str, title: str, runs: list[RunInfo], rank_metric: str) -> Board:
    rows: list[Row] = []
    by_identity: dict[str, Row] = {}
    for run in runs:
        for entry in run.doc["results"]:
            if entry["testset"] != name:
                continue
            result = _system_result(run, name, entry["system"])
            identity = _row_identity(run, entry, result)
            if run.group is not None and identity in by_identity:
                by_identity[identity].runs.append(run)
                continue
            row = Row(key=entry["system"], system=entry["system"], runs=[run], entry=entry, result=result)
            by_identity[identity] = row
            rows.append(row)
    if len(runs) > 1:
        for row in rows:
            row.key = f"{row.system} @ {row.run_label}"
    columns = _columns(name, runs, rows)
    for row in rows:
        for col in columns:
            score = row.entry["scores"].get(col.metric)
            if score and (col.signature is None or score["signature"] == col.signature):
                row.scores[col.label] = score
    rank_col, rank_note = _rank_column(columns, rows, rank_metric, several_runs=len(runs) > 1)
    rows = _ranked(rows, rank_col)
    sweep_keys = list(dict.fromkeys(k for run in runs for k in run.sweep))
    not_applicable = list(dict.fromkeys((x["system"], x["reason"]) for run in runs
                                        for x in run.doc.get("not_applicable", []) if x["testset"] == name))
    board = Board(testset=name, title=title, facts=runs[0].doc["testsets"][name], columns=columns, rows=rows,
                  rank_by=rank_col.label if rank_col else None, blocks={}, settings=None, significance_signature=None,
                  sweep_keys=sweep_keys, runs=runs, not_applicable=not_applicable, rank_note=rank_note)
    if len(runs) == 1:
        doc = runs[0].doc
        stored = significance_blocks(doc, name)
        board.blocks = {c.label: stored[c.metric] for c in columns if c.metric in stored}
        if board.blocks:
            board.settings = doc["significance"]["settings"]
            board.significance_signature = doc["significance"]["signature"]
            board.significance_source = "run"
    else:
        recompute_significance(board)
    return board


def _system_result(run: RunInfo, testset: str, system: str):
    if run.result is None:
        return None
    try:
        return run.result.get(testset, system)
    except KeyError:
        return None


def _columns(name: str, runs: list[RunInfo], rows: list[Row]) -> list[Column]:
    """One column per (metric, signature), in the runs' metric order; a metric with two signatures across
    runs gets two columns, `BLEU [1]` and `BLEU [2]`."""
    found: dict[str, list[str | None]] = {}
    facts: dict[str, dict[str, Any]] = {}
    for run in runs:
        for metric, meta in run.doc["metrics"].items():
            if metric in run.doc.get("metric_errors", {}):
                continue
            facts.setdefault(metric, meta)
            signatures = found.setdefault(metric, [])
            for row in rows:
                if row.run is run and row.ok and metric in row.entry["scores"]:
                    signature = row.entry["scores"][metric]["signature"]
                    if signature not in signatures:
                        signatures.append(signature)
    columns = []
    for metric, signatures in found.items():
        variants = signatures or [None]
        for i, signature in enumerate(variants, 1):
            label = metric if len(variants) == 1 else f"{metric} [{i}]"
            columns.append(Column(label, metric, signature, facts[metric].get("higher_is_better", True),
                                  facts[metric].get("display_digits", 2)))
    return columns


def _rank_column(columns: list[Column], rows: list[Row], metric: str,
                 several_runs: bool) -> tuple[Column | None, str]:
    """The column to rank by, and a note when it is not simply `metric`'s. Across runs, a metric computed two
    ways (a swept tokenizer) splits into columns no row shares; then the first column every row has ranks them."""
    candidates = [c for c in columns if c.metric == metric] or columns[:1]
    if not candidates:
        return None, ""
    best = max(candidates, key=lambda c: sum(c.label in r.scores for r in rows))
    ok = [r for r in rows if r.ok]
    if not several_runs or all(best.label in r.scores for r in ok):
        return best, ""
    shared = next((c for c in columns if all(c.label in r.scores for r in ok)), None)
    if shared is None:
        return best, f"Rows without a {best.label} score are listed after the ranked ones."
    return shared, (f"{metric} was computed differently across runs ({', '.join(c.label for c in candidates)}), so "
                    f"no row has both; ranked by {shared.label}, which every row has.")


def _ranked(rows: list[Row], rank_col: Column | None) -> list[Row]:
    """Rows that ran, best first by the ranking column, then the others in run order (as `cells.ranked`)."""
    if rank_col is None:
        return rows
    ok = [r for r in rows if r.ok and rank_col.label in r.scores]
    ok.sort(key=lambda r: r.scores[rank_col.label]["score"], reverse=rank_col.higher_is_better)
    return ok + [r for r in rows if r not in ok]


# ------------------------------------------------------------------------------------------ significance

def row_metric(row: Row, column: Column):
    """The Metric object that scores `column` for `row` (rebuilt from its run's config), or None."""
    if row.run.result is None:
        return None
    return next((m for m in row.run.result.metrics if m.name == column.metric), None)


def row_statistics(row: Row, column: Column):
    """(segments, k) statistics of `row` for `column`, or None when the run folder has none."""
    if row.result is None or column.label not in row.scores:
        return None
    return row.result.statistics.get(column.metric)


def significance_settings(board: Board, baseline_key: str | None = None):
    """The first run's significance settings as used across rows (the baseline renamed to its row, or
    dropped when the baseline system appears in several rows); None when the runs tested nothing."""
    from harness.significance import SignificanceSettings

    settings = dict((board.runs[0].doc.get("significance") or {}).get("settings") or {})
    if not settings or settings.get("test") == "none":
        return None
    settings["baseline"] = baseline_key
    return SignificanceSettings(**settings)


def _baseline_row(board: Board) -> str | None:
    baseline = ((board.runs[0].doc.get("significance") or {}).get("settings") or {}).get("baseline")
    keys = [r.key for r in board.ok_rows if r.system == baseline]
    return keys[0] if len(keys) == 1 else None


def recompute_significance(board: Board) -> None:
    """Intervals, rank ranges and clusters between every pair of rows, per column, from the rows' statistics.
    A column with a row whose statistics are missing (a run folder written before they were kept) gets none."""
    from harness.significance import analyse_metric, as_json, shared_resamples

    settings = significance_settings(board, _baseline_row(board))
    if settings is None:
        return
    shared: dict[int, tuple] = {}  # resamples shared by consecutive columns of one test-set size; one size held
    for col in board.columns:
        rows = [r for r in board.ok_rows if col.label in r.scores]
        stats = [row_statistics(r, col) for r in rows]
        metric = row_metric(rows[0], col) if rows else None
        if not rows or metric is None or any(s is None for s in stats):
            continue
        base = settings.baseline if settings.baseline in [r.key for r in rows] else None
        used = settings if base == settings.baseline else _with_baseline(settings, base)
        n = len(stats[0])
        if n not in shared:
            shared = {n: shared_resamples(n, settings)}
        indices, swaps = shared[n]
        result = analyse_metric(metric, [r.key for r in rows], stats, [r.scores[col.label]["score"] for r in rows],
                                used, indices=indices, swaps=swaps)
        board.blocks[col.label] = as_json(result)
    if board.blocks:
        board.settings = settings.to_dict()
        board.significance_signature = settings.signature()
        board.significance_source = "recomputed"


def _with_baseline(settings, baseline: str | None):
    from dataclasses import replace

    return replace(settings, baseline=baseline)
