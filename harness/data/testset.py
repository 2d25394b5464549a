"""Segments and test sets: the unit every system translates and every metric scores."""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

from harness.errors import ConfigError, DataError


@dataclass(frozen=True)
class Segment:
    """One source sentence (or paragraph) and its reference translation(s)."""

    id: str
    src: str
    refs: tuple[str, ...]
    doc_id: str | None = None


@dataclass(frozen=True)
class TestSet:
    """An ordered collection of segments in one language direction.

    `name` is the key used in configs and results; `origin` says where the data came from."""

    name: str
    src_lang: str
    tgt_lang: str
    segments: tuple[Segment, ...]
    origin: str = ""
    notes: tuple[str, ...] = field(default=(), compare=False)
    #: the files the references were read from, first reference first (for sanity checks on the raw bytes)
    reference_files: tuple[str, ...] = field(default=(), compare=False)
    #: Vietnamese tone-mark style the sources were rewritten to ("old" | "new"), or None (as read)
    source_tone_marks: str | None = None

    def __post_init__(self):
        if not self.segments:
            raise DataError(f"test set {self.name!r} has no segments ({self.origin or 'no origin given'})")
        ids = [s.id for s in self.segments]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"test set {self.name!r} has duplicate segment id {dup!r} ({self.origin})")

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def sources(self) -> list[str]:
        return [s.src for s in self.segments]

    @property
    def references(self) -> list[tuple[str, ...]]:
        """Per segment, the tuple of its references."""
        return [s.refs for s in self.segments]

    @property
    def num_refs(self) -> int:
        """References per segment, or -1 when it varies (sacreBLEU's convention)."""
        counts = {len(s.refs) for s in self.segments}
        return counts.pop() if len(counts) == 1 else -1

    def subset(self, indices: Sequence[int]) -> "TestSet":
        """The segments at `indices`, in that order (e.g. those missing from a cache)."""
        return dataclasses.replace(self, segments=tuple(self.segments[i] for i in indices))

    def fingerprint(self) -> str:
        """Hash of the content (ids, sources, references, languages): changes whenever the data does."""
        h = hashlib.sha256(f"{self.src_lang}\t{self.tgt_lang}\n".encode())
        for s in self.segments:
            h.update("\x1f".join((s.id, s.doc_id or "", s.src, *s.refs)).encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()[:16]

    def signature(self) -> str:
        tones = f"|tones:{self.source_tone_marks}" if self.source_tone_marks else ""
        return (f"testset:{self.name}|{self.src_lang}-{self.tgt_lang}|segments:{len(self)}"
                f"|nrefs:{self.num_refs if self.num_refs > 0 else 'var'}{tones}|sha256:{self.fingerprint()}")


def build_testset(
    name: str,
    src_lang: str,
    tgt_lang: str,
    sources: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    ids: Sequence[str] | None = None,
    doc_ids: Sequence[str | None] | None = None,
    origin: str = "",
    tone_marks: str | None = None,
) -> TestSet:
    """Assemble a TestSet from parallel columns, NFC-normalising the sources.

    Sources are NFC-normalised because Vietnamese text often arrives in decomposed form (a base letter
    plus combining tone marks), which tokenizers and string metrics treat as different characters; with
    `tone_marks` ("old" or "new"), Vietnamese sources also get one tone-mark placement (hòa / hoà), recorded in
    the signature. References are kept byte-exact so that scores match sacreBLEU on the same files."""
    from harness.languages import iso_code

    for side, lang in (("src_lang", src_lang), ("tgt_lang", tgt_lang)):
        try:
            iso_code(lang)
        except ConfigError as e:
            raise ConfigError(f"test set {name!r}: {side}: {e}") from None
    n = len(sources)
    for i, refs in enumerate(references):
        if not refs:
            raise DataError(f"test set {name!r}: segment {i + 1} has no reference ({origin})")
    if len(references) != n:
        raise DataError(f"test set {name!r}: {n} sources but {len(references)} references ({origin})")
    ids = list(ids) if ids is not None else [str(i + 1) for i in range(n)]
    doc_ids = list(doc_ids) if doc_ids is not None else [None] * n
    normalised = [unicodedata.normalize("NFC", s) for s in sources]
    n_changed = sum(a != b for a, b in zip(normalised, sources))
    notes = [f"{n_changed} source segments were NFC-normalised"] if n_changed else []
    if tone_marks is not None:
        from harness.data.vietnamese import place_tone_marks

        if iso_code(src_lang) != "vi":
            raise ConfigError(f"test set {name!r}: tone_marks applies to Vietnamese sources, not {src_lang!r}; "
                              f"set tone_marks: null")
        retoned = [place_tone_marks(s, tone_marks) for s in normalised]
        notes.append(f"{sum(a != b for a, b in zip(retoned, normalised))} source segments got {tone_marks}-style "
                     f"tone marks")
        normalised = retoned
    segments = tuple(
        Segment(id=str(i), src=s, refs=tuple(r), doc_id=d)
        for i, s, r, d in zip(ids, normalised, references, doc_ids)
    )
    return TestSet(name=name, src_lang=src_lang, tgt_lang=tgt_lang, segments=segments, origin=origin,
                   notes=tuple(notes), source_tone_marks=tone_marks)
