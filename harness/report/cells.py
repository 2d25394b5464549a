"""The pieces every rendering shows, rendered here once so that no two formats ever disagree: score cells
with intervals and p-values, rank ranges, the notes that explain them, and the ranking of a run's results.

They read the run document's shapes (scores.json): a significance *block* is one metric on one test set
(`significance.testsets.<testset>.<metric>`: per system `score`, `ci`, `rank_range`, `cluster`; `p_values`;
`baseline`; `no_difference`; `power`). Reports across runs build blocks of the same shape, keyed by their
own row names, so these functions serve them unchanged.
"""

from __future__ import annotations

from typing import Any

TEST_NAMES = {"bootstrap": "paired bootstrap resampling", "ar": "paired approximate randomisation"}


def significance_blocks(doc: dict[str, Any], testset: str) -> dict[str, Any]:
    """metric -> significance block of one test set ({} for runs without significance tests)."""
    return (doc.get("significance") or {}).get("testsets", {}).get(testset, {})


def rank_label(block: dict[str, Any] | None, system: str, fallback: int, dash: str = "–") -> str:
    """`2` or `2–3` (Markdown) / `2-3` (plain text): the ranks consistent with the tests, else `fallback`."""
    entry = (block or {}).get("systems", {}).get(system) or {}
    if not entry.get("rank_range"):
        return str(fallback)
    lo, hi = entry["rank_range"]
    return str(lo) if lo == hi else f"{lo}{dash}{hi}"


def has_clusters(block: dict[str, Any] | None) -> bool:
    """Whether a block ranks its systems (all pairs tested), so Rank and Cluster columns mean something."""
    return bool(block) and bool(block["systems"]) and next(iter(block["systems"].values()))["cluster"] is not None


def baseline_p_value(block: dict[str, Any] | None, system: str) -> tuple[float | None, bool]:
    """(p-value of `system` against the block's baseline or None (the baseline itself, untested), whether the
    two have the same score, which is never a significant difference whatever p says)."""
    if not block or not block.get("baseline") or system == block["baseline"]:
        return None, False
    baseline = block["baseline"]
    same = [baseline, system] in block.get("no_difference", []) or [system, baseline] in block.get("no_difference", [])
    return block["p_values"].get(baseline, {}).get(system), same


def score_cell(score: float, block: dict[str, Any] | None, system: str, digits: int, alpha: float,
               style: str = "markdown") -> str:
    """One score with its interval and, against a baseline, its significance.

    markdown (also CSV, LaTeX, HTML): `27.31 ± 1.04 *`;  sacrebleu (plain text, as sacreBLEU prints it):
    `27.31 (μ = 27.30 ± 1.04) p = 0.0010*`."""
    text = f"{score:.{digits}f}"
    entry = (block or {}).get("systems", {}).get(system)
    if not entry:
        return text
    ci = entry.get("ci")
    p, same = baseline_p_value(block, system)
    if style == "sacrebleu":
        if ci:
            text += f" (μ = {ci['mean']:.{digits}f} ± {ci['half_width']:.{digits}f})"
        if p is not None:  # sacreBLEU's p-value, but a pair with the same score is marked, never starred
            text += f" p = {p:.4f}" + (" (same score)" if same else "*" if p < alpha else " ")
        return text
    if ci:
        text += f" ± {ci['half_width']:.{digits}f}"
    if p is not None and p < alpha and not same:
        text += " *"
    return text


def significance_lines(settings: dict[str, Any], rank_by: str, blocks: dict[str, Any], segments: int,
                       markdown: bool = True, pairs_of: str = "systems") -> list[str]:
    """The lines under a table that say what ±, Rank, * and Power mean, with the settings behind them.
    `pairs_of` names what was compared ("systems", or "rows" when one system appears once per run)."""
    test = TEST_NAMES.get(settings["test"], settings["test"])
    alpha = settings["alpha"]
    star = "\\*" if markdown else "*"
    lines = [f"± is the 95% confidence interval ({settings['resamples']:,} bootstrap resamples, seed "
             f"{settings['seed']})."]
    rank_block = blocks.get(rank_by)
    if rank_block and len(rank_block["systems"]) > 1 \
            and next(iter(rank_block["systems"].values()))["rank_range"]:
        corrected = ", Holm-corrected" if settings["correction"] == "holm" else ""
        lines.append(f"Rank: the ranks by {rank_by} consistent with {test} between every pair of {pairs_of} "
                     f"(p < {alpha}{corrected}); {pairs_of} in one cluster cannot be told apart.")
    baseline = next((b["baseline"] for b in blocks.values() if b.get("baseline")), None)
    if baseline:
        lines.append(f"{star} differs from the baseline {baseline} ({test}, p < {alpha}).")
    if any(b.get("no_difference") for b in blocks.values()):
        lines.append("Systems with the same score (e.g. identical outputs) are never counted as different; sacreBLEU "
                     "gives such a pair p = 1/(resamples + 1), shown as it is but marked, not starred.")
    power = (rank_block or {}).get("power")
    if power:
        lines.append(f"Power: detecting a {rank_by} difference of {power['delta']:g} between two systems "
                     f"(α = {power['alpha']}, power {power['power']}) takes about {power['segments_needed']:,} "
                     f"segments (median over {power['pairs']} pairs); with this test set's "
                     f"{segments:,}, the smallest detectable difference is about "
                     f"{power['detectable_difference']:.2f}.")
    return lines


def significance_notes(doc: dict[str, Any], blocks: dict[str, Any], segments: int, markdown: bool = True) -> list[str]:
    """`significance_lines` for one run document's test set."""
    return significance_lines(doc["significance"]["settings"], doc["rank_by"], blocks, segments, markdown)


def ranked(doc: dict[str, Any], testset: str) -> list[dict[str, Any]]:
    """Results for one test set: systems that ran, best first by `rank_by`, then those that did not run."""
    metric = doc["rank_by"]
    higher = doc["metrics"].get(metric, {}).get("higher_is_better", True)
    rows = [r for r in doc["results"] if r["testset"] == testset]
    ok = [r for r in rows if r["status"] == "ok" and metric in r["scores"]]
    ok.sort(key=lambda r: r["scores"][metric]["score"], reverse=higher)
    return ok + [r for r in rows if r not in ok]


def digits_of(doc: dict[str, Any], metric: str, default: int = 2) -> int:
    return doc["metrics"][metric].get("display_digits", default)  # COMET-style 0..1 scores want 4


def alpha_of(doc: dict[str, Any]) -> float:
    return ((doc.get("significance") or {}).get("settings") or {}).get("alpha", 0.05)


def metric_header(metric: str, higher_is_better: bool) -> str:
    """A metric's column header: an arrow marks metrics where lower is better (TER)."""
    return metric + ("" if higher_is_better else " ↓")
