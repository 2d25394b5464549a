"""chrF / chrF++ sufficient statistics, vectorised over the corpus, identical to sacreBLEU's.

`FastCHRF` is sacreBLEU's `CHRF` (same constructor, options, signature and scoring) with another way of
computing `_extract_corpus_statistics` (and `corpus_statistics`, the same numbers as one int64 array): per
segment, `[hyp_count, ref_count, match_count]` for each character order 1..char_order and then each word order
1..word_order. sacreBLEU builds a `Counter` of n-gram strings per segment and order; here symbols become
integers for the whole corpus at once, the reference side is prepared once per reference set and reused for
every system scored against it, and n-grams are matched by one of two engines that give the same counts
(`ngram_matches`, also used by `bleu_fast`): a kernel compiled with numba that works segment by segment
(`_match_kernel`: hash tables of integer keys), or, where numba is not installed, numpy over the whole corpus
(described next).

What the statistics are (sacreBLEU 2.6, `CHRF._get_match_statistics`), for one segment, one reference and
one order n, with L symbols in the hypothesis and R in the reference (symbols: the characters of the
pre-processed segment, whitespace removed unless `whitespace=True`, or the tokens of `_remove_punctuation`):
- ref_count = max(R - n + 1, 0), the number of n-grams (the sum of the reference Counter);
- hyp_count = max(L - n + 1, 0), but 0 when the reference has no n-gram of that order;
- match_count = sum over distinct n-grams g of min(count_hyp(g), count_ref(g)).
Only match_count needs n-gram identities; the two counts follow from lengths. sacreBLEU keys a word n-gram
by `' '.join(tokens)`; tokens are non-empty and hold no whitespace, so that string stands for the token tuple,
and a tuple of token ids is as good a key.

How n-grams are identified, exactly (the numpy engine; the compiled one keys its tables the same way, with
per-segment ids, see `_match_kernel`). Symbols become small integers: characters through a table
indexed by code point, words through a dict, both built from the references, plus one "unseen" id for every
symbol that no reference contains. With A the number of symbol ids, n-grams are numbered order by order and
*per segment* by a prefix chain:

    code_1(i) = segment(i) * A + symbol(i)
    code_n(i) = rank_{n-1}(i) * A + symbol(i + n - 1)

where rank_{n-1}(i) is the rank of code_{n-1}(i) among the sorted distinct reference codes of order n-1
(order 0 being one empty n-gram per segment, ranked by segment).
(p, c) -> p * A + c with 0 <= c < A is injective, so by induction two n-grams get the same code iff they are
the same n-gram in the same segment. The reference side of an order is just its sorted distinct codes, with
their counts and segments (`np.unique`). On the hypothesis side, only n-grams whose (n-1)-prefix was found
in the same segment's reference are extended and looked up (`np.searchsorted`): an n-gram whose prefix does
not occur in the reference does not occur in it either. An unseen symbol's id is in no reference code, so
it never matches; it still counts in the hypothesis counts, which come from lengths. Positions whose n-gram
would run into the next segment are dropped.

Codes stay below K_{n-1} * A, where K_{n-1} (distinct reference (n-1)-grams per segment, summed) is at most
the number of reference symbols (for order 1: the number of segments): unlike a base-A polynomial of the whole
n-gram, int64 cannot overflow for any realistic corpus, even with a large (CJK) alphabet. The bound is still
checked for every order against `_max_code` (the compiled engine's, 4 x symbols of a segment x A, once);
where it could fail, the statistics come from sacreBLEU's own per-segment code (`_compute_segment_statistics`)
instead, so they are never approximate.

Several references: sacreBLEU keeps, per segment, the statistics of the first reference with the highest
f-score (`f_score > best_f_score`, starting from -1.0). References are grouped in slots (slot j: the j-th
non-None reference of each segment); each slot's statistics are computed vectorised, and the choice is made
by sacreBLEU's loop with its own `self._compute_f_score`, so every float comparison is sacreBLEU's. A segment
without references gets `[]`, and hypotheses and references are paired as sacreBLEU's `zip` pairs them.

Where the prepared reference side lives: `_cache_references` returns it, so it sits where sacreBLEU keeps its
cache, `self._ref_cache` (set by the constructor's `references=`, or by the caller, as the harness does), and
a new reference set means a new cache. References passed explicitly to `_extract_corpus_statistics` (which
sacreBLEU re-extracts on every call) are prepared once and memoised on the object, keyed by their content and
the options, so a different reference set rebuilds them. A prepared set whose options no longer match the
object's (an option changed after preparing) is prepared again from the reference strings it keeps.

Per call, the Python work left is per segment (lowercasing, whitespace removal) or per word: hypothesis
words are split by `_remove_punctuation` one word at a time, which is what it does to a sentence, and each
distinct word's token ids are memoised with the reference set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
from sacrebleu.metrics import CHRF

from harness.compiled import numba_compiled

_INT = np.int64
#: largest n-gram code allowed (int64 with a factor 2 of margin); beyond it, sacreBLEU's own code is used
MAX_CODE = 2 ** 62


# ---------------------------------------------------------------------------------------------------------
# n-gram matching on integer symbol streams (no sacreBLEU knowledge here; bleu_fast uses it too)

@dataclass
class _OrderTable:
    """The reference n-grams of one order, one entry per distinct (n-gram, segment) pair."""

    codes: np.ndarray  # sorted distinct codes (see the module docstring)
    counts: np.ndarray  # occurrences of each in its segment's reference (several pieces: the largest)
    segments: np.ndarray  # the segment each belongs to


@dataclass
class ReferenceNgrams:
    """The references of a corpus as integer symbols, ready for hypotheses' n-grams to be matched against.

    A segment's references are pieces laid end to end, segment by segment; no n-gram crosses a piece, and a
    hypothesis n-gram is matched against the largest count it has in one piece of its segment (BLEU clips
    against several references so; chrF passes one piece per segment). Symbol ids are below `alphabet`."""

    symbols: np.ndarray  # int64, every piece end to end
    piece_lengths: np.ndarray  # int64, symbols per piece
    piece_segments: np.ndarray  # int64, the segment of each piece (non-decreasing)
    n_segments: int
    alphabet: int
    max_order: int
    kernel: object | None = field(default=None, repr=False)  # the compiled matcher; None: the numpy engine
    tables: list[_OrderTable] | None = field(default=None, repr=False)  # the numpy engine's, orders 1..max


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: key * 2**64 / golden ratio, top bits


def _match_kernel(ref_symbols, piece_bounds, segment_pieces, hyp_symbols, hyp_bounds, alphabet, max_order, out):
    """The compiled engine (numba), one segment at a time: out[s, n - 1] = the sum over distinct n-grams of
    segment s's hypothesis of min(its count there, its largest count in one reference piece of segment s).

    Within a segment, order by order, the reference n-grams go into an open-addressing hash table keyed by
    (slot of the (n-1)-prefix) * alphabet + last symbol: injective, as the codes of the module docstring
    are, since a slot holds one distinct (n-1)-gram. An n-gram's slot is its id for the next order; a table
    has at least twice as many slots as the segment has reference symbols, so keys stay below 4 x symbols x
    alphabet (`reference_ngrams` checks that bound). Pieces come one after the other, so a slot counts its
    n-gram's run in the current piece and keeps the largest. An n-gram of either side whose (n-1)-prefix the
    other side lacks cannot be on both sides, so it is not extended to the next order (the reference side's
    counts are needed only for n-grams the hypothesis has); a symbol no reference piece holds is never found.
    Pure Python as written (what a test runs); `compiled_matcher` compiles it."""
    n_segments = hyp_bounds.shape[0] - 1
    longest_ref = 1
    longest_hyp = 1
    for s in range(n_segments):
        r = piece_bounds[segment_pieces[s + 1]] - piece_bounds[segment_pieces[s]]
        h = hyp_bounds[s + 1] - hyp_bounds[s]
        if r > longest_ref:
            longest_ref = r
        if h > longest_hyp:
            longest_hyp = h
    capacity = 2
    while capacity < 2 * longest_ref:
        capacity *= 2
    table_keys = np.empty(capacity, np.int64)
    stamp = np.zeros(capacity, np.int64)  # a slot is taken iff its stamp is the current generation
    largest = np.empty(capacity, np.int64)
    run = np.empty(capacity, np.int64)
    last_piece = np.empty(capacity, np.int64)
    hits = np.zeros(capacity, np.int64)
    taken = np.empty(capacity, np.int64)
    ref_ids = np.empty(longest_ref, np.int64)
    hyp_ids = np.empty(longest_hyp, np.int64)
    generation = 0
    for s in range(n_segments):
        h0 = hyp_bounds[s]
        length = hyp_bounds[s + 1] - h0
        p0 = segment_pieces[s]
        p1 = segment_pieces[s + 1]
        base = piece_bounds[p0]
        size = piece_bounds[p1] - base
        if length == 0 or size == 0:
            continue
        bits = 1
        while (1 << bits) < 2 * size:
            bits += 1
        mask = (1 << bits) - 1
        shift = np.uint64(64 - bits)
        for i in range(size):
            ref_ids[i] = 0
        for i in range(length):
            hyp_ids[i] = 0
        for n in range(1, max_order + 1):
            generation += 1
            n_taken = 0
            for k in range(p0, p1):
                a = piece_bounds[k] - base
                b = piece_bounds[k + 1] - base
                for i in range(a, b - n + 1):
                    prefix = ref_ids[i]
                    if prefix < 0:
                        continue  # its (n-1)-prefix is not in the hypothesis: neither is this n-gram
                    key = prefix * alphabet + ref_symbols[base + i + n - 1]
                    slot = np.int64((np.uint64(key) * _GOLDEN) >> shift)
                    while stamp[slot] == generation and table_keys[slot] != key:
                        slot = (slot + 1) & mask
                    if stamp[slot] != generation:
                        stamp[slot] = generation
                        table_keys[slot] = key
                        largest[slot] = 0
                        last_piece[slot] = -1
                        taken[n_taken] = slot
                        n_taken += 1
                    if last_piece[slot] != k:
                        last_piece[slot] = k
                        run[slot] = 0
                    run[slot] += 1
                    if run[slot] > largest[slot]:
                        largest[slot] = run[slot]
                    ref_ids[i] = slot
            if n_taken == 0:
                break  # no reference n-gram of this order is left, so none of higher orders either
            found = 0
            for i in range(length - n + 1):
                prefix = hyp_ids[i]
                if prefix < 0:
                    continue
                key = prefix * alphabet + hyp_symbols[h0 + i + n - 1]
                slot = np.int64((np.uint64(key) * _GOLDEN) >> shift)
                while stamp[slot] == generation and table_keys[slot] != key:
                    slot = (slot + 1) & mask
                if stamp[slot] == generation:
                    hyp_ids[i] = slot
                    hits[slot] += 1
                    found += 1
                else:
                    hyp_ids[i] = -1
            total = 0
            for t in range(n_taken):
                slot = taken[t]
                if hits[slot] > 0:
                    total += min(hits[slot], largest[slot])
            out[s, n - 1] = total
            if found == 0:
                for t in range(n_taken):
                    hits[taken[t]] = 0
                break  # no hypothesis n-gram of this order matched, so none of higher orders will
            # A reference position whose n-gram the hypothesis lacks starts no matching (n+1)-gram: drop it.
            for k in range(p0, p1):
                a = piece_bounds[k] - base
                b = piece_bounds[k + 1] - base
                for i in range(a, b - n):
                    slot = ref_ids[i]
                    if slot >= 0 and hits[slot] == 0:
                        ref_ids[i] = -1
            for t in range(n_taken):
                hits[taken[t]] = 0


@lru_cache(maxsize=None)
def compiled_matcher():
    """`_match_kernel` compiled with numba (cached on disk by numba), or None where numba is not installed:
    the numpy engine then gives the same numbers, several times slower."""
    return numba_compiled(_match_kernel)


def reference_ngrams(symbols: np.ndarray, piece_lengths: np.ndarray, piece_segments: np.ndarray, n_segments: int,
                     alphabet: int, max_order: int, max_code: int = MAX_CODE) -> ReferenceNgrams | None:
    """References prepared for `ngram_matches` by the compiled engine where there is one, else by numpy;
    None when some n-gram code could exceed `max_code` (callers then use sacreBLEU's own code)."""
    symbols, piece_lengths = np.asarray(symbols, dtype=_INT), np.asarray(piece_lengths, dtype=_INT)
    piece_segments = np.asarray(piece_segments, dtype=_INT)
    refs = ReferenceNgrams(symbols, piece_lengths, piece_segments, n_segments, alphabet, max_order)
    kernel = compiled_matcher()
    if kernel is not None:
        if len(piece_lengths):
            # the kernel's keys stay below 4 x (reference symbols of the segment) x alphabet
            per_segment = np.bincount(piece_segments, weights=piece_lengths, minlength=n_segments)
            if 4 * int(per_segment.max()) * alphabet - 1 > max_code:
                return None
        refs.kernel = kernel
        return refs
    refs.tables = _reference_tables(symbols, piece_lengths, piece_segments, n_segments, alphabet, max_order,
                                    max_code)
    return refs if refs.tables is not None else None


def ngram_matches(refs: ReferenceNgrams, hyp_symbols: np.ndarray, hyp_lengths: np.ndarray) -> np.ndarray:
    """(len(hyp_lengths), max_order) int64: for hypothesis segment s (the first len(hyp_lengths) segments) and
    order n, the sum over its distinct n-grams of min(count in the hypothesis, largest count in one reference
    piece of segment s). Symbols not in the references must have ids no reference piece holds."""
    n = len(hyp_lengths)
    if refs.kernel is not None:
        out = np.zeros((n, refs.max_order), dtype=_INT)
        piece_bounds = np.concatenate([[0], np.cumsum(refs.piece_lengths)]).astype(_INT)
        segment_pieces = np.searchsorted(refs.piece_segments, np.arange(n + 1), side="left").astype(_INT)
        hyp_bounds = np.concatenate([[0], np.cumsum(hyp_lengths)]).astype(_INT)
        refs.kernel(refs.symbols, piece_bounds, segment_pieces, np.asarray(hyp_symbols, dtype=_INT), hyp_bounds,
                    refs.alphabet, refs.max_order, out)
        return out
    matches = _match_counts(refs.tables, np.asarray(hyp_symbols, dtype=_INT), np.asarray(hyp_lengths, dtype=_INT),
                            refs.alphabet, refs.n_segments)
    return np.stack(matches, axis=1) if matches else np.zeros((n, 0), dtype=_INT)


# -- the numpy engine -----------------------------------------------------------------------------------------

def _positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pieces of these lengths laid end to end: each position's piece, and how many symbols there are
    from it to its piece's end (an n-gram starting there stays inside the piece iff >= n)."""
    pieces = np.repeat(np.arange(len(lengths), dtype=_INT), lengths)
    remaining = np.cumsum(lengths)[pieces] - np.arange(len(pieces), dtype=_INT)
    return pieces, remaining


def _extend(positions, ids, symbols, remaining, n, alphabet_size):
    """From the (n-1)-grams starting at `positions`, with ids `ids`: the positions whose n-gram stays
    inside its piece, and the codes of those n-grams."""
    inside = remaining[positions] >= n
    positions, ids = positions[inside], ids[inside]
    return positions, ids * alphabet_size + symbols[positions + (n - 1)]


def _fits(n_prefix_ids: int, alphabet_size: int, max_code: int) -> bool:
    # Codes are prefix id * alphabet_size + symbol id, with prefix id < n_prefix_ids, symbol id < alphabet_size.
    return n_prefix_ids * alphabet_size - 1 <= max_code


def _reference_tables(symbols, piece_lengths, piece_segments, n_segments, alphabet_size, max_order,
                      max_code) -> list[_OrderTable] | None:
    """The distinct (n-gram, segment) codes of orders 1..max_order with their counts (the largest count in
    one piece of the segment), or None if some order's codes could exceed `max_code`."""
    pieces, remaining = _positions(piece_lengths)
    segments = piece_segments[pieces]
    n_pieces = len(piece_lengths)
    several = bool(n_pieces) and bool((np.diff(piece_segments) == 0).any())  # a segment with several pieces
    # Order 0: one empty n-gram per segment, starting everywhere, its id the segment's index.
    positions, ids, n_ids = np.arange(len(symbols), dtype=_INT), segments, n_segments
    tables = []
    for n in range(1, max_order + 1):
        if not _fits(n_ids, alphabet_size, max_code) or (several and not _fits(n_ids * alphabet_size, n_pieces,
                                                                                max_code)):
            return None
        positions, codes = _extend(positions, ids, symbols, remaining, n, alphabet_size)
        distinct, ids, counts = np.unique(codes, return_inverse=True, return_counts=True)
        if several:  # count each code per piece, keep the largest
            pairs, pair_counts = np.unique(ids * n_pieces + pieces[positions], return_counts=True)
            counts = np.zeros(len(distinct), dtype=_INT)
            np.maximum.at(counts, pairs // n_pieces, pair_counts)
        code_segments = np.empty(len(distinct), dtype=_INT)
        code_segments[ids] = segments[positions]
        n_ids = len(distinct)
        tables.append(_OrderTable(distinct, counts.astype(_INT), code_segments))
    return tables


def _find(keys: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each code among the sorted keys, and whether it is there."""
    if len(keys) == 0:
        return np.zeros(len(codes), dtype=_INT), np.zeros(len(codes), dtype=bool)
    ranks = np.searchsorted(keys, codes)
    return ranks, keys.take(ranks, mode="clip") == codes


def _match_counts(tables, symbols, lengths, alphabet_size, n_ref_segments) -> list[np.ndarray]:
    """Per order, per segment: sum over distinct n-grams of min(hypothesis count, reference count)."""
    segments, remaining = _positions(lengths)
    positions, ids = np.arange(len(symbols), dtype=_INT), segments
    matches = []
    for n, table in enumerate(tables, start=1):
        # Only n-grams whose (n-1)-prefix occurs in the segment's reference are extended: the others
        # cannot occur in it either. `ids` are then ranks among the reference codes of the order.
        positions, codes = _extend(positions, ids, symbols, remaining, n, alphabet_size)
        ranks, found = _find(table.codes, codes)
        positions, ids = positions[found], ranks[found]
        hits = np.bincount(ids, minlength=len(table.codes))  # hypothesis count of each reference code
        matched = np.minimum(hits, table.counts)
        # Float weights are exact: every sum is an integer far below 2**53.
        per_segment = np.bincount(table.segments, weights=matched, minlength=n_ref_segments)
        matches.append(per_segment[:len(lengths)].astype(_INT))
    return matches


# ---------------------------------------------------------------------------------------------------------
# chrF's symbols and statistics

@dataclass
class _Stream:
    """One kind of symbols (characters or words) of one reference slot."""

    lengths: np.ndarray  # symbols per segment (0 where the segment has no reference in this slot)
    ngrams: ReferenceNgrams | None  # one piece per segment; None when codes would not fit `_max_code`


@dataclass
class _Slot:
    """The j-th (non-None) reference of every segment."""

    chars: _Stream
    words: _Stream | None


@dataclass
class PreparedReferenceSet:
    """What a fast port's `_cache_references` returns (see `PreparedReferenceCache`); each port's subclass adds
    the arrays it prepares."""

    options: tuple  # the options it was prepared with
    raw: list[tuple[str, ...]]  # per segment, the non-None references as given (for rebuilds and fallback)
    num_refs: int
    # hypothesis word -> ids, filled by the port as it meets words
    word_memo: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, kw_only=True)
    # sacreBLEU's own reference info per segment, built only for the fallback
    sacrebleu_cache: list | None = field(default=None, repr=False, kw_only=True)

    def __bool__(self) -> bool:
        # sacreBLEU tests `elif self._ref_cache:`: like its list cache, a set of no segments is empty.
        return bool(self.raw)

    @property
    def n_segments(self) -> int:
        return len(self.raw)

    @property
    def usable(self) -> bool:
        """Whether the port's own extraction can take this set (else sacreBLEU's code answers)."""
        raise NotImplementedError


@dataclass
class _PreparedReferences(PreparedReferenceSet):
    """A reference set prepared for `FastCHRF`."""

    n_refs: list[int]  # references per segment
    char_lut: np.ndarray  # code point -> character id; the last entry is the "unseen" id
    vocab: dict[str, int]  # word -> word id; len(vocab) is the "unseen" id
    slots: list[_Slot]

    @property
    def n_char_ids(self) -> int:
        return int(self.char_lut[-1]) + 1  # the alphabet and the "unseen" id

    @property
    def usable(self) -> bool:
        # every n-gram code fits in int64
        streams = [s for slot in self.slots for s in (slot.chars, slot.words) if s is not None]
        return all(s.ngrams is not None for s in streams)


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the concatenated texts, and the length of each text (Python's `len`: code points)."""
    # 'surrogatepass' keeps lone surrogates (one code point each, as in a Python str) instead of failing.
    data = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(data, dtype="<u4").astype(_INT), np.fromiter(map(len, texts), _INT, len(texts))


def _char_lookup(codepoints: np.ndarray) -> np.ndarray:
    """code point -> dense id for the code points present; every other code point maps to the last id."""
    alphabet = np.unique(codepoints)
    size = int(alphabet[-1]) + 2 if len(alphabet) else 1  # one past the largest: the "unseen" entry
    lut = np.full(size, len(alphabet), dtype=_INT)
    lut[alphabet] = np.arange(len(alphabet), dtype=_INT)
    return lut


def _char_ids(lut: np.ndarray, codepoints: np.ndarray) -> np.ndarray:
    # Code points beyond the table are clipped onto its last entry, the "unseen" id.
    return lut[np.minimum(codepoints, len(lut) - 1)]


def _ngram_totals(lengths: np.ndarray, n: int) -> np.ndarray:
    return np.maximum(lengths - (n - 1), 0)


def _order_statistics(hyp_lengths, ref_lengths, matches) -> list[np.ndarray]:
    """[hyp_count, ref_count, match_count] columns per order, as `CHRF._get_match_statistics` gives them."""
    columns = []
    for n in range(1, matches.shape[1] + 1):
        ref_total = _ngram_totals(ref_lengths, n)
        hyp_total = np.where(ref_total > 0, _ngram_totals(hyp_lengths, n), 0)  # `hyp_count if ref_ngrams else 0`
        columns += [hyp_total, ref_total, matches[:, n - 1]]
    return columns


# ---------------------------------------------------------------------------------------------------------

class PreparedReferenceCache:
    """How a fast port prepares and finds its references, as sacreBLEU builds and finds its cache (shared by
    FastCHRF and FastBLEU), and the extraction that takes them or falls back to sacreBLEU's code. A subclass sets
    `prepared_type` (its `PreparedReferenceSet` subclass) and defines `_options()`, `_prepare(raw)`,
    `_hypotheses(hypotheses, prepared)`, `_fast_statistics(hyps, prepared)` and `_sacrebleu_statistics(hyps,
    prepared)`."""

    prepared_type: type

    def _cache_references(self, references: Sequence[Sequence[str | None]]) -> PreparedReferenceSet:
        """As sacreBLEU's (None references dropped, `num_refs` set), returning a prepared reference set."""
        raw = [tuple(x for x in refs if x is not None) for refs in zip(*references)]
        prepared = self._prepare(raw)
        self.num_refs = prepared.num_refs
        return prepared

    def _extract_corpus_statistics(self, hypotheses: Sequence[str],
                                   references: Sequence[Sequence[str | None]] | None) -> list[list[int]]:
        """Per segment, sacreBLEU's statistics as a list of Python ints (`corpus_statistics`: one array)."""
        prepared = self._prepared_references(references)
        if prepared is None:
            return super()._extract_corpus_statistics(hypotheses, None)
        hyps = self._hypotheses(hypotheses, prepared)
        if not prepared.usable:
            return self._sacrebleu_statistics(hyps, prepared)
        return self._fast_statistics(hyps, prepared)

    def _sacrebleu_reference_info(self, prepared: PreparedReferenceSet) -> list:
        """sacreBLEU's own reference info per segment, for the fallback to its extraction: built on first use
        and kept with the prepared set."""
        if prepared.sacrebleu_cache is None:
            prepared.sacrebleu_cache = [self._extract_reference_info([self._preprocess_segment(x) for x in refs])
                                        for refs in prepared.raw]
        return prepared.sacrebleu_cache

    def _prepared_references(self, references):
        """The prepared reference set to use; None for a cache that sacreBLEU's own class built."""
        if references:
            # sacreBLEU re-extracts explicitly passed references on every call (and does not store them in
            # `_ref_cache`); they are memoised here instead, keyed by content and options.
            key = (tuple(tuple(stream) for stream in references), self._options())
            memo = getattr(self, "_fast_memo", None)
            if memo is None or memo[0] != key:
                memo = (key, self._cache_references(references))
                self._fast_memo = memo
            self.num_refs = memo[1].num_refs
            return memo[1]
        if not self._ref_cache:
            raise RuntimeError("No references provided and the cache is empty.")
        if not isinstance(self._ref_cache, self.prepared_type):
            return None  # a cache built by sacreBLEU's own class
        if self._ref_cache.options != self._options():
            # Options changed since the references were prepared: prepare them again for these options.
            self._ref_cache = self._prepare(self._ref_cache.raw)
        return self._ref_cache


class FastCHRF(PreparedReferenceCache, CHRF):
    """sacreBLEU's chrF/chrF++ with vectorised, exact `_extract_corpus_statistics` (see module docstring)."""

    prepared_type = _PreparedReferences

    #: largest n-gram code allowed (int64 with a factor 2 of margin); beyond it, sacreBLEU's own code is used
    _max_code = MAX_CODE

    # -- preprocessing, exactly as sacreBLEU's extraction does it --------------------------------------------

    def _options(self) -> tuple:
        return (self.char_order, self.word_order, self.lowercase, self.whitespace, self._max_code,
                compiled_matcher() is not None)

    def _char_text(self, segment: str) -> str:
        # `extract_all_char_ngrams`: whitespace removed unless requested
        return segment if self.whitespace else "".join(segment.split())

    def _words(self, segments: Sequence[str]) -> list[list[str]]:
        return [self._remove_punctuation(s) for s in segments] if self.word_order > 0 else []

    # -- reference side ------------------------------------------------------------------------------------

    def _prepare(self, raw: list[tuple[str, ...]]) -> _PreparedReferences:
        n_refs = [len(refs) for refs in raw]
        distinct_counts = set(n_refs)
        num_refs = distinct_counts.pop() if len(distinct_counts) == 1 else -1  # sacreBLEU's rule
        lines = [[self._preprocess_segment(x) for x in refs] for refs in raw]
        width = max(n_refs, default=0)
        # Slot j: the j-th reference of each segment, '' where a segment has fewer (ignored when choosing).
        slot_lines = [[refs[j] if j < len(refs) else "" for refs in lines] for j in range(width)]

        slot_chars = [_codepoints([self._char_text(s) for s in texts]) for texts in slot_lines]
        char_lut = _char_lookup(np.concatenate([cps for cps, _ in slot_chars] + [np.zeros(0, _INT)]))
        slot_words = [self._words(texts) for texts in slot_lines]
        vocab: dict[str, int] = {}
        for words in slot_words:
            for tokens in words:
                for token in tokens:
                    vocab.setdefault(token, len(vocab))

        n_char_ids = int(char_lut[-1]) + 1  # the alphabet and the "unseen" id
        n = len(raw)
        slots = []
        for (cps, char_lengths), words in zip(slot_chars, slot_words):
            ngrams = reference_ngrams(_char_ids(char_lut, cps), char_lengths, np.arange(n, dtype=_INT), n,
                                      n_char_ids, self.char_order, self._max_code)
            slots.append(_Slot(_Stream(char_lengths, ngrams), self._word_stream(words, vocab)))
        return _PreparedReferences(self._options(), raw, num_refs, n_refs, char_lut, vocab, slots)

    def _word_stream(self, words: list[list[str]], vocab: dict[str, int]) -> _Stream | None:
        """The word n-grams of one reference slot."""
        if self.word_order <= 0:
            return None
        ids = np.fromiter((vocab[t] for tokens in words for t in tokens), _INT)
        lengths = np.fromiter(map(len, words), _INT, len(words))
        return _Stream(lengths, reference_ngrams(ids, lengths, np.arange(len(words), dtype=_INT), len(words),
                                                 len(vocab) + 1, self.word_order, self._max_code))

    def _hypothesis_words(self, hyps: list[str], prepared: _PreparedReferences) -> tuple[np.ndarray, np.ndarray]:
        """Word ids of the hypotheses' `_remove_punctuation` tokens, concatenated, and tokens per segment.

        `_remove_punctuation` splits each whitespace-separated word on its own, so each distinct word is
        split and looked up once, memoised with the reference set (whose vocabulary the ids refer to)."""
        memo, vocab = prepared.word_memo, prepared.vocab
        unseen = len(vocab)
        ids, lengths = [], []
        for hyp in hyps:
            start = len(ids)
            for word in hyp.split():
                word_ids = memo.get(word)
                if word_ids is None:
                    word_ids = memo[word] = tuple(vocab.get(t, unseen) for t in self._remove_punctuation(word))
                ids += word_ids
            lengths.append(len(ids) - start)
        return np.array(ids, dtype=_INT), np.array(lengths, dtype=_INT)

    # -- statistics ------------------------------------------------------------------------------------------

    def _fast_statistics(self, hyps: list[str], prepared: _PreparedReferences) -> list[list[int]]:
        return self._choose(self._per_slot(hyps, prepared), prepared.n_refs[:len(hyps)])

    def corpus_statistics(self, hypotheses: Sequence[str], references=None) -> np.ndarray:
        """sacreBLEU's statistics as one (segments, 3 * (char_order + word_order)) int64 array, without a
        Python list per segment. A segment without references (sacreBLEU's statistics: `[]`) is a ValueError:
        it has no row of that width."""
        width = 3 * (self.char_order + self.word_order)
        prepared = self._prepared_references(references)
        if prepared is not None and prepared.usable:
            hyps = self._hypotheses(hypotheses, prepared)
            if all(k == 1 for k in prepared.n_refs[:len(hyps)]):
                # One reference each: sacreBLEU keeps it (its f-score, never negative, beats the initial -1.0).
                return self._per_slot(hyps, prepared)[0]
        stats = self._extract_corpus_statistics(hypotheses, references)
        empty = next((i for i, row in enumerate(stats) if len(row) != width), None)
        if empty is not None:
            raise ValueError(f"chrF: segment {empty + 1} has no reference, hence no statistics")
        return np.array(stats, dtype=_INT).reshape(len(stats), width)

    def _hypotheses(self, hypotheses: Sequence[str], prepared: _PreparedReferences) -> list[str]:
        return [self._preprocess_segment(h) for h in list(hypotheses)[:prepared.n_segments]]  # as zip pairs them

    def _per_slot(self, hyps: list[str], prepared: _PreparedReferences) -> list[np.ndarray]:
        """Per reference slot, the (n, columns) int64 statistics of every hypothesis against its references."""
        cps, hyp_char_lengths = _codepoints([self._char_text(h) for h in hyps])
        hyp_chars = _char_ids(prepared.char_lut, cps)
        hyp_words = self._hypothesis_words(hyps, prepared) if self.word_order > 0 else None
        return [self._slot_statistics(slot, hyp_chars, hyp_char_lengths, hyp_words) for slot in prepared.slots]

    def _slot_statistics(self, slot: _Slot, hyp_chars, hyp_char_lengths, hyp_words) -> np.ndarray:
        """Statistics of every hypothesis against this slot's references, (n, columns) int64."""
        n = len(hyp_char_lengths)
        columns = _order_statistics(hyp_char_lengths, slot.chars.lengths[:n],
                                    ngram_matches(slot.chars.ngrams, hyp_chars, hyp_char_lengths))
        if slot.words is not None:
            word_ids, hyp_word_lengths = hyp_words
            columns += _order_statistics(hyp_word_lengths, slot.words.lengths[:n],
                                         ngram_matches(slot.words.ngrams, word_ids, hyp_word_lengths))
        if not columns:
            return np.zeros((n, 0), dtype=_INT)
        return np.stack(columns, axis=1).astype(_INT)

    def _choose(self, per_slot: list[np.ndarray], n_refs: list[int]) -> list[list[int]]:
        """sacreBLEU's choice among references (`_compute_segment_statistics`): first best f-score."""
        per_slot = [stats.tolist() for stats in per_slot]  # Python ints, as sacreBLEU's
        chosen = []
        for s, k in enumerate(n_refs):
            best_stats, best_f_score = [], -1.0
            for j in range(k):
                stats = per_slot[j][s]
                f_score = self._compute_f_score(stats)
                if f_score > best_f_score:
                    best_f_score, best_stats = f_score, stats
            chosen.append(best_stats)
        return chosen

    def _sacrebleu_statistics(self, hyps: list[str], prepared: _PreparedReferences) -> list[list[int]]:
        """Fallback where codes would not fit: sacreBLEU's own per-segment extraction and matching."""
        return [self._compute_segment_statistics(h, kwargs)
                for h, kwargs in zip(hyps, self._sacrebleu_reference_info(prepared))]
