"""Leaderboards from a run's scores document (scores.json), so a saved run can be re-reported any time."""

from __future__ import annotations

from typing import Any

from harness.significance import TEST_NAMES


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ranked(doc: dict[str, Any], testset: str) -> list[dict[str, Any]]:
    """Results for one test set: systems that ran, best first by `rank_by`, then those that did not run."""
    metric = doc["rank_by"]
    higher = doc["metrics"].get(metric, {}).get("higher_is_better", True)
    rows = [r for r in doc["results"] if r["testset"] == testset]
    ok = [r for r in rows if r["status"] == "ok" and metric in r["scores"]]
    ok.sort(key=lambda r: r["scores"][metric]["score"], reverse=higher)
    return ok + [r for r in rows if r not in ok]


def _significance(doc: dict[str, Any], testset: str) -> dict[str, Any]:
    """metric -> significance block of one test set ({} for runs without significance tests)."""
    return (doc.get("significance") or {}).get("testsets", {}).get(testset, {})


def _rank_label(block: dict[str, Any] | None, system: str, fallback: int) -> str:
    if not block or block["systems"][system]["rank_range"] is None:
        return str(fallback)
    lo, hi = block["systems"][system]["rank_range"]
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _score_cell(score: float, block: dict[str, Any] | None, system: str, digits: int, alpha: float) -> str:
    text = f"{score:.{digits}f}"
    if not block:
        return text
    ci = block["systems"][system]["ci"]
    if ci:
        text += f" ± {ci['half_width']:.{digits}f}"
    baseline = block.get("baseline")
    if baseline and system != baseline:
        p = block["p_values"].get(baseline, {}).get(system)
        if p is not None and p < alpha:
            text += " *"
    return text


def _significance_notes(doc: dict[str, Any], blocks: dict[str, Any], testset: dict[str, Any]) -> list[str]:
    settings = doc["significance"]["settings"]
    test = TEST_NAMES.get(settings["test"], settings["test"])
    alpha = settings["alpha"]
    lines = [f"± is the 95% confidence interval ({settings['resamples']:,} bootstrap resamples, seed "
             f"{settings['seed']})."]
    rank_block = blocks.get(doc["rank_by"])
    if rank_block and len(rank_block["systems"]) > 1 \
            and next(iter(rank_block["systems"].values()))["rank_range"]:
        corrected = ", Holm-corrected" if settings["correction"] == "holm" else ""
        lines.append(f"Rank: the ranks by {doc['rank_by']} consistent with {test} between every pair of systems "
                     f"(p < {alpha}{corrected}); systems in one cluster cannot be told apart.")
    baseline = next((b["baseline"] for b in blocks.values() if b.get("baseline")), None)
    if baseline:
        lines.append(f"\\* differs from the baseline {baseline} ({test}, p < {alpha}).")
    power = (rank_block or {}).get("power")
    if power:
        lines.append(f"Power: detecting a {doc['rank_by']} difference of {power['delta']:g} between two systems "
                     f"(α = {power['alpha']}, power {power['power']}) takes about {power['segments_needed']:,} "
                     f"segments (median over {power['pairs']} pairs); with this test set's "
                     f"{testset['segments']:,}, the smallest detectable difference is about "
                     f"{power['detectable_difference']:.2f}.")
    return lines


def leaderboard_markdown(doc: dict[str, Any], digits: int = 2) -> str:
    metrics = [m for m in doc["metrics"] if m not in doc.get("metric_errors", {})]
    alpha = ((doc.get("significance") or {}).get("settings") or {}).get("alpha", 0.05)
    lines = [f"# Leaderboard: {doc['experiment']}", ""]
    footnotes: list[str] = []
    for name, ts in doc["testsets"].items():
        blocks = _significance(doc, name)
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
                cells = [_rank_label(rank_block, system, rank)]
                if with_clusters:
                    cells.append(str(rank_block["systems"][system]["cluster"]))
                cells.append(_cell(system))
                for m in metrics:
                    s = r["scores"].get(m)
                    shown = doc["metrics"][m].get("display_digits", digits)  # COMET-style 0..1 scores want 4
                    block = blocks.get(m) if s and system in blocks.get(m, {}).get("systems", {}) else None
                    cells.append(_score_cell(s["score"], block, system, shown, alpha) if s else "–")
                    if s:
                        signatures.setdefault(m, s["signature"])
                if r["empty_hypotheses"]:
                    notes.append(f"{r['empty_hypotheses']} empty hypotheses")
                if rank_block and rank_block.get("baseline") == system:
                    notes.append("baseline")
            else:
                footnotes.append(f"{system} on {name}: {r['reason']}")
                cells = ["–"] * (2 if with_clusters else 1) + [_cell(system)] + ["–"] * len(metrics)
                notes.append(f"not run [{len(footnotes)}]")
            lines.append("| " + " | ".join(cells + ["; ".join(notes)]) + " |")
        lines += ["", f"Ranked by {doc['rank_by']}. Test set: `{ts['signature']}`", ""]
        if blocks:
            lines += _significance_notes(doc, blocks, ts) + [""]
        if signatures:
            if blocks:
                signatures["significance"] = doc["significance"]["signature"]
            lines += ["Signatures:", ""] + [f"- `{sig}`" for sig in signatures.values()] + [""]
        skipped = [x for x in doc.get("not_applicable", []) if x["testset"] == name]
        if skipped:
            lines += ["Not applicable here: " + "; ".join(f"{x['system']} ({x['reason']})" for x in skipped), ""]
    if footnotes:
        lines += ["## Not run", ""] + [f"{i}. {_cell(f)}" for i, f in enumerate(footnotes, 1)] + [""]
    for metric, err in doc.get("metric_errors", {}).items():
        lines += [f"Metric {metric} was not computed: {err}", ""]
    return "\n".join(lines).rstrip() + "\n"
