"""Metrics: the interface (`base.py`), the sacreBLEU metrics and COMET. Each metric's defaults live in its
configs/metric/<name>.yaml; `harness.config.build_metric(name)` builds one from there."""

from harness.metrics.base import CorpusScore, Metric

__all__ = ["Metric", "CorpusScore"]
