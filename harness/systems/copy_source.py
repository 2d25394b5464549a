"""The untranslated source as output: the lower bound every report should show."""

from __future__ import annotations

from harness.data.testset import TestSet
from harness.systems.base import TranslationSystem


class CopySource(TranslationSystem):
    #: the untranslated source is a copy of the source in the source language, on purpose
    expected_flags = frozenset({"copy_of_source", "off_target"})

    def __init__(self, name: str = "copy-source"):
        super().__init__(name)

    def translate(self, testset: TestSet) -> list[str]:
        return testset.sources
