"""chrF / chrF++ sufficient statistics, vectorised over the corpus, identical to sacreBLEU's.

`FastCHRF` is sacreBLEU's `CHRF` (same constructor, options, signature and scoring) with another way of
computing `_extract_corpus_statistics`: per segment, `[hyp_count, ref_count, match_count]` for each
character order 1..char_order and then each word order 1..word_order. sacreBLEU builds a `Counter` of n-gram
strings per segment and order; here the whole corpus is processed at once with numpy, and the reference side
is prepared once per reference set and reused for every system scored against it.

What the statistics are (sacreBLEU 2.6, `CHRF._get_match_statistics`), for one segment, one reference and
one order n, with L symbols in the hypothesis and R in the reference (symbols: the characters of the
pre-processed segment, whitespace removed unless `whitespace=True`, or the tokens of `_remove_punctuation`):
- ref_count = max(R - n + 1, 0), the number of n-grams (the sum of the reference Counter);
- hyp_count = max(L - n + 1, 0), but 0 when the reference has no n-gram of that order;
- match_count = sum over distinct n-grams g of min(count_hyp(g), count_ref(g)).
Only match_count needs n-gram identities; the two counts follow from lengths. sacreBLEU keys a word n-gram
by `' '.join(tokens)`; tokens are non-empty and hold no whitespace, so that string stands for the token tuple,
and a tuple of token ids is as good a key.

How n-grams are identified, exactly (no hashing). Symbols become small integers: characters through a table
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
the number of reference symbols (for order 1: the number of segments): unlike a base-A polynomial of the whole n-gram, int64 cannot overflow for
any realistic corpus, even with a large (CJK) alphabet. The bound is still checked for every order against
`_max_code`; where it could fail, the statistics come from sacreBLEU's own per-segment code
(`_compute_segment_statistics`) instead, so they are never approximate.

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
from typing import Sequence

import numpy as np
from sacrebleu.metrics import CHRF

_INT = np.int64


@dataclass
class _OrderTable:
    """The reference n-grams of one order, one entry per distinct (n-gram, segment) pair."""

    codes: np.ndarray  # sorted distinct codes (see the module docstring)
    counts: np.ndarray  # occurrences of each in its segment's reference
    segments: np.ndarray  # the segment each belongs to


@dataclass
class _Stream:
    """One kind of symbols (characters or words) of one reference slot."""

    lengths: np.ndarray  # symbols per segment (0 where the segment has no reference in this slot)
    tables: list[_OrderTable] | None  # orders 1..max; None when codes would not fit `_max_code`


@dataclass
class _Slot:
    """The j-th (non-None) reference of every segment."""

    chars: _Stream
    words: _Stream | None


@dataclass
class _PreparedReferences:
    """A reference set prepared for `FastCHRF`: what its `_cache_references` returns."""

    options: tuple  # the options it was prepared with
    raw: list[tuple[str, ...]]  # per segment, the non-None references as given (for rebuilds and fallback)
    num_refs: int
    n_refs: list[int]  # references per segment
    char_lut: np.ndarray  # code point -> character id; the last entry is the "unseen" id
    vocab: dict[str, int]  # word -> word id; len(vocab) is the "unseen" id
    slots: list[_Slot]
    word_memo: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)  # hypothesis word -> ids
    sacrebleu_cache: list | None = field(default=None, repr=False)  # built only for the fallback

    def __bool__(self) -> bool:
        # sacreBLEU tests `elif self._ref_cache:`: like its list cache, a set of no segments is empty.
        return bool(self.raw)

    @property
    def n_segments(self) -> int:
        return len(self.raw)

    @property
    def n_char_ids(self) -> int:
        return int(self.char_lut[-1]) + 1  # the alphabet and the "unseen" id

    @property
    def fits(self) -> bool:
        streams = [s for slot in self.slots for s in (slot.chars, slot.words) if s is not None]
        return all(s.tables is not None for s in streams)


# ---------------------------------------------------------------------------------------------------------
# Array helpers (no sacreBLEU knowledge here)

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


def _positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of these lengths laid end to end: each position's segment, and how many symbols
    there are from it to its segment's end (an n-gram starting there stays inside the segment iff >= n)."""
    segments = np.repeat(np.arange(len(lengths), dtype=_INT), lengths)
    remaining = np.cumsum(lengths)[segments] - np.arange(len(segments), dtype=_INT)
    return segments, remaining


def _extend(positions, ids, symbols, remaining, n, alphabet_size):
    """From the (n-1)-grams starting at `positions`, with ids `ids`: the positions whose n-gram stays
    inside its segment, and the codes of those n-grams."""
    inside = remaining[positions] >= n
    positions, ids = positions[inside], ids[inside]
    return positions, ids * alphabet_size + symbols[positions + (n - 1)]


def _fits(n_prefix_ids: int, alphabet_size: int, max_code: int) -> bool:
    # Codes are prefix id * alphabet_size + symbol id, with prefix id < n_prefix_ids, symbol id < alphabet_size.
    return n_prefix_ids * alphabet_size - 1 <= max_code


def _reference_tables(symbols, lengths, alphabet_size, max_order, max_code) -> list[_OrderTable] | None:
    """The distinct (n-gram, segment) codes of orders 1..max_order with their counts, or None if some
    order's codes could exceed `max_code`."""
    segments, remaining = _positions(lengths)
    # Order 0: one empty n-gram per segment, starting everywhere, its id the segment's index.
    positions, ids, n_ids = np.arange(len(symbols), dtype=_INT), segments, len(lengths)
    tables = []
    for n in range(1, max_order + 1):
        if not _fits(n_ids, alphabet_size, max_code):
            return None
        positions, codes = _extend(positions, ids, symbols, remaining, n, alphabet_size)
        distinct, ids, counts = np.unique(codes, return_inverse=True, return_counts=True)
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


def _ngram_totals(lengths: np.ndarray, n: int) -> np.ndarray:
    return np.maximum(lengths - (n - 1), 0)


def _order_statistics(hyp_lengths, ref_lengths, matches) -> list[np.ndarray]:
    """[hyp_count, ref_count, match_count] columns per order, as `CHRF._get_match_statistics` gives them."""
    columns = []
    for n, match in enumerate(matches, start=1):
        ref_total = _ngram_totals(ref_lengths, n)
        hyp_total = np.where(ref_total > 0, _ngram_totals(hyp_lengths, n), 0)  # `hyp_count if ref_ngrams else 0`
        columns += [hyp_total, ref_total, match]
    return columns


# ---------------------------------------------------------------------------------------------------------

class FastCHRF(CHRF):
    """sacreBLEU's chrF/chrF++ with vectorised, exact `_extract_corpus_statistics` (see module docstring)."""

    #: largest n-gram code allowed (int64 with a factor 2 of margin); beyond it, sacreBLEU's own code is used
    _max_code = 2 ** 62

    # -- preprocessing, exactly as sacreBLEU's extraction does it --------------------------------------------

    def _options(self) -> tuple:
        return (self.char_order, self.word_order, self.lowercase, self.whitespace, self._max_code)

    def _char_text(self, segment: str) -> str:
        # `extract_all_char_ngrams`: whitespace removed unless requested
        return segment if self.whitespace else "".join(segment.split())

    def _words(self, segments: Sequence[str]) -> list[list[str]]:
        return [self._remove_punctuation(s) for s in segments] if self.word_order > 0 else []

    # -- reference side ------------------------------------------------------------------------------------

    def _cache_references(self, references: Sequence[Sequence[str | None]]) -> _PreparedReferences:
        """As sacreBLEU's (None references dropped, `num_refs` set), returning a prepared reference set."""
        raw = [tuple(x for x in refs if x is not None) for refs in zip(*references)]
        prepared = self._prepare(raw)
        self.num_refs = prepared.num_refs
        return prepared

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
        slots = []
        for (cps, char_lengths), words in zip(slot_chars, slot_words):
            chars = _Stream(char_lengths, _reference_tables(_char_ids(char_lut, cps), char_lengths, n_char_ids,
                                                            self.char_order, self._max_code))
            slots.append(_Slot(chars, self._word_stream(words, vocab)))
        return _PreparedReferences(self._options(), raw, num_refs, n_refs, char_lut, vocab, slots)

    def _word_stream(self, words: list[list[str]], vocab: dict[str, int]) -> _Stream | None:
        """The word n-gram tables of one reference slot."""
        if self.word_order <= 0:
            return None
        ids = np.fromiter((vocab[t] for tokens in words for t in tokens), _INT)
        lengths = np.fromiter(map(len, words), _INT, len(words))
        return _Stream(lengths, _reference_tables(ids, lengths, len(vocab) + 1, self.word_order, self._max_code))

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

    def _prepared_references(self, references) -> _PreparedReferences | None:
        """The prepared reference set to use, as sacreBLEU picks its cache; None for a sacreBLEU-style cache."""
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
        if not isinstance(self._ref_cache, _PreparedReferences):
            return None  # a cache built by sacreBLEU's own CHRF
        if self._ref_cache.options != self._options():
            # Options changed since the references were prepared: prepare them again for these options.
            self._ref_cache = self._prepare(self._ref_cache.raw)
        return self._ref_cache

    # -- statistics ------------------------------------------------------------------------------------------

    def _extract_corpus_statistics(self, hypotheses: Sequence[str],
                                   references: Sequence[Sequence[str | None]] | None) -> list[list[int]]:
        prepared = self._prepared_references(references)
        if prepared is None:
            return super()._extract_corpus_statistics(hypotheses, None)
        hyps = [self._preprocess_segment(h) for h in list(hypotheses)[:prepared.n_segments]]  # as zip pairs them
        if not prepared.fits:
            return self._sacrebleu_statistics(hyps, prepared)

        cps, hyp_char_lengths = _codepoints([self._char_text(h) for h in hyps])
        hyp_chars = _char_ids(prepared.char_lut, cps)
        hyp_words = self._hypothesis_words(hyps, prepared) if self.word_order > 0 else None
        per_slot = [self._slot_statistics(slot, hyp_chars, hyp_char_lengths, hyp_words, prepared)
                    for slot in prepared.slots]
        return self._choose(per_slot, prepared.n_refs[:len(hyps)])

    def _slot_statistics(self, slot: _Slot, hyp_chars, hyp_char_lengths, hyp_words, prepared) -> list:
        """Statistics of every hypothesis against this slot's references, as per-segment lists."""
        n = len(hyp_char_lengths)
        ref_lengths = slot.chars.lengths[:n]
        matches = _match_counts(slot.chars.tables, hyp_chars, hyp_char_lengths, prepared.n_char_ids,
                                prepared.n_segments)
        columns = _order_statistics(hyp_char_lengths, ref_lengths, matches)
        if slot.words is not None:
            word_ids, hyp_word_lengths = hyp_words
            matches = _match_counts(slot.words.tables, word_ids, hyp_word_lengths, len(prepared.vocab) + 1,
                                    prepared.n_segments)
            columns += _order_statistics(hyp_word_lengths, slot.words.lengths[:n], matches)
        if not columns:
            return [[] for _ in range(n)]
        return np.stack(columns, axis=1).tolist()  # Python ints, as sacreBLEU's

    def _choose(self, per_slot: list[list[list[int]]], n_refs: list[int]) -> list[list[int]]:
        """sacreBLEU's choice among references (`_compute_segment_statistics`): first best f-score."""
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
        if prepared.sacrebleu_cache is None:
            prepared.sacrebleu_cache = [self._extract_reference_info([self._preprocess_segment(x) for x in refs])
                                        for refs in prepared.raw]
        return [self._compute_segment_statistics(h, kwargs) for h, kwargs in zip(hyps, prepared.sacrebleu_cache)]
