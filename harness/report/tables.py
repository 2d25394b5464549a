"""Leaderboard tables in Markdown, CSV, JSON and LaTeX (booktabs), from boards (`board.py`).

Every format takes its cells from one place, `table_cells` (rank labels, clusters, score cells with
intervals and baseline stars, notes), and its notes from `board_notes`; a format only escapes and lays
them out. The run's own `leaderboard.md` is `markdown()` of a one-run board.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from harness.report.board import Board, Row
from harness.report.cells import has_clusters, rank_label, score_cell, significance_lines


@dataclass
class TableCells:
    """One board as header + rows of display strings, plus the facts the notes need."""

    header: list[str]
    align: list[str]                  # "r" or "l" per column
    rows: list[list[str]]
    footnotes: list[tuple[str, str]]  # (system, reason) of not-run rows, numbered from 1 across boards
    signatures: list[tuple[str, str]]  # (column label, signature)


def not_run_footnotes(boards: list[Board]) -> dict[tuple[str, str], list[str]]:
    """(system, reason) -> where it did not run: one footnote per system and reason across all boards (a model
    that cannot load is one note, not one per test set)."""
    notes: dict[tuple[str, str], list[str]] = {}
    for board in boards:
        for row in board.rows:
            if not row.ok:
                where = board.title + (f" ({row.run_label})" if board.multi_run else "")
                notes.setdefault((row.system, row.reason), []).append(where)
    return notes


def table_cells(board: Board, footnotes: list[tuple[str, str]], alpha: float | None = None) -> TableCells:
    """The display strings of a board's table, the one source of every format's cells."""
    alpha = alpha if alpha is not None else (board.settings or {}).get("alpha", 0.05)
    rank_block = board.blocks.get(board.rank_by) if board.rank_by else None
    clusters = has_clusters(rank_block)
    flagged = any(row.entry.get("flags") for row in board.rows if row.ok)
    header = (["Rank", "Cluster"] if clusters else ["#"]) + ["System"] + (["Run"] if board.multi_run else []) \
        + board.sweep_keys + [c.header for c in board.columns] + (["Flags"] if flagged else []) + ["Notes"]
    align = ["r"] * (2 if clusters else 1) + ["l"] * (1 + board.multi_run + len(board.sweep_keys)) \
        + ["r"] * len(board.columns) + ["l"] * (1 + flagged)
    rows, rank = [], 0
    signatures: dict[str, str] = {}
    for row in board.rows:
        notes = []
        lead = [row.system] + ([row.run_label] if board.multi_run else []) + \
            [row.sweep_value(k, board.jobs_in_group(row.run.group)) for k in board.sweep_keys]
        if row.ok:
            rank += 1
            cells = [rank_label(rank_block, row.key, rank)]
            if clusters:
                entry = rank_block["systems"].get(row.key)
                cells.append(str(entry["cluster"]) if entry else "–")
            cells += lead
            for col in board.columns:
                s = row.scores.get(col.label)
                cells.append(score_cell(s["score"], board.blocks.get(col.label), row.key, col.digits, alpha)
                             if s else "–")
                if s:
                    signatures.setdefault(col.label, s["signature"])
            if flagged:
                cells.append(flag_cell(row.entry.get("flags") or []))
            if row.entry.get("empty_hypotheses"):
                notes.append(f"{row.entry['empty_hypotheses']} empty hypotheses")
            if rank_block and rank_block.get("baseline") == row.key:
                notes.append("baseline")
        else:
            cells = ["–"] * (2 if clusters else 1) + lead + ["–"] * (len(board.columns) + flagged)
            notes.append(f"not run [{footnotes.index((row.system, row.reason)) + 1}]")
        rows.append(cells + ["; ".join(notes)])
    ordered = [(c.label, signatures[c.label]) for c in board.columns if c.label in signatures]
    return TableCells(header, align, rows, footnotes, ordered)


#: how a flag's severity shows in tables
SEVERITY_MARKS = {"error": "✗", "warning": "⚠"}


def flag_cell(flags: list[dict]) -> str:
    """A row's sanity flags (harness/sanity.py) for the Flags column: `✗ shifted_lines, ⚠ off_target`."""
    return ", ".join(f"{SEVERITY_MARKS.get(f['severity'], '?')} {f['check']}" for f in flags)


def flag_notes(board: Board) -> list[str]:
    """One line per sanity flag of this board's test set and outputs, with the numbers and the likely fix."""
    lines = [f"Test set: {SEVERITY_MARKS.get(f['severity'], '?')} {f['check']}: {f['message']}"
             for f in board.facts.get("flags") or []]
    for row in board.rows:
        for f in (row.entry.get("flags") or []) if row.ok else []:
            lines.append(f"{row.system}: {SEVERITY_MARKS.get(f['severity'], '?')} {f['check']}: {f['message']}")
    if lines:
        lines.insert(0, "Sanity checks (✗ error: the score is probably meaningless; ⚠ warning):")
    return lines


def board_notes(board: Board, markdown: bool = True) -> list[str]:
    """What ±, Rank, * and Power mean for this board, and, across runs, how it was ranked and tested; then
    the sanity flags."""
    lines = [board.rank_note] if board.rank_note else []
    if board.blocks and board.settings:
        lines += significance_lines(board.settings, board.rank_by or "", board.blocks, board.facts["segments"],
                                    markdown=markdown, pairs_of="rows" if board.multi_run else "systems")
    if board.significance_source == "recomputed":
        lines.append("Across runs: intervals and tests recomputed from each row's per-segment statistics with the "
                     "first run's settings, every row counted as a system.")
    return lines + flag_notes(board)


def _heading(board: Board) -> str:
    facts = board.facts
    return f"{board.title} ({facts['src_lang']}→{facts['tgt_lang']}, {facts['segments']:,} segments)"


def report_title(boards: list[Board]) -> str:
    runs = _all_runs(boards)
    experiments = list(dict.fromkeys(r.doc["experiment"] for r in runs))
    return ", ".join(experiments) + (f" ({len(runs)} runs)" if len(runs) > 1 else "")


def _all_runs(boards: list[Board]):
    seen: dict[int, Any] = {}
    for board in boards:
        for run in board.runs:
            seen.setdefault(id(run), run)
    return list(seen.values())


# ------------------------------------------------------------------------------------------ Markdown

def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(boards: list[Board], markdown: bool = True, title: str | None = None) -> str:
    """The leaderboards with significance notes, signatures and what did not run. `markdown=False` is the
    terminal's version: the same tables without Markdown escapes in the notes."""
    runs = _all_runs(boards)
    multi = len(runs) > 1
    lines = [f"# Leaderboard: {title or report_title(boards)}", ""]
    not_run = not_run_footnotes(boards)
    footnotes = list(not_run)
    for board in boards:
        cells = table_cells(board, footnotes)
        lines += [f"## {_heading(board)}", ""]
        lines += ["| " + " | ".join(cells.header) + " |",
                  "|" + "|".join("--:" if a == "r" else ":--" for a in cells.align) + "|"]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in cells.rows]
        lines += ["", f"Ranked by {board.rank_by}. Test set: `{board.facts['signature']}`", ""]
        notes = board_notes(board, markdown=markdown)
        if notes:
            lines += notes + [""]
        if cells.signatures:
            labelled = any(label != col.metric for label, col in board.column.items())
            entries = [f"- {label}: `{sig}`" if labelled else f"- `{sig}`" for label, sig in cells.signatures]
            if board.blocks:
                entries.append(f"- `{board.significance_signature}`")
            lines += ["Signatures:", ""] + entries + [""]
        if board.not_applicable:
            lines += ["Not applicable here: " + "; ".join(f"{s} ({why})" for s, why in board.not_applicable), ""]
    if footnotes:
        lines += ["## Not run", ""]
        for i, (system, reason) in enumerate(footnotes, 1):
            lines.append(f"{i}. {_md(system)} on {', '.join(not_run[(system, reason)])}: {_md(reason)}")
        lines.append("")
    for run in runs:
        for metric, err in run.doc.get("metric_errors", {}).items():
            where = f" in run {run.label}" if multi else ""
            lines += [f"Metric {metric} was not computed{where}: {err}", ""]
    if multi:
        lines += ["## Runs", ""] + [f"- {run_line(run)}" for run in runs] + [""]
    return "\n".join(lines).rstrip() + "\n"


def run_line(run) -> str:
    commit = (run.doc.get("harness") or {}).get("commit")
    parts = [run.label, f"experiment {run.doc['experiment']}", f"created {run.doc.get('created', '?')}"]
    if run.sweep:
        parts.append(" ".join(f"{k}={v}" for k, v in run.sweep.items()))
    if commit:
        parts.append(f"commit {commit[:12]}" + (" (dirty)" if run.doc["harness"].get("dirty") else ""))
    if run.path:
        parts.append(str(run.path))
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------ CSV and JSON

def _score_fields(board: Board, row: Row, label: str) -> dict[str, Any]:
    s = row.scores.get(label)
    entry = (board.blocks.get(label) or {}).get("systems", {}).get(row.key) or {}
    ci = entry.get("ci") or {}
    p = None
    block = board.blocks.get(label) or {}
    if block.get("baseline") and block["baseline"] != row.key:
        p = block["p_values"].get(block["baseline"], {}).get(row.key)
    return {"score": s["score"] if s else None, "ci_low": ci.get("lower"), "ci_high": ci.get("upper"),
            "half_width": ci.get("half_width"), "p_baseline": p,
            "rank_range": entry.get("rank_range"), "cluster": entry.get("cluster")}


def to_json(boards: list[Board], title: str | None = None) -> str:
    """Every board as structured data: numbers, not display strings (for scripts and other tools)."""
    footnotes = list(not_run_footnotes(boards))
    out = {"title": title or report_title(boards),
           "runs": [{"label": r.label, "experiment": r.doc["experiment"], "created": r.doc.get("created"),
                     "path": str(r.path) if r.path else None, "sweep": r.sweep,
                     "commit": (r.doc.get("harness") or {}).get("commit")} for r in _all_runs(boards)],
           "testsets": []}
    for board in boards:
        cells = table_cells(board, footnotes)
        rank_block = board.blocks.get(board.rank_by) or {}
        rows = []
        for row, shown in zip(board.rows, cells.rows):
            entry = rank_block.get("systems", {}).get(row.key) or {}
            rows.append({"system": row.system, "run": row.run_label, "created": row.run.doc.get("created"),
                         "sweep": {k: row.sweep_value(k, board.jobs_in_group(row.run.group)) for k in board.sweep_keys},
                         "status": row.entry["status"], "reason": row.reason or None,
                         "rank": shown[0] if row.ok else None, "rank_range": entry.get("rank_range"),
                         "cluster": entry.get("cluster"),
                         "scores": {c.label: _score_fields(board, row, c.label) for c in board.columns
                                    if c.label in row.scores},
                         "notes": shown[-1]})
        out["testsets"].append({
            "testset": board.testset, "title": board.title, **{k: board.facts[k] for k in
                                                               ("signature", "segments", "src_lang", "tgt_lang")},
            "rank_by": board.rank_by, "significance": board.significance_signature,
            "significance_source": board.significance_source or None,
            "columns": [{"label": c.label, "metric": c.metric, "signature": c.signature,
                         "higher_is_better": c.higher_is_better, "digits": c.digits} for c in board.columns],
            "rows": rows, "notes": board_notes(board, markdown=False)})
    return json.dumps(out, indent=1, ensure_ascii=False) + "\n"


def to_csv(boards: list[Board]) -> str:
    """One CSV line per (test set, row): ranks and numbers, one `<metric>`, `<metric> ±`, `<metric> low`,
    `<metric> high` column group per metric column of any board."""
    footnotes = list(not_run_footnotes(boards))
    sweep = list(dict.fromkeys(k for b in boards for k in b.sweep_keys))
    labels = list(dict.fromkeys(c.label for b in boards for c in b.columns))
    header = ["testset", "system", "run", "created"] + sweep + ["status", "rank", "rank_low", "rank_high", "cluster"]
    for label in labels:
        header += [label, f"{label} ±", f"{label} low", f"{label} high"]
    header += ["notes"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for board in boards:
        cells = table_cells(board, footnotes)
        rank_block = board.blocks.get(board.rank_by) or {}
        for row, shown in zip(board.rows, cells.rows):
            entry = rank_block.get("systems", {}).get(row.key) or {}
            ranks = entry.get("rank_range") or [None, None]
            line = [board.title, row.system, row.run_label, row.run.doc.get("created", "")]
            line += [row.sweep_value(k, board.jobs_in_group(row.run.group)) if k in board.sweep_keys else ""
                     for k in sweep]
            line += [row.entry["status"], shown[0] if row.ok else "", ranks[0], ranks[1], entry.get("cluster")]
            for label in labels:
                f = _score_fields(board, row, label) if label in board.column else {}
                line += [f.get("score"), f.get("half_width"), f.get("ci_low"), f.get("ci_high")]
            line.append(shown[-1])
            writer.writerow(["" if v is None else v for v in line])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ LaTeX

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "±": r"$\pm$", "↓": r"$\downarrow$", "→": r"$\rightarrow$", "–": "--", "α": r"$\alpha$",
                  "μ": r"$\mu$", "<": r"$<$", ">": r"$>$", "·": r"$\cdot$"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    """Text as LaTeX source: specials escaped, the symbols the tables use as math."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def to_latex(boards: list[Board], title: str | None = None) -> str:
    """One booktabs `table` per board; notes, signatures and what did not run below it, in a footnote-sized
    minipage (needs \\usepackage{booktabs})."""
    not_run = not_run_footnotes(boards)
    footnotes = list(not_run)
    out = [f"% Leaderboard: {latex_escape(title or report_title(boards))}", "% needs \\usepackage{booktabs}", ""]
    for board in boards:
        cells = table_cells(board, footnotes)
        out += [r"\begin{table}[ht]", r"\centering", r"\small",
                r"\begin{tabular}{" + "".join(cells.align) + "}", r"\toprule",
                " & ".join(latex_escape(h) for h in cells.header) + r" \\", r"\midrule"]
        out += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in cells.rows]
        out += [r"\bottomrule", r"\end{tabular}",
                r"\caption{" + latex_escape(f"{_heading(board)}. Ranked by {board.rank_by}.") + "}",
                r"\label{tab:" + re.sub(r"[^A-Za-z0-9:-]+", "-", board.title) + "}"]
        notes = [latex_escape(n) for n in board_notes(board, markdown=False)]
        notes += [latex_escape(f"{label}: ") + r"\texttt{" + latex_escape(sig) + "}" for label, sig in cells.signatures]
        if board.blocks and board.significance_signature:
            notes.append(r"\texttt{" + latex_escape(board.significance_signature) + "}")
        shown = {(r.system, r.reason) for r in board.rows if not r.ok}
        notes += [latex_escape(f"[{i}] not run: {system} ({reason})") for i, (system, reason) in
                  enumerate(footnotes, 1) if (system, reason) in shown]
        if notes:
            out += [r"\par\smallskip", r"\begin{minipage}{\linewidth}", r"\footnotesize"]
            out += [n + r"\par" for n in notes]
            out += [r"\end{minipage}"]
        out += [r"\end{table}", ""]
    return "\n".join(out).rstrip() + "\n"
