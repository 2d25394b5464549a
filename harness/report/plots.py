"""The report's plots, drawn with matplotlib (imported here only, inside functions) as SVG for the HTML page and
as SVG + PNG files for papers: scores with 95% intervals per system, segment-score distributions, and scores
per source-length bucket. One small panel per metric.

Figures are built on `matplotlib.figure.Figure` (no pyplot: no global figure registry) and drawn inside an
`rc_context`, so no setting leaks into the caller's matplotlib. Text is SVG text (small files), math
parsing is off (a `$` in a system name stays a `$`), and the SVG carries no date (same input, same file).
"""

from __future__ import annotations

import io
from contextlib import contextmanager

import numpy as np

from harness.report.analysis import BucketAnalysis, analysed_columns, analysed_rows
from harness.report.board import Board

_RC = {"svg.fonttype": "none", "svg.hashsalt": "mt-harness", "text.parse_math": False, "font.size": 8,
       "axes.titlesize": 9, "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100}
PANELS_PER_LINE = 4
#: colours per row, in ranking order (matplotlib's tab10, repeated)
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf"]


def _figure(panels: int, height_per_line: float, width_per_panel: float = 3.0):
    from matplotlib.figure import Figure

    cols = min(panels, PANELS_PER_LINE)
    lines = -(-panels // cols)
    fig = Figure(figsize=(width_per_panel * cols, height_per_line * lines), layout="constrained")
    axes = fig.subplots(lines, cols, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[:width - 1] + "…"


def intervals_figure(board: Board):
    """Each row's score with its 95% interval, one panel per metric column; None without intervals."""
    columns = [c for c in board.columns if board.blocks.get(c.label)]
    if not columns:
        return None
    with _rc():
        rows = [r for r in board.ok_rows if r.key in board.blocks[columns[0].label]["systems"]]
        fig, axes = _figure(len(columns), 0.9 + 0.28 * len(rows), 3.0)
        y = np.arange(len(rows))[::-1]
        for ax, col in zip(axes, columns):
            systems = board.blocks[col.label]["systems"]
            for yi, row in zip(y, rows):
                entry = systems.get(row.key)
                if not entry:
                    continue
                score, ci = entry["score"], entry.get("ci")
                err = [[score - ci["lower"]], [ci["upper"] - score]] if ci else None
                ax.errorbar([score], [yi], xerr=err, fmt="o", ms=4, capsize=3, color=_colour(board, row.key))
            ax.set_title(col.header)
            ax.set_yticks(y, [_short(r.key) for r in rows] if ax is axes[0] else [""] * len(rows))
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(f"{board.title}: scores with 95% confidence intervals", fontsize=9)
    return fig


def distributions_figure(board: Board):
    """Box plots of the segment-level scores of each row, one panel per metric column."""
    rows = analysed_rows(board)
    columns = analysed_columns(board, rows)
    if not rows or not columns:
        return None
    with _rc():
        fig, axes = _figure(len(columns), 0.9 + 0.28 * len(rows), 3.0)
        for ax, col in zip(axes, columns):
            data = [r.result.segment_scores[col.metric] for r in rows][::-1]
            parts = ax.boxplot(data, orientation="horizontal", showfliers=False, showmeans=True, widths=0.6,
                               patch_artist=True, meanprops={"marker": "D", "markersize": 3,
                                                             "markerfacecolor": "white", "markeredgecolor": "black"})
            for patch, row in zip(parts["boxes"], rows[::-1]):
                patch.set_facecolor(_colour(board, row.key))
                patch.set_alpha(0.45)
            ax.set_title(f"segment {col.header}")
            ax.set_yticks(np.arange(1, len(rows) + 1),
                          [_short(r.key) for r in rows[::-1]] if ax is axes[0] else [""] * len(rows))
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(f"{board.title}: segment-score distributions (box: quartiles; whiskers: 1.5 IQR; "
                     f"diamond: mean)", fontsize=9)
    return fig


def buckets_figure(board: Board, analysis: BucketAnalysis):
    """Each row's score per bucket, with the bucket's 95% interval where it was tested."""
    if not analysis.cells:
        return None
    keys = [r.key for r in analysed_rows(board)]
    labels = [b.label for b in analysis.buckets]
    with _rc():
        fig, axes = _figure(len(analysis.cells), 2.6, 3.2)
        x = np.arange(len(labels))
        for ax, (label, cells) in zip(axes, analysis.cells.items()):
            col = board.column[label]
            for j, key in enumerate(keys):
                scores = [c.scores[key] for c in cells]
                lower = [score - (c.block["systems"][key]["ci"]["lower"] if c.block and c.block["systems"][key]["ci"]
                                  else score) for c, score in zip(cells, scores)]
                upper = [(c.block["systems"][key]["ci"]["upper"] if c.block and c.block["systems"][key]["ci"]
                          else score) - score for c, score in zip(cells, scores)]
                offset = (j - (len(keys) - 1) / 2) * 0.06  # side by side, so the bars stay readable
                ax.errorbar(x + offset, scores, yerr=[lower, upper], marker="o", ms=3, capsize=2, lw=1,
                            color=_colour(board, key), label=_short(key, 30))
            ax.set_title(col.header)
            ax.set_xticks(x, [_short(lbl, 16) for lbl in labels], rotation=30, ha="right")
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(fontsize=7, frameon=False)
        fig.suptitle(f"{board.title}: score by {analysis.kind} (95% intervals where tested)", fontsize=9)
    return fig


def _colour(board: Board, key: str) -> str:
    keys = [r.key for r in board.ok_rows]
    return _COLOURS[keys.index(key) % len(_COLOURS)] if key in keys else "#333333"


@contextmanager
def _rc():
    """matplotlib's rc_context with the report's settings, around drawing and saving."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def to_svg(fig) -> str:
    """The figure as an SVG document (text as text, no date)."""
    buffer = io.StringIO()
    with _rc():
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def to_png(fig, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    with _rc():
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
