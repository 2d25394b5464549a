"""Leaderboards from a run's scores document (scores.json), so a saved run can be re-reported any time."""

from __future__ import annotations

from typing import Any


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


def leaderboard_markdown(doc: dict[str, Any], digits: int = 2) -> str:
    metrics = [m for m in doc["metrics"] if m not in doc.get("metric_errors", {})]
    lines = [f"# Leaderboard: {doc['experiment']}", ""]
    footnotes: list[str] = []
    for name, ts in doc["testsets"].items():
        lines += [f"## {name} ({ts['src_lang']}→{ts['tgt_lang']}, {ts['segments']:,} segments)", ""]
        header = ["#", "System"] + [m + ("" if doc["metrics"][m]["higher_is_better"] else " ↓") for m in metrics]
        lines += ["| " + " | ".join(header + ["Notes"]) + " |",
                  "|" + "|".join(["--:", ":--"] + ["--:"] * len(metrics) + [":--"]) + "|"]
        rank = 0
        signatures: dict[str, str] = {}
        for r in ranked(doc, name):
            notes = []
            if r["status"] == "ok":
                rank += 1
                cells = [str(rank), _cell(r["system"])]
                for m in metrics:
                    s = r["scores"].get(m)
                    shown = doc["metrics"][m].get("display_digits", digits)  # COMET-style 0..1 scores want 4
                    cells.append(f"{s['score']:.{shown}f}" if s else "–")
                    if s:
                        signatures.setdefault(m, s["signature"])
                if r["empty_hypotheses"]:
                    notes.append(f"{r['empty_hypotheses']} empty hypotheses")
            else:
                footnotes.append(f"{r['system']} on {name}: {r['reason']}")
                cells = ["–", _cell(r["system"])] + ["–"] * len(metrics)
                notes.append(f"not run [{len(footnotes)}]")
            lines.append("| " + " | ".join(cells + ["; ".join(notes)]) + " |")
        lines += ["", f"Ranked by {doc['rank_by']}. Test set: `{ts['signature']}`", ""]
        if signatures:
            lines += ["Signatures:", ""] + [f"- `{sig}`" for sig in signatures.values()] + [""]
        skipped = [x for x in doc.get("not_applicable", []) if x["testset"] == name]
        if skipped:
            lines += ["Not applicable here: " + "; ".join(f"{x['system']} ({x['reason']})" for x in skipped), ""]
    if footnotes:
        lines += ["## Not run", ""] + [f"{i}. {_cell(f)}" for i, f in enumerate(footnotes, 1)] + [""]
    for metric, err in doc.get("metric_errors", {}).items():
        lines += [f"Metric {metric} was not computed: {err}", ""]
    return "\n".join(lines).rstrip() + "\n"
