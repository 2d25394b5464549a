"""What a report shows beyond the leaderboard, computed from the rows' per-segment statistics: scores and a
paired test per bucket of segments, metric disagreements with the segments behind them, scores per document,
and translation speed.

A bucket is a set of segments (the same for every system), so its scores are each metric's corpus score on
the bucket's rows of the statistics, and its paired test is the harness' own engine
(`harness.significance.analyse_metric`) on those rows: compare-mt's buckets, with significance. Buckets:

- source length, in whitespace tokens;
- reference word frequency: the mean log frequency, in this test set's references, of a segment's reference
  words (no training data is at hand, so "rare" means rare in the test set); quartiles;
- sentence-level score: the rank metric's segment score averaged over the systems, in quintiles (easy and
  hard segments, the same segments for every system, so the test stays paired).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.report.board import Board, Column, Row, row_metric, row_statistics, significance_settings

#: a bucket with fewer segments is scored but not tested (its interval would say nothing)
MIN_TEST_SEGMENTS = 10
LENGTH_EDGES = (10, 20, 30, 40, 60)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Bucket:
    label: str
    indices: np.ndarray


@dataclass
class BucketCell:
    """One bucket on one metric column: each row's score there and, when tested, the significance block."""

    bucket: Bucket
    scores: dict[str, float]                 # row key -> score on the bucket
    block: dict[str, Any] | None = None      # scores.json-shaped block (rank ranges, clusters, p-values)


@dataclass
class BucketAnalysis:
    kind: str
    description: str
    buckets: list[Bucket]
    cells: dict[str, list[BucketCell]] = field(default_factory=dict)  # column label -> one per bucket


def analysed_rows(board: Board) -> list[Row]:
    """Rows that ran and were read back with their hypotheses and statistics."""
    return [r for r in board.ok_rows if r.result is not None and r.result.hypotheses]


def analysed_columns(board: Board, rows: list[Row]) -> list[Column]:
    """Columns for which every analysed row has statistics and a metric to score them."""
    return [c for c in board.columns
            if rows and all(row_statistics(r, c) is not None for r in rows) and row_metric(rows[0], c) is not None]


# ------------------------------------------------------------------------------------------ buckets

def length_buckets(sources: list[str], edges: tuple[int, ...] = LENGTH_EDGES) -> list[Bucket]:
    """Segments by source length in whitespace tokens: 1–10, 11–20, ..., > last edge; empty buckets left out."""
    lengths = np.array([len(s.split()) for s in sources])
    buckets, low = [], 0
    for high in list(edges) + [None]:
        mask = lengths > low if high is None else (lengths > low) & (lengths <= high)
        label = f"> {low}" if high is None else f"{low + 1}–{high}" if low else f"≤ {high}"
        if mask.any():
            buckets.append(Bucket(label, np.flatnonzero(mask)))
        low = high if high is not None else low
    return buckets


def quantile_buckets(values: np.ndarray, parts: int, names: list[str], digits: int = 1) -> list[Bucket]:
    """Segments in `parts` groups of about equal size by `values` (ties kept together), labelled by name and
    the range of values inside."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    edges = np.quantile(values, np.linspace(0, 1, parts + 1)[1:-1]) if len(values) else []
    group = np.searchsorted(np.asarray(edges), values, side="right")
    buckets = []
    for g in range(parts):
        idx = np.sort(order[group[order] == g])
        if len(idx):
            lo, hi = values[idx].min(), values[idx].max()
            buckets.append(Bucket(f"{names[g]} ({lo:.{digits}f}–{hi:.{digits}f})", idx))
    return buckets


def frequency_buckets(references: list[str]) -> list[Bucket]:
    """Quartiles of the mean log10 frequency (in these references) of each reference's words."""
    tokens = [_WORD.findall(r.lower()) for r in references]
    counts = Counter(t for ts in tokens for t in ts)
    values = np.array([np.mean([math.log10(counts[t]) for t in ts]) if ts else 0.0 for ts in tokens])
    return quantile_buckets(values, 4, ["rarest words", "rarer", "commoner", "commonest words"], digits=2)


def score_buckets(board: Board, rows: list[Row], column: Column) -> list[Bucket]:
    """Quintiles of the column's segment score averaged over the rows (hardest fifth first)."""
    scores = np.mean([r.result.segment_scores[column.metric] for r in rows], axis=0)
    oriented = scores if column.higher_is_better else -scores
    buckets = quantile_buckets(oriented, 5, ["hardest", "harder", "middle", "easier", "easiest"])
    if not column.higher_is_better:  # labels show the metric's own values (TER: lower is easier)
        for b in buckets:
            lo, hi = -oriented[b.indices].max(), -oriented[b.indices].min()
            b.label = f"{b.label.split(' (')[0]} ({lo:.1f}–{hi:.1f})"
    return buckets


def analyse_buckets(board: Board, kind: str, description: str, buckets: list[Bucket]) -> BucketAnalysis:
    """Each analysed row's score per bucket and column, and a paired test between the rows per bucket."""
    from harness.significance import analyse_metric, as_json

    rows = analysed_rows(board)
    settings = significance_settings(board)
    out = BucketAnalysis(kind, description, buckets)
    for col in analysed_columns(board, rows):
        metric = row_metric(rows[0], col)
        stats = [row_statistics(r, col) for r in rows]
        cells = []
        for bucket in buckets:
            part = [s[bucket.indices] for s in stats]
            scores = [float(metric.scores_from_statistics(p.sum(axis=0))) for p in part]
            block = None
            if settings is not None and len(bucket.indices) >= MIN_TEST_SEGMENTS:
                block = as_json(analyse_metric(metric, [r.key for r in rows], part, scores, settings))
            cells.append(BucketCell(bucket, dict(zip([r.key for r in rows], scores)), block))
        out.cells[col.label] = cells
    return out


def bucket_analyses(board: Board) -> list[BucketAnalysis]:
    """The three bucketings of a board (none when its rows were not read back)."""
    testset = board.testset_object()
    rows = analysed_rows(board)
    columns = analysed_columns(board, rows)
    if testset is None or not columns:
        return []
    rank_col = board.column.get(board.rank_by) if board.rank_by in [c.label for c in columns] else columns[0]
    return [
        analyse_buckets(board, "source length", "source length in whitespace tokens",
                        length_buckets([s.src for s in testset.segments])),
        analyse_buckets(board, "reference word frequency",
                        "quartiles of the mean log10 frequency of a reference's words in this test set's references",
                        frequency_buckets([s.refs[0] for s in testset.segments])),
        analyse_buckets(board, f"{rank_col.label} difficulty",
                        f"quintiles of the segment-level {rank_col.label} averaged over the systems",
                        score_buckets(board, rows, rank_col)),
    ]


# ------------------------------------------------------------------------------------------ disagreement

def is_averaged(stats: np.ndarray) -> bool:
    """An averaged metric (COMET and the like) has statistics [segment score, 1] (harness.metrics.base)."""
    return stats.ndim == 2 and stats.shape[1] == 2 and len(stats) > 0 and bool(np.all(stats[:, 1] == 1))


@dataclass
class Disagreement:
    """Two rows that two metrics rank in opposite orders; differences are oriented (positive: `a` better)."""

    a: str
    b: str
    x: str                      # column labels: a string metric, and COMET (or another string metric)
    y: str
    diff_x: float
    diff_y: float
    significant_x: bool | None  # None: not tested
    significant_y: bool | None
    segments: list[tuple[int, float, float]]  # (segment index, oriented diff on x, on y): the strongest drivers
    #: True: the segments are ones where the two metrics disagree; False: no segment has them disagree (the
    #: verdicts part in aggregation, e.g. BLEU's corpus-level brevity penalty), and the segments are those
    #: that weigh most for y's verdict
    segment_level: bool = True


def _significant(board: Board, label: str, a: str, b: str) -> bool | None:
    block = board.blocks.get(label)
    if not block:
        return None
    p = block["p_values"].get(a, {}).get(b)
    if p is None:
        return None
    same = [a, b] in block.get("no_difference", []) or [b, a] in block.get("no_difference", [])
    return p < (board.settings or {}).get("alpha", 0.05) and not same


def metric_pairs(board: Board, columns: list[Column], rows: list[Row]) -> tuple[list[tuple[Column, Column]], bool]:
    """(pairs of columns to compare, whether an averaged metric such as COMET is among them): string metrics
    against each averaged one, or, without one, every pair of string metrics."""
    averaged = [c for c in columns if is_averaged(row_statistics(rows[0], c))]
    strings = [c for c in columns if c not in averaged]
    if averaged:
        return [(s, a) for a in averaged for s in strings], True
    return [(x, y) for i, x in enumerate(strings) for y in strings[i + 1:]], False


def disagreements(board: Board, top_segments: int = 5) -> tuple[list[Disagreement], bool]:
    """Pairs of rows that two metrics rank in opposite orders, each with the segments that drive it: those
    where both metrics' segment-level differences point the way their corpus verdicts do, strongest first
    (by the product of the two differences, each in units of its own spread over the segments); where no
    segment does, the segments where y's preference is strongest."""
    rows = analysed_rows(board)
    columns = analysed_columns(board, rows)
    if len(rows) < 2 or len(columns) < 2:
        return [], False
    pairs, with_averaged = metric_pairs(board, columns, rows)
    out = []
    for x, y in pairs:
        sx, sy = (1 if x.higher_is_better else -1), (1 if y.higher_is_better else -1)
        for i, first in enumerate(rows):
            for second in rows[i + 1:]:
                dx = sx * (first.scores[x.label]["score"] - second.scores[x.label]["score"])
                dy = sy * (first.scores[y.label]["score"] - second.scores[y.label]["score"])
                if dx * dy >= 0:
                    continue
                a, b = (first, second) if dx > 0 else (second, first)  # named so that x prefers a
                dx, dy = abs(dx), -abs(dy)
                seg_x = sx * (a.result.segment_scores[x.metric] - b.result.segment_scores[x.metric])
                seg_y = sy * (a.result.segment_scores[y.metric] - b.result.segment_scores[y.metric])
                strength = (seg_x / (seg_x.std() or 1.0)) * (-seg_y / (seg_y.std() or 1.0))
                drivers = np.flatnonzero((seg_x > 0) & (seg_y < 0))
                segment_level = len(drivers) > 0
                if segment_level:
                    drivers = drivers[np.argsort(-strength[drivers], kind="stable")][:top_segments]
                else:
                    drivers = np.argsort(seg_y, kind="stable")[:top_segments]
                    drivers = drivers[seg_y[drivers] < 0]
                out.append(Disagreement(a.key, b.key, x.label, y.label, float(dx), float(dy),
                                        _significant(board, x.label, a.key, b.key),
                                        _significant(board, y.label, a.key, b.key),
                                        [(int(k), float(seg_x[k]), float(seg_y[k])) for k in drivers], segment_level))
    return out, with_averaged


# ------------------------------------------------------------------------------------------ documents

@dataclass
class DocumentScores:
    documents: list[str]
    sizes: list[int]
    scores: dict[str, dict[str, list[float]]]  # column label -> row key -> one score per document


def document_scores(board: Board) -> DocumentScores | None:
    """Corpus scores per document (summed statistics of its segments); None without document ids."""
    testset = board.testset_object()
    rows = analysed_rows(board)
    columns = analysed_columns(board, rows)
    if testset is None or not columns:
        return None
    doc_ids = [s.doc_id for s in testset.segments]
    if all(d is None for d in doc_ids):
        return None
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(doc_ids):
        groups.setdefault("(none)" if d is None else str(d), []).append(i)
    out = DocumentScores(list(groups), [len(v) for v in groups.values()], {})
    for col in columns:
        metric = row_metric(rows[0], col)
        out.scores[col.label] = {
            r.key: [float(metric.scores_from_statistics(row_statistics(r, col)[idx].sum(axis=0)))
                    for idx in groups.values()] for r in rows}
    return out


def spread(values: list[float]) -> dict[str, float] | None:
    """min, median, max and standard deviation across documents; None for fewer than two."""
    if len(values) < 2:
        return None
    v = np.asarray(values)
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()), "std": float(v.std(ddof=1))}


# ------------------------------------------------------------------------------------------ speed

def speed_rows(boards: list[Board]) -> list[dict[str, Any]]:
    """Translation speed of the systems that translated (they report runtime facts: a device, a server);
    systems that read ready-made outputs (file outputs, copy-source) report none, and their times are reading
    times, so they are left out."""
    out = []
    for board in boards:
        for row in board.ok_rows:
            facts = row.entry.get("translation") or {}
            runtime = (row.run.doc.get("systems", {}).get(row.system) or {}).get("runtime")
            if not runtime or not facts:
                continue
            out.append({"testset": board.title, "system": row.system, "run": row.run_label if board.multi_run else "",
                        "segments": board.facts["segments"], "translated": facts.get("translated", 0),
                        "cached": facts.get("cached", 0), "seconds": facts.get("seconds"),
                        "segments_per_second": facts.get("segments_per_second")})
    return out
