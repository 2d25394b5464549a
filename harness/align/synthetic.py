"""How well the aligner recovers known beads: synthetic document pairs built from FLORES-200 devtest.

Runs of consecutive FLORES sentences (they come from the same article) become a document pair. The
reference side is then made to look like a published web version: some sentences are merged on one side
(2-1, 1-2) or across both (2-2), paragraphs are formed and sometimes split on the reference side only,
whole source paragraphs lose their translation (1-0), and page material is added: a byline, photo
captions (unrelated sentences or paraphrase-like prefixes of the article's own sentences, half of them
with a credit, half printed twice), and site chrome after the body (source URL, counters, related
headlines, menu words). Everything is drawn from `random.Random(seed)`, so a seed gives the same set.

Scoring projects the aligner's beads onto FLORES sentence ids (merging beads that share one, so a
sentence the splitter cut in two is not an error) and counts exact matches with the gold beads:

    python -m harness.align.synthetic --seed 0
    python -m harness.align.synthetic --long 1000    # one article of 1,000 source sentences
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.align.bead_costs import AlignParams
from harness.align.pipeline import Alignment, align_documents
from harness.align.segment import document_from_text
from harness.textio import read_lines

Atom = str  # "s12" / "r12": FLORES sentence 12 on the source / reference side; "x3": inserted material

_MENU = ["Home", "News", "Business", "World", "Sport", "Culture", "Travel", "Video", "Opinion", "Local",
         "Subscribe", "Share", "Tags", "Related articles", "Most read", "Advertisement", "Print", "Back to top"]
_COUNTERS = ["Comment (0)", "Comments (3)", "Views: 1,204", "Likes 12", "No data", "Same tag", "Same category"]
_AGENCIES = ["VNA", "Reuters", "AFP", "AP", "Xinhua", "staff"]
_NAMES = ["Minh Anh", "John Carter", "Le Hoang", "Maria Silva", "Tran Duc", "Kim Lee", "Pham Tuan"]


@dataclass
class SyntheticPair:
    """One synthetic document pair and its gold alignment."""

    src_lines: list[list[tuple[str, frozenset[Atom]]]]  # per source line: its units (text, atoms)
    ref_lines: list[list[tuple[str, frozenset[Atom]]]]
    gold: list[tuple[frozenset[Atom], frozenset[Atom], str]]  # (source atoms, reference atoms, shape)
    inserted: set[Atom] = field(default_factory=set)  # reference-only page material
    src_only: set[Atom] = field(default_factory=set)  # source sentences whose translation was removed

    def src_text(self) -> str:
        return "".join(" ".join(t for t, _ in line) + "\n" for line in self.src_lines)

    def ref_text(self) -> str:
        return "".join(" ".join(t for t, _ in line) + "\n\n" for line in self.ref_lines)


def _merge(a: str, b: str) -> str:
    """Two sentences as one: the first loses its full stop and a semicolon joins them."""
    return a.rstrip().rstrip(".!?…") + "; " + b.lstrip()


def _elsewhere(rng: random.Random, doc: range, n: int) -> int:
    """A FLORES index outside this document (another article's sentence)."""
    return (doc.stop + rng.randrange(max(1, n - len(doc)))) % n


def _caption(rng: random.Random, vi: list[str], en: list[str], doc: range, flores_en: list[str]) -> str:
    if rng.random() < 0.5:  # an unrelated sentence from far away in FLORES
        text = flores_en[_elsewhere(rng, doc, len(flores_en))]
    else:  # a paraphrase-like prefix of one of this article's own sentences: it shares its names
        words = en[rng.randrange(len(en))].split()
        text = " ".join(words[: max(4, min(len(words) - 1, rng.randint(6, 12)))]).rstrip(",;:") + "."
    if rng.random() < 0.5:
        text += f" Photo: {rng.choice(_NAMES)}/{rng.choice(_AGENCIES)}"
    return text


def build_pair(vi: list[str], en: list[str], doc: range, rng: random.Random) -> SyntheticPair:
    """A synthetic pair from FLORES sentences `doc` (indices into the full vi/en lists)."""
    ids = list(doc)
    # 1. merges: which neighbours become one unit on the source side, the reference side, or staggered
    src_join, ref_join = set(), set()  # k in set: sentence k is joined with k+1 on that side
    k = 0
    while k < len(ids) - 1:
        r = rng.random()
        if r < 0.08:
            ref_join.add(ids[k]); k += 2
        elif r < 0.16:
            src_join.add(ids[k]); k += 2
        elif r < 0.20 and k < len(ids) - 2:
            src_join.add(ids[k]); ref_join.add(ids[k + 1]); k += 3
        else:
            k += 1

    def units(side_join: set[int], texts: list[str], prefix: str) -> list[tuple[str, frozenset[Atom]]]:
        out, k = [], 0
        while k < len(ids):
            if ids[k] in side_join:
                out.append((_merge(texts[ids[k]], texts[ids[k + 1]]), frozenset({f"{prefix}{ids[k]}", f"{prefix}{ids[k + 1]}"})))
                k += 2
            else:
                out.append((texts[ids[k]], frozenset({f"{prefix}{ids[k]}"})))
                k += 1
        return out

    src_units, ref_units = units(src_join, vi, "s"), units(ref_join, en, "r")
    # 2. paragraphs: breaks between sentences that no merge spans, at the same places on both sides
    inside = src_join | ref_join
    breaks = {ids[k] for k in range(len(ids) - 1) if ids[k] not in inside and rng.random() < 0.4}
    ref_breaks = breaks | {ids[k] for k in range(len(ids) - 1) if ids[k] not in inside and rng.random() < 0.08}

    def paragraphs(side_units, side_breaks):
        paras, current = [], []
        for text, atoms in side_units:
            current.append((text, atoms))
            last = max(int(a[1:]) for a in atoms)
            if last in side_breaks:
                paras.append(current); current = []
        if current:
            paras.append(current)
        return paras

    src_paras, ref_paras = paragraphs(src_units, breaks), paragraphs(ref_units, ref_breaks)
    # 3. source paragraphs without a translation (never the first: the title position stays aligned)
    removed: set[int] = set()
    for p in range(1, len(src_paras)):
        if rng.random() < 0.12:
            removed |= {int(a[1:]) for _, atoms in src_paras[p] for a in atoms}
    ref_paras = [[u for u in para if not {int(a[1:]) for a in u[1]} & removed] for para in ref_paras]
    ref_paras = [p for p in ref_paras if p]
    for p in src_paras:
        if rng.random() < 0.1:  # a list bullet, which cleaning strips
            p[0] = ("* " + p[0][0], p[0][1])

    # 4. page material on the reference side
    inserted: set[Atom] = set()
    counter = iter(range(10**6))

    def material(text: str) -> list[tuple[str, frozenset[Atom]]]:
        atom = f"x{next(counter)}"
        inserted.add(atom)
        return [(text, frozenset({atom}))]

    body_en = [en[i] for i in ids]
    out_ref: list[list[tuple[str, frozenset[Atom]]]] = []
    for p, para in enumerate(ref_paras):
        out_ref.append(para)
        if p == 0 and rng.random() < 0.7:
            out_ref.append(material(rng.choice([f"{rng.choice(_NAMES)} {rng.randint(1, 28)}/{rng.randint(1, 12)}/2024",
                                                f"By {rng.choice(_NAMES)}", f"{rng.choice(_AGENCIES)} - {rng.randint(1, 28)} October 2024"])))
        if 0 < p < len(ref_paras) - 1 and rng.random() < 0.25:
            caption = _caption(rng, vi, body_en, doc, en)
            out_ref.append(material(caption))
            if rng.random() < 0.5:
                out_ref.append(material(caption))
    if rng.random() < 0.8:
        out_ref.append(material(f"Source: https://news.example.org/article-{doc.start}.html"))
        for _ in range(rng.randint(1, 4)):
            out_ref.append(material(rng.choice(_COUNTERS)))
        for _ in range(rng.randint(0, 3)):  # related headlines: other articles' sentences, unpunctuated
            out_ref.append(material(en[_elsewhere(rng, doc, len(en))].rstrip(".!?")))
        for _ in range(rng.randint(2, 8)):
            out_ref.append(material(rng.choice(_MENU)))

    # 5. gold: connected components of sentences linked by units and by translation
    parent: dict[Atom, Atom] = {}

    def find(a):
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        parent[find(a)] = find(b)

    ref_atoms = {a for para in out_ref for _, atoms in para for a in atoms}
    src_atoms = {a for para in src_paras for _, atoms in para for a in atoms}
    for para in [*src_paras, *out_ref]:
        for _, atoms in para:
            atoms = sorted(atoms)
            for a in atoms:
                union(atoms[0], a)
    for k in ids:
        if f"s{k}" in src_atoms and f"r{k}" in ref_atoms:
            union(f"s{k}", f"r{k}")
    components: dict[Atom, set[Atom]] = {}
    for a in src_atoms | ref_atoms:
        components.setdefault(find(a), set()).add(a)
    gold = []
    src_unit_of = {a: atoms for para in src_paras for _, atoms in para for a in atoms}
    ref_unit_of = {a: atoms for para in out_ref for _, atoms in para for a in atoms}
    src_only = set()
    for comp in components.values():
        s = frozenset(a for a in comp if a[0] == "s")
        r = frozenset(a for a in comp if a[0] == "r")
        if s and r:
            shape = f"{len({src_unit_of[a] for a in s})}-{len({ref_unit_of[a] for a in r})}"
            gold.append((s, r, shape))
        elif s:
            src_only |= s
    return SyntheticPair(src_lines=src_paras, ref_lines=out_ref, gold=gold, inserted=inserted, src_only=src_only)


def synthetic_pairs(vi: list[str], en: list[str], seed: int, min_len: int = 8, max_len: int = 20) -> list[SyntheticPair]:
    """Split the FLORES sentences into consecutive runs and build a pair from each."""
    rng = random.Random(seed)
    pairs, start = [], 0
    while start < len(vi):
        end = min(len(vi), start + rng.randint(min_len, max_len))
        if end - start >= 3:
            pairs.append(build_pair(vi, en, range(start, end), rng))
        start = end
    return pairs


def long_pair(vi: list[str], en: list[str], sentences: int = 1000, seed: int = 0) -> SyntheticPair:
    """One long article: FLORES sentences 0..sentences-1 with the same changes as the short pairs (merges,
    paragraph splits, untranslated paragraphs, a byline, captions, site chrome). With the defaults, 1,000
    source sentences in about 320 paragraphs against about 1,080 reference sentences: the size that
    benchmarks/bench_align.py times."""
    if not 3 <= sentences <= len(vi):
        raise ValueError(f"a long pair takes 3 to {len(vi)} sentences, not {sentences}")
    return build_pair(vi, en, range(sentences), random.Random(seed))


def _sentence_atoms(doc, lines: list[list[tuple[str, frozenset[Atom]]]], blank_separated: bool) -> list[frozenset[Atom]]:
    """The atoms each of the aligner's sentences covers, found by character offsets within its paragraph."""
    line_of_file_line = {}
    file_line = 1
    for k, _ in enumerate(lines):
        line_of_file_line[file_line] = k
        file_line += 2 if blank_separated else 1
    out: list[frozenset[Atom]] = []
    for p in doc.paragraphs:
        units = lines[line_of_file_line[p.line]]
        spans, offset = [], 0
        text = p.text
        for unit_text, atoms in units:
            clean = " ".join(unit_text.split()).removeprefix("* ") if offset == 0 else " ".join(unit_text.split())
            start = text.find(clean, offset)
            spans.append((start, start + len(clean), atoms))
            offset = start + len(clean)
        cursor = 0
        for s in doc.sentences_of(p.index):
            start = text.find(s.text, cursor)
            end = start + len(s.text)
            cursor = end
            out.append(frozenset().union(*(atoms for a, b, atoms in spans if a < end and start < b)))
    return out


@dataclass
class Evaluation:
    gold: int = 0
    predicted: int = 0
    correct: int = 0
    gold_by_shape: Counter = field(default_factory=Counter)
    correct_by_shape: Counter = field(default_factory=Counter)
    inserted: int = 0
    inserted_kept: int = 0  # page material that ended up in a reference segment
    src_only: int = 0
    src_only_kept: int = 0
    documents: int = 0
    low_confidence_documents: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def report(self) -> str:
        lines = [f"documents: {self.documents} ({self.low_confidence_documents} flagged low-confidence)",
                 f"beads: gold {self.gold}, predicted {self.predicted}, correct {self.correct}",
                 f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}",
                 "recall by gold shape: " + ", ".join(
                     f"{s} {self.correct_by_shape[s]}/{n} ({self.correct_by_shape[s] / n:.2f})"
                     for s, n in sorted(self.gold_by_shape.items())),
                 f"page material kept in a reference: {self.inserted_kept} of {self.inserted} inserted lines",
                 f"untranslated source sentences kept: {self.src_only_kept} of {self.src_only}"]
        return "\n".join(lines)


def score_pair(pair: SyntheticPair, alignment: Alignment, ev: Evaluation) -> None:
    src_atoms = _sentence_atoms(alignment.src, pair.src_lines, blank_separated=False)
    ref_atoms = _sentence_atoms(alignment.ref, pair.ref_lines, blank_separated=True)
    # merge kept beads that share an atom (a FLORES sentence split in two is one bead at this level)
    merged: list[tuple[set[Atom], set[Atom]]] = []
    for seg in alignment.segments:
        b = seg.bead
        s = set().union(*src_atoms[b.src_start:b.src_end])
        r = set().union(*ref_atoms[b.ref_start:b.ref_end])
        for m in [m for m in merged if m[0] & s or m[1] & r]:
            merged.remove(m)
            s |= m[0]; r |= m[1]
        merged.append((s, r))
    kept_sentences = Counter()
    for seg in alignment.segments:
        for i in range(seg.bead.src_start, seg.bead.src_end):
            kept_sentences.update(("s", a) for a in src_atoms[i])
    gold = {(s, r): shape for s, r, shape in pair.gold}
    ev.documents += 1
    ev.low_confidence_documents += alignment.low_confidence
    ev.gold += len(gold)
    ev.gold_by_shape.update(gold.values())
    ev.predicted += len(merged)
    # a merged bead is right when its atoms equal a gold bead's and no sentence of those atoms was left out
    n_sentences = Counter(a for atoms in src_atoms for a in atoms)
    for s, r in merged:
        key = (frozenset(s), frozenset(r))
        complete = all(kept_sentences[("s", a)] == n_sentences[a] for a in s)
        if key in gold and complete:
            ev.correct += 1
            ev.correct_by_shape[gold[key]] += 1
    kept_ref = set().union(*(r for _, r in merged)) if merged else set()
    kept_src = set().union(*(s for s, _ in merged)) if merged else set()
    ev.inserted += len(pair.inserted)
    ev.inserted_kept += len(pair.inserted & kept_ref)
    ev.src_only += len(pair.src_only)
    ev.src_only_kept += len(pair.src_only & kept_src)


def evaluate_pairs(pairs: list[SyntheticPair], params: AlignParams | None = None, similarity=None) -> Evaluation:
    ev = Evaluation()
    for pair in pairs:
        src = document_from_text(pair.src_text(), "vi", "synthetic.vi")
        ref = document_from_text(pair.ref_text(), "en", "synthetic.en")
        score_pair(pair, align_documents(src, ref, params, similarity), ev)
    return ev


def evaluate(vi: list[str], en: list[str], seed: int, params: AlignParams | None = None, similarity=None) -> Evaluation:
    return evaluate_pairs(synthetic_pairs(vi, en, seed), params, similarity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.align.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic documents (default 0)")
    parser.add_argument("--flores-dir", default=str(Path(__file__).resolve().parents[2] / "data" / "flores200"),
                        help="folder with vie_Latn.devtest and eng_Latn.devtest")
    parser.add_argument("--write", metavar="DIR", help="also write each synthetic pair as DIR/NNN.vi.txt, NNN.en.txt")
    parser.add_argument("--long", type=int, metavar="N", help="instead, one long article of N source sentences "
                                                                "(e.g. 1000; see long_pair)")
    args = parser.parse_args(argv)
    vi = read_lines(Path(args.flores_dir) / "vie_Latn.devtest")
    en = read_lines(Path(args.flores_dir) / "eng_Latn.devtest")
    if args.long is not None and not 3 <= args.long <= len(vi):
        parser.error(f"--long takes 3 to {len(vi)} sentences (FLORES-200 devtest), not {args.long}")
    pairs = [long_pair(vi, en, args.long, args.seed)] if args.long else synthetic_pairs(vi, en, args.seed)
    if args.write:
        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        for n, pair in enumerate(pairs):
            (out / f"{n:03d}.vi.txt").write_text(pair.src_text(), encoding="utf-8")
            (out / f"{n:03d}.en.txt").write_text(pair.ref_text(), encoding="utf-8")
    start = time.perf_counter()
    ev = evaluate_pairs(pairs)
    print(ev.report())
    print(f"aligned in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
