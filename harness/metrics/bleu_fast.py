"""BLEU sufficient statistics for a whole corpus at once, identical to sacreBLEU's.

`FastBLEU` is sacreBLEU's `BLEU` (same constructor, options, signature and scoring) with another way of
computing `_extract_corpus_statistics`, and `corpus_statistics`, the same numbers as one int64 array. What the
statistics are (sacreBLEU 2.6, `BLEU._compute_segment_statistics`), per segment:
`[hyp_len, ref_len, correct_1..N, total_1..N]`, N = `max_ngram_order`, where, tokens being
`_preprocess_segment(line).split()` (lowercased if asked, right-stripped, tokenized):
- hyp_len is the number of hypothesis tokens and total_n = max(hyp_len - n + 1, 0);
- ref_len is the reference length closest to hyp_len (`_get_closest_ref_len`: the smallest |difference|, the
  shorter reference on a tie);
- correct_n = sum over distinct hypothesis n-grams g of min(count in the hypothesis, largest count of g in one
  reference) (sacreBLEU merges the references' Counters by max).

Where the time goes in sacreBLEU is a Counter of token tuples per segment and reference, and the tokenizer
called line by line. Here:
- The default tokenizer, 13a, runs over the whole corpus at once (`tokenize_13a`): its four regular expressions
  once over all lines joined by '\\n', which is the same as line by line (see there why). Other tokenizers are
  sacreBLEU's own, called per line as sacreBLEU calls them.
- Tokens become integer ids (a dictionary built from the references, one "unseen" id for every other token),
  and n-grams are matched by `chrf_fast.ngram_matches`, exactly, with each segment's references as pieces (the
  largest count in one piece is sacreBLEU's max-merge). The reference side is prepared once per reference set
  (`_cache_references`) and reused for every system scored against it.
- A segment without any reference (sacreBLEU fails or gives a length of -1 there), or n-gram codes that could
  overflow, fall back to sacreBLEU's own per-segment code, so the numbers are never approximate.

As in sacreBLEU, 100 or more hypotheses ending in " ." give its "forgot to detokenize" warning (per call).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from harness.metrics.chrf_fast import (MAX_CODE, PreparedReferenceCache, PreparedReferenceSet, ReferenceNgrams,
                                      compiled_matcher, ngram_matches, reference_ngrams)

_INT = np.int64
sacrelogger = logging.getLogger("sacrebleu")

def _preprocess_13a(line: str) -> str:
    """Tokenizer13a's language-independent part, unchanged."""
    line = line.replace('<skipped>', '')
    line = line.replace('-\n', '')
    line = line.replace('\n', ' ')
    if '&' in line:
        line = line.replace('&quot;', '"')
        line = line.replace('&amp;', '&')
        line = line.replace('&lt;', '<')
        line = line.replace('&gt;', '>')
    return line


def tokenize_13a(lines: Sequence[str], tokenizer: Tokenizer13a, memo: dict[str, tuple],
                 encode: Callable[[str], Any] | None = None) -> tuple[list[tuple], np.ndarray]:
    """The tokens of `tokenizer(line).split()` (sacreBLEU's 13a) of every line: per whitespace-separated word of
    every line, end to end, a tuple of its tokens (each passed through `encode` when given, e.g. to an id), and
    how many tokens each line has. `memo` (word -> that tuple) is filled as a side effect and may be passed
    again (with the same `encode`).

    13a is a language-independent part (removing '<skipped>' and '-\\n', '\\n' to a space, four entities) and
    four regular expressions applied to ' ' + line + ' ': a space on both sides of each ASCII punctuation
    character and of each space; then a non-digit followed by '.' or ',', '.' or ',' followed by a non-digit,
    and a digit followed by '-' get spaces between them. Here the first part runs on the whole corpus, and
    the expressions on each distinct whitespace-separated word once, padded with a space on both sides.
    Why that is the same:
    - The first part, on the lines joined by '\\n' when none holds one: none of its patterns holds a '\\n' and
      the entities all start with '&', so each replacement lies within one line, as `if '&' in line` has it
      (lines holding '\\n', possible through the Python API only, go one by one).
    - The expressions see every kind of whitespace as a non-digit that is neither '.' nor ',', as they see the
      padding space, and only the final split tells whitespace apart from other characters. Every match is two
      characters (the first rule: one), so a match across a word's edge pairs a whitespace character with
      the word's first character (a non-digit, then '.' or ',') or its last ('.' or ',', then a non-digit);
      whitespace can be consumed by no match but those, and which characters of a word the scan pairs, left to
      right, depends only on the word and on the whitespace before it. So each word is tokenized as it is in
      its line, and the line's tokens are its words' tokens in order.
    - The distinct words, each padded, are themselves joined by '\\n' and tokenized in one pass of each expression
      (the same as one call per word, as above: '\\n' is whitespace). The first expression is a `str.translate`
      (`_spacing_table`)."""
    if any("\n" in line for line in lines):
        text = "\n".join(_preprocess_13a(line) for line in lines)  # no '\n' left inside a line
    else:
        text = "\n".join(lines).replace('<skipped>', '')
        if '&' in text:
            text = text.replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
    words = [line.split() for line in text.split("\n")] if lines else []
    flat_words = list(chain.from_iterable(words))
    new = [word for word in dict.fromkeys(flat_words) if word not in memo]
    if new:
        tokenized = _post_tokenize_13a(new, tokenizer)
        memo.update(zip(new, tokenized if encode is None else (tuple(map(encode, t)) for t in tokenized)))
    per_word = list(map(memo.__getitem__, flat_words))
    words_per_line = np.fromiter(map(len, words), _INT, len(words))
    cumulative = np.concatenate([[0], np.cumsum(np.fromiter(map(len, per_word), _INT, len(per_word)))])
    ends = np.cumsum(words_per_line)
    return per_word, cumulative[ends] - cumulative[ends - words_per_line]


def _post_tokenize_13a(words: list[str], tokenizer: Tokenizer13a) -> list[tuple[str, ...]]:
    """`tokenizer._post_tokenizer(f" {word} ").split()` for each word (no whitespace in any), in one pass."""
    text = " " + " \n ".join(words) + " "
    (first, first_replacement), *rules = tokenizer._post_tokenizer._re
    text = text.translate(_spacing_table(first.pattern, first_replacement))
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return [tuple(part.split()) for part in text.split("\n")]


@lru_cache(maxsize=None)
def _spacing_table(pattern: str, replacement: str) -> dict[int, str]:
    """13a's first rule, `([...])` -> ' \\1 ' (a space on each side of every character of an ASCII class), as a
    `str.translate` table: one character at a time, so the same as `re.sub`, which calls Python for each of its
    (about one in five) matches. Checked: the rule is that shape, and only ASCII characters match it."""
    compiled = re.compile(pattern)
    if replacement != r" \1 " or compiled.groups != 1 or not pattern.startswith("([") or not pattern.endswith("])"):
        raise ValueError(f"13a's first rule is not a spaced character class: {pattern!r} -> {replacement!r}")
    return {c: f" {chr(c)} " for c in range(128) if compiled.fullmatch(chr(c))}


@dataclass
class _PreparedReferences(PreparedReferenceSet):
    """A reference set prepared for `FastBLEU` (its `word_memo`: 13a word -> token ids)."""

    n_refs: np.ndarray  # references per segment
    vocab: dict[str, int]  # token -> id; len(vocab) is the "unseen" id
    lengths: np.ndarray  # tokens per reference, segment by segment
    ngrams: ReferenceNgrams | None  # None: codes could overflow (sacreBLEU's code answers)

    @property
    def usable(self) -> bool:
        return self.ngrams is not None and bool((self.n_refs > 0).all())


class FastBLEU(PreparedReferenceCache, BLEU):
    """sacreBLEU's BLEU with a corpus-at-once, exact `_extract_corpus_statistics` (see module docstring)."""

    prepared_type = _PreparedReferences

    #: largest n-gram code allowed; beyond it, sacreBLEU's own code is used
    _max_code = MAX_CODE

    def _options(self) -> tuple:
        return (type(self.tokenizer), self.tokenizer_signature, self.lowercase, self.max_ngram_order,
                self._max_code, compiled_matcher() is not None)

    def _tokens(self, lines: Sequence[str], memo: dict[str, tuple],
                encode: Callable[[str], Any] | None = None) -> tuple[Iterable, np.ndarray]:
        """The tokens of `self._preprocess_segment(line).split()` of every line, end to end (each through `encode`
        when given), and how many each line has. 13a: `tokenize_13a`, which fills `memo`; other tokenizers are
        sacreBLEU's, called line by line."""
        if self.lowercase:
            lines = [line.lower() for line in lines]
        lines = [line.rstrip() for line in lines]
        if type(self.tokenizer) is Tokenizer13a:
            per_word, lengths = tokenize_13a(lines, self.tokenizer, memo, encode)
            return chain.from_iterable(per_word), lengths
        per_line = [self.tokenizer(line).split() for line in lines]
        tokens = chain.from_iterable(per_line)
        return (tokens if encode is None else map(encode, tokens)), np.fromiter(map(len, per_line), _INT, len(per_line))

    # -- reference side ------------------------------------------------------------------------------------

    def _prepare(self, raw: list[tuple[str, ...]]) -> _PreparedReferences:
        n_refs = np.fromiter(map(len, raw), _INT, len(raw))
        distinct_counts = set(n_refs.tolist())
        num_refs = distinct_counts.pop() if len(distinct_counts) == 1 else -1  # sacreBLEU's rule
        tokens, lengths = self._tokens(list(chain.from_iterable(raw)), {})  # every reference, segment by segment
        flat = list(tokens)
        vocab = {token: i for i, token in enumerate(dict.fromkeys(flat))}
        ids = np.fromiter(map(vocab.__getitem__, flat), _INT, len(flat))
        piece_segments = np.repeat(np.arange(len(raw), dtype=_INT), n_refs)
        ngrams = reference_ngrams(ids, lengths, piece_segments, len(raw), len(vocab) + 1, self.max_ngram_order,
                                  self._max_code)
        return _PreparedReferences(self._options(), raw, num_refs, n_refs, vocab, lengths, ngrams)

    # -- statistics ------------------------------------------------------------------------------------------

    def _fast_statistics(self, hyps: list[str], prepared: _PreparedReferences) -> list[list[int]]:
        return self._statistics(hyps, prepared).tolist()

    def corpus_statistics(self, hypotheses: Sequence[str], references=None) -> np.ndarray:
        """sacreBLEU's statistics as one (segments, 2 + 2 * max_ngram_order) int64 array."""
        prepared = self._prepared_references(references)
        if prepared is not None and prepared.usable:
            return self._statistics(self._hypotheses(hypotheses, prepared), prepared)
        stats = self._extract_corpus_statistics(hypotheses, references)
        return np.array(stats, dtype=_INT).reshape(len(stats), 2 + 2 * self.max_ngram_order)

    def _hypotheses(self, hypotheses: Sequence[str], prepared: _PreparedReferences) -> list[str]:
        hyps = list(hypotheses)[:prepared.n_segments]  # as sacreBLEU's zip pairs them
        if not self._force and sum(h.endswith(" .") for h in hyps) >= 100:
            sacrelogger.warning("That's 100 lines that end in a tokenized period ('.')")
            sacrelogger.warning(
                "It looks like you forgot to detokenize your test data, which may hurt your score.")
            sacrelogger.warning(
                "If you insist your data is detokenized, or don't care, you can suppress this message with the "
                "`force` parameter.")
        return hyps

    def _statistics(self, hyps: list[str], prepared: _PreparedReferences) -> np.ndarray:
        vocab, unseen = prepared.vocab, len(prepared.vocab)
        ids, hyp_len = self._tokens(hyps, prepared.word_memo, lambda token: vocab.get(token, unseen))
        ids = np.fromiter(ids, _INT, int(hyp_len.sum()))
        correct = ngram_matches(prepared.ngrams, ids, hyp_len)
        order = np.arange(self.max_ngram_order, dtype=_INT)
        total = np.maximum(hyp_len[:, None] - order[None, :], 0)
        return np.concatenate([hyp_len[:, None], self._closest_ref_len(hyp_len, prepared)[:, None], correct, total],
                              axis=1).astype(_INT)

    @staticmethod
    def _closest_ref_len(hyp_len: np.ndarray, prepared: _PreparedReferences) -> np.ndarray:
        """`_get_closest_ref_len` for every segment: the smallest |hyp_len - ref_len|, the shortest on a tie."""
        n = len(hyp_len)
        if n == 0 or (prepared.n_refs[:n] == 1).all():
            return prepared.lengths[:n].copy()
        n_refs = prepared.n_refs[:n]
        lengths = prepared.lengths[:int(n_refs.sum())]
        segment = np.repeat(np.arange(n, dtype=_INT), n_refs)
        # order each segment's references by (difference, length); the first of each segment wins
        order = np.lexsort((lengths, np.abs(hyp_len[segment] - lengths), segment))
        first = np.concatenate([[0], np.cumsum(n_refs)[:-1]])
        return lengths[order[first]]

    def _sacrebleu_statistics(self, hyps: list[str], prepared: _PreparedReferences) -> list[list[int]]:
        """Fallback (a segment without references, or codes that could overflow): sacreBLEU's own code."""
        return [self._compute_segment_statistics(self._preprocess_segment(h), kwargs)
                for h, kwargs in zip(hyps, self._sacrebleu_reference_info(prepared))]
