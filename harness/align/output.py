"""What `mt-harness align` writes: the test set (JSONL, one aligned segment per line), a Markdown review
file listing every bead and every dropped sentence with its reason, and the comparison of a
human-reviewed copy of the test set with the automatic output."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.align.pipeline import UNRELATED_CONFIDENCE, Alignment
from harness.textio import write_jsonl, write_text

#: beads below this confidence are kept but marked low_confidence and listed first in the review file
REVIEW_BELOW = 0.8


def segment_rows(alignment: Alignment, doc_id: str) -> list[dict]:
    """One JSON object per kept segment. `low_confidence` is true for beads worth a second look and for
    every bead of a document pair that as a whole looks wrong (whose confidences are also scaled below
    0.5: see `pipeline.UNRELATED_CONFIDENCE`)."""
    rows = []
    for k, s in enumerate(alignment.segments, 1):
        rows.append({
            "doc_id": doc_id,
            "seg_id": f"{doc_id}-{k}",
            "src": s.src,
            "ref": s.ref,
            "align": s.bead.shape,
            "confidence": round(s.confidence, 3),
            "low_confidence": alignment.low_confidence or s.confidence < REVIEW_BELOW,
            "src_lines": list(s.src_lines),
            "ref_lines": list(s.ref_lines),
        })
    return rows


def summary_line(alignment: Alignment) -> str:
    shapes = Counter(s.bead.shape for s in alignment.segments)
    dropped_src = sum(len(d.sentences) for d in alignment.dropped if d.side == "src")
    dropped_ref = sum(len(d.sentences) for d in alignment.dropped if d.side == "ref")
    return (f"{len(alignment.segments)} segments ({', '.join(f'{k}: {v}' for k, v in sorted(shapes.items()))}); "
            f"dropped {dropped_src} of {len(alignment.src.sentences)} source and {dropped_ref} of "
            f"{len(alignment.ref.sentences)} reference sentences")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _readable_anchors(shared: tuple[str, ...], limit: int = 6) -> list[str]:
    """Shared anchors without those inside a longer one ("tran", "sy" when "transy" is there)."""
    return [a for a in shared if not any(a != b and a in b for b in shared)][:limit]


def review_markdown(alignment: Alignment, doc_id: str) -> str:
    """Every bead and every dropped sentence in document order, with confidence and reasons."""
    src, ref = alignment.src, alignment.ref
    lines = [f"# Alignment review: {doc_id}", "",
             f"- source: `{src.path}` ({src.lang}, {len(src.paragraphs)} paragraphs, {len(src.sentences)} sentences)",
             f"- reference: `{ref.path}` ({ref.lang}, {len(ref.paragraphs)} paragraphs, {len(ref.sentences)} sentences)",
             f"- result: {summary_line(alignment)}",
             f"- length model: {alignment.length_ratio:.3f} reference characters per source character, "
             f"variance {alignment.length_variance:.2f}", ""]
    for w in alignment.warnings:
        lines.append(f"**Warning: {w}.**")
    if alignment.warnings:
        scaled = (f"Because of this, every confidence here and in the test set is the bead's own times "
                  f"{alignment.confidence_scale:.2f}: {UNRELATED_CONFIDENCE} times the document-level evidence (how "
                  f"much of what a translation shows this pair shows). All are below {UNRELATED_CONFIDENCE}, so "
                  f"keeping rows at confidence {UNRELATED_CONFIDENCE} or above keeps none of this pair.")
        lines += ["", scaled, ""]
    check = [f"{doc_id}-{k}" for k, s in enumerate(alignment.segments, 1) if s.confidence < REVIEW_BELOW]
    lines += [f"Check first (confidence below {REVIEW_BELOW}): {', '.join(check) if check else 'none'}.", "",
              "Each row is a segment of the test set, or sentences left out of it (`dropped`) with the reason. "
              "Line numbers are those of the input files. Shared anchors are the numbers and names found on "
              "both sides.", "",
              f"| seg | align | conf | {src.lang} line | {src.lang} | {ref.lang} line | {ref.lang} | shared anchors |",
              "|:--|:--|--:|--:|:--|--:|:--|:--|"]
    seg_of = {s.bead: k for k, s in enumerate(alignment.segments, 1)}
    dropped_at = {(d.side, d.sentences[0]): d for d in alignment.dropped}
    for bead in alignment.beads:
        if bead in seg_of:
            k = seg_of[bead]
            s = alignment.segments[k - 1]
            lines.append(f"| {doc_id}-{k} | {bead.shape} | {s.confidence:.2f} | {','.join(map(str, s.src_lines))} "
                         f"| {_cell(s.src)} | {','.join(map(str, s.ref_lines))} | {_cell(s.ref)} "
                         f"| {_cell(', '.join(_readable_anchors(s.signals.shared)))} |")
            continue
        for side, start, end in (("src", bead.src_start, bead.src_end), ("ref", bead.ref_start, bead.ref_end)):
            for i in range(start, end):
                d = dropped_at.get((side, i))
                if d is None:
                    continue
                reason = f"*dropped: {_cell(d.reason)}*"
                if side == "src":
                    lines.append(f"| – | dropped | | {d.line} | {_cell(d.text)} | | {reason} | |")
                else:
                    lines.append(f"| – | dropped | | | {reason} | {d.line} | {_cell(d.text)} | |")
    return "\n".join(lines) + "\n"


def default_review_path(output: str | os.PathLike) -> Path:
    out = Path(output)
    return out.with_name(out.name.removesuffix(".jsonl") + ".review.md")


def write_outputs(alignment: Alignment, doc_id: str, output: str | os.PathLike,
                  review: str | os.PathLike | None = None) -> tuple[Path, Path]:
    review_path = Path(review) if review else default_review_path(output)
    write_jsonl(output, segment_rows(alignment, doc_id))
    write_text(review_path, review_markdown(alignment, doc_id))
    return Path(output), review_path


@dataclass(frozen=True)
class ReviewDiff:
    """How a human-reviewed test set differs from the automatic one, bead by bead (a bead is its source
    and reference text, whitespace-normalised: merging, splitting or re-pairing changes it)."""

    same: int
    only_automatic: list[dict]
    only_reviewed: list[dict]

    @property
    def differing(self) -> int:
        return len(self.only_automatic) + len(self.only_reviewed)

    def report(self) -> str:
        return (f"{self.differing} beads differ between the automatic and the reviewed alignment: "
                f"{len(self.only_automatic)} only in the automatic output, {len(self.only_reviewed)} only in "
                f"the reviewed file ({self.same} identical)")


def _bead_key(row: dict) -> tuple[str, str]:
    return " ".join(str(row.get("src", "")).split()), " ".join(str(row.get("ref", "")).split())


def reviewed_rows(path: str | os.PathLike) -> list[dict]:
    """A reviewed test set as {"seg_id", "src", "ref"} rows, read by the harness's own JSONL loader (so a
    file that could not be used as a test set is refused with the same messages)."""
    from harness.data import load_jsonl

    return [{"seg_id": s.id, "src": s.src, "ref": s.refs[0] if s.refs else ""}
            for s in load_jsonl("reviewed", path).segments]


def _rows_with_keys(rows: list[dict], keys: Counter) -> list[dict]:
    """The rows whose bead key is in `keys`, each key used as many times as it counts."""
    left, out = Counter(keys), []
    for r in rows:
        if left[_bead_key(r)] > 0:
            left[_bead_key(r)] -= 1
            out.append(r)
    return out


def compare_reviewed(automatic: list[dict], reviewed: list[dict]) -> ReviewDiff:
    auto_keys = Counter(_bead_key(r) for r in automatic)
    reviewed_keys = Counter(_bead_key(r) for r in reviewed)
    common = auto_keys & reviewed_keys
    return ReviewDiff(same=sum(common.values()),
                      only_automatic=_rows_with_keys(automatic, auto_keys - common),
                      only_reviewed=_rows_with_keys(reviewed, reviewed_keys - common))
