"""Metrics by name. Factories import their backend lazily, so naming a string metric never imports torch,
and naming a COMET metric imports it only when a segment needs scoring."""

from __future__ import annotations

from harness.metrics.base import CorpusScore, Metric
from harness.registry import Registry


def _bleu(**kw):
    from harness.metrics.sacrebleu_metrics import BLEU
    return BLEU(**kw)


def _chrf(**kw):
    from harness.metrics.sacrebleu_metrics import CHRF
    return CHRF(**kw)


def _chrfpp(**kw):
    from harness.metrics.sacrebleu_metrics import CHRF
    return CHRF(**{"word_order": 2, **kw})


def _ter(**kw):
    from harness.metrics.sacrebleu_metrics import TER
    return TER(**kw)


def _comet_preset(preset: str):
    def factory(**kw):
        from harness.metrics.comet import COMET, PRESETS
        return COMET(**{**PRESETS[preset], **kw})
    return factory


def metric_registry() -> Registry[Metric]:
    """The metrics the `score` command knows by name (configs name their class with `_target_`)."""
    reg: Registry[Metric] = Registry("metric")
    reg.register("bleu", _bleu)
    reg.register("chrf", _chrf, aliases=("chrf2",))
    reg.register("chrf++", _chrfpp, aliases=("chrfpp", "chrf2++"))
    reg.register("ter", _ter)
    reg.register("comet", _comet_preset("comet"))
    reg.register("cometkiwi", _comet_preset("cometkiwi"), aliases=("comet-kiwi",))
    reg.register("xcomet", _comet_preset("xcomet"))
    return reg


__all__ = ["Metric", "CorpusScore", "metric_registry"]
