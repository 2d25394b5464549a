"""Rendering a run document (scores.json) for people: the Markdown leaderboard of `run` and the plain-text
table of `score`. The pieces both show — score cells with intervals and p-values, rank ranges, the notes that
explain them — are rendered here once, so the two never disagree. A saved run can be re-rendered any time.
"""

from __future__ import annotations

from typing import Any

TEST_NAMES = {"bootstrap": "paired bootstrap resampling", "ar": "paired approximate randomisation"}


# ------------------------------------------------------------------------------------------ shared pieces

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

    markdown: `27.31 ± 1.04 *`;  sacrebleu (plain text, as sacreBLEU prints it):
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


def significance_notes(doc: dict[str, Any], blocks: dict[str, Any], segments: int, markdown: bool = True) -> list[str]:
    """The lines under a table that say what ±, Rank, * and Power mean, with the settings behind them."""
    settings = doc["significance"]["settings"]
    test = TEST_NAMES.get(settings["test"], settings["test"])
    alpha = settings["alpha"]
    star = "\\*" if markdown else "*"
    lines = [f"± is the 95% confidence interval ({settings['resamples']:,} bootstrap resamples, seed "
             f"{settings['seed']})."]
    rank_by = doc["rank_by"]
    rank_block = blocks.get(rank_by)
    if rank_block and len(rank_block["systems"]) > 1 \
            and next(iter(rank_block["systems"].values()))["rank_range"]:
        corrected = ", Holm-corrected" if settings["correction"] == "holm" else ""
        lines.append(f"Rank: the ranks by {rank_by} consistent with {test} between every pair of systems "
                     f"(p < {alpha}{corrected}); systems in one cluster cannot be told apart.")
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


def ranked(doc: dict[str, Any], testset: str) -> list[dict[str, Any]]:
    """Results for one test set: systems that ran, best first by `rank_by`, then those that did not run."""
    metric = doc["rank_by"]
    higher = doc["metrics"].get(metric, {}).get("higher_is_better", True)
    rows = [r for r in doc["results"] if r["testset"] == testset]
    ok = [r for r in rows if r["status"] == "ok" and metric in r["scores"]]
    ok.sort(key=lambda r: r["scores"][metric]["score"], reverse=higher)
    return ok + [r for r in rows if r not in ok]


def _digits(doc: dict[str, Any], metric: str, default: int = 2) -> int:
    return doc["metrics"][metric].get("display_digits", default)  # COMET-style 0..1 scores want 4


def _alpha(doc: dict[str, Any]) -> float:
    return ((doc.get("significance") or {}).get("settings") or {}).get("alpha", 0.05)


# ------------------------------------------------------------------------------------------ Markdown leaderboard

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def leaderboard_markdown(doc: dict[str, Any], markdown: bool = True) -> str:
    """The leaderboard of every test set, ranked, with significance notes, signatures and what did not run.
    `markdown=False` is the terminal's version: the same tables without Markdown escapes in the notes."""
    metrics = [m for m in doc["metrics"] if m not in doc.get("metric_errors", {})]
    alpha = _alpha(doc)
    lines = [f"# Leaderboard: {doc['experiment']}", ""]
    # one footnote per system and reason: a model that cannot load is one note, not one per test set
    not_run: dict[tuple[str, str], list[str]] = {}
    for r in doc["results"]:
        if r["status"] != "ok":
            not_run.setdefault((r["system"], r["reason"]), []).append(r["testset"])
    footnotes = list(not_run)
    for name, ts in doc["testsets"].items():
        blocks = significance_blocks(doc, name)
        rank_block = blocks.get(doc["rank_by"])
        with_clusters = bool(rank_block) and rank_block["systems"] and \
            next(iter(rank_block["systems"].values()))["cluster"] is not None
        lines += [f"## {name} ({ts['src_lang']}→{ts['tgt_lang']}, {ts['segments']:,} segments)", ""]
        header = (["Rank", "Cluster"] if with_clusters else ["#"]) + ["System"] + \
            [m + ("" if doc["metrics"][m]["higher_is_better"] else " ↓") for m in metrics]
        lines += ["| " + " | ".join(header + ["Notes"]) + " |",
                  "|" + "|".join(["--:"] * (2 if with_clusters else 1) + [":--"] + ["--:"] * len(metrics)
                                 + [":--"]) + "|"]
        rank = 0
        signatures: dict[str, str] = {}
        for r in ranked(doc, name):
            notes = []
            system = r["system"]
            if r["status"] == "ok":
                rank += 1
                cells = [rank_label(rank_block, system, rank)]
                if with_clusters:
                    cells.append(str(rank_block["systems"][system]["cluster"]))
                cells.append(_cell(system))
                for m in metrics:
                    s = r["scores"].get(m)
                    cells.append(score_cell(s["score"], blocks.get(m), system, _digits(doc, m), alpha) if s else "–")
                    if s:
                        signatures.setdefault(m, s["signature"])
                if r["empty_hypotheses"]:
                    notes.append(f"{r['empty_hypotheses']} empty hypotheses")
                if rank_block and rank_block.get("baseline") == system:
                    notes.append("baseline")
            else:
                cells = ["–"] * (2 if with_clusters else 1) + [_cell(system)] + ["–"] * len(metrics)
                notes.append(f"not run [{footnotes.index((system, r['reason'])) + 1}]")
            lines.append("| " + " | ".join(cells + ["; ".join(notes)]) + " |")
        lines += ["", f"Ranked by {doc['rank_by']}. Test set: `{ts['signature']}`", ""]
        if blocks:
            lines += significance_notes(doc, blocks, ts["segments"], markdown=markdown) + [""]
        if signatures:
            if blocks:
                signatures["significance"] = doc["significance"]["signature"]
            lines += ["Signatures:", ""] + [f"- `{sig}`" for sig in signatures.values()] + [""]
        skipped = [x for x in doc.get("not_applicable", []) if x["testset"] == name]
        if skipped:
            lines += ["Not applicable here: " + "; ".join(f"{x['system']} ({x['reason']})" for x in skipped), ""]
    if footnotes:
        lines += ["## Not run", ""]
        for i, (system, reason) in enumerate(footnotes, 1):
            where = ", ".join(not_run[(system, reason)])
            lines.append(f"{i}. {_cell(system)} on {where}: {_cell(reason)}")
        lines.append("")
    for metric, err in doc.get("metric_errors", {}).items():
        lines += [f"Metric {metric} was not computed: {err}", ""]
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------------ `score` plain text

def score_text(doc: dict[str, Any], width: int | None = None, baseline_label: bool = True) -> str:
    """`mt-harness score`'s output for one test set, sacreBLEU style: `signature = score details` lines for
    one system without tests, else a table of systems x metrics (cells as sacreBLEU's paired tests print
    them), the signatures and the significance notes. `width` overrides each metric's digits."""
    testset = next(iter(doc["testsets"]))
    results = [r for r in doc["results"] if r["testset"] == testset]
    metrics = [m for m in doc["metrics"] if m not in doc.get("metric_errors", {})]
    blocks = significance_blocks(doc, testset)
    alpha = _alpha(doc)
    lines: list[str] = []

    def digits(m: str) -> int:
        return _digits(doc, m) if width is None else width

    if len(results) == 1 and not blocks:
        for m in metrics:
            s = results[0]["scores"][m]
            lines.append(f"{s['signature']} = {s['score']:.{digits(m)}f} {s['details']}".rstrip())
    else:
        baseline = next((b["baseline"] for b in blocks.values() if b.get("baseline")), None)
        table = [["System"] + metrics]
        for r in results:
            label = f"Baseline: {r['system']}" if baseline_label and r["system"] == baseline else r["system"]
            table.append([label] + [score_cell(r["scores"][m]["score"], blocks.get(m), r["system"], digits(m), alpha,
                                               style="sacrebleu") for m in metrics])
        widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
        for row in table:
            lines.append("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])])
                         .rstrip())
        lines.append("")
        lines += [results[0]["scores"][m]["signature"] for m in metrics]
        if blocks:
            lines += [doc["significance"]["signature"], ""]
            lines += significance_notes(doc, blocks, doc["testsets"][testset]["segments"], markdown=False)
            first = next(iter(blocks.values()))
            if next(iter(first["systems"].values()))["rank_range"]:
                lines.append("")
                for m, block in blocks.items():
                    order = sorted(block["systems"], key=lambda s: block["systems"][s]["cluster"])
                    lines.append(f"  {m}: " + "; ".join(
                        f"{s} rank {rank_label(block, s, 0, dash='-')} cluster {block['systems'][s]['cluster']}"
                        for s in order))
    for r in results:
        if r["empty_hypotheses"]:
            lines.append(f"note: {r['system']} has {r['empty_hypotheses']} empty hypotheses (scored as empty)")
    return "\n".join(lines)
