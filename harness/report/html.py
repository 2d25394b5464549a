"""The HTML report: one self-contained file (no network, no CDN; it opens from disk) with, per test set, the
leaderboard (sortable by any column), plots, bucketed analysis with a paired test per bucket, metric
disagreements, document-level scores and a segment browser; then translation speed and the runs.

Safety: every piece of text from sources, references, outputs, system and run names reaches the page either
through `html.escape` (server-rendered tables) or as JSON data read by the page's script, which builds the
segment browser with `textContent` only (never `innerHTML`). The JSON sits in a
`<script type="application/json">` block with every `<`, `>` and `&` written as a `\\u` escape, so no
segment can close the block or open a comment. A Content-Security-Policy allows no network at all, inline
styles, `data:` images (the plots) and exactly the page's own script (by hash), so even a missed escape could
not run injected script.

Size: the segment browser renders one page of segments at a time; the data is one JSON document, column by
column (per system one list of outputs, per metric one list of scores), scores rounded to what is shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

from harness.report.analysis import (
    MIN_TEST_SEGMENTS,
    BucketAnalysis,
    Disagreement,
    DocumentScores,
    analysed_columns,
    analysed_rows,
    spread,
)
from harness.report.board import Board
from harness.report.cells import TEST_NAMES, has_clusters
from harness.report.tables import board_notes, not_run_footnotes, run_line, table_cells


@dataclass
class BoardExtras:
    """What the page shows for one board besides its leaderboard (computed by `output.py`)."""

    buckets: list[BucketAnalysis] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    with_averaged: bool = False
    documents: DocumentScores | None = None
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (file stem, caption, SVG text)


def e(text: Any) -> str:
    return escape(str(text), quote=True)


def json_for_script(data: Any) -> str:
    """JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` appears literally, so
    neither `</script>` nor `<!--` can occur; U+2028/2029 are escaped too (harmless in JSON, not in old JS)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):  # JSON has no NaN or infinity
        return None
    return round(float(value), digits)


# ------------------------------------------------------------------------------------------ data for the script

def browser_data(board: Board, index: int) -> dict[str, Any] | None:
    """One test set's segments, outputs and segment scores, column by column, for the segment browser."""
    testset = board.testset_object()
    rows = analysed_rows(board)
    if testset is None or not rows:
        return None
    columns = analysed_columns(board, rows)
    segments = testset.segments
    docs = [s.doc_id for s in segments]
    return {
        "id": f"ts{index}", "title": board.title, "rows": [r.key for r in rows],
        "metrics": [{"label": c.label, "higher": c.higher_is_better, "digits": c.digits} for c in columns],
        "seg": {"id": [str(s.id) for s in segments], "doc": None if all(d is None for d in docs) else docs,
                "src": [s.src for s in segments], "ref": [list(s.refs) for s in segments]},
        "hyp": [r.result.hypotheses for r in rows],
        "score": {c.label: [[_num(v, c.digits + 1) for v in r.result.segment_scores[c.metric].tolist()]
                            for r in rows] for c in columns},
    }


# ------------------------------------------------------------------------------------------ page pieces

def _table(header: list[str], rows: list[list[str]], cls: str = "", raw: bool = False,
           align: list[str] | None = None, sort_values: list[list[Any]] | None = None,
           row_classes: list[str] | None = None) -> str:
    """A table; cells are escaped unless `raw` (cells already HTML). `sort_values` gives each cell's sort key."""
    align = align or ["l"] * len(header)
    out = [f'<table class="{e(cls)}"><thead><tr>']
    out += [f'<th class="{a}" scope="col">{e(h)}</th>' for h, a in zip(header, align)]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        klass = f' class="{e(row_classes[i])}"' if row_classes and row_classes[i] else ""
        out.append(f"<tr{klass}>")
        for j, cell in enumerate(row):
            value = sort_values[i][j] if sort_values else None
            data = f' data-v="{e(value)}"' if value is not None else ""
            out.append(f'<td class="{align[j] if j < len(align) else "l"}"{data}>{cell if raw else e(cell)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _leaderboard(board: Board, footnotes: list[tuple[str, str]]) -> str:
    cells = table_cells(board, footnotes)
    rank_block = board.blocks.get(board.rank_by) or {}
    lead = len(cells.header) - len(board.columns) - 1
    sort_values, classes = [], []
    for row, shown in zip(board.rows, cells.rows):
        entry = rank_block.get("systems", {}).get(row.key) or {}
        ranks = entry.get("rank_range")
        values: list[Any] = [None] * len(shown)
        values[0] = ranks[0] + ranks[1] / 1000 if ranks else (shown[0] if row.ok else 1e9)
        for j, col in enumerate(board.columns):
            s = row.scores.get(col.label)
            values[lead + j] = s["score"] if s else ""
        sort_values.append(values)
        classes.append("top" if has_clusters(rank_block) and entry.get("cluster") == 1 else "" if row.ok else "notrun")
    html = [_table(cells.header, cells.rows, "sortable board", align=cells.align, sort_values=sort_values,
                   row_classes=classes)]
    notes = [f"Ranked by {board.rank_by}. Click a column header to sort."] + board_notes(board, markdown=False)
    if has_clusters(rank_block):
        notes.append("Shaded: the top cluster.")
    html.append("<div class='notes'>" + "".join(f"<p>{e(n)}</p>" for n in notes) + "</div>")
    sigs = [f"<li>{e(label)}: <code>{e(sig)}</code></li>" for label, sig in cells.signatures]
    sigs.append(f"<li>test set: <code>{e(board.facts['signature'])}</code></li>")
    if board.blocks and board.significance_signature:
        sigs.append(f"<li>significance: <code>{e(board.significance_signature)}</code></li>")
    html.append(f"<div class='footnote'><p>Signatures</p><ul>{''.join(sigs)}</ul></div>")
    if board.not_applicable:
        html.append("<p class='notes'>Not applicable here: " + e("; ".join(f"{s} ({why})" for s, why in
                                                                            board.not_applicable)) + "</p>")
    return "".join(html)


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="plot" alt="{e(alt)}" src="data:image/svg+xml;base64,{data}">'


def _figures(extras: BoardExtras, files: str | None) -> str:
    if not extras.figures:
        return "<p class='notes'>No plots: matplotlib is not installed, or the runs were not read back.</p>"
    out = []
    for stem, caption, svg in extras.figures:
        link = f" Files: <code>{e(files)}/{e(stem)}.svg</code>, <code>.png</code>." if files else ""
        out.append(f"<figure>{_img(svg, caption)}<figcaption>{e(caption)}.{link}</figcaption></figure>")
    return "".join(out)


def _bucket_table(board: Board, analysis: BucketAnalysis, label: str) -> str:
    cells = analysis.cells[label]
    col = board.column[label]
    keys = list(cells[0].scores) if cells else []
    alpha = (board.settings or {}).get("alpha", 0.05)
    header = ["bucket", "segments"] + keys + ["best vs. runner-up"]
    rows = []
    for cell in cells:
        order = sorted(keys, key=lambda k: cell.scores[k], reverse=col.higher_is_better)
        line = [e(cell.bucket.label), f"{len(cell.bucket.indices):,}"]
        for key in keys:
            text = f"{cell.scores[key]:.{col.digits}f}"
            entry = (cell.block or {}).get("systems", {}).get(key)
            if entry and entry.get("rank_range"):
                lo, hi = entry["rank_range"]
                text += f" <span class='rank'>({lo if lo == hi else f'{lo}–{hi}'})</span>"
            tip = ""
            if cell.block:
                ps = cell.block["p_values"].get(key, {})
                tip = "; ".join(f"p vs {other} = {p:.4f}" for other, p in ps.items())
            strong = entry and entry.get("cluster") == 1 and len(keys) > 1
            line.append(f"<span title='{e(tip)}'>{'<b>' + text + '</b>' if strong else text}</span>")
        if len(order) > 1 and cell.block:
            best, second = order[0], order[1]
            p = cell.block["p_values"].get(best, {}).get(second)
            same = [best, second] in cell.block["no_difference"] or [second, best] in cell.block["no_difference"]
            verdict = "differ" if p is not None and p < alpha and not same else "not separable"
            line.append(e(f"{best} − {second} = {abs(cell.scores[best] - cell.scores[second]):.{col.digits}f}, "
                          f"p = {p:.4f} ({verdict})" if p is not None else "untested"))
        elif len(order) > 1:
            line.append(e(f"untested (fewer than {MIN_TEST_SEGMENTS} segments)" if board.settings else
                          "untested (the runs' significance.test is none)"))
        else:
            line.append("")
        rows.append(line)
    align = ["l", "r"] + ["r"] * len(keys) + ["l"]
    return _table(header, rows, "buckets", raw=True, align=align)


def _buckets(board: Board, extras: BoardExtras) -> str:
    if not extras.buckets:
        return "<p class='notes'>No bucketed analysis: the runs' per-segment statistics were not available.</p>"
    out = ["<p class='notes'>Scores per bucket from the bucket's rows of each system's statistics; (rank range) and "
           "bold (top cluster) come from the paired test on the bucket alone "
           f"({e(_test_name(board))}). Hover a score for its p-values.</p>"]
    for analysis in extras.buckets:
        out.append(f"<h4>By {e(analysis.kind)}</h4><p class='notes'>{e(analysis.description)}.</p>")
        for i, label in enumerate(analysis.cells):
            table = _bucket_table(board, analysis, label)
            if label == board.rank_by or (i == 0 and board.rank_by not in analysis.cells):
                out.append(f"<p class='caption'>{e(board.column[label].header)}</p>{table}")
            else:
                out.append(f"<details><summary>{e(board.column[label].header)}</summary>{table}</details>")
    return "".join(out)


def _test_name(board: Board) -> str:
    settings = board.settings or {}
    return TEST_NAMES.get(settings.get("test", ""), "no test") + (
        f", p < {settings['alpha']}" if settings else "")


def _seg_link(board_id: str, seg_id: str, a: str, b: str, metric: str) -> str:
    return (f'<a href="#{e(board_id)}-browser" class="seglink" data-ts="{e(board_id)}" data-seg="{e(seg_id)}" '
            f'data-a="{e(a)}" data-b="{e(b)}" data-metric="{e(metric)}">{e(seg_id)}</a>')


def _disagreements(board: Board, extras: BoardExtras, board_id: str) -> str:
    testset = board.testset_object()
    out = []
    if not extras.with_averaged:
        out.append("<p class='notes'>COMET is absent: no averaged metric (such as COMET) was computed in these runs, "
                   "so the string metrics are compared with each other, the same way.</p>")
    if len(analysed_rows(board)) < 2:
        out.append("<p>Only one system was scored here: no pair of systems to rank.</p>")
        return "".join(out)
    if not extras.disagreements:
        out.append("<p>Every pair of metrics ranks every pair of systems in the same order.</p>")
        return "".join(out)

    def verdict(sig: bool | None) -> str:
        return "" if sig is None else " (significant)" if sig else " (not significant)"

    rows = []
    for d in extras.disagreements:
        cx, cy = board.column[d.x], board.column[d.y]
        links = ", ".join(_seg_link(board_id, str(testset.segments[k].id), d.a, d.b, d.y)
                          for k, _, _ in d.segments) if testset is not None else ""
        if links and not d.segment_level:
            links = "<span class='notes'>no segment where they disagree (they part in aggregation); where " \
                    f"{e(d.y)} prefers {e(d.b)} most:</span> " + links
        rows.append([e(f"{d.a} vs {d.b}"),
                     e(f"{d.x} prefers {d.a} by {d.diff_x:.{cx.digits}f}{verdict(d.significant_x)}"),
                     e(f"{d.y} prefers {d.b} by {-d.diff_y:.{cy.digits}f}{verdict(d.significant_y)}"),
                     links or "–"])
    out.append("<p class='notes'>Pairs of systems that two metrics rank in opposite orders. Segments: those where "
               "the two metrics' segment-level differences point the way their verdicts do, strongest first; click "
               "one to open it in the segment browser.</p>")
    out.append(_table(["systems", "first metric", "second metric", "segments driving it"], rows, "disagree", raw=True))
    return "".join(out)


def _documents(board: Board, extras: BoardExtras) -> str:
    docs = extras.documents
    if docs is None:
        return ""
    out = ["<h3>Documents</h3>"]
    if len(docs.documents) == 1:
        out.append(f"<p class='notes'>One document ({e(docs.documents[0])}): its scores are the test set's; no "
                   f"spread across documents.</p>")
    label = board.rank_by if board.rank_by in docs.scores else next(iter(docs.scores))
    col = board.column[label]
    keys = list(docs.scores[label])
    rows = [[d, f"{n:,}"] + [f"{docs.scores[label][k][i]:.{col.digits}f}" for k in keys]
            for i, (d, n) in enumerate(zip(docs.documents, docs.sizes))]
    out.append(f"<p class='caption'>{e(col.header)} per document</p>")
    out.append(_table(["document", "segments"] + keys, rows, "sortable docs", align=["l", "r"] + ["r"] * len(keys)))
    if len(docs.documents) > 1:
        rows = []
        for lbl, by_row in docs.scores.items():
            c = board.column[lbl]
            for k, values in by_row.items():
                s = spread(values)
                rows.append([c.header, k] + [f"{s[f]:.{c.digits}f}" for f in ("min", "median", "max", "std")])
        out.append("<p class='caption'>Spread across documents</p>")
        out.append(_table(["metric", "system", "min", "median", "max", "std"], rows, "sortable spread",
                          align=["l", "l", "r", "r", "r", "r"]))
    return "".join(out)


def _speed(speed: list[dict[str, Any]]) -> str:
    out = ["<section id='speed'><h2>Translation speed</h2>"]
    if not speed:
        out.append("<p class='notes'>No system in these runs translated anything itself (outputs read from files, "
                   "copy-source): no speeds to show.</p></section>")
        return "".join(out)
    rows = [[s["testset"], s["system"], s["run"], f"{s['segments']:,}", f"{s['translated']:,}", f"{s['cached']:,}",
             "" if s["seconds"] is None else f"{s['seconds']:.1f}",
             "all cached" if not s["segments_per_second"] else f"{s['segments_per_second']:.2f}"] for s in speed]
    out.append(_table(["test set", "system", "run", "segments", "translated", "cached", "seconds", "segments/s"], rows,
                      "sortable", align=["l", "l", "l", "r", "r", "r", "r", "r"]))
    out.append("<p class='notes'>segments/s counts the segments translated in the run (cached ones excluded) over "
               "the translation step's wall time. Systems that read ready-made outputs are left out.</p></section>")
    return "".join(out)


# ------------------------------------------------------------------------------------------ the page

def report_html(boards: list[Board], extras: list[BoardExtras], speed: list[dict[str, Any]], title: str,
                generated: str, files: str | None = None) -> str:
    """The page. `files`: where the plot files were written, relative to the page (shown in captions)."""
    footnotes = list(not_run_footnotes(boards))
    not_run = not_run_footnotes(boards)
    runs = list({id(r): r for b in boards for r in b.runs}.values())
    data = {"testsets": [d for d in (browser_data(b, i) for i, b in enumerate(boards)) if d]}
    nav = "".join(f"<a href='#ts{i}'>{e(b.title)}</a>" for i, b in enumerate(boards))
    body = [f"<header><h1>{e(title)}</h1><p class='notes'>Generated {e(generated)} by mt-harness from "
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}.</p><nav>{nav}<a href='#speed'>speed</a>"
            f"<a href='#runs'>runs</a></nav></header><main>"]
    for i, (board, extra) in enumerate(zip(boards, extras)):
        bid = f"ts{i}"
        facts = board.facts
        body.append(f"<section id='{bid}' class='testset'><h2>{e(board.title)} <small>{e(facts['src_lang'])}→"
                    f"{e(facts['tgt_lang'])}, {facts['segments']:,} segments</small></h2>")
        body.append(f"<nav class='sub'><a href='#{bid}-board'>leaderboard</a><a href='#{bid}-plots'>plots</a>"
                    f"<a href='#{bid}-buckets'>buckets</a><a href='#{bid}-disagree'>metric disagreement</a>"
                    f"<a href='#{bid}-browser'>segments</a></nav>")
        body.append(f"<h3 id='{bid}-board'>Leaderboard</h3>{_leaderboard(board, footnotes)}")
        body.append(f"<h3 id='{bid}-plots'>Plots</h3>{_figures(extra, files)}")
        body.append(f"<h3 id='{bid}-buckets'>Buckets</h3>{_buckets(board, extra)}")
        body.append(f"<h3 id='{bid}-disagree'>Metric disagreement</h3>{_disagreements(board, extra, bid)}")
        body.append(_documents(board, extra))
        body.append(f"<h3>Segments</h3><div id='{bid}-browser' class='browser' data-ts='{bid}'>"
                    f"<p class='notes'>The segment browser needs JavaScript.</p></div></section>")
    body.append(_speed(speed))
    body.append("<section id='runs'><h2>Runs</h2><ul>" + "".join(f"<li>{e(run_line(r))}</li>" for r in runs)
                + "</ul>")
    if footnotes:
        body.append("<h3>Not run</h3><ol>" + "".join(
            f"<li>{e(s)} on {e(', '.join(not_run[(s, why)]))}: {e(why)}</li>" for s, why in footnotes) + "</ol>")
    for run in runs:
        for metric, err in run.doc.get("metric_errors", {}).items():
            body.append(f"<p>Metric {e(metric)} was not computed in {e(run.label)}: {e(err)}</p>")
    body.append("</section></main>")
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
           f"base-uri 'none'; form-action 'none'")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
            + "".join(body)
            + f"<script type='application/json' id='report-data'>{json_for_script(data)}</script>"
            + f"<script>{SCRIPT}</script></body></html>\n")


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header{padding:12px 24px;background:#f4f5f7;border-bottom:1px solid #ddd}
header h1{font-size:20px;margin:0 0 2px}main{padding:0 24px 40px;max-width:1400px}
nav a{margin-right:14px;color:#0b5cad;text-decoration:none}nav a:hover{text-decoration:underline}
nav.sub{margin:-6px 0 8px;font-size:13px}h2{margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h2 small{font-weight:normal;color:#666;font-size:14px}h3{margin:22px 0 6px}h4{margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3}
th{background:#f4f5f7;text-align:left;white-space:nowrap}td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e6e9ee}
th.asc::after{content:" \\25B2";font-size:9px}th.desc::after{content:" \\25BC";font-size:9px}
tr.top td{background:#eef6ee}tr.notrun td{color:#888}.rank{color:#777;font-size:11px}
.notes,.footnote{color:#555;font-size:12px}.notes p{margin:2px 0}.footnote ul{margin:2px 0;padding-left:18px}
.footnote p{margin:6px 0 0;font-weight:600}code{font-size:11px;background:#f4f5f7;padding:0 3px;border-radius:3px}
figure{margin:10px 0}img.plot{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:12px;color:#555}
.caption{font-weight:600;margin:8px 0 2px}details{margin:4px 0}summary{cursor:pointer;color:#0b5cad}
.browser .controls{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;padding:8px;background:#f4f5f7;
border:1px solid #ddd;border-radius:4px;position:sticky;top:0;z-index:1}
.browser label{font-size:12px;color:#444}.browser select,.browser input{font-size:13px;margin-left:4px}
.browser input[type=search]{width:220px}.seg{border:1px solid #ddd;border-radius:4px;margin:10px 0;padding:6px 10px}
.seg .head{font-size:12px;color:#555;margin-bottom:4px}.seg .head b{color:#1d1d1f}
.seg table{width:100%;margin:0}.seg td{vertical-align:top;border:none;padding:2px 6px}
.seg td.who{width:240px;font-size:12px;color:#444;overflow-wrap:anywhere}.seg td.sc{width:230px;font-size:11px;
color:#555;text-align:right;white-space:nowrap}.seg tr.src td{color:#444}.seg tr.ref td{background:#f7f9fc}
.seg tr.a td.who,.seg tr.b td.who{font-weight:600}mark{background:#ffe08a;padding:0 1px;border-radius:2px}
mark.miss{background:#cfe3ff}.pos{color:#16794a}.neg{color:#b3261e}.pager{margin:8px 0;display:flex;gap:10px;
align-items:center}.pager button{font-size:13px}
"""

SCRIPT = r"""
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  // ---------------------------------------------------------------- sortable tables
  function cellValue(td) {
    var v = td.hasAttribute('data-v') ? td.getAttribute('data-v') : td.textContent;
    var x = parseFloat(v);
    return (v !== '' && !isNaN(x) && isFinite(v)) ? x : v.toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var asc = !th.classList.contains('asc');
        table.querySelectorAll('thead th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
        th.classList.add(asc ? 'asc' : 'desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = cellValue(r1.cells[col]), b = cellValue(r2.cells[col]);
          var emptyA = a === '' || a === '–', emptyB = b === '' || b === '–';
          if (emptyA !== emptyB) return emptyA ? 1 : -1;
          var c = (typeof a === 'number' && typeof b === 'number') ? a - b : String(a).localeCompare(String(b));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  // ---------------------------------------------------------------- word-level differences
  function words(s) { return s.split(/\s+/).filter(function (w) { return w.length > 0; }); }
  // words are compared without case and without punctuation at their edges ("diabetes," = "Diabetes")
  function norm(w) { return w.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '') || w; }
  function common(a, b) {  // which tokens of a are in a longest common subsequence with b
    a = a.map(norm); b = b.map(norm);
    var keep = new Array(a.length).fill(false);
    if (a.length * b.length > 250000) return keep.fill(true);
    var n = a.length, m = b.length, t = [], i, j;
    for (i = 0; i <= n; i++) t.push(new Uint16Array(m + 1));
    for (i = n - 1; i >= 0; i--) for (j = m - 1; j >= 0; j--)
      t[i][j] = a[i] === b[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
    i = 0; j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { keep[i] = true; i++; j++; }
      else if (t[i + 1][j] >= t[i][j + 1]) i++; else j++;
    }
    return keep;
  }
  function marked(text, against, cls) {
    var span = el('span');
    if (against === null) { span.textContent = text; return span; }
    var a = words(text), keep = common(a, words(against));
    a.forEach(function (w, k) {
      if (k) span.appendChild(document.createTextNode(' '));
      if (keep[k]) span.appendChild(document.createTextNode(w)); else span.appendChild(el('mark', cls, w));
    });
    return span;
  }
  // ---------------------------------------------------------------- segment browser
  var browsers = {};
  function Browser(root, ts) {
    var self = this, n = ts.seg.src.length;
    var st = {metric: 0, a: 0, b: Math.min(1, ts.rows.length - 1), sort: 'order', filter: '', doc: '',
              diff: 'ref', page: 0, size: 25};
    var order = null, hay = null;
    root.textContent = '';
    var controls = el('div', 'controls'), list = el('div', 'list'), pager = el('div', 'pager');
    root.appendChild(controls); root.appendChild(pager); root.appendChild(list);
    function select(label, options, key, numeric) {
      var lab = el('label', null, label + ' '), s = el('select');
      options.forEach(function (o) { var opt = el('option', null, o[1]); opt.value = String(o[0]); s.appendChild(opt); });
      s.value = String(st[key]);
      s.addEventListener('change', function () { st[key] = numeric ? Number(s.value) : s.value; st.page = 0;
        order = null; render(); });
      lab.appendChild(s); controls.appendChild(lab); return s;
    }
    var rowOpts = ts.rows.map(function (r, i) { return [i, r]; });
    var metricOpts = ts.metrics.map(function (m, i) { return [i, m.label]; });
    var ctl = {};
    if (metricOpts.length) ctl.metric = select('metric', metricOpts, 'metric', true);
    ctl.a = select('system A', rowOpts, 'a', true);
    ctl.b = select('system B', rowOpts, 'b', true);
    ctl.sort = select('sort', [['order', 'test-set order'], ['win', 'A − B: biggest wins of A'],
      ['loss', 'A − B: biggest losses of A'], ['adesc', 'A: best first'], ['aasc', 'A: worst first']], 'sort', false);
    ctl.diff = select('highlight words not in', [['ref', 'the reference'], ['b', "system B's output"],
      ['none', '(no highlighting)']], 'diff', false);
    if (ts.seg.doc) {
      var docs = Array.from(new Set(ts.seg.doc.map(function (d) { return d === null ? '' : String(d); })));
      ctl.doc = select('document', [['', 'all']].concat(docs.map(function (d) { return [d, d]; })), 'doc', false);
    }
    var flab = el('label', null, 'filter '), box = el('input');
    box.type = 'search'; box.placeholder = 'text, or id:SEGMENT-ID';
    var timer = null;
    box.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(function () {
      st.filter = box.value; st.page = 0; order = null; render(); }, 150); });
    flab.appendChild(box); controls.appendChild(flab);
    ctl.size = select('per page', [[10, '10'], [25, '25'], [50, '50'], [100, '100']], 'size', true);
    function oriented(i, r) {
      if (!ts.metrics.length) return 0;
      var m = ts.metrics[st.metric], v = ts.score[m.label][r][i];
      return v === null ? NaN : (m.higher ? v : -v);
    }
    function compute() {
      var q = st.filter.trim(), idq = null, idx = [], i;
      if (q.indexOf('id:') === 0) idq = q.slice(3).trim(); else q = q.toLowerCase();
      if (q && idq === null && !hay) {
        hay = new Array(n);
        for (i = 0; i < n; i++) {
          var parts = [ts.seg.src[i]].concat(ts.seg.ref[i]);
          ts.hyp.forEach(function (h) { parts.push(h[i]); });
          hay[i] = parts.join('\n').toLowerCase();
        }
      }
      for (i = 0; i < n; i++) {
        if (idq !== null && ts.seg.id[i] !== idq) continue;
        if (q && idq === null && hay[i].indexOf(q) < 0) continue;
        if (st.doc && String(ts.seg.doc[i]) !== st.doc) continue;
        idx.push(i);
      }
      var key = null;
      if (st.sort === 'win' || st.sort === 'loss') key = function (i) { return oriented(i, st.a) - oriented(i, st.b); };
      if (st.sort === 'adesc' || st.sort === 'aasc') key = function (i) { return oriented(i, st.a); };
      if (key) {
        var sign = (st.sort === 'loss' || st.sort === 'aasc') ? 1 : -1, keys = {};
        idx.forEach(function (i) { var k = key(i); keys[i] = isNaN(k) ? Infinity * sign : k; });  // no score: last
        idx.sort(function (x, y) { return sign * (keys[x] - keys[y]) || x - y; });
      }
      order = idx;
    }
    function scoreText(i, r) {
      return ts.metrics.map(function (m) {
        var v = ts.score[m.label][r][i];
        return m.label + ' ' + (v === null ? '–' : v.toFixed(m.digits));
      }).join(' · ');
    }
    function line(cls, who, content, scores) {
      var tr = el('tr', cls), td = el('td');
      tr.appendChild(el('td', 'who', who)); td.appendChild(content); tr.appendChild(td);
      tr.appendChild(el('td', 'sc', scores || '')); return tr;
    }
    function segment(i) {
      var box = el('div', 'seg'), head = el('div', 'head');
      head.appendChild(el('b', null, 'segment ' + ts.seg.id[i]));
      if (ts.seg.doc) head.appendChild(document.createTextNode(' · document ' + ts.seg.doc[i]));
      if (ts.metrics.length && ts.rows.length > 1) {
        var d = oriented(i, st.a) - oriented(i, st.b), m = ts.metrics[st.metric];
        if (!isNaN(d)) {
          head.appendChild(document.createTextNode(' · A − B on ' + m.label + ': '));
          head.appendChild(el('span', d > 0 ? 'pos' : d < 0 ? 'neg' : null, (d > 0 ? '+' : '') + d.toFixed(m.digits)));
        }
      }
      box.appendChild(head);
      var t = el('table'), ref = ts.seg.ref[i][0];
      var against = function (r) { return st.diff === 'none' ? null : st.diff === 'b' ? (r === st.b ? null :
        ts.hyp[st.b][i]) : ref; };
      t.appendChild(line('src', 'source', marked(ts.seg.src[i], null)));
      ts.seg.ref[i].forEach(function (rf, k) {
        t.appendChild(line('ref', k ? 'reference ' + (k + 1) : 'reference',
          marked(rf, st.diff === 'ref' && k === 0 ? ts.hyp[st.a][i] : null, 'miss')));
      });
      var seen = [st.a];
      if (st.b !== st.a) seen.push(st.b);
      ts.rows.forEach(function (r, k) { if (seen.indexOf(k) < 0) seen.push(k); });
      seen.forEach(function (r) {
        var who = (r === st.a ? 'A: ' : r === st.b ? 'B: ' : '') + ts.rows[r];
        t.appendChild(line(r === st.a ? 'a' : r === st.b ? 'b' : 'o', who, marked(ts.hyp[r][i], against(r)),
          scoreText(i, r)));
      });
      box.appendChild(t); return box;
    }
    function render() {
      if (order === null) compute();
      var pages = Math.max(1, Math.ceil(order.length / st.size));
      st.page = Math.min(st.page, pages - 1);
      list.textContent = ''; pager.textContent = '';
      var prev = el('button', null, '◀ previous'), next = el('button', null, 'next ▶');
      prev.disabled = st.page === 0; next.disabled = st.page >= pages - 1;
      prev.addEventListener('click', function () { st.page--; render(); });
      next.addEventListener('click', function () { st.page++; render(); });
      pager.appendChild(prev);
      pager.appendChild(el('span', null, 'page ' + (st.page + 1) + ' of ' + pages + ' · ' +
        order.length.toLocaleString() + ' of ' + n.toLocaleString() + ' segments'));
      pager.appendChild(next);
      var frag = document.createDocumentFragment();
      order.slice(st.page * st.size, (st.page + 1) * st.size).forEach(function (i) { frag.appendChild(segment(i)); });
      list.appendChild(frag);
    }
    self.show = function (segId, a, b, metric) {
      var ia = ts.rows.indexOf(a), ib = ts.rows.indexOf(b), im = ts.metrics.map(function (m) { return m.label; })
        .indexOf(metric);
      if (ia >= 0) st.a = ia; if (ib >= 0) st.b = ib; if (im >= 0) st.metric = im;
      st.filter = 'id:' + segId; box.value = st.filter; st.page = 0; order = null;
      Object.keys(ctl).forEach(function (k) { ctl[k].value = String(st[k]); });
      render(); root.scrollIntoView();
    };
    render();
  }
  data.testsets.forEach(function (ts) {
    var root = document.getElementById(ts.id + '-browser');
    if (root) browsers[ts.id] = new Browser(root, ts);
  });
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a.seglink') : null;
    if (!a || !browsers[a.dataset.ts]) return;
    ev.preventDefault();
    browsers[a.dataset.ts].show(a.dataset.seg, a.dataset.a, a.dataset.b, a.dataset.metric);
  });
})();
"""
