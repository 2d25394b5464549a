"""Turning a chat model's answer into exactly one translation.

Instruction-tuned models wrap translations in chatter: a preamble ("Sure! Here's the translation:",
"Bản dịch:"), a language label echoed from the prompt ("English: ..."), code fences or quotes, the source
repeated, notes after the translation ("Note: ...", "I hope this helps"), alternatives in further paragraphs.
Scored as they are, these cost BLEU points that say nothing about translation quality.

`clean_answer` removes that chatter with small named rules and reports which ones fired, so a run can count
the answers that needed cleaning and a reader can audit them (the raw answer is kept next to the cleaned one).
The rules are conservative: each needs an unmistakable marker and leaves text behind, and a rule does not
fire when the source itself has the same shape (a source starting "Tiếng Anh:" keeps its translated
"English:" label; a source with a "Lưu ý" note keeps the translated "Note:"). Surrounding whitespace is
always trimmed and not reported as a cleaning step.

Pure functions on strings; no model, no torch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Collection, Sequence

#: Part of every LLM system's signature: bump it when a rule changes, so cached outputs cleaned by the old
#: rules are not reused.
CLEANING_VERSION = 1


@dataclass(frozen=True)
class CleanedAnswer:
    """One answer after cleaning: the translation and the names of the rules that changed it (in order)."""

    text: str
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    source: str
    label_names: str  # regex alternation of language names that may label a line ("English|Vietnamese")


_DECOR = r"[\s*_#>]*"  # markdown around a label: **Translation:**, ### Translation:, > Translation:
_ACK = r"(?:sure|certainly|of course|okay|ok|absolutely|gladly|chắc chắn rồi|vâng|dạ|được thôi|được)"
_INTRO = r"(?:here(?:'s|’s| is| are)|below is|the following is|đây là|dưới đây là|sau đây là)"


def _label_re(core: str) -> re.Pattern:
    """`core` followed by a colon at the start of the text, allowing markdown decoration around both."""
    return re.compile(rf"^{_DECOR}(?:{core})\s*[*_]*\s*:[ \t*_]*", re.IGNORECASE)


def _translation_label(names: str) -> re.Pattern:
    # "Translation:", "English translation:", "The translation is:", "The translation of the given text into
    # English is:", "Translated text:", "Translated into English:", "Bản dịch:", "Dịch:", "Bản dịch tiếng Anh:",
    # "Dịch sang tiếng Anh:", "Câu dịch là:"
    return _label_re(rf"(?:the\s+)?(?:(?:{names})\s+)?translation(?:\s+(?:in|into|to)\s+(?:{names}))?"
                     r"(?:\s+(?:is|would be))?"
                     rf"|(?:the\s+)?(?:(?:{names})\s+)?translation\s+of\b[^\n:]{{0,100}}?\s(?:is|would be|reads)"
                     rf"|translated(?:\s+(?:text|sentence|version))?(?:\s+(?:in|into|to)\s+(?:{names}))?"
                     r"|(?:bản|câu|đoạn)\s+dịch(?:\s+(?:sang\s+)?tiếng\s+\w+)?(?:\s+(?:là|như sau))?"
                     r"|dịch(?:\s+sang\s+tiếng\s+\w+)?")


_BARE_ACK = re.compile(rf"^{_DECOR}{_ACK}[!.,]*[*_]*$", re.IGNORECASE)
_INTRO_LINE = re.compile(rf"^{_DECOR}(?:{_ACK}[!.,]*\s*)?{_INTRO}\b[^\n]{{0,120}}?(?:translat|bản dịch|dịch)"
                         rf"[^\n]{{0,120}}?:[ \t*_]*", re.IGNORECASE)
_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n(.*?)\n?[ \t]*```[ \t]*(?:\n(.*))?$", re.DOTALL)
_QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("‘", "’"), ("'", "'"), ("«", "»"), ("„", "“"), ("`", "`"), ("「", "」"))
# A later line that starts commentary. Case-sensitive on purpose: "Note" starts a note, "note" may be a
# wrapped line of the translation itself.
_NOTE_LINE = re.compile(r"^[\s*_>(\[-]*(?:Note|NOTE|Notes|N\.B\.|Please note|Explanation|Alternatively"
                        r"|Alternative translations?|Literal(?:ly| translation)|Let me know|Feel free"
                        r"|Lưu ý|Chú ý|Ghi chú|Chú thích|Giải thích)\b")
_PLEASANTRY_LINE = re.compile(r"^[\s*_>(\[-]*(?:I hope (?:this|that|it) helps|Hope (?:this|that|it) helps"
                              r"|Tôi hy vọng|Hy vọng)\b")
_PAREN_NOTE = re.compile(r"\s*\((?:note|lưu ý|ghi chú|chú thích|literally|literal translation|lit\.)\b[^()]*\)\s*$",
                         re.IGNORECASE)
_PLEASANTRY = re.compile(r"(?<=[.!?…])\s+(?:I hope (?:this|that|it) helps|Hope (?:this|that|it) helps|Let me know if)"
                         r"[^\n]*$")
# A source that carries notes or pleasantries of its own: then the translation may carry them too.
_SOURCE_NOTE = re.compile(r"(?:^|\n|\()\s*(?:lưu ý|chú ý|ghi chú|chú thích|note|n\.b\.)\b", re.IGNORECASE)
_SOURCE_HOPE = re.compile(r"hy vọng|hope", re.IGNORECASE)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _first_line(text: str) -> tuple[str, str]:
    head, _, rest = text.partition("\n")
    return head, rest


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _strip_match(pattern: re.Pattern, text: str, source: str) -> str | None:
    """Text after `pattern` at its start, unless nothing would remain or the source starts the same way."""
    m = pattern.match(text)
    if not m or pattern.match(source.strip()):
        return None
    rest = text[m.end():].strip()
    return rest or None


def _code_fence(text: str, ctx: _Context) -> str | None:
    """```lang ... ``` around the answer (anything after the closing fence is commentary)."""
    if "```" in ctx.source:
        return None
    start = text.find("```")
    if start < 0:
        return None
    before = text[:start].strip()
    # tolerate one introductory line ending in ':' before the fence ("The English version is as follows:")
    if before and ("\n" in before or not before.endswith(":")):
        return None
    m = _FENCE.match(text[start:])
    if not m or not m.group(1).strip():
        return None
    return m.group(1).strip()


def _preamble(text: str, ctx: _Context) -> str | None:
    """"Sure!", "Here is the translation:", "Translation:", "Bản dịch:", "Dịch:" before the translation."""
    head, rest = _first_line(text)
    if _BARE_ACK.match(head) and rest.strip() and not _BARE_ACK.match(_first_line(ctx.source.strip())[0]):
        return rest.strip()
    return (_strip_match(_INTRO_LINE, text, ctx.source)
            or _strip_match(_translation_label(ctx.label_names), text, ctx.source))


def _language_label(text: str, ctx: _Context) -> str | None:
    """"English: ..." (the prompt's label repeated); on every line that starts with it, for multi-line answers."""
    pattern = _label_re(rf"{ctx.label_names}|tiếng\s+\w+")
    m = pattern.match(text)
    if not m or pattern.match(ctx.source.strip()) or not text[m.end():].strip():
        return None
    label = _comparable(m.group(0)).strip("*_#> :")
    lines = []
    for line in text.split("\n"):
        lm = pattern.match(line)
        lines.append(line[lm.end():] if lm and _comparable(lm.group(0)).strip("*_#> :") == label else line)
    return "\n".join(lines).strip()


def _echoed_source(text: str, ctx: _Context) -> str | None:
    """The source repeated on the first line (often labelled "Vietnamese: ..."), the translation after it."""
    head, rest = _first_line(text)
    if not rest.strip() or "\n" in ctx.source.strip():
        return None
    label = _label_re(rf"{ctx.label_names}|tiếng\s+\w+|source|nguồn|original|văn bản gốc").match(head)
    body = head[label.end():] if label else head
    body = body.strip().strip("\"“”'«»`")
    return rest.strip() if _comparable(body) == _comparable(ctx.source) else None


def _quotes(text: str, ctx: _Context) -> str | None:
    """Quotes around the whole answer, when the source is not itself quoted."""
    src = ctx.source.strip()
    if any(src.startswith(o) and src.endswith(c) and len(src) > 1 for o, c in _QUOTE_PAIRS):
        return None
    for open_, close in _QUOTE_PAIRS:
        if len(text) > 2 and text.startswith(open_) and text.endswith(close):
            inner = text[len(open_):-len(close)]
            # '"Yes," he said, "no."' starts and ends with quotes but is not wrapped
            if open_ in inner or close in inner:
                if open_ != "'" or re.search(r"(?:^|\s)'|'(?:\s|$)", inner):
                    continue  # for ' only a quote at a word edge counts: apostrophes (city's) are fine
            if inner.strip():
                return inner.strip()
    return None


def _trailing_note(text: str, ctx: _Context) -> str | None:
    """"Note: ...", "(Note ...)", "I hope this helps" after the translation (never on its first line)."""
    lines = text.split("\n")
    notes_allowed, hopes_allowed = not _SOURCE_NOTE.search(ctx.source), not _SOURCE_HOPE.search(ctx.source)
    for k in range(1, len(lines)):
        if ((notes_allowed and _NOTE_LINE.match(lines[k]) or hopes_allowed and _PLEASANTRY_LINE.match(lines[k]))
                and "\n".join(lines[:k]).strip()):
            return "\n".join(lines[:k]).strip()
    if notes_allowed:
        m = _PAREN_NOTE.search(text)
        if m and text[:m.start()].strip():
            return text[:m.start()].strip()
    if hopes_allowed:
        m = _PLEASANTRY.search(text)
        if m and text[:m.start()].strip():
            return text[:m.start()].strip()
    return None


def _first_paragraph(text: str, ctx: _Context) -> str | None:
    """Further paragraphs (alternatives, explanations) when the source is a single paragraph."""
    if _BLANK_LINE.search(ctx.source.strip()):
        return None
    parts = _BLANK_LINE.split(text, maxsplit=1)
    return parts[0].strip() if len(parts) > 1 and parts[0].strip() else None


def _joined_lines(text: str, ctx: _Context) -> str | None:
    """One line out for a one-line source: the hypothesis file has one line per segment."""
    if "\n" in ctx.source.strip() or "\n" not in text:
        return None
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


_RULES: tuple[tuple[str, Callable[[str, _Context], str | None]], ...] = (
    ("code_fence", _code_fence),
    ("preamble", _preamble),
    ("echoed_source", _echoed_source),
    ("label", _language_label),
    ("quotes", _quotes),
    ("trailing_note", _trailing_note),
    ("first_paragraph", _first_paragraph),
    ("joined_lines", _joined_lines),
)
#: The names `clean_answer` may report, in the order the rules are tried.
CLEANING_STEPS = tuple(name for name, _ in _RULES)


def clean_answer(answer: str | None, source: str, *, target_language: str = "English",
                 source_language: str | None = None, steps: Collection[str] = CLEANING_STEPS) -> CleanedAnswer:
    """The translation inside `answer` (a model's reply to a prompt that asked to translate `source`).

    `target_language` / `source_language` are language names as in the prompt ("English", "Vietnamese"):
    a line label with either is recognised. `steps` limits the rules to those named (e.g. only
    `joined_lines`). Rules run until none changes the text; each reports its name once. A missing answer
    (None) becomes the empty string."""
    unknown = set(steps) - set(CLEANING_STEPS)
    if unknown:
        raise ValueError(f"unknown cleaning step(s) {sorted(unknown)}; the steps are {', '.join(CLEANING_STEPS)}")
    text = (answer or "").strip()
    names = [re.escape(n) for n in (target_language, source_language) if n]
    ctx = _Context(source=source, label_names="|".join(names) or "(?!)")  # (?!) never matches
    rules = [(name, rule) for name, rule in _RULES if name in steps]
    applied: list[str] = []
    for _ in range(10):  # each rule shortens the text, so this ends; 10 passes is far more than answers need
        changed = False
        for name, rule in rules:
            new = rule(text, ctx)
            if new is not None and new != text:
                text, changed = new, True
                if name not in applied:
                    applied.append(name)
        if not changed:
            break
    return CleanedAnswer(text, applied)


def clean_answers(answers: Sequence[str | None], sources: Sequence[str], *, target_language: str = "English",
                  source_language: str | None = None, steps: Collection[str] = CLEANING_STEPS) -> list[CleanedAnswer]:
    """`clean_answer` for each (answer, source) pair: exactly one output per input."""
    if len(answers) != len(sources):
        raise ValueError(f"{len(answers)} answers for {len(sources)} sources: every source needs exactly one answer")
    return [clean_answer(a, s, target_language=target_language, source_language=source_language, steps=steps)
            for a, s in zip(answers, sources)]


def hypotheses_and_details(answers: Sequence[str | None], sources: Sequence[str], *, target_language: str,
                           source_language: str | None = None, steps: Collection[str] = CLEANING_STEPS
                           ) -> tuple[list[str], list[dict]]:
    """What an LLM system yields for a batch: the cleaned hypotheses, and per hypothesis the details
    `{"raw": <the model's answer>, "cleaning": [<steps applied>]}` ("cleaning" empty when nothing changed)."""
    cleaned = clean_answers(answers, sources, target_language=target_language, source_language=source_language,
                            steps=steps)
    return [c.text for c in cleaned], [{"raw": a or "", "cleaning": list(c.steps)} for a, c in zip(answers, cleaned)]
