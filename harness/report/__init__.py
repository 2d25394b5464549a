"""Rendering results for people: the run's Markdown leaderboard and `score`'s text (`text.py`), leaderboards
across runs in Markdown, CSV, JSON and LaTeX (`board.py`, `tables.py`), and the HTML report with plots,
bucketed analysis and a segment browser (`analysis.py`, `plots.py`, `html.py`; written by `output.py`).

The pieces every format shows (rank labels, score cells, significance notes) are rendered in `cells.py` only.
This module re-exports the names other modules import; `output.py` (which reads run folders) is imported from
where it is used, so that `harness.results` can import this package without a cycle.
"""

from harness.report.cells import (
    TEST_NAMES,
    baseline_p_value,
    rank_label,
    ranked,
    score_cell,
    significance_blocks,
    significance_lines,
    significance_notes,
)
from harness.report.text import leaderboard_markdown, score_text

__all__ = ["TEST_NAMES", "baseline_p_value", "leaderboard_markdown", "rank_label", "ranked", "score_cell",
           "score_text", "significance_blocks", "significance_lines", "significance_notes"]
