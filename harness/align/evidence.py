"""What a paragraph looks like, independent of the other document: a photo credit, a URL, a repeat of an
earlier line, a short menu-like line. This is *evidence* only: it makes leaving the paragraph unaligned
cheaper in the alignment, but whether it is dropped is decided by the alignment (a caption that the
other document translates is kept)."""

from __future__ import annotations

import re

from harness.align.segment import Document

# "Photo: X/VNA", "Ảnh: TTXVN", "(Source: ...)", "Nguồn: ..." - a credit line, in English or Vietnamese
_CREDIT = re.compile(r"(?:^|[\s(\[])(?:photos?|images?|pictures?|videos?|sources?|credits?|illustration|graphics?|"
                     r"ảnh|nguồn|minh họa|đồ họa|clip)\s*:", re.IGNORECASE)
_URL = re.compile(r"https?://|www\.\w|\b[\w-]+\.(?:com|net|org|vn|gov|edu|info|io)(?:/|\b)", re.IGNORECASE)
_TERMINAL = tuple(".!?…\"'”’»)")
SHORT_LINE_WORDS = 5


def paragraph_evidence(doc: Document) -> dict[int, list[str]]:
    """Paragraph index -> short descriptions of what marks it as page material rather than body text."""
    evidence: dict[int, list[str]] = {}
    first_seen: dict[str, int] = {}
    for p in doc.paragraphs:
        found = []
        if _CREDIT.search(p.text):
            found.append("photo/source credit")
        if _URL.search(p.text):
            found.append("URL")
        key = " ".join(p.text.lower().split())
        if key in first_seen:
            found.append(f"repeats line {first_seen[key]}")
        else:
            first_seen[key] = p.line
        if len(p.text.split()) <= SHORT_LINE_WORDS and not p.text.endswith(_TERMINAL):
            found.append("short line without sentence punctuation")
        if found:
            evidence[p.index] = found
    return evidence


def sentence_evidence(doc: Document) -> list[tuple[str, ...]]:
    """The evidence of each sentence's paragraph, per sentence."""
    by_paragraph = paragraph_evidence(doc)
    return [tuple(by_paragraph.get(s.paragraph, ())) for s in doc.sentences]
