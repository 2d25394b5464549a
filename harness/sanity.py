"""Sanity checks on one system's output for one test set, and on the test set itself.

An evaluation tool that prints a confident number for broken input is worse than none: a hypothesis file
shifted by one line, an untranslated output or a test set with HTML-escaped references all get a score that
looks plausible. These checks say so. Each returns `Flag`s (a stable id, a severity, how many segments and
which, a message with the numbers and the likely fix) for the leaderboard, scores.json and CI gates; nothing
here changes a score.

    check_hypotheses(sources, references, hypotheses, src_lang, tgt_lang)  problems of one system's output
    check_references(sources, references, src_lang, tgt_lang)             problems of the test set
    file_facts(raw) / compare_file_facts(hyp, ref)                          what reading files as lines hides

`references[i]` holds the references of segment i (`TestSet.references`). A check that looks for something
in the hypotheses counts it only where none of the segment's references has it too, so a test set that
legitimately contains repetitions, entities or zero-width characters raises nothing. All checks run over
every segment at once (regular expressions over the joined text, numpy for the rest): 100,000 segments take
about 3-4 s on one core of the 2-core CI machine (half of it splitting words) and 0.3 GB, 0.15 s for FLORES'
1,012. Larger test sets are checked on a sample of `max_segments` (see `_sample`), so that a million segments
cost the same.

Language identification uses **py3langid** (BSD-3-Clause), a maintained fork of langid.py: its model (97
languages, naive Bayes over byte n-grams) ships inside the 0.75 MB wheel, it needs only numpy, loads in
0.1 s and identifies a sentence in 0.15 ms. It is right on full sentences (FLORES-200 devtest: 1,011 of
1,012 English and all 1,012 Vietnamese sentences) but not on very short text, so only segments of
`langid_min_chars` or more are judged, and at most `langid_sample` of them, spread evenly over the file.
Not chosen: `lingua-language-detector` (better on short text, but a 96 MB wheel), `langid` (the same model,
sdist only, unmaintained since 2016, slower to load), `fasttext` (needs a model download). py3langid 0.3+
requires numpy 2 while this project stays below 2 (unbabel-comet), so pip resolves 0.2.2; the module-level
`py3langid.classify` used here is the same in every version. It is imported only when a language check runs.
"""

from __future__ import annotations

import itertools
import operator
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Sequence

import numpy as np

from harness.errors import ConfigError, DataError

WARNING = "warning"
ERROR = "error"  # the score is almost certainly meaningless


@dataclass(frozen=True)
class Flag:
    """One problem found by a check.

    `share` is `segments` over the segments examined: all of them, unless the message says the check looked
    at a sample (language) or at the segments long enough to judge. `examples` are 0-based segment positions
    (messages speak of 1-based line numbers). For the file checks `segments` counts lines (bytes for
    nul_bytes)."""

    check: str
    severity: str
    segments: int
    share: float
    message: str
    examples: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["examples"] = list(self.examples)
        return d


@dataclass(frozen=True)
class Thresholds:
    """When each check reports. A check raises a flag when its share of segments is above its threshold
    (strictly); the checks marked "escalates" become errors at `error_share` or more. "Real output" below is
    the two OPUS-MT vie-eng outputs on FLORES-200 devtest (data/outputs), on which no check fires; the
    counts are what each check finds there with its threshold at 0."""

    # At or above this share a problem that escalates is no longer a blemish: half the segments are empty,
    # copied, misaligned or in the wrong language, so the score measures the defect, not the system.
    error_share: float = 0.5

    # ---- hypotheses
    # Empty hypotheses for non-empty sources (escalates). NMT systems practically never return nothing;
    # 0.5% (5 lines in 1,000) points at failed requests or lost batches.
    empty_output: float = 0.005
    # Hypotheses equal to their source after NFC, case and whitespace normalisation, leaving out segments
    # whose reference equals the source too (names, numbers, URLs) (escalates). Good systems copy 0-1%.
    copy_of_source: float = 0.05
    # Hypotheses identical to a reference, among segments whose reference has `copy_min_words` words or more
    # (escalates). Long sentences are almost never reproduced exactly (real output: 1 and 2 in 1,012); 20% is
    # a reference file passed as output or a system trained on the test set.
    copy_of_reference: float = 0.2
    copy_min_words: int = 6  # shorter ones ("Thank you.") match by chance; needs 10 such segments to judge
    # Hypotheses matching another segment's reference clearly better than their own (escalates): reported as
    # shifted_lines when most share one offset (+1: a line lost), else as shuffled_lines. Real output:
    # 1 in 1,012; a file shifted by one line: about 75% (the rest have too few distinctive words to tell).
    misaligned: float = 0.03
    # "Clearly better": at least this share of the hypothesis' content-word weight found in the other
    # segment's references, and this much more than in its own. Real output: 28 hypotheses match another
    # segment at 0.2 with no margin, 1 at 0.4 with 0.25; the file shifted by one line: 97% and 76%.
    misaligned_min_overlap: float = 0.4
    misaligned_margin: float = 0.25
    # Words in the references of more segments than this do not identify a segment; leaving them out keeps
    # the matching linear in the number of segments.
    misaligned_max_df: int = 20
    # Judged hypotheses whose detected language is not the target (escalates). The identifier is wrong on
    # about 0.2% of real English sentences (real output: 2 in 1,012, a list of names and a short line of
    # dialogue; 1 in the sample of 500); 5% is a system that often answers in the wrong language.
    off_target: float = 0.05
    langid_sample: int = 500  # at most this many segments are identified (0.15 ms each)
    langid_min_chars: int = 30  # shorter text is identified unreliably ("- Yes, sir. I'm sorry." -> fr)
    langid_min_judged: int = 20  # fewer judged segments say nothing
    # Hypotheses with a loop that none of their references has (escalates): a unit of 1-4 words 4 times in
    # a row, 1-6 characters 8 times (scripts without spaces), or an output `length_factor` times too long
    # whose words are mostly repeats. Real output: none.
    ngram_loop: float = 0.005
    # Hypotheses whose length ratio to the source and to the closest reference are both beyond
    # `length_factor` times the test set's median ratio (escalates): truncation (max_new_tokens too small) or
    # run-on output. Segments shorter than `length_min_chars` have noisy ratios and are not judged. Real
    # output: 3 in 1,012 (0.3%), genuine undertranslations of three-sentence segments.
    length_ratio: float = 0.02
    length_factor: float = 3.0
    length_min_chars: int = 20
    # Undecoded byte-fallback tokens (<0xC4>), raw SentencePiece pieces (▁), special tokens (<unk>, </s>,
    # ⁇): more than 0.1% of segments (two in 1,000) is a systematic decoding bug, not one odd line.
    model_tokens: float = 0.001
    # Control characters (escalates: a UTF-16 file read as UTF-8 has NULs everywhere) and invisible
    # characters the references lack: same reasoning as model tokens.
    control_characters: float = 0.001
    invisible_characters: float = 0.001
    # Entities (&quot;) or HTML tags in the hypotheses but not the references, or the reverse. Natural
    # text has none (real output and references: none); 1% is a pipeline that escapes.
    markup_mismatch: float = 0.01
    # Hypotheses with Moses tokenisation ("don 't", " ." at the end, "@-@") their references lack. A
    # tokenised file has it on almost every line (99% of the real output once tokenised; 0% as it is); 10%
    # leaves room for odd spacing.
    moses_tokenized: float = 0.1
    # Hypotheses not in NFC while their references are, or the reverse: the same letters as different code
    # points, which string metrics count as errors. Real output: none either way.
    unicode_normalization: float = 0.01

    # ---- references (the test set)
    empty_references: float = 0.005  # escalates; as empty_output
    escaped_references: float = 0.01  # entities or tags the source does not have
    reference_equals_source: float = 0.05  # escalates; names and numbers make a few percent natural
    nfd_references: float = 0.01
    duplicate_segments: float = 0.02  # the same source and references again; short greetings do repeat
    off_target_references: float = 0.05  # escalates; as off_target

    # ---- files
    # A line this long (bytes) is not a segment: a file without \n line ends, or not text at all.
    max_line_bytes: int = 1_000_000

    # ---- size
    # A test set of more segments than this is checked on a sample of this many (SAMPLE_BLOCKS blocks of
    # consecutive segments spread evenly; duplicates are still looked for among all): time and memory stay
    # those of 100,000 segments (about 4 s and 0.4 GB per system on one core) at any size, and a share of 5%
    # is estimated within about 0.2 points. Messages of flags from a sample say so.
    max_segments: int = 100_000


def implementation_tag() -> str:
    """What identifies these checks' code for cached flags: a hash of this file and py3langid's version, so
    that any change to a check, a threshold's default or the identifier misses flags cached before it."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    try:
        langid = version("py3langid")
    except PackageNotFoundError:
        langid = "none"
    return f"{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]}|py3langid:{langid}"


def flag_from_dict(d: dict) -> Flag:
    """The inverse of `Flag.as_dict` (flags read back from a cache)."""
    return Flag(**{**d, "examples": tuple(d.get("examples", ()))})


# blocks of consecutive segments in the sample of a test set longer than Thresholds.max_segments
SAMPLE_BLOCKS = 20

# Stable ids and what they mean, for legends and documentation.
CHECKS: dict[str, str] = {
    "empty_output": "hypotheses empty where the source is not",
    "copy_of_source": "hypotheses that copy their source",
    "copy_of_reference": "hypotheses identical to their reference",
    "shifted_lines": "hypotheses that translate a neighbouring segment (file shifted by some lines)",
    "shuffled_lines": "hypotheses that translate some other segment (order lost)",
    "off_target": "hypotheses not in the target language",
    "ngram_loop": "hypotheses that repeat a word or phrase over and over",
    "too_long": "hypotheses far longer than source and reference",
    "too_short": "hypotheses far shorter than source and reference (truncated)",
    "byte_fallback": "undecoded byte-fallback tokens such as <0xC4>",
    "sentencepiece_pieces": "raw SentencePiece pieces (▁)",
    "special_tokens": "model special tokens such as <unk>, </s>, ⁇",
    "control_characters": "NUL and other control characters",
    "invisible_characters": "zero-width, byte-order-mark or bidi characters the references lack",
    "markup_mismatch": "HTML entities or tags on one side only",
    "moses_tokenized": "Moses-tokenised hypotheses against untokenised references",
    "unicode_normalization": "NFD on one side, NFC on the other",
    "empty_references": "segments whose references are all empty",
    "escaped_references": "HTML-escaped references",
    "reference_equals_source": "references identical to their source",
    "nfd_references": "references not in NFC",
    "duplicate_segments": "segments repeated in the test set",
    "off_target_references": "references not in the target language",
    "line_count_mismatch": "hypothesis and reference files with different line counts",
    "nul_bytes": "NUL bytes in a file",
    "huge_line": "a line too long to be a segment",
    "bom_mismatch": "a UTF-8 byte-order mark in one file only",
    "crlf_mismatch": "CRLF line ends in one file only",
}

# ------------------------------------------------------------------------------------------------ patterns
# Every pattern runs over the items of one side joined with "\n" (see _Column) and must not match a "\n".

_BYTE_FALLBACK = re.compile(r"<0x[0-9A-Fa-f]{2}>")
_SP_PIECE = re.compile("\u2581")  # SentencePiece's word-boundary marker, left when pieces are joined by hand
# ⁇ (U+2047) is what SentencePiece decodes <unk> to
_SPECIAL = re.compile(r"<unk>|<pad>|</s>|<s>|<mask>|\[UNK\]|\[PAD\]|\[SEP\]|\[CLS\]|\u2047")
# C0 controls but tab and newline (a CR inside a segment is a stray one: lines are split on \n and
# right-stripped), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Zero-width space, non-joiner and joiner, word joiner, BOM, soft hyphen, bidi marks, embeddings, isolates.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_HTML_TAGS = ("a|b|i|u|p|br|hr|em|strong|span|div|font|sup|sub|small|big|li|ul|ol|img|h[1-6]|table|tr|td|th"
              "|code|pre|blockquote|center")
# Entities need two letters (so "AT&T;" is none); tags are real HTML ones, so that model tokens (<unk>,
# <0xC4>) are left to their own checks.
_MARKUP = re.compile(
    r"&(?:[A-Za-z][A-Za-z0-9]{1,7}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
    rf"|</?(?:{_HTML_TAGS})(?:[^\S\n][^<>\n]*)?/?>",
    re.IGNORECASE,
)
# What the Moses tokenizer leaves in English-like text: split contractions ("don 't", "it 's"), a space
# between a word and a comma or full stop, aggressive-hyphen splits (@-@) and its escapes that HTML does
# not use (&apos;, &#124;; its &quot; and &amp; count as markup unless the segment is tokenised). Every
# alternative starts with a literal character (the look-behind comes after the space), so the scan skips
# ahead instead of trying each position: 0.1 s instead of 0.7 s on 100,000 segments.
_MOSES = re.compile(r" (?<=\w )(?:'(?:s|t|re|ve|ll|d|m)\b|[,.](?=\s|$))|&(?:apos|#124|#91|#93);|@[-,.]@")
_WORD = re.compile(r"\w+|\n")
# Loops: a unit of 1-4 words LOOP_REPEATS times in a row, or of 1-6 characters CHAR_LOOP_REPEATS times
# (for scripts written without spaces: 我们我们我们...). Found with numpy on word ids and code points; the
# regular expressions check only the references of segments whose hypothesis loops.
LOOP_REPEATS = 4
CHAR_LOOP_REPEATS = 8
_WORD_LOOP = re.compile(r"(?<!\w)((?:\w+\W+){1,4}?)\1{2,}\w")
_CHAR_LOOP = re.compile(r"([^\s0-9]{1,6}?)\1{7,}")

# py3langid's languages (ISO 639-1), and pairs it cannot tell apart reliably.
_LANGID_LANGUAGES = frozenset(
    "af am an ar as az be bg bn br bs ca cs cy da de dz el en eo es et eu fa fi fo fr ga gl gu he hi hr ht hu "
    "hy id is it ja jv ka kk km kn ko ku ky la lb lo lt lv mg mk ml mn mr ms mt nb ne nl nn no oc or pa pl ps "
    "pt qu ro ru rw se si sk sl sq sr sv sw ta te th tl tr ug uk ur vi vo wa xh zh zu".split())
_SAME_LANGUAGE = {"id": {"ms"}, "ms": {"id"}, "no": {"nb", "nn"}, "nb": {"no", "nn"}, "nn": {"no", "nb"},
                  "hr": {"bs", "sr"}, "bs": {"hr", "sr"}, "sr": {"hr", "bs"}}


# ------------------------------------------------------------------------------------------------- helpers

@dataclass(frozen=True)
class _Column:
    """The texts of one side (hypotheses, sources, or all references flattened), joined once so that a
    regular expression scans all of them in one C-level pass instead of one Python call per segment."""

    items: list[str]  # without line breaks
    owner: np.ndarray  # the segment of each item
    joined: str
    starts: np.ndarray  # offset of each item in `joined`
    n_segments: int

    def item_of(self, offsets: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, offsets, side="right") - 1

    def matching(self, pattern: re.Pattern) -> np.ndarray:
        """Per segment: does any of its items match?"""
        offsets = np.fromiter((m.start() for m in pattern.finditer(self.joined)), dtype=np.int64)
        mask = np.zeros(self.n_segments, dtype=bool)
        mask[self.owner[self.item_of(offsets)]] = True
        return mask

    def found(self, pattern: re.Pattern, segments: np.ndarray, top: int = 3) -> list[str]:
        """The most common matches in the given segments, for messages."""
        matches = [(m.start(), m.group(0)) for m in pattern.finditer(self.joined)]
        keep = segments[self.owner[self.item_of(np.array([start for start, _ in matches], dtype=np.int64))]]
        return [t for t, _ in Counter(t for (_, t), k in zip(matches, keep) if k).most_common(top)]


def _column(items: Sequence[str], owner: np.ndarray | None = None, n_segments: int | None = None) -> _Column:
    items = list(items)
    joined = "\n".join(items)
    if joined.count("\n") != max(len(items) - 1, 0):  # an item with a line break inside (JSONL, datasets)
        items = [s.replace("\n", " ") for s in items]
        joined = "\n".join(items)
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    starts = np.zeros(len(items), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    if owner is None:
        owner = np.arange(len(items))
    return _Column(items, owner, joined, starts, len(items) if n_segments is None else n_segments)


def _reference_column(references: Sequence[Sequence[str]]) -> _Column:
    counts = np.fromiter(map(len, references), dtype=np.int64, count=len(references))
    return _column([r for refs in references for r in refs], np.repeat(np.arange(len(references)), counts),
                   len(references))


def _per_item(function, items: Sequence) -> np.ndarray:
    return np.fromiter(map(function, items), dtype=bool, count=len(items))


def _any(values: np.ndarray, col: _Column) -> np.ndarray:
    """Per segment: is `values` (one per item) true for some item?"""
    out = np.zeros(col.n_segments, dtype=bool)
    out[col.owner[values]] = True
    return out


def _all(values: np.ndarray, col: _Column) -> np.ndarray:
    """Per segment: is `values` (one per item) true for every item (and for a segment without items)?"""
    return ~_any(~values, col)


def _only_in(first: _Column, second: _Column, pattern: re.Pattern) -> np.ndarray:
    """Segments where `first` matches `pattern` and `second` does not (`second` is scanned only if needed)."""
    mask = first.matching(pattern)
    return mask & ~second.matching(pattern) if mask.any() else mask


def _fold(col: _Column) -> str:
    """The joined text, NFC-normalised and case-folded (the item boundaries stay)."""
    return unicodedata.normalize("NFC", col.joined).casefold()


def _normalised(folded: str, col: _Column) -> list[str]:
    """Per item of `col`, its folded text with whitespace collapsed: what "the same text" means for copies."""
    return [" ".join(s.split()) for s in folded.split("\n")] if col.items else []


def _empty(col: _Column) -> np.ndarray:
    return _per_item(lambda s: not s.strip(), col.items)


def _is_nfc(items: Sequence[str]) -> np.ndarray:
    return _per_item(partial(unicodedata.is_normalized, "NFC"), items)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


def _of(count: int, total: int) -> str:
    return f"{_pct(count / total)} ({count:,} of {total:,})"


def _lines(positions: Sequence[int], limit: int = 5) -> str:
    positions = list(positions)
    shown = ", ".join(str(p + 1) for p in positions[:limit])
    return f"line {shown}" if len(positions) == 1 else f"lines {shown}" + (", ..." if len(positions) > limit else "")


def _at(line_of: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """File positions of checked segments: `line_of` maps a sample's positions to the file's (None: no sample)."""
    return positions if line_of is None else line_of[positions]


def _flag(line_of: np.ndarray | None, check: str, mask: np.ndarray, total: int, threshold: float, message: str, *,
          escalate_at: float | None = None) -> list[Flag]:
    """A flag for the segments in `mask` when their share of `total` is above `threshold`; `message` may
    use {share} ("12% (121 of 1,012)") and {lines} ("lines 3, 7, 9, ...": file lines, through `line_of`
    when a sample was checked). An error at `escalate_at`."""
    count = int(mask.sum())
    if total == 0 or count == 0 or count / total <= threshold:
        return []
    share = count / total
    positions = _at(line_of, np.flatnonzero(mask))
    severity = ERROR if escalate_at is not None and share >= escalate_at else WARNING
    return [Flag(check, severity, count, share, message.format(share=_of(count, total), lines=_lines(positions)),
                 tuple(int(i) for i in positions[:5]))]


def _check_lengths(*sequences: Sequence) -> int:
    n = len(sequences[0])
    if any(len(s) != n for s in sequences):
        raise DataError("sanity checks need one source, one reference tuple and one hypothesis per segment; got "
                        + ", ".join(f"{len(s):,}" for s in sequences))
    return n


def _errors_first(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: f.severity != ERROR)


def _sample(n: int, th: Thresholds) -> np.ndarray | None:
    """The segments checked in a test set of more than `max_segments` (None: all of them): SAMPLE_BLOCKS blocks
    of consecutive segments, spread evenly from the first line to the last, so that a shift or a run of bad
    lines still shows inside a block. Deterministic: the same file gets the same sample."""
    if n <= th.max_segments:
        return None
    width = max(1, th.max_segments // SAMPLE_BLOCKS)
    starts = np.linspace(0, n - width, SAMPLE_BLOCKS).round().astype(np.int64)
    return np.unique((starts[:, None] + np.arange(width)).ravel())


def _take(items: Sequence, positions: np.ndarray) -> list:
    return [items[i] for i in positions.tolist()]


def _sampled(flags: list[Flag], line_of: np.ndarray | None, n: int) -> list[Flag]:
    """Flags of a sample say so: their shares are of the segments checked."""
    if line_of is None:
        return flags
    note = f" [checked on a sample: {line_of.size:,} of {n:,} segments, in {SAMPLE_BLOCKS} blocks spread evenly]"
    return [replace(f, message=f.message + note) for f in flags]


# --------------------------------------------------------------------------------- language identification

def _iso(lang: str) -> str:
    from harness.languages import iso_code  # the project's code table: vie_Latn, vi_VN -> vi

    try:
        return iso_code(lang)
    except ConfigError:  # not in the table: its first two letters, as py3langid's labels are ISO 639-1
        return lang.lower()[:2]


def _language_name(code: str) -> str:
    from harness.languages import language_name

    try:
        return language_name(code)
    except ConfigError:  # a language the harness has no name for
        return code


def _off_target(items: Sequence[str], expected: str, th: Thresholds) -> tuple[np.ndarray, int, Counter] | None:
    """Identify at most `langid_sample` items long enough to judge, spread evenly (deterministic). Returns
    the positions of those not in `expected`, how many were judged and the wrong languages counted; None
    when the language is one py3langid does not know or too few items are long enough."""
    if expected not in _LANGID_LANGUAGES:
        return None
    candidates = np.flatnonzero(_per_item(lambda s: len(s) >= th.langid_min_chars, items))
    if candidates.size < th.langid_min_judged:
        return None
    if candidates.size > th.langid_sample:
        candidates = candidates[np.unique(np.linspace(0, candidates.size - 1, th.langid_sample).round()
                                          .astype(np.int64))]
    import py3langid  # lazy: 0.1 s to import and load, and only this check needs it

    accepted = {expected} | _SAME_LANGUAGE.get(expected, set())
    # SentencePiece pieces joined by hand would otherwise be identified as some other language: their own
    # check reports them
    wrong = [(int(p), lang) for p in candidates
             if (lang := py3langid.classify(items[p].replace("\u2581", " "))[0]) not in accepted]
    return (np.array([p for p, _ in wrong], dtype=np.int64), int(candidates.size),
            Counter(lang for _, lang in wrong))


# ------------------------------------------------------------------------------------------ words and loops

@dataclass(frozen=True)
class _Words:
    ids: np.ndarray  # word ids, one vocabulary for hypotheses and references
    item: np.ndarray  # the item of each word


def _words(folded_h: str, folded_r: str) -> tuple[_Words, _Words, np.ndarray]:
    """The words (\\w+) of both sides as ids, numbered in order of first appearance (references first) so that
    everything computed from them is deterministic; and the length of each word in the vocabulary."""
    index: dict[str, int] = {}
    ids_r = _word_ids(folded_r, index)
    ids_h = _word_ids(folded_h, index)
    newline = index.get("\n", -1)

    def side(ids: np.ndarray) -> _Words:
        is_newline = ids == newline
        return _Words(ids[~is_newline], np.cumsum(is_newline)[~is_newline])

    return side(ids_h), side(ids_r), np.fromiter(map(len, index), dtype=np.int64, count=len(index))


_PIECE_CHARS = 1 << 20


def _word_ids(folded: str, index: dict[str, int]) -> np.ndarray:
    """Ids of the words and item breaks of `folded`, new words numbered in `index` as they first appear. A
    megabyte of text at a time, cut at item breaks: the words never exist as one list (at 100,000 segments
    that list alone takes 100 MB)."""
    pieces = []
    start = 0
    while start < len(folded):
        end = folded.find("\n", start + _PIECE_CHARS)
        end = len(folded) if end < 0 else end
        words = _WORD.findall(folded, start, end)  # a piece starts at an item break: "\n" is its first token
        pieces.append(np.fromiter((index.setdefault(w, len(index)) for w in words), dtype=np.int64,
                                  count=len(words)))
        start = end
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def _runs(equal: np.ndarray, length: int) -> np.ndarray:
    """Start positions of runs of at least `length` (>= 1) consecutive True values. Erosion by doubling
    (`run` marks where `width` True values start): a few boolean ANDs, 5x faster than a cumulative sum."""
    run, width = equal, 1
    while run.size and 2 * width <= length:
        run = run[:-width] & run[width:]
        width *= 2
    if width < length and run.size:
        run = run[:-(length - width)] & run[length - width:]
    return np.flatnonzero(run)


def _word_loops(words: _Words, word_lengths: np.ndarray, n_items: int) -> np.ndarray:
    """Per item: a unit of 1-4 words repeated LOOP_REPEATS times in a row (for a unit of k words, word p
    equals word p + k for (repeats - 1) * k consecutive p). One-character words do not count: digits of
    numbers ("10,000") and text spread out by NULs (UTF-16) repeat them without looping."""
    found = np.zeros(n_items, dtype=bool)
    ids, item = words.ids, words.item
    longer = word_lengths[ids] > 1
    for k in range(1, 5):
        equal = (ids[:-k] == ids[k:]) & (item[:-k] == item[k:]) & longer[:-k]
        found[item[_runs(equal, (LOOP_REPEATS - 1) * k)]] = True
    return found


def _char_loops(col: _Column) -> np.ndarray:
    """Per segment: 1-6 characters (not spaces or digits) repeated CHAR_LOOP_REPEATS times in a row."""
    cp = np.frombuffer(col.joined.encode("utf-32-le"), dtype=np.uint32)
    ok = (cp > 32) & ((cp < 48) | (cp > 57))  # item separators (\n), spaces, tabs and digits never loop
    found = np.zeros(col.n_segments, dtype=bool)
    for k in range(1, 7):
        starts = _runs((cp[:-k] == cp[k:]) & ok[:-k], (CHAR_LOOP_REPEATS - 1) * k)
        found[col.owner[col.item_of(starts)]] = True
    return found


# ---------------------------------------------------------------------------------------------- alignment

def _misaligned(words_h: _Words, words_r: _Words, vocab: int, hyp: _Column, ref: _Column, th: Thresholds
                ) -> np.ndarray:
    """For each hypothesis, the segment whose references it matches clearly better than its own, or -1.

    Segments are matched on content words: word types in the references of at most `misaligned_max_df`
    segments, weighted by inverse document frequency. A hypothesis matches a segment by the weight of its
    content words found in that segment's references over the weight of all its content words (at least
    three). Candidates come from an inverted index over those rare words, joined with numpy: every other
    segment is considered, not only neighbours, in time linear in the number of segments."""
    n = hyp.n_segments

    def pairs(words: _Words, col: _Column) -> tuple[np.ndarray, np.ndarray]:
        keys = np.unique(col.owner[words.item] * vocab + words.ids)  # each (segment, word) once
        return keys // vocab, keys % vocab

    hs, hw = pairs(words_h, hyp)
    rs, rw = pairs(words_r, ref)
    df = np.bincount(rw, minlength=vocab)
    idf = np.log((n + 1) / (df + 1))
    content = df[hw] <= th.misaligned_max_df
    hs, hw = hs[content], hw[content]
    total = np.bincount(hs, weights=idf[hw], minlength=n)
    judged = (np.bincount(hs, minlength=n) >= 3) & (total > 0)  # fewer content words match by chance

    rare = df[rw] <= th.misaligned_max_df
    by_word = np.argsort(rw[rare], kind="stable")
    post_w, post_s = rw[rare][by_word], rs[rare][by_word]  # postings: the segments of each rare word
    in_refs = df[hw] > 0
    qs, qw = hs[in_refs], hw[in_refs]
    counts = df[qw]
    ends = np.cumsum(counts)
    within = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - counts, counts)
    cand_i = np.repeat(qs, counts)
    cand_j = post_s[np.repeat(np.searchsorted(post_w, qw), counts) + within]
    keys, inverse = np.unique(cand_i * n + cand_j, return_inverse=True)
    pi, pj = keys // n, keys % n
    score = np.bincount(inverse, weights=np.repeat(idf[qw], counts))
    sim = np.divide(score, total[pi], out=np.zeros(score.size), where=total[pi] > 0)

    own = np.zeros(n)
    same = pi == pj
    own[pi[same]] = sim[same]
    strong = ~same & (sim >= th.misaligned_min_overlap) & judged[pi]
    pi, pj, sim = pi[strong], pj[strong], sim[strong]
    best = np.full(n, -1, dtype=np.int64)
    if pi.size:
        order = np.lexsort((np.abs(pj - pi), -sim, pi))  # per hypothesis: the best match, the nearest on ties
        pi, pj, sim = pi[order], pj[order], sim[order]
        head = np.r_[True, pi[1:] != pi[:-1]]
        pi, pj, sim = pi[head], pj[head], sim[head]
        clear = sim >= own[pi] + th.misaligned_margin
        best[pi[clear]] = pj[clear]
    return best


def _alignment_flags(best: np.ndarray, th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    n = best.size
    flagged = np.flatnonzero(best >= 0)
    if flagged.size == 0:
        return []
    offsets = best[flagged] - flagged
    values, counts = np.unique(offsets, return_counts=True)
    top = int(values[np.argmax(counts)])
    shifted = np.zeros(n, dtype=bool)
    if counts.max() >= 0.5 * flagged.size:  # one offset dominates: a shift, not a shuffle
        shifted[flagged[offsets == top]] = True
    shuffled = (best >= 0) & ~shifted
    flags = []
    if shifted.any():
        start = int(_at(line_of, np.flatnonzero(shifted)[:1])[0]) + 1
        which = {1: "the next segment", -1: "the previous segment"}.get(
            top, f"the segment {abs(top)} lines {'below' if top > 0 else 'above'}")
        cause = (f"{'a line is' if top == 1 else f'{top} lines are'} missing from the hypothesis file around "
                 f"line {start} (and as many were added further down, since the line counts agree)" if top > 0
                 else f"{'an extra line was' if top == -1 else f'{-top} extra lines were'} inserted into the "
                 f"hypothesis file around line {start}")
        flags += _flag(line_of, "shifted_lines", shifted, n, th.misaligned,
                       f"{{share}} of hypotheses match the reference of {which} better than their own, from line "
                       f"{start} on: {cause}; regenerate the file or check how it was written (empty outputs "
                       "dropped, a header line, a translation split over two lines)",
                       escalate_at=th.error_share)
    flags += _flag(line_of, "shuffled_lines", shuffled, n, th.misaligned,
                   "{share} of hypotheses match the reference of some other segment better than their own "
                   "({lines}): the output is not in test-set order (sorted by length for batching and not "
                   "restored?) or belongs to another version of the test set",
                   escalate_at=th.error_share)
    return flags


# ------------------------------------------------------------------------------------------ hypotheses

def check_hypotheses(sources: Sequence[str], references: Sequence[Sequence[str]], hypotheses: Sequence[str],
                     src_lang: str, tgt_lang: str, thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """Problems of one system's output on one test set, errors first. `references[i]` holds the references
    of segment i; the languages are ISO 639-1 or FLORES-200 codes. Raises DataError when the three do not
    have one entry per segment. A test set of more than `max_segments` is checked on a sample (`_sample`)."""
    th = thresholds
    n = _check_lengths(sources, references, hypotheses)
    if n == 0:
        return []
    line_of = _sample(n, th)
    if line_of is not None:
        sources, references, hypotheses = (_take(x, line_of) for x in (sources, references, hypotheses))
    return _sampled(_hypothesis_flags(sources, references, hypotheses, src_lang, tgt_lang, th, line_of), line_of, n)


def _hypothesis_flags(sources: Sequence[str], references: Sequence[Sequence[str]], hypotheses: Sequence[str],
                      src_lang: str, tgt_lang: str, th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    n = len(hypotheses)
    hyp, src, ref = _column(hypotheses), _column(sources), _reference_column(references)
    hyp_empty, src_empty = _empty(hyp), _empty(src)
    folded_h, folded_r = _fold(hyp), _fold(ref)
    words_h, words_r, word_lengths = _words(folded_h, folded_r)
    best = _misaligned(words_h, words_r, word_lengths.size, hyp, ref, th)
    misaligned = best >= 0

    flags = _flag(line_of, "empty_output", hyp_empty & ~src_empty, n, th.empty_output,
                  "{share} of hypotheses are empty for a non-empty source ({lines}): translation failed for them "
                  "(failed requests, a lost batch, a crash); translate those segments again",
                  escalate_at=th.error_share)
    flags += _copies(hyp, src, ref, folded_h, folded_r, src_empty, th, line_of)
    flags += _alignment_flags(best, th, line_of)
    flags += _language(hyp.items, src_lang, tgt_lang, th, line_of)
    flags += _loops_and_lengths(hyp, src, ref, folded_r, words_h, word_lengths, hyp_empty | misaligned, th, line_of)
    flags += _leftovers(hyp, ref, th, line_of)
    flags += _formatting(hyp, ref, th, line_of)
    return _errors_first(flags)


def _copies(hyp: _Column, src: _Column, ref: _Column, folded_h: str, folded_r: str, src_empty: np.ndarray,
            th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    n = hyp.n_segments
    norm_h, norm_s = _normalised(folded_h, hyp), _normalised(_fold(src), src)
    copy = np.fromiter(map(operator.eq, norm_h, norm_s), dtype=bool, count=n) & ~src_empty
    if copy.any():  # leave out segments whose reference is the source too: those copies are right
        norm_r = _normalised(folded_r, ref)
        copy &= ~_any(_per_item(lambda k: norm_r[k] == norm_s[ref.owner[k]], range(len(norm_r))), ref)
    flags = _flag(line_of, "copy_of_source", copy, n, th.copy_of_source,
                  "{share} of hypotheses are copies of their source ({lines}): the system did not translate them "
                  "(a wrong target-language setting, a fallback that returns the input, or the source file "
                  "passed as output)",
                  escalate_at=th.error_share)

    long_ref = _any(_per_item(lambda r: len(r.split()) >= th.copy_min_words, ref.items), ref)
    exact = _any(_per_item(lambda k: bool(ref.items[k]) and ref.items[k] == hyp.items[ref.owner[k]],
                           range(len(ref.items))), ref)
    if long_ref.sum() >= 10:
        flags += _flag(line_of, "copy_of_reference", exact & long_ref, int(long_ref.sum()), th.copy_of_reference,
                       f"{{share}} of hypotheses whose reference has {th.copy_min_words} words or more are identical "
                       "to it ({lines}): the reference file was probably passed as output, or the system was "
                       "trained on this test set",
                       escalate_at=th.error_share)
    return flags


def _language(items: list[str], src_lang: str, tgt_lang: str, th: Thresholds, line_of: np.ndarray | None
              ) -> list[Flag]:
    tgt, src_code = _iso(tgt_lang), _iso(src_lang)
    result = _off_target(items, tgt, th)
    if result is None:
        return []
    wrong, judged, langs = result
    if wrong.size / judged <= th.off_target:
        return []
    share = wrong.size / judged
    lang, count = langs.most_common(1)[0]
    hint = (f"mostly {_language_name(lang)}, the source language: the system left them untranslated (check the "
            "target-language setting, e.g. the forced target token of NLLB, M2M100 or mBART)" if lang == src_code
            else f"mostly {_language_name(lang)} ({count:,}): check the system's target-language setting, or "
            "whether this is the output of another language pair")
    return [Flag("off_target", ERROR if share >= th.error_share else WARNING, int(wrong.size), share,
                 f"{_of(int(wrong.size), judged)} of the hypotheses identified (an even sample of those of "
                 f"{th.langid_min_chars}+ characters) are not in {_language_name(tgt)}, {hint} "
                 f"({_lines(_at(line_of, wrong))})", tuple(int(i) for i in _at(line_of, wrong[:5])))]


def _loops_and_lengths(hyp: _Column, src: _Column, ref: _Column, folded_r: str, words_h: _Words,
                       word_lengths: np.ndarray, unjudged: np.ndarray, th: Thresholds,
                       line_of: np.ndarray | None) -> list[Flag]:
    n = hyp.n_segments
    len_h = np.fromiter(map(len, hyp.items), dtype=np.float64, count=n)
    len_s = np.fromiter(map(len, src.items), dtype=np.float64, count=n)
    len_r_items = np.fromiter(map(len, ref.items), dtype=np.float64, count=len(ref.items))
    len_r = np.zeros(n)  # the reference closest in length to the hypothesis, as BLEU's brevity penalty
    if ref.items:
        order = np.lexsort((np.abs(len_r_items - len_h[ref.owner]), ref.owner))
        segments, first = np.unique(ref.owner[order], return_index=True)
        len_r[segments] = len_r_items[order][first]
    judged = (len_s >= th.length_min_chars) & (len_r >= th.length_min_chars) & ~unjudged
    too_long = np.zeros(n, dtype=bool)
    too_short = np.zeros(n, dtype=bool)
    if judged.sum() >= 10:
        ratio_s, ratio_r = len_h / np.maximum(len_s, 1), len_h / np.maximum(len_r, 1)
        typical_s, typical_r = np.median(ratio_s[judged]), np.median(ratio_r[judged])
        f = th.length_factor
        too_long = judged & (ratio_s > f * typical_s) & (ratio_r > f * typical_r)
        too_short = judged & (ratio_s < typical_s / f) & (ratio_r < typical_r / f)

    loop = _word_loops(words_h, word_lengths, n) | _char_loops(hyp)
    if loop.any():  # references that loop too ("ha ha ha ha") make it no defect
        folded_items = folded_r.split("\n")
        for k in np.flatnonzero(loop[ref.owner]):
            if _WORD_LOOP.search(folded_items[k]) or _CHAR_LOOP.search(ref.items[k]):
                loop[ref.owner[k]] = False
    for i in np.flatnonzero(too_long & ~loop):  # run-on output made of a few words over and over
        words = hyp.items[i].split()
        if len(words) >= 20 and len(set(words)) < 0.4 * len(words):
            loop[i] = True
    return [
        *_flag(line_of, "ngram_loop", loop, n, th.ngram_loop,
               "{share} of hypotheses repeat a word or phrase over and over ({lines}): the model falls into loops "
               "(hallucination); try a repetition penalty or no_repeat_ngram_size, or check that long inputs "
               "were not truncated",
               escalate_at=th.error_share),
        *_flag(line_of, "too_long", too_long & ~loop, n, th.length_ratio,
               f"{{share}} of hypotheses are over {th.length_factor:g} times longer than usual in this test set, "
               "against both source and reference ({lines}): run-on or hallucinated output, or several "
               "translations on one line",
               escalate_at=th.error_share),
        *_flag(line_of, "too_short", too_short, n, th.length_ratio,
               f"{{share}} of hypotheses are under 1/{th.length_factor:g} of the usual length in this test set, "
               "against both source and reference ({lines}): outputs cut off (max_new_tokens or max_length too "
               "small, input truncated) or a translation split over lines",
               escalate_at=th.error_share),
    ]


def _leftovers(hyp: _Column, ref: _Column, th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    """What decoding or file handling left in the text: model tokens, control and invisible characters."""
    n = hyp.n_segments
    flags: list[Flag] = []
    for check, pattern, what, fix in (
        ("byte_fallback", _BYTE_FALLBACK, "undecoded byte-fallback tokens",
         ("the output was decoded piece by piece instead of with the tokenizer's decode(), so characters "
          "outside the vocabulary appear as their UTF-8 bytes")),
        ("sentencepiece_pieces", _SP_PIECE, "raw SentencePiece pieces",
         "the output was not detokenised; decode with the tokenizer (or spm_decode) instead of joining pieces"),
        ("special_tokens", _SPECIAL, "model special tokens",
         "decode with skip_special_tokens=True; ⁇ and <unk> stand for characters the vocabulary lacks"),
    ):
        found = _only_in(hyp, ref, pattern)
        if found.sum() > th.model_tokens * n:
            seen = ", ".join(hyp.found(pattern, found))
            flags += _flag(line_of, check, found, n, th.model_tokens,
                           f"{{share}} of hypotheses contain {what} ({seen}; {{lines}}): {fix}")

    control = hyp.matching(_CONTROL)
    if control.sum() > th.control_characters * n:
        if "\x00" in hyp.joined:
            what = ("NUL characters: the file is probably UTF-16 read as UTF-8; re-encode it "
                    "(iconv -f UTF-16 -t UTF-8)")
        else:
            codes = ", ".join(f"U+{ord(c):04X}" for c in hyp.found(_CONTROL, control))
            what = f"control characters ({codes}): binary garbage or a broken encoding; fix how the file was written"
        flags += _flag(line_of, "control_characters", control, n, th.control_characters,
                       f"{{share}} of hypotheses contain {what} ({{lines}})", escalate_at=th.error_share)
    invisible = _only_in(hyp, ref, _INVISIBLE)
    if invisible.sum() > th.invisible_characters * n:
        chars = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip()
                          for c in hyp.found(_INVISIBLE, invisible))
        flags += _flag(line_of, "invisible_characters", invisible, n, th.invisible_characters,
                       f"{{share}} of hypotheses contain invisible characters their references lack ({chars}; "
                       "{lines}): they split or join words for every string metric; remove them")
    return flags


def _formatting(hyp: _Column, ref: _Column, th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    """Tokenisation, escaping and Unicode normalisation that differ between hypotheses and references."""
    n = hyp.n_segments
    moses = _only_in(hyp, ref, _MOSES)
    flags = _flag(line_of, "moses_tokenized", moses, n, th.moses_tokenized,
                  "{share} of hypotheses look Moses-tokenised (\"don 't\", a space before , or ., @-@, &apos;) "
                  "where their references are not ({lines}): detokenise the output (sacremoses MosesDetokenizer "
                  "or detokenizer.perl) before scoring")

    markup_h, markup_r = hyp.matching(_MARKUP), ref.matching(_MARKUP)
    hyp_only = markup_h & ~markup_r & ~moses  # Moses' own escapes are reported as tokenisation
    ref_only = markup_r & ~markup_h
    if hyp_only.sum() >= ref_only.sum():
        seen = ", ".join(hyp.found(_MARKUP, hyp_only)) if hyp_only.sum() > th.markup_mismatch * n else ""
        flags += _flag(line_of, "markup_mismatch", hyp_only, n, th.markup_mismatch,
                       f"{{share}} of hypotheses contain HTML entities or tags ({seen}) "
                       "that their references do not ({lines}): the output was HTML-escaped on the way (a web API, "
                       "an XML wrapper); unescape it (html.unescape)")
    else:
        seen = ", ".join(ref.found(_MARKUP, ref_only)) if ref_only.sum() > th.markup_mismatch * n else ""
        flags += _flag(line_of, "markup_mismatch", ref_only, n, th.markup_mismatch,
                       f"{{share}} of references contain HTML entities or tags ({seen}) "
                       "that the hypotheses do not ({lines}): the test set is escaped; unescape the references "
                       "(html.unescape)")

    hyp_nfc, refs_nfc = _is_nfc(hyp.items), _all(_is_nfc(ref.items), ref)
    nfd_hyp = ~hyp_nfc & refs_nfc
    # references not in NFC matter where the hypothesis has letters that decompose
    nfd_ref = hyp_nfc & ~refs_nfc & ~_per_item(partial(unicodedata.is_normalized, "NFD"), hyp.items)
    if nfd_hyp.sum() >= nfd_ref.sum():
        flags += _flag(line_of, "unicode_normalization", nfd_hyp, n, th.unicode_normalization,
                       "{share} of hypotheses are not in Unicode NFC (letters decomposed into base and combining "
                       "marks, as in some Vietnamese text) while their references are ({lines}): string metrics "
                       "count those letters as errors; normalise the output (unicodedata.normalize('NFC', ...))")
    else:
        flags += _flag(line_of, "unicode_normalization", nfd_ref, n, th.unicode_normalization,
                       "{share} of references are not in Unicode NFC while the hypotheses are ({lines}): string "
                       "metrics count those letters as errors; normalise the references to NFC")
    return flags


# ------------------------------------------------------------------------------------------ references

def check_references(sources: Sequence[str], references: Sequence[Sequence[str]], src_lang: str, tgt_lang: str,
                     thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """Problems of the test set itself, errors first: they distort every system's score alike. Duplicates are
    looked for among all segments; the other checks look at a sample of a test set of more than
    `max_segments` (`_sample`)."""
    th = thresholds
    n = _check_lengths(sources, references)
    if n == 0:
        return []
    duplicate = _flag(None, "duplicate_segments", _duplicates(sources, references), n, th.duplicate_segments,
                      "{share} of segments repeat an earlier segment's source and references ({lines}): the test "
                      "set was concatenated with itself or has duplicates; scores hardly change but confidence "
                      "intervals come out too narrow")
    line_of = _sample(n, th)
    if line_of is not None:
        sources, references = _take(sources, line_of), _take(references, line_of)
    return _errors_first(_sampled(_reference_flags(sources, references, src_lang, tgt_lang, th, line_of), line_of, n)
                         + duplicate)


def _duplicates(sources: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
    """Per segment: does an earlier segment have the same source and references? One 64-bit hash per segment
    (8 MB at a million, where a set of the segments' texts would hold them all again); a segment is called a
    duplicate only after comparing its texts with the first segment of its hash."""
    hashes = np.fromiter((hash((s, tuple(r))) for s, r in zip(sources, references)), dtype=np.int64,
                         count=len(sources))
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    earlier = first[inverse]
    candidates = np.flatnonzero(earlier != np.arange(len(sources)))
    duplicate = np.zeros(len(sources), dtype=bool)
    for i in candidates:
        j = earlier[i]
        duplicate[i] = sources[i] == sources[j] and tuple(references[i]) == tuple(references[j])
    return duplicate


def _reference_flags(sources: Sequence[str], references: Sequence[Sequence[str]], src_lang: str, tgt_lang: str,
                     th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    n = len(sources)
    src, ref = _column(sources), _reference_column(references)
    src_empty = _empty(src)
    flags = _flag(line_of, "empty_references", _all(_empty(ref), ref) & ~src_empty, n, th.empty_references,
                  "{share} of segments have only empty references ({lines}): every system loses those segments; "
                  "the reference file is incomplete or was misread (a wrong column or field name)",
                  escalate_at=th.error_share)

    escaped = _only_in(ref, src, _MARKUP)
    seen = ", ".join(ref.found(_MARKUP, escaped)) if escaped.sum() > th.escaped_references * n else ""
    flags += _flag(line_of, "escaped_references", escaped, n, th.escaped_references,
                   f"{{share}} of references contain HTML entities or tags ({seen}) that their sources do not "
                   "({lines}): the references are HTML-escaped; unescape them (html.unescape), or every system is "
                   "penalised for writing plain quotes and ampersands")

    norm_s, norm_r = _normalised(_fold(src), src), _normalised(_fold(ref), ref)
    same = _any(_per_item(lambda k: bool(norm_r[k]) and norm_r[k] == norm_s[ref.owner[k]], range(len(norm_r))),
                ref)
    flags += _flag(line_of, "reference_equals_source", same, n, th.reference_equals_source,
                   "{share} of references are identical to their source ({lines}): the source file was passed as "
                   "reference, or the test set has untranslated segments (a system that copies its input scores "
                   "high on them)",
                   escalate_at=th.error_share)

    not_nfc = ~_all(_is_nfc(ref.items), ref)
    if not_nfc.sum() > th.nfd_references * n:
        src_nfc = float(_is_nfc(src.items).mean())
        flags += _flag(line_of, "nfd_references", not_nfc, n, th.nfd_references,
                       f"{{share}} of references are not in Unicode NFC (letters decomposed into base and combining "
                       f"marks) while {_pct(src_nfc)} of sources are ({{lines}}): systems write NFC, so string "
                       "metrics count those letters as errors; normalise the reference file to NFC")
    return flags + _reference_language(src, references, src_lang, tgt_lang, th, line_of)


def _reference_language(src: _Column, references: Sequence[Sequence[str]], src_lang: str, tgt_lang: str,
                        th: Thresholds, line_of: np.ndarray | None) -> list[Flag]:
    tgt, src_code = _iso(tgt_lang), _iso(src_lang)
    result = _off_target([refs[0] if refs else "" for refs in references], tgt, th)
    if result is None or result[0].size / result[1] <= th.off_target_references:
        return []
    wrong, judged, langs = result
    share = wrong.size / judged
    lang = langs.most_common(1)[0][0]
    hint = ""
    if lang == src_code:
        in_source = _off_target(src.items, src_code, th)  # are the sources in the target language?
        swapped = bool(in_source and in_source[0].size > in_source[1] / 2 and in_source[2].most_common(1)[0][0] == tgt)
        hint = (" (the source language) while the sources are in the target language: the source and reference "
                "files look swapped" if swapped else " (the source language), as if left untranslated")
    return [Flag("off_target_references", ERROR if share >= th.error_share else WARNING, int(wrong.size), share,
                 f"{_of(int(wrong.size), judged)} of the references identified (an even sample of those of "
                 f"{th.langid_min_chars}+ characters) are not in {_language_name(tgt)}, mostly "
                 f"{_language_name(lang)}{hint}; check the test set's languages and files "
                 f"({_lines(_at(line_of, wrong))})", tuple(int(i) for i in _at(line_of, wrong[:5])))]


# ------------------------------------------------------------------------------------------------- files

@dataclass(frozen=True)
class FileFacts:
    """Byte-level facts of a text file that reading it as lines hides."""

    size: int  # bytes
    lines: int  # a last line without \n counts
    bom: bool  # starts with the UTF-8 byte-order mark
    crlf: int  # lines ending in \r\n
    nul_bytes: int
    longest_line: int  # bytes, without the line end
    longest_line_at: int  # 0-based


def file_facts(raw: bytes) -> FileFacts:
    breaks = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
    ends = np.append(breaks, len(raw)) if raw and not raw.endswith(b"\n") else breaks
    lengths = np.diff(ends, prepend=-1) - 1
    at = int(np.argmax(lengths)) if lengths.size else 0
    return FileFacts(size=len(raw), lines=int(ends.size), bom=raw.startswith(b"\xef\xbb\xbf"),
                     crlf=raw.count(b"\r\n"), nul_bytes=raw.count(b"\x00"),
                     longest_line=int(lengths[at]) if lengths.size else 0, longest_line_at=at)


def compare_file_facts(hyp: FileFacts, ref: FileFacts, thresholds: Thresholds = Thresholds()) -> list[Flag]:
    """What differs between a hypothesis file and its reference file below the level of lines, errors first."""
    flags: list[Flag] = []
    if hyp.lines != ref.lines:
        diff = abs(hyp.lines - ref.lines)
        flags.append(Flag("line_count_mismatch", ERROR, diff, diff / max(ref.lines, 1),
                          f"the hypothesis file has {hyp.lines:,} lines and the reference file {ref.lines:,}: the "
                          "segments cannot be paired; look for lost or extra lines (empty outputs dropped, a "
                          "translation with a line break inside)"))
    for side, facts in (("hypothesis", hyp), ("reference", ref)):
        if facts.nul_bytes:
            flags.append(Flag("nul_bytes", ERROR, facts.nul_bytes, facts.nul_bytes / max(facts.size, 1),
                              f"the {side} file contains {facts.nul_bytes:,} NUL bytes: it is probably UTF-16 or not "
                              "text; re-encode it as UTF-8 (iconv -f UTF-16 -t UTF-8)"))
        if facts.longest_line > thresholds.max_line_bytes:
            flags.append(Flag("huge_line", ERROR, 1, 1 / max(facts.lines, 1),
                              f"line {facts.longest_line_at + 1:,} of the {side} file is {facts.longest_line:,} bytes "
                              "long, which is no segment: the file probably lacks \\n line ends (old Mac \\r ends, "
                              "one JSON document)",
                              (facts.longest_line_at,)))
    if hyp.bom != ref.bom:
        side = "hypothesis" if hyp.bom else "reference"
        flags.append(Flag("bom_mismatch", WARNING, 1, 1 / max(hyp.lines, ref.lines, 1),
                          f"only the {side} file starts with a UTF-8 byte-order mark: the harness drops it, but tools "
                          "that do not (sacrebleu's command line) see an extra character in the first segment; "
                          "remove it"))
    if (hyp.crlf > 0) != (ref.crlf > 0):
        side, facts = ("hypothesis", hyp) if hyp.crlf else ("reference", ref)
        flags.append(Flag("crlf_mismatch", WARNING, facts.crlf, facts.crlf / max(facts.lines, 1),
                          f"only the {side} file has Windows line ends (\\r\\n, {facts.crlf:,} lines): the harness "
                          "strips the \\r, other tools keep it as a character; convert the file (dos2unix)"))
    return _errors_first(flags)
