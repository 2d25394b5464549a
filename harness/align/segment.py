"""Raw documents in, paragraphs and sentences out.

A document is UTF-8 text with one paragraph per line, or paragraphs separated by blank lines (lines of a
hard-wrapped paragraph are joined back). Every paragraph and sentence keeps the line it came from, so the
review file can point a person at the exact place in the input."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

from harness.errors import DataError
from harness.textio import read_text

# A list bullet at the start of a paragraph ("* ", "- ", "• "): layout, not text to translate.
_BULLET = re.compile(r"^\s*[*•·\-–—+]\s+")
_SENTENCE_END = ".!?…:;\"'”’»)]"

# Abbreviations that never end a sentence (lower case, without the final dot). Kept per language because
# "no." is an abbreviation in English but a word elsewhere; the shared set holds titles used across
# Latin-script languages.
_ABBREVIATIONS = {
    "_shared": {"dr", "prof", "st", "mr", "mrs", "ms", "mt", "jr", "sr", "gen", "col", "lt", "capt", "sgt", "rev"},
    "en": {"gov", "sen", "rep", "hon", "fr", "vs", "approx", "dept", "est", "jan", "feb", "mar", "apr", "jun",
           "jul", "aug", "sep", "sept", "oct", "nov", "dec", "al", "cf", "mx", "messrs"},
    # TP. (thành phố), TX. (thị xã), TT. (thị trấn), academic and professional titles (PGS.TS., ThS., BS.)
    "vi": {"tp", "tx", "tt", "ts", "ths", "pgs", "gs", "bs", "ks", "ls", "ncs", "cn", "nxb"},
}
# Abbreviations that end no sentence only when a number follows: "No. 3", "p. 12", "Q. 1" (quận), "tr. 5".
_NUMBER_ABBREVIATIONS = {
    "_shared": {"no", "nos", "nr", "p", "pp", "vol", "art", "fig", "ch", "sec"},
    "vi": {"q", "p", "tr", "kp"},
}
_OPENERS = "\"'“‘«([¿¡"
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_CANDIDATE = re.compile(r"([.!?…]+)([\"'”’»)\]]*)(\s+)")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a document, as the aligner sees it."""

    index: int  # 0-based position among the document's paragraphs
    line: int  # 1-based line number where it starts in the file
    text: str  # NFC, whitespace collapsed, list bullet removed
    raw: str  # the line(s) as in the file
    had_bullet: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence: the unit the aligner matches."""

    index: int  # 0-based position in the document
    paragraph: int  # index of its Paragraph
    text: str
    first_in_paragraph: bool
    last_in_paragraph: bool
    line: int  # the paragraph's line number in the file


@dataclass(frozen=True)
class Document:
    path: str
    lang: str
    paragraphs: tuple[Paragraph, ...]
    sentences: tuple[Sentence, ...]

    def sentences_of(self, paragraph: int) -> list[Sentence]:
        return [s for s in self.sentences if s.paragraph == paragraph]


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def paragraphs_from_text(text: str) -> list[Paragraph]:
    """Non-blank lines are paragraphs, except that a line starting in lower case continues the previous
    line of the same block when that line does not end a sentence (a hard-wrapped paragraph)."""
    groups: list[tuple[int, list[str]]] = []  # (first line number, lines)
    previous_blank = True
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            previous_blank = True
            continue
        stripped = line.strip()
        if (groups and not previous_blank and stripped[0].islower()
                and not groups[-1][1][-1].rstrip().endswith(tuple(_SENTENCE_END))):
            groups[-1][1].append(stripped)
        else:
            groups.append((lineno, [stripped]))
        previous_blank = False
    paragraphs = []
    for first_line, lines in groups:
        raw = "\n".join(lines)
        joined = " ".join(lines)
        unbulleted = _BULLET.sub("", joined, count=1)
        cleaned = _clean(unbulleted)
        if cleaned:
            paragraphs.append(Paragraph(index=len(paragraphs), line=first_line, text=cleaned, raw=raw,
                                        had_bullet=unbulleted != joined))
    return paragraphs


def _abbreviations(lang: str) -> tuple[set[str], set[str]]:
    return (_ABBREVIATIONS["_shared"] | _ABBREVIATIONS.get(lang, set()),
            _NUMBER_ABBREVIATIONS["_shared"] | _NUMBER_ABBREVIATIONS.get(lang, set()))


def _is_boundary(text: str, match: re.Match, lang: str) -> bool:
    punct, after = match.group(1), match.end()
    if after >= len(text):
        return False
    nxt = text[after:].lstrip(_OPENERS)
    if not nxt or not (nxt[0].isupper() or nxt[0].isdigit()):
        return False  # "ông nói." / "etc. and" / "... và": the sentence goes on
    if punct != ".":
        return True  # ! ? … ... followed by a capital: a new sentence
    start = text.rfind(" ", 0, match.start()) + 1
    word = text[start:match.start()].lstrip(_OPENERS)
    last = word.rsplit(".", 1)[-1].lower()
    always, before_number = _abbreviations(lang)
    if last in always:
        return False  # Mr. Ishiguro, Dr. Ur, PGS.TS. Nguyễn, TP. Hồ Chí Minh
    if last in before_number and nxt[0].isdigit():
        return False  # No. 3, Q. 1
    if len(last) == 1 and last.isalpha():
        return False  # initials and dotted abbreviations: John F. Kennedy, U.S. President, Th.S. Lan
    return True


def split_sentences(text: str, lang: str) -> list[str]:
    """Sentences of one paragraph. Splits after . ! ? … only before a capital letter or a digit (after
    optional opening quotes), never inside numbers (200.000, 12,5, 12.5: no space follows the dot) nor after
    the language's abbreviations (Mr., Ms., Dr., No. 3, TP., PGS.TS.)."""
    sentences, start = [], 0
    for m in _CANDIDATE.finditer(text):
        if _is_boundary(text, m, lang):
            end = m.end(2)
            sentences.append(text[start:end].strip())
            start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def segment(paragraphs: list[Paragraph], lang: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    for p in paragraphs:
        parts = split_sentences(p.text, lang)
        for k, part in enumerate(parts):
            sentences.append(Sentence(index=len(sentences), paragraph=p.index, text=part,
                                      first_in_paragraph=k == 0, last_in_paragraph=k == len(parts) - 1,
                                      line=p.line))
    return sentences


def document_from_text(text: str, lang: str, path: str = "<text>") -> Document:
    paragraphs = paragraphs_from_text(text)
    return Document(path=path, lang=lang, paragraphs=tuple(paragraphs), sentences=tuple(segment(paragraphs, lang)))


def read_document(path: str | os.PathLike, lang: str, role: str = "document") -> Document:
    """Read and segment a document file. An empty one is a DataError naming the file."""
    doc = document_from_text(read_text(path), lang, str(path))
    if not doc.sentences:
        raise DataError(f"{role} {path} is empty (no text on any line); give the {lang!r} text, one paragraph "
                        f"per line or paragraphs separated by blank lines")
    return doc


# Language checks for the languages the aligner knows well. Vietnamese writes almost every syllable with a
# letter outside ASCII; English text is dense in a handful of function words.
_VI_LETTERS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
_EN_WORDS = {"the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "as", "was", "by", "at",
             "it", "he", "his", "this", "from", "are", "be", "has", "have", "an", "which", "said"}
_LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}


def guess_language(texts: list[str]) -> tuple[str | None, str]:
    """("vi" | "en" | None, the evidence in words) for a document's text."""
    words = [w for t in texts for w in re.findall(r"[^\W\d_]+", t.lower())]
    if len(words) < 5:
        return None, "too little text to tell"
    vi_share = sum(any(c in _VI_LETTERS for c in w) for w in words) / len(words)
    en_share = sum(w in _EN_WORDS for w in words) / len(words)
    if vi_share >= 0.25:
        return "vi", f"{vi_share:.0%} of its words carry Vietnamese diacritics"
    if en_share >= 0.12 and vi_share < 0.05:
        return "en", f"{en_share:.0%} of its words are English function words"
    return None, f"{vi_share:.0%} Vietnamese-diacritic words, {en_share:.0%} English function words"


def check_language(doc: Document, role: str, option: str) -> None:
    """A DataError when `doc` is clearly not in its declared language (only vi and en are checked)."""
    if doc.lang not in _LANGUAGE_NAMES:
        return
    guess, why = guess_language([s.text for s in doc.sentences])
    if guess is not None and guess != doc.lang:
        raise DataError(f"{role} {doc.path} looks like {_LANGUAGE_NAMES[guess]} ({why}), not "
                        f"{_LANGUAGE_NAMES[doc.lang]} ({option} {doc.lang}). Give the {_LANGUAGE_NAMES[doc.lang]} "
                        f"text, or set {option} to the language it is in.")
