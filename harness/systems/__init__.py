"""Translation systems: one module per backend."""

from harness.systems.base import TranslationSystem

__all__ = ["TranslationSystem"]
