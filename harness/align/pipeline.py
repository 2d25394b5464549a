"""Two documents in, an alignment out: segment, score, align (twice: the second pass uses the length ratio
learnt from the first), then decide what is kept and why the rest is dropped."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.align.bead_costs import (
    AlignParams,
    BeadScorer,
    BeadSignals,
    Similarity,
    estimate_length_model,
    union_anchors,
)
from harness.align.dp import FULL_SEARCH_CELLS, Bead, align
from harness.align.evidence import sentence_evidence
from harness.align.segment import Document

#: beads below this confidence are not put in the test set (they are listed in the review file)
MIN_CONFIDENCE = 0.5
#: a document pair where fewer of the source sentences than this are aligned is flagged low-confidence
MIN_ALIGNED_SHARE = 0.5
#: ... or where, of at least MIN_ANCHOR_BEADS beads with numbers or names on both sides, fewer than this
#: share one (translations: nearly all; the seed article: 51 of 51; unrelated texts: under 5%)
MIN_ANCHOR_SUPPORT = 0.2
MIN_ANCHOR_BEADS = 5
#: the confidences of a flagged pair are scaled to below this (times how far its evidence falls short of what
#: a translation shows), so that keeping rows at or above the default --min-confidence keeps none of them
UNRELATED_CONFIDENCE = 0.5


@dataclass(frozen=True)
class AlignedSegment:
    """A kept bead: one segment of the test set. `confidence` is the bead's own times the pair's
    `Alignment.confidence_scale` (1 unless the pair looks unrelated)."""

    bead: Bead
    src: str
    ref: str
    confidence: float
    signals: BeadSignals
    src_lines: tuple[int, ...]
    ref_lines: tuple[int, ...]


@dataclass(frozen=True)
class Dropped:
    """Consecutive sentences of one paragraph left out of the test set, and why."""

    side: str  # "src" or "ref"
    sentences: tuple[int, ...]
    line: int
    text: str
    reason: str


@dataclass
class Alignment:
    src: Document
    ref: Document
    beads: list[Bead]  # the whole DP path, including 1-0 and 0-1
    segments: list[AlignedSegment]
    dropped: list[Dropped]
    length_ratio: float
    length_variance: float
    warnings: list[str] = field(default_factory=list)
    #: what every segment's confidence was multiplied by: 1, or below UNRELATED_CONFIDENCE for a flagged pair
    confidence_scale: float = 1.0

    @property
    def low_confidence(self) -> bool:
        return bool(self.warnings)


def best_beads(scorer: BeadScorer, full_search_cells: int = FULL_SEARCH_CELLS) -> list[Bead]:
    """The DP path for one scorer: paragraphs may be left unaligned whole, sentences sharing a rare anchor
    guide the search of long documents (see `dp.align`)."""
    src, ref = scorer.src, scorer.ref
    return align(len(src.sentences), len(ref.sentences), scorer.costs, src_blocks=_paragraph_ranges(src),
                 ref_blocks=_paragraph_ranges(ref), guide=scorer.guide_points(), full_search_cells=full_search_cells)


def _paragraph_ranges(doc: Document) -> list[tuple[int, int]]:
    ranges: dict[int, list[int]] = {}
    for s in doc.sentences:
        ranges.setdefault(s.paragraph, []).append(s.index)
    return [(idx[0], idx[-1] + 1) for idx in ranges.values()]


def align_documents(src: Document, ref: Document, params: AlignParams | None = None,
                    similarity: Similarity | None = None, min_confidence: float = MIN_CONFIDENCE) -> Alignment:
    """Align two segmented documents. `similarity(src_text, ref_text) -> [0, 1]` is an optional extra signal."""
    params = params or AlignParams()
    evidence = (sentence_evidence(src), sentence_evidence(ref))
    scorer = BeadScorer(src, ref, params, *evidence, similarity=similarity)
    beads = best_beads(scorer)
    one_to_one = [b for b in beads if b.shape == "1-1"]
    trusted = [(scorer.src_len[b.src_start], scorer.ref_len[b.ref_start])
               for b, conf in zip(one_to_one, scorer.confidences(one_to_one)) if conf >= 0.5]
    model = None if params.length_ratio else estimate_length_model(trusted)
    if model:
        scorer = scorer.with_length_model(*model)
        beads = best_beads(scorer)

    segments: list[AlignedSegment] = []
    unaligned_src: dict[int, str] = {}
    unaligned_ref: dict[int, str] = {}
    matches = [b for b in beads if b.is_match]
    confidence = dict(zip(matches, scorer.confidences(matches).tolist()))
    for b in beads:
        if b.is_match:
            conf = confidence[b]
            if conf >= min_confidence:
                segments.append(AlignedSegment(
                    bead=b, src=scorer.src_text(b.src_start, b.src_end), ref=scorer.ref_text(b.ref_start, b.ref_end),
                    confidence=conf, signals=scorer.signals(b.src_start, b.src_end, b.ref_start, b.ref_end),
                    src_lines=_lines(src, b.src_start, b.src_end), ref_lines=_lines(ref, b.ref_start, b.ref_end)))
                continue
            weak = f"its best match (reference line(s) {_line_list(ref, b.ref_start, b.ref_end)}) is weak, confidence {conf:.2f}"
            weak_ref = f"its best match (source line(s) {_line_list(src, b.src_start, b.src_end)}) is weak, confidence {conf:.2f}"
            unaligned_src.update({i: weak for i in range(b.src_start, b.src_end)})
            unaligned_ref.update({j: weak_ref for j in range(b.ref_start, b.ref_end)})
        else:
            unaligned_src.update({i: "" for i in range(b.src_start, b.src_end)})
            unaligned_ref.update({j: "" for j in range(b.ref_start, b.ref_end)})

    dropped = (_group_dropped(src, "src", unaligned_src, evidence[0], segments)
               + _group_dropped(ref, "ref", unaligned_ref, evidence[1], segments))
    result = Alignment(src=src, ref=ref, beads=beads, segments=segments, dropped=dropped,
                       length_ratio=scorer.ratio, length_variance=scorer.variance)
    result.warnings, evidence = _document_checks(result, scorer)
    if result.warnings:
        # A bead can look fine on its own between two unrelated texts (similar lengths, a shared year), so
        # its confidence says what the document says: filtering on confidence must not keep such rows.
        result.confidence_scale = UNRELATED_CONFIDENCE * evidence
        result.segments = [replace(s, confidence=s.confidence * result.confidence_scale) for s in segments]
    return result


def _lines(doc: Document, start: int, end: int) -> tuple[int, ...]:
    return tuple(sorted({s.line for s in doc.sentences[start:end]}))


def _line_list(doc: Document, start: int, end: int) -> str:
    return ", ".join(map(str, _lines(doc, start, end)))


def _group_dropped(doc: Document, side: str, unaligned: dict[int, str], evidence, segments) -> list[Dropped]:
    """Group unaligned sentences by paragraph run and say why each group is left out."""
    other = "source" if side == "ref" else "reference"
    kept = [(s.bead.ref_start if side == "ref" else s.bead.src_start) for s in segments]
    groups: list[list[int]] = []
    for k in sorted(unaligned):
        if groups and groups[-1][-1] == k - 1 and doc.sentences[k - 1].paragraph == doc.sentences[k].paragraph \
                and unaligned[k] == unaligned[k - 1]:
            groups[-1].append(k)
        else:
            groups.append([k])
    out = []
    for g in groups:
        reasons = [unaligned[g[0]] or f"no counterpart in the {other}"]
        if kept and g[-1] < min(kept):
            reasons.append("before the first aligned sentence")
        elif kept and g[0] > max(kept):
            reasons.append("after the last aligned sentence")
        marks = sorted({e for k in g for e in evidence[k]})
        if marks:
            reasons.append("looks like page material: " + ", ".join(marks))
        first = doc.sentences[g[0]]
        out.append(Dropped(side=side, sentences=tuple(g), line=first.line,
                           text=" ".join(doc.sentences[k].text for k in g), reason="; ".join(reasons)))
    return out


def _document_checks(result: Alignment, scorer: BeadScorer) -> tuple[list[str], float]:
    """Reasons to distrust the whole alignment (the documents may not be translations of each other), and
    the document-level evidence: the lowest (observed + 1) / (required + 1) of the failed checks, 1 when
    every check passes. Below 1 whenever a check fails, and never 0, so the beads keep their order (55
    source sentences, 10 aligned where 27.5 are required: 11 / 28.5 = 0.39)."""
    warnings, evidence = [], 1.0
    n_src = len(result.src.sentences)
    aligned = sum(s.bead.src_end - s.bead.src_start for s in result.segments)
    if aligned < MIN_ALIGNED_SHARE * n_src:
        warnings.append(f"only {aligned} of the {n_src} source sentences could be aligned with confidence; "
                        f"check that {result.ref.path} is a translation of {result.src.path}")
        evidence = min(evidence, (aligned + 1) / (MIN_ALIGNED_SHARE * n_src + 1))
    # In a translation, a segment whose two sides both carry numbers or names nearly always shares one
    # (a name copied, a number converted); between unrelated texts that happens by chance only.
    carrying = [s for s in result.segments
                if union_anchors(scorer.src_anchors[s.bead.src_start:s.bead.src_end]).all()
                and union_anchors(scorer.ref_anchors[s.bead.ref_start:s.bead.ref_end]).all()]
    supported = sum(bool(s.signals.shared) for s in carrying)
    if len(carrying) >= MIN_ANCHOR_BEADS and supported < MIN_ANCHOR_SUPPORT * len(carrying):
        warnings.append(f"only {supported} of the {len(carrying)} aligned segments with numbers or names on both "
                        f"sides share any of them; {result.ref.path} may not be a translation of {result.src.path}")
        evidence = min(evidence, (supported + 1) / (MIN_ANCHOR_SUPPORT * len(carrying) + 1))
    return warnings, evidence
