"""Shared fixtures. Tests run offline (no model hub) and single-threaded (2-core CI machines)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Must be set before torch is imported anywhere: with 2 threads on 2 cores tiny models run 100x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Never reach for the hub from tests: loading code must work from local folders alone.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Never read or write the checkout's own .cache/ and results/: a warm cache there could hide a broken metric.
# One temporary cache and results folder for the whole session (tests that need their own set these again).
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="mt-harness-tests-"))
os.environ["MT_HARNESS_CACHE"] = str(_SESSION_DIR / "cache")
os.environ["MT_HARNESS_RESULTS"] = str(_SESSION_DIR / "results")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
FLORES_SRC = DATA / "flores200" / "vie_Latn.devtest"
OPUS_2020 = DATA / "outputs" / "flores200-devtest" / "vie-eng_opus-2020-09-10" / "flores200-devtest.vie-eng.output"
OPUS_BT = DATA / "outputs" / "flores200-devtest" / "vie-eng_opus+bt-2021-04-30" / "flores200-devtest.vie-eng.output"

# The OPUS-MT leaderboard's published sacreBLEU 2.3.1 figures, to two decimals: BLEU from the leaderboard's score
# tables (Helsinki-NLP/OPUS-MT-leaderboard, models/Tatoeba-MT-models/vie-eng/; its .eval files print BLEU to one
# decimal), chrF2 and chrF2++ from the .eval files shipped in data/outputs/ (0.52714 -> 52.71); see data/README.md.
PUBLISHED = {
    "vie-eng_opus-2020-09-10": {"BLEU": 25.34, "chrF2": 52.71, "chrF2++": 50.66},
    "vie-eng_opus+bt-2021-04-30": {"BLEU": 27.31, "chrF2": 54.88, "chrF2++": 52.87},
}


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def sacrebleu_intervals():
    """sacreBLEU's own 95% intervals (`--paired-bs`, 1,000 resamples, its default seed 12345) of the two OPUS-MT
    outputs on FLORES-200 devtest, by system and metric: what the leaderboard's `± x` must show."""
    import sacrebleu
    from sacrebleu.significance import PairedTest

    read = lambda path: path.read_text(encoding="utf-8").split("\n")[:1012]  # noqa: E731
    systems = [("vie-eng_opus-2020-09-10", read(OPUS_2020)), ("vie-eng_opus+bt-2021-04-30", read(OPUS_BT))]
    seed = os.environ.pop("SACREBLEU_SEED", None)
    try:
        _, table = PairedTest(systems, {"BLEU": sacrebleu.BLEU(), "chrF2": sacrebleu.CHRF()}, [read(FLORES_REF)],
                              test_type="bs", n_samples=1000)()
    finally:
        if seed is not None:
            os.environ["SACREBLEU_SEED"] = seed
    return {name: {metric: table[metric][i].ci for metric in ("BLEU", "chrF2")}
            for i, (name, _) in enumerate(systems)}


@pytest.fixture(scope="session")
def torch_single_thread():
    import torch

    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, torch_single_thread):
    """Tiny Marian, NLLB, M2M100 and mBART-50 checkpoints built locally once per test session."""
    from harness.testing import tiny_models as tm

    root = tmp_path_factory.mktemp("tiny_models")
    return {
        "marian": tm.build_marian(root / "marian"),
        "nllb": tm.build_nllb(root / "nllb"),
        "m2m100": tm.build_m2m100(root / "m2m100"),
        "mbart50": tm.build_mbart50(root / "mbart50"),
    }


def count_statistics_calls(monkeypatch, metric_class) -> list[int]:
    """Record how many hypotheses each `metric_class.segment_statistics` call in this process computes."""
    calls: list[int] = []
    original = metric_class.segment_statistics

    def counting(self, hyps, refs, srcs=None):
        calls.append(len(hyps))
        return original(self, hyps, refs, srcs)

    monkeypatch.setattr(metric_class, "segment_statistics", counting)
    return calls


@pytest.fixture
def results_env(tmp_path, monkeypatch):
    """Results and caches of runs under test go to a temporary folder."""
    monkeypatch.setenv("MT_HARNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MT_HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path


def modules_loaded_by_cli(argv: list[str], modules: tuple[str, ...]) -> tuple[int, list[str]]:
    """(exit status, which of `modules` got imported) of `mt-harness ARGV` run in a fresh interpreter: what a
    command costs to start (torch and comet take seconds, Hydra and the aligner a tenth of one)."""
    import subprocess
    import sys

    code = ("import json, sys, contextlib, io\nfrom harness.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main({argv!r})\n"
            f"print(json.dumps([status, sorted(m for m in {modules!r} if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    status, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    return status, loaded


@pytest.fixture(params=["compiled", "numpy"])
def engine(request, monkeypatch):
    """Each test of the fast ports that takes it runs with the compiled matcher (skipped without numba) and with
    the numpy engine."""
    import harness.metrics.chrf_fast as chrf_fast

    if request.param == "compiled":
        pytest.importorskip("numba")
        assert chrf_fast.compiled_matcher() is not None
    else:
        monkeypatch.setattr(chrf_fast, "compiled_matcher", lambda: None)
    return request.param


_SACREBLEU_MEMO: dict = {}


def sacrebleu_statistics(sacre, options, hyps, streams):
    """sacreBLEU's statistics (and its `num_refs`), computed once per input for all engines of a test."""
    key = (type(sacre).__name__, repr(sorted(options.items())), tuple(hyps), tuple(map(tuple, streams)))
    if key not in _SACREBLEU_MEMO:
        _SACREBLEU_MEMO[key] = (sacre._extract_corpus_statistics(hyps, streams), sacre.num_refs)
    expected, sacre.num_refs = _SACREBLEU_MEMO[key]
    return expected


def assert_port_agrees(sacre, fast_class, prepared_class, options, hyps, streams):
    """sacreBLEU's statistics (from `sacre`, its metric built with `options`) == the fast port's, with references
    passed in and with a prepared cache set as the harness and sacreBLEU's tests set it. Returns (the port with
    that cache, sacreBLEU's statistics) for checks of the port's own array form."""
    expected = sacrebleu_statistics(sacre, options, hyps, streams)

    fast = fast_class(**options)
    got = fast._extract_corpus_statistics(hyps, streams)
    assert got == expected
    assert fast.num_refs == sacre.num_refs
    assert all(type(x) is int for row in got for x in row)

    cached = fast_class(**options)
    cached._ref_cache = cached._cache_references(streams)
    assert isinstance(cached._ref_cache, prepared_class)
    assert cached._extract_corpus_statistics(hyps, None) == expected
    return cached, expected
