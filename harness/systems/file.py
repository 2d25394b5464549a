"""Ready-made outputs, one line per segment, as in a shared-task submission."""

from __future__ import annotations

import os
from typing import Mapping

from harness.data.testset import TestSet
from harness.errors import DataError, SystemNotApplicable
from harness.systems.base import TranslationSystem
from harness.textio import read_lines


class FileOutputs(TranslationSystem):
    """Outputs read from files; `outputs` maps a test set name to its output file."""

    def __init__(self, name: str, outputs: Mapping[str, str | os.PathLike]):
        super().__init__(name)
        self.outputs = {str(k): str(v) for k, v in dict(outputs).items()}

    def signature(self):
        return {**super().signature(), "outputs": self.outputs}

    def translate(self, testset: TestSet) -> list[str]:
        path = self.outputs.get(testset.name)
        if path is None:
            raise SystemNotApplicable(f"no output file for test set {testset.name!r} "
                                      f"(outputs are given for: {', '.join(self.outputs) or 'none'})")
        hyps = read_lines(path)
        if len(hyps) != len(testset):
            raise DataError(f"system {self.name!r}: hypothesis file {path} has {len(hyps)} lines but test set "
                            f"{testset.name!r} ({testset.origin}) has {len(testset)} segments")
        return hyps
