"""Anchors: tokens a translation carries over unchanged, so a sentence and its translation share them.

Numbers are normalised across writing conventions (Vietnamese `200.000`, `12,5` and English `200,000`,
`12.5` are the same values), English month names become numbers (`October 16` ~ `16-10`), and names are
compared without diacritics and case (`Trần Sỹ Thanh` ~ `Tran Sy Thanh`, `Hà Nội` ~ `Hanoi`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Languages that write 1.000,5 (dot groups thousands, comma marks decimals); the others write 1,000.5.
_DECIMAL_COMMA = {"vi", "de", "fr", "es", "it", "pt", "id", "ru", "uk", "cs", "pl", "nl", "tr", "ro", "da", "sv",
                  "nb", "fi", "hu", "el"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_MONTHS = {
    "en": {name: i for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")], 1) for name in names},
}


def strip_diacritics(text: str) -> str:
    """`Trần Sỹ Thanh` -> `Tran Sy Thanh`; đ/Đ, which do not decompose, become d/D."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_number(token: str, lang: str) -> str:
    """One canonical spelling of a written number: `200.000` (vi) and `200,000` (en) -> `200000`,
    `12,5` (vi) and `12.5` (en) -> `12.5`. A separator followed by other than three digits can only be a
    decimal mark, whatever the language's convention (`12.5` in Vietnamese text is 12.5). Anything else
    (`1.2.3`) is kept as written."""
    group, decimal = (".", ",") if lang in _DECIMAL_COMMA else (",", ".")
    seps = re.findall(r"[.,]", token)
    parts = re.split(r"[.,]", token)
    if not seps:
        return str(int(token))
    if seps[-1] == decimal or len(parts[-1]) != 3:
        integer, fraction = token[:token.rfind(seps[-1])], parts[-1]
        group = seps[-1] if seps[-1] != decimal and len(seps) == 1 else group
    else:
        integer, fraction = token, ""
    groups = re.split(r"[.,]", integer)
    if set(re.findall(r"[.,]", integer)) - {group} or any(len(g) != 3 for g in groups[1:]):
        return token
    fraction = fraction.rstrip("0")
    value = str(int("".join(groups)))
    return f"{value}.{fraction}" if fraction else value


@dataclass(frozen=True)
class Anchors:
    numbers: frozenset[str]
    names: frozenset[str]

    def all(self) -> frozenset[str]:
        return self.numbers | self.names


def capitalised_words(texts: list[str]) -> set[str]:
    """Words a document capitalises somewhere other than at the start of a sentence: its names.
    A sentence-initial word counts as a name only when it is in this set (so "The" or "Trong" is not)."""
    names: set[str] = set()
    for text in texts:
        for k, m in enumerate(_WORD.finditer(text)):
            if k > 0 and m.group()[0].isupper():
                names.add(m.group())
    return names


def extract_anchors(text: str, lang: str, document_names: set[str]) -> Anchors:
    numbers = {normalise_number(m.group(), lang) for m in _NUMBER.finditer(text)}
    months = _MONTHS.get(lang, {})
    names: set[str] = set()
    run: list[str] = []  # consecutive capitalised words ("Hà Nội", "Tran Sy Thanh")
    previous_end = None
    for k, m in enumerate(_WORD.finditer(text)):
        word = m.group()
        if previous_end is not None and text[previous_end:m.start()].strip() not in ("", "-"):
            run = []  # punctuation between two words ends a name
        previous_end = m.end()
        if word.lower() in months and word[0].isupper():
            numbers.add(str(months[word.lower()]))
        is_name = (any(c.isupper() for c in word) and len(word) > 1 and not word.isdigit()
                   and (k > 0 or word in document_names or word.isupper()))
        if is_name:
            key = strip_diacritics(word).lower()
            names.add(key)
            if run:  # "Hà Nội" is also "hanoi", "Việt Nam" also "vietnam"
                names.add(run[-1] + key)
            run.append(key)
        else:
            run = []
    return Anchors(numbers=frozenset(numbers), names=frozenset(names))
