"""The run's own renderings: the Markdown leaderboard of `run` (leaderboard.md, and the terminal's copy) and the
plain-text table of `score`. A saved run can be re-rendered any time from its scores.json."""

from __future__ import annotations

from typing import Any

from harness.report.board import RunInfo, build_boards
from harness.report.cells import alpha_of, digits_of, rank_label, score_cell, significance_blocks, significance_notes
from harness.report.tables import markdown as boards_markdown


def leaderboard_markdown(doc: dict[str, Any], markdown: bool = True) -> str:
    """The leaderboard of every test set, ranked, with significance notes, signatures and what did not run.
    `markdown=False` is the terminal's version: the same tables without Markdown escapes in the notes."""
    run = RunInfo(doc=doc, label=str(doc.get("created", "")))
    return boards_markdown(build_boards([run]), markdown=markdown, title=doc["experiment"])


def score_text(doc: dict[str, Any], width: int | None = None, baseline_label: bool = True) -> str:
    """`mt-harness score`'s output for one test set, sacreBLEU style: `signature = score details` lines for
    one system without tests, else a table of systems x metrics (cells as sacreBLEU's paired tests print
    them), the signatures and the significance notes. `width` overrides each metric's digits."""
    testset = next(iter(doc["testsets"]))
    results = [r for r in doc["results"] if r["testset"] == testset]
    metrics = [m for m in doc["metrics"] if m not in doc.get("metric_errors", {})]
    blocks = significance_blocks(doc, testset)
    alpha = alpha_of(doc)
    lines: list[str] = []

    def digits(m: str) -> int:
        return digits_of(doc, m) if width is None else width

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
