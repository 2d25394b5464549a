"""Ready-made outputs, one line per segment, as in a shared-task submission."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from harness.data.testset import TestSet
from harness.errors import ConfigError, DataError, SystemNotApplicable
from harness.systems.base import TranslationSystem
from harness.textio import read_lines


class FileOutputs(TranslationSystem):
    """Outputs read from files; `outputs` maps a test set name to its output file."""

    def __init__(self, name: str, outputs: Mapping[str, str | os.PathLike]):
        super().__init__(name)
        self.outputs = {str(k): str(v) for k, v in dict(outputs).items()}

    def signature(self):
        return {**super().signature(), "outputs": self.outputs}

    def output_file(self, testset: str) -> str | None:
        return self.outputs.get(testset)

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


class GivenOutputs(TranslationSystem):
    """Outputs already in memory (e.g. read from standard input by `mt-harness score`), by test set name."""

    def __init__(self, name: str, outputs: Mapping[str, Sequence[str]], origin: str = "given"):
        super().__init__(name)
        self.outputs = {str(k): list(v) for k, v in outputs.items()}
        self.origin = origin

    def signature(self):
        return {**super().signature(), "origin": self.origin}

    def translate(self, testset: TestSet) -> list[str]:
        hyps = self.outputs.get(testset.name)
        if hyps is None:
            raise SystemNotApplicable(f"no outputs for test set {testset.name!r}")
        if len(hyps) != len(testset):
            raise DataError(f"system {self.name!r}: {self.origin} has {len(hyps)} lines but test set "
                            f"{testset.name!r} ({testset.origin}) has {len(testset)} segments")
        return hyps


def systems_from_hypotheses(hypotheses: Mapping[str, Any] | None, testsets: Sequence[str]) -> dict[str, FileOutputs]:
    """The `hypotheses:` shorthand of a run config as file-output systems: `{name: {testset: file}}`, or
    `{name: file}` when the experiment has one test set (`+hypotheses.mine=out.txt` on the command line)."""
    systems = {}
    for name, spec in (hypotheses or {}).items():
        if isinstance(spec, (str, os.PathLike)):
            if len(testsets) != 1:
                raise ConfigError(f"hypotheses.{name}={spec}: the experiment has {len(testsets)} test sets "
                                  f"({', '.join(testsets)}); say which: +hypotheses.{name}.{testsets[0]}={spec}")
            spec = {testsets[0]: spec}
        if not hasattr(spec, "items"):
            raise ConfigError(f"hypotheses.{name} must be a file or a mapping test set -> file, not {spec!r}")
        unknown = [t for t in spec if t not in testsets]
        if unknown:
            from harness.errors import UnknownNameError

            raise UnknownNameError("test set", str(unknown[0]), list(testsets), where=f"hypotheses.{name}")
        systems[str(name)] = FileOutputs(str(name), dict(spec))
    return systems
