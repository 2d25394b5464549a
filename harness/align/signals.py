"""Optional extra alignment signals built from the harness's own systems (Bleualign's idea: translate the
source, then compare the translation with the reference). The aligner takes any `Similarity` callable;
this module only adapts a TranslationSystem to one."""

from __future__ import annotations

from harness.align.score import Similarity
from harness.align.segment import Document
from harness.data.testset import build_testset
from harness.systems.base import TranslationSystem


def system_from_config(name: str) -> TranslationSystem:
    """The system of configs/system/NAME.yaml, built as `mt-harness run system=[NAME]` would build it."""
    from harness.cli import check_group_overrides
    from harness.config import compose
    from harness.run import _instantiate_all

    check_group_overrides([f"system=[{name}]"])
    cfg = compose([f"system=[{name}]"])
    return _instantiate_all(cfg.systems, "system")[name]


def mt_similarity(system: TranslationSystem, src: Document, src_lang: str, ref_lang: str) -> Similarity:
    """chrF (0-1) between the system's translation of a bead's source side and its reference side.

    The DP asks about one sentence or two neighbouring ones, so exactly those are translated, in one batch."""
    from sacrebleu.metrics import CHRF

    texts = [s.text for s in src.sentences]
    texts += [f"{a} {b}" for a, b in zip(texts, texts[1:])]
    unique = list(dict.fromkeys(texts))
    testset = build_testset("align-signal", src_lang, ref_lang, unique, [("",)] * len(unique))
    translation = dict(zip(unique, system.translate(testset)))
    chrf = CHRF()

    def similarity(src_text: str, ref_text: str) -> float:
        hyp = translation.get(src_text)
        return 0.5 if hyp is None else chrf.sentence_score(hyp, [ref_text]).score / 100

    return similarity
