"""Vietnamese tone-mark placement: the old style (`hòa`, `khỏe`, `thủy`) and the new style (`hoà`, `khoẻ`,
`thuỷ`) differ where a syllable ends in the vowel pairs oa, oe or uy; both are in use, and a model trained on
one style sees the other as different tokens: give a model its training data's style (VinAI's and
PhoMT-trained models: see their model cards and preprocessing). Everywhere else both styles place the tone
on the same vowel (`hoàng`, `thuyền`, `quý`), so only those pairs move."""

from __future__ import annotations

import re
import unicodedata

STYLES = ("old", "new")
#: the five combining tone marks: grave (huyền), acute (sắc), tilde (ngã), hook above (hỏi), dot below (nặng)
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_WORD = re.compile(r"[^\W\d_]+")
_PAIRS = ("oa", "oe", "uy")


def _split(ch: str) -> tuple[str, str]:
    """(the letter without its tone mark, the tone mark or "")."""
    parts = unicodedata.normalize("NFD", ch)
    tone = next((c for c in parts if c in _TONES), "")
    return unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES)), tone


def _retone(word: str, style: str) -> str:
    if len(word) < 2:
        return word
    (b1, t1), (b2, t2) = _split(word[-2]), _split(word[-1])
    pair = (b1 + b2).lower()
    if pair not in _PAIRS or bool(t1) == bool(t2):
        return word
    if pair == "uy" and len(word) > 2 and word[-3] in "qQ":  # "quý": the u belongs to "qu"
        return word
    tone = t1 or t2
    first, second = (b1 + tone, b2) if style == "old" else (b1, b2 + tone)
    return word[:-2] + unicodedata.normalize("NFC", first) + unicodedata.normalize("NFC", second)


def place_tone_marks(text: str, style: str) -> str:
    """`text` (NFC) with the tone of every syllable ending in oa, oe or uy placed in `style` ("old": on the first
    vowel, `hòa`; "new": on the second, `hoà`)."""
    if style not in STYLES:
        from harness.errors import UnknownNameError

        raise UnknownNameError("tone-mark style", style, list(STYLES))
    return _WORD.sub(lambda m: _retone(m.group(0), style), unicodedata.normalize("NFC", text))
