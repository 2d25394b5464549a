"""The cost of a bead (a group of source sentences aligned to a group of reference sentences), from signals
that need no model: sentence length (Gale & Church 1993), shared anchors (numbers, dates, names), paragraph
structure and page-material evidence; plus, when given, an extra similarity function (sentence embeddings,
MT output compared with the reference, ...), in the manner of vecalign and Bleualign.

Costs are in nats-like units: lower is better; a bead of n sentences left unaligned costs n * `skip`.
Beads are scored as arrays (the alignment asks for every cell of its search at once): per-sentence facts
become prefix sums, and anchors shared by two spans are found by binary search, never by a Python loop
per bead."""

from __future__ import annotations

import copy
import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.align.anchors import Anchors, capitalised_words, extract_anchors
from harness.align.dp import Bead
from harness.align.segment import Document

#: beads whose shared anchors are looked up at once (bounds the memory of scoring a whole band)
BEADS_PER_CHUNK = 1 << 16
#: An optional extra signal: similarity in [0, 1] of a source text and a reference text.
Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class AlignParams:
    """Weights of the bead cost. The defaults were chosen on synthetic documents built from FLORES-200
    (harness.align.synthetic, seeds other than the reported one) and checked on the seed article."""

    skip: float = 4.0  # one sentence left unaligned while the rest of its paragraph is aligned
    skip_paragraph: float = 3.0  # a whole paragraph left unaligned (material without a counterpart comes so)
    skip_paragraph_extra: float = 0.5  # ... plus this per sentence after its first
    skip_with_evidence: float = 1.0  # a sentence (or paragraph) that looks like page material
    evidence_penalty: float = 0.5  # per sentence of such a paragraph inside an aligned bead
    anchor_reward: float = 2.5  # per unit of shared anchor weight (capped at max_anchor_units)
    max_anchor_units: float = 3.0
    lonely_anchor_penalty: float = 3.0  # per unit weight of anchors on one side of a bead only
    cross_paragraph: float = 1.5  # per paragraph boundary inside one side of a bead
    boundary_mismatch: float = 2.0  # a bead starts (or ends) a paragraph on one side only
    extra_weight: float = 4.0  # the optional similarity: sim 1 lowers the cost by this much, sim 0 raises it
    length_ratio: float | None = None  # reference chars per source char; None: estimated from the documents
    length_variance: float = 6.8  # Gale & Church's s^2, re-estimated from the first pass
    #: cost of the bead shape itself (-log of its prior probability, Gale & Church's figures)
    shape_cost: dict = field(default_factory=lambda: {(1, 1): 0.0, (1, 2): 2.3, (2, 1): 2.3, (2, 2): 4.5})


# math.erfc, math.log and math.exp elementwise: numpy has no erfc, and its log and exp may differ from the C
# library's in the last place; with these, costs are to the last bit those of the earlier one-bead-at-a-time
# code, so the vectorised search finds the same alignments (ties included).
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_LOG = np.frompyfunc(math.log, 1, 1)
_EXP = np.frompyfunc(math.exp, 1, 1)


def length_cost(src_chars, ref_chars, ratio: float, variance: float) -> np.ndarray:
    """Gale & Church: -log P(|delta|) for delta = (l_ref - c * l_src) / sqrt(s^2 * mean length), capped at 50;
    elementwise over arrays (or numbers) of character counts."""
    src_chars, ref_chars = np.asarray(src_chars, dtype=np.int64), np.asarray(ref_chars, dtype=np.int64)
    # a band of beads repeats few length pairs: each is computed once
    base = int(ref_chars.max(initial=0)) + 1
    pairs, index = np.unique(src_chars.ravel() * base + ref_chars.ravel(), return_inverse=True)
    src_u, ref_u = pairs // base, pairs % base
    mean = (src_u + ref_u / ratio) / 2
    delta = (ref_u - ratio * src_u) / np.sqrt(variance * np.maximum(mean, 1.0))
    p = _ERFC(np.abs(delta) / math.sqrt(2)).astype(float)
    cost = np.minimum(np.where(p > 0, -_LOG(np.where(p > 0, p, 1.0)).astype(float), 50.0), 50.0)
    return cost[index].reshape(src_chars.shape)


@dataclass(frozen=True)
class BeadSignals:
    """Why a bead scored as it did (kept for the output and the review file)."""

    length_z: float
    shared: tuple[str, ...]
    numbers_one_side: tuple[str, ...]
    extra: float | None
    cost: float


@dataclass(frozen=True)
class SpanAnchors:
    """The anchors of every span of `length` consecutive sentences of one document, restricted to the anchors
    both documents have (numbered in sorted order): span s holds ids[ptr[s]:ptr[s + 1]], ascending."""

    length: int
    ptr: np.ndarray
    ids: np.ndarray
    weight: np.ndarray  # per span: the summed weight of its anchors
    loose_numbers: np.ndarray  # per span: numbers the other document never has (so never shared)
    keys: np.ndarray  # span * vocabulary size + id, ascending: membership tests by binary search


@dataclass(frozen=True)
class _Side:
    """One document's per-sentence facts as arrays; prefix sums (n + 1 entries) where spans add them up."""

    chars: np.ndarray  # prefix sums of sentence lengths
    skip: np.ndarray  # prefix sums of the cost of leaving each sentence unaligned on its own
    evidence: np.ndarray  # per sentence: its paragraph looks like page material
    evidence_count: np.ndarray  # prefix sums of `evidence`
    breaks: np.ndarray  # prefix sums of "sentence k starts a new paragraph" (k >= 1)
    first: np.ndarray  # per sentence: first of its paragraph
    last: np.ndarray
    paragraph: np.ndarray


def _side(doc: Document, evidence: list[tuple[str, ...]], params: AlignParams) -> _Side:
    def prefix(values) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(np.asarray(values))])

    paragraph = np.array([s.paragraph for s in doc.sentences], dtype=np.int64)
    marked = np.array([bool(e) for e in evidence], dtype=bool)
    return _Side(chars=prefix([len(s.text) for s in doc.sentences]).astype(np.int64),
                 skip=prefix(np.where(marked, params.skip_with_evidence, params.skip).astype(float)),
                 evidence=marked, evidence_count=prefix(marked.astype(np.int64)),
                 breaks=prefix(np.concatenate([[0], paragraph[1:] != paragraph[:-1]]).astype(np.int64)),
                 first=np.array([s.first_in_paragraph for s in doc.sentences], dtype=bool),
                 last=np.array([s.last_in_paragraph for s in doc.sentences], dtype=bool), paragraph=paragraph)


class BeadScorer:
    """Scores beads between two segmented documents. Build once per document pair. `costs` scores arrays of
    beads at once (what the alignment asks for); `cost`, `confidence` and `signals` are for one bead."""

    def __init__(self, src: Document, ref: Document, params: AlignParams,
                 src_evidence: list[tuple[str, ...]], ref_evidence: list[tuple[str, ...]],
                 similarity: Similarity | None = None, length_ratio: float | None = None,
                 length_variance: float | None = None):
        self.src, self.ref, self.params = src, ref, params
        self.src_evidence, self.ref_evidence = src_evidence, ref_evidence
        self.similarity = similarity
        self.ratio = length_ratio or params.length_ratio or 1.0
        self.variance = length_variance or params.length_variance
        self.src_len = [len(s.text) for s in src.sentences]
        self.ref_len = [len(s.text) for s in ref.sentences]
        self.src_anchors = _document_anchors(src)
        self.ref_anchors = _document_anchors(ref)
        df_src = Counter(a for anchors in self.src_anchors for a in anchors.all())
        df_ref = Counter(a for anchors in self.ref_anchors for a in anchors.all())
        # An anchor in one sentence per side is strong evidence; one in every sentence is none.
        self.weight = {a: 1.0 / max(df_src[a], df_ref[a]) for a in df_src.keys() & df_ref.keys()}
        self._vocabulary = {a: k for k, a in enumerate(sorted(self.weight))}
        self._weights = np.array([self.weight[a] for a in sorted(self.weight)], dtype=float)
        self._sides = {"src": _side(src, src_evidence, params), "ref": _side(ref, ref_evidence, params)}
        self._spans: dict[tuple[str, int], SpanAnchors] = {}

    def guide_points(self) -> list[tuple[int, int]]:
        """(i, j) for every anchor found in exactly one sentence of each document (weight 1: "Kanagawa",
        "12.5" once on each side): sentence pairs a translation very likely aligns, to guide the search."""
        src_at = {a: i for i, anchors in enumerate(self.src_anchors) for a in anchors.all() if self.weight.get(a) == 1.0}
        ref_at = {a: j for j, anchors in enumerate(self.ref_anchors) for a in anchors.all() if self.weight.get(a) == 1.0}
        return sorted((src_at[a], ref_at[a]) for a in src_at.keys() & ref_at.keys())

    def with_length_model(self, ratio: float, variance: float) -> BeadScorer:
        """This scorer with another length model; anchors and spans, which do not depend on it, are shared."""
        other = copy.copy(self)
        other.ratio, other.variance = ratio, variance
        return other

    def span_anchors(self, side: str, length: int) -> SpanAnchors:
        """The anchors of every span of `length` sentences on `side` (built on first use, then kept)."""
        if (side, length) not in self._spans:
            anchors = self.src_anchors if side == "src" else self.ref_anchors
            vocabulary, size = self._vocabulary, max(len(self._vocabulary), 1)
            ptr, ids, loose = [0], [], []
            for s in range(len(anchors) - length + 1):
                union = union_anchors(anchors[s:s + length])
                ids += sorted(vocabulary[a] for a in union.all() if a in vocabulary)
                ptr.append(len(ids))
                loose.append(sum(n not in vocabulary for n in union.numbers))
            ptr_a, ids_a = np.array(ptr, dtype=np.int64), np.array(ids, dtype=np.int64)
            span_of = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr_a))
            self._spans[(side, length)] = SpanAnchors(
                length=length, ptr=ptr_a, ids=ids_a,
                weight=np.bincount(span_of, weights=self._weights[ids_a], minlength=len(ptr) - 1),
                loose_numbers=np.array(loose, dtype=np.int64), keys=span_of * size + ids_a)
        return self._spans[(side, length)]

    def unaligned_costs(self, side: str, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Leaving sentences [start, end) of one side unaligned: each costs `skip`, except that a whole
        paragraph costs as much as its dearest sentence plus a little per further sentence."""
        p, d = self.params, self._sides[side]
        whole = d.first[start] & d.last[end - 1] & (d.paragraph[start] == d.paragraph[end - 1])
        first = np.where(d.evidence[start], p.skip_with_evidence, p.skip_paragraph)
        return np.where(whole, first + p.skip_paragraph_extra * (end - start - 1), d.skip[end] - d.skip[start])

    def unaligned_cost(self, side: str, start: int, end: int) -> float:
        return float(self.unaligned_costs(side, np.array([start]), np.array([end]))[0])

    def costs(self, i0, i1, j0, j1) -> np.ndarray:
        """Costs of the beads source [i0[k], i1[k]) x reference [j0[k], j1[k]) (see `dp.BeadCost`)."""
        i0, i1, j0, j1 = (np.asarray(x, dtype=np.int64) for x in (i0, i1, j0, j1))
        out = np.empty(len(i0))
        if not len(i0):
            return out
        ref_only, src_only = i0 == i1, (j0 == j1) & (i0 != i1)
        if ref_only.any():
            out[ref_only] = self.unaligned_costs("ref", j0[ref_only], j1[ref_only])
        if src_only.any():
            out[src_only] = self.unaligned_costs("src", i0[src_only], i1[src_only])
        match = ~(ref_only | src_only)
        di, dj = i1 - i0, j1 - j0
        if match.all() and di.min() == di.max() and dj.min() == dj.max():
            out[:] = self._match_costs(int(i1[0] - i0[0]), int(j1[0] - j0[0]), i0, j0)  # one shape: the usual
        elif match.any():
            for k, l in sorted(set(zip(di[match].tolist(), dj[match].tolist()))):
                sel = match & (di == k) & (dj == l)
                out[sel] = self._match_costs(k, l, i0[sel], j0[sel])
        return out

    def _match_costs(self, k: int, l: int, i0: np.ndarray, j0: np.ndarray) -> np.ndarray:
        """Costs of beads of k source and l reference sentences starting at i0, j0 (k, l >= 1)."""
        p, s, r = self.params, self._sides["src"], self._sides["ref"]
        i1, j1 = i0 + k, j0 + l
        src_chars = s.chars[i1] - s.chars[i0] + (k - 1)
        ref_chars = r.chars[j1] - r.chars[j0] + (l - 1)
        cost = np.full(len(i0), p.shape_cost.get((k, l), 6.0))
        cost += length_cost(src_chars, ref_chars, self.ratio, self.variance)
        src_spans, ref_spans = self.span_anchors("src", k), self.span_anchors("ref", l)
        units = self._shared_weight(src_spans, ref_spans, i0, j0)
        cost -= p.anchor_reward * np.minimum(units, p.max_anchor_units)
        # An anchor on one side only, whose counterpart the other document has elsewhere, says this is not
        # the translation. A number the other document never writes in digits ("3" ~ "three") says a
        # little; a name it never writes says nothing (names get translated: "Nhật Bản" ~ "Japan").
        penalty = src_spans.weight[i0] + ref_spans.weight[j0] - 2 * units  # the weight of the anchors not shared
        penalty += 0.25 * (src_spans.loose_numbers[i0] + ref_spans.loose_numbers[j0])
        cost += p.lonely_anchor_penalty * np.minimum(penalty, p.max_anchor_units)
        cost += p.cross_paragraph * ((s.breaks[i1] - s.breaks[i0 + 1]) + (r.breaks[j1] - r.breaks[j0 + 1]))
        cost += p.boundary_mismatch * ((s.first[i0] != r.first[j0]).astype(np.int64)
                                       + (s.last[i1 - 1] != r.last[j1 - 1])) / 2
        cost += p.evidence_penalty * ((s.evidence_count[i1] - s.evidence_count[i0])
                                      + (r.evidence_count[j1] - r.evidence_count[j0]))
        if self.similarity is not None:  # an arbitrary function: one call per bead
            extra = np.array([self.similarity(self.src_text(a, a + k), self.ref_text(b, b + l))
                              for a, b in zip(i0.tolist(), j0.tolist())], dtype=float)
            cost += p.extra_weight * (1.0 - 2.0 * np.clip(extra, 0.0, 1.0))
        return cost

    def _shared_weight(self, src: SpanAnchors, ref: SpanAnchors, i0: np.ndarray, j0: np.ndarray) -> np.ndarray:
        """The summed weight of the anchors source span i0[k] and reference span j0[k] share, for every k: each
        anchor of the source span is looked up among the reference span's. In chunks of BEADS_PER_CHUNK, so
        memory stays at that many times the anchors of a span however many beads are scored."""
        size, chunk = max(len(self._vocabulary), 1), BEADS_PER_CHUNK
        out = np.zeros(len(i0))
        for a in range(0, len(i0), chunk):
            ii, jj = i0[a:a + chunk], j0[a:a + chunk]
            count = src.ptr[ii + 1] - src.ptr[ii]
            bead = np.repeat(np.arange(len(ii)), count)
            within = np.arange(len(bead)) - np.repeat(np.cumsum(count) - count, count)
            ids = src.ids[np.repeat(src.ptr[ii], count) + within]
            keys = jj[bead] * size + ids
            found = np.searchsorted(ref.keys, keys)
            hit = ref.keys[np.minimum(found, max(len(ref.keys) - 1, 0))] == keys if len(ref.keys) else \
                np.zeros(len(keys), dtype=bool)
            # bincount adds in entry order: the anchors in sorted order, as summing over a sorted set does
            out[a:a + chunk] = np.bincount(bead[hit], weights=self._weights[ids[hit]], minlength=len(ii))
        return out

    def cost(self, i0: int, i1: int, j0: int, j1: int) -> float:
        """Cost of aligning source sentences [i0, i1) with reference sentences [j0, j1)."""
        return float(self.costs(np.array([i0]), np.array([i1]), np.array([j0]), np.array([j1]))[0])

    def signals(self, i0: int, i1: int, j0: int, j1: int) -> BeadSignals:
        """The bead's cost and what went into it that a person can check: the length deviation, the anchors
        both sides share, the numbers on one side only, the extra signal."""
        src_chars = sum(self.src_len[i0:i1]) + (i1 - i0 - 1)
        ref_chars = sum(self.ref_len[j0:j1]) + (j1 - j0 - 1)
        mean = (src_chars + ref_chars / self.ratio) / 2
        z = (ref_chars - self.ratio * src_chars) / math.sqrt(self.variance * max(mean, 1.0))
        src_a = union_anchors(self.src_anchors[i0:i1])
        ref_a = union_anchors(self.ref_anchors[j0:j1])
        extra = None
        if self.similarity is not None:
            extra = float(self.similarity(self.src_text(i0, i1), self.ref_text(j0, j1)))
        return BeadSignals(length_z=z, shared=tuple(sorted(src_a.all() & ref_a.all())),
                           numbers_one_side=tuple(sorted(src_a.numbers ^ ref_a.numbers)), extra=extra,
                           cost=self.cost(i0, i1, j0, j1))

    def src_text(self, i0: int, i1: int) -> str:
        return " ".join(s.text for s in self.src.sentences[i0:i1])

    def ref_text(self, j0: int, j1: int) -> str:
        return " ".join(s.text for s in self.ref.sentences[j0:j1])

    def confidences(self, beads) -> np.ndarray:
        """How much better aligning each bead's sentences is than leaving them all unaligned, as a probability:
        sigmoid(cost of skipping them - cost of the bead - margin). A bead that only just beats skipping
        scores about 0.5; length and shared anchors together push it towards 1. `beads`: matches only."""
        if not beads:
            return np.zeros(0)
        i0, i1, j0, j1 = (np.array(x, dtype=np.int64) for x in zip(*((b.src_start, b.src_end, b.ref_start, b.ref_end)
                                                                         for b in beads)))
        skip = self.unaligned_costs("src", i0, i1) + self.unaligned_costs("ref", j0, j1)
        return 1.0 / (1.0 + _EXP(-(skip - self.costs(i0, i1, j0, j1) - CONFIDENCE_MARGIN)).astype(float))

    def confidence(self, i0: int, i1: int, j0: int, j1: int) -> float:
        return float(self.confidences([Bead(i0, i1, j0, j1)])[0])


#: nats by which a bead must beat leaving its sentences unaligned to reach confidence 0.5
CONFIDENCE_MARGIN = 2.0


def estimate_length_model(pairs: list[tuple[int, int]], prior_ratio: float = 1.0,
                          prior_weight: int = 10) -> tuple[float, float] | None:
    """(ratio, variance) of reference to source lengths from (src chars, ref chars) of trusted 1-1 beads.
    The ratio is pulled towards `prior_ratio` as if `prior_weight` pairs had it, so a short document with a
    few long or wrong beads cannot skew it; the variance is a median, for the same reason. None when
    there are too few pairs to say."""
    if len(pairs) < 5:
        return None
    observed = sum(r for _, r in pairs) / max(sum(s for s, _ in pairs), 1)
    ratio = (len(pairs) * observed + prior_weight * prior_ratio) / (len(pairs) + prior_weight)
    # the median of a chi-square(1) variable is 0.455: turns the median squared z into a variance
    variance = statistics.median((r - ratio * s) ** 2 / ((s + r / ratio) / 2) for s, r in pairs) / 0.455
    return ratio, min(max(variance, 1.0), 20.0)


def _document_anchors(doc: Document) -> list[Anchors]:
    names = capitalised_words([s.text for s in doc.sentences])
    return [extract_anchors(s.text, doc.lang, names) for s in doc.sentences]


def union_anchors(anchors: list[Anchors]) -> Anchors:
    return Anchors(numbers=frozenset().union(*(a.numbers for a in anchors)),
                   names=frozenset().union(*(a.names for a in anchors)))

