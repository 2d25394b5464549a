"""FastBLEU gives exactly sacreBLEU's BLEU segment statistics (harness/metrics/bleu_fast.py), with the compiled
n-gram matcher (numba) and with the numpy engine used where numba is not installed."""

import logging
import pickle
import random
import re

import numpy as np
import pytest
import sacrebleu
from conftest import FLORES_REF, OPUS_2020, OPUS_BT, assert_port_agrees

import harness.metrics.chrf_fast as chrf_fast
from harness.config import build_metric
from harness.metrics.bleu_fast import FastBLEU, _PreparedReferences, _spacing_table, tokenize_13a
from harness.textio import read_lines


def assert_same_statistics(options, hyps, streams):
    """sacreBLEU's statistics == FastBLEU's: references passed in, a prepared cache, and the array form."""
    cached, expected = assert_port_agrees(sacrebleu.BLEU(**options), FastBLEU, _PreparedReferences, options, hyps,
                                          streams)
    array = cached.corpus_statistics(hyps)
    assert array.dtype == np.int64 and array.tolist() == expected
    return cached


@pytest.fixture(scope="module")
def flores():
    return {"eng": read_lines(FLORES_REF), "opus": read_lines(OPUS_2020), "opus+bt": read_lines(OPUS_BT)}


# -- real data -------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_flores_systems_identical(flores, engine):
    for system in ("opus", "opus+bt"):
        assert_same_statistics({}, flores[system], [flores["eng"]])


@pytest.mark.parametrize("options", [{"lowercase": True}, {"tokenize": "intl"}, {"tokenize": "none"},
                                     {"tokenize": "char"}, {"max_ngram_order": 2}, {"max_ngram_order": 6}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_flores_options(flores, options):
    assert_same_statistics(options, flores["opus+bt"][:300], [flores["eng"][:300]])


@pytest.mark.slow
def test_flores_two_and_variable_references(flores, engine):
    hyps = flores["opus"][:500]
    second = [None if i % 3 == 0 else line for i, line in enumerate(flores["opus+bt"][:500])]
    metric = assert_same_statistics({}, hyps, [flores["eng"][:500], second])
    assert metric.num_refs == -1
    assert_same_statistics({"lowercase": True}, hyps, [second, flores["eng"][:500], flores["opus+bt"][:500]])


def test_through_the_harness_metric(flores, engine):
    """The harness' BLEU (built from its config) prepares references once for two systems; statistics are
    sacreBLEU's, corpus scores the published ones' (tests/test_sacrebleu_metrics.py), and the object travels
    to worker processes without its prepared references."""
    refs = [(r,) for r in flores["eng"][:300]]
    metric = build_metric("bleu")
    for system in ("opus", "opus+bt"):
        hyps = flores[system][:300]
        expected = sacrebleu.BLEU()._extract_corpus_statistics(hyps, [[r for (r,) in refs]])
        np.testing.assert_array_equal(metric.segment_statistics(hyps, refs), np.array(expected, dtype=float))
    assert isinstance(metric._sb, FastBLEU) and isinstance(metric._sb._ref_cache, _PreparedReferences)
    clone = pickle.loads(pickle.dumps(metric))
    assert clone._sb._ref_cache is None and len(pickle.dumps(metric)) < 5000
    assert (clone.segment_statistics(flores["opus"][:300], refs) == metric.segment_statistics(flores["opus"][:300],
                                                                                              refs)).all()


def test_sacrebleu_api_and_signature(flores):
    hyps, refs = flores["opus"][:200], [flores["eng"][:200]]
    for options in ({}, {"lowercase": True, "tokenize": "intl"}):
        fast, sacre = FastBLEU(**options), sacrebleu.BLEU(**options)
        assert fast.corpus_score(hyps, refs).score == sacre.corpus_score(hyps, refs).score
        assert str(fast.get_signature()) == str(sacre.get_signature())
    prepared = FastBLEU(references=refs)
    assert prepared.corpus_score(hyps, None).score == sacrebleu.BLEU().corpus_score(hyps, refs).score


# -- 13a, the default tokenizer, over the corpus at once ---------------------------------------------------------

TRICKY = ["", " ", "a", ".", ",", "..", ".,.", "a.b", "a..b", "1.5", "1,000.00", "a1.b", "5-3", "a-b", "-5",
          "x.,y", "..a", "a.. .b", "(a).", "\"a,\"", "it's", "e.g.", "U.S.A.", "3.", ".3", "a\t.b", "a.\t.b",
          "a\u3000.b", "a\xa0,b", "a\x1c.b", "&amp;", "&amp;lt;", "&quot;a&quot;", "a<skipped>b", "<skip<skipped>ped>",
          "a -\nb", "a-\nb", "a\nb", "a-<skipped>\nb", "x\r.y", "٣.٤", "١-٢", "日本.語", "😀.,😀", "a\u2028.b",
          "tab\t\tend .", "end .", "  lead", "trail  "]


def test_13a_over_the_corpus_is_13a_line_by_line():
    rng = random.Random(11)
    pieces = TRICKY + ["word", "Word", "1", "22", "-", "/", "$", "%", "'", "~", "{", "}", "@", "|"]
    lines = TRICKY + ["".join(rng.choice(pieces + [" ", " ", "."]) for _ in range(rng.randint(0, 30)))
                      for _ in range(3000)]
    tokenizer = sacrebleu.BLEU().tokenizer
    memo = {}
    for chunk in (lines[:7], lines):  # the memo carries words from one call to the next
        per_word, lengths = tokenize_13a(chunk, tokenizer, memo)
        expected = [tokenizer(line).split() for line in chunk]
        assert lengths.tolist() == [len(t) for t in expected]
        assert [t for word in per_word for t in word] == [t for line in expected for t in line]


def test_13a_spacing_table_is_the_first_rule_for_every_character():
    """The first rule as a translate table: only ASCII characters match it, and exactly those in the table."""
    pattern, replacement = sacrebleu.BLEU().tokenizer._post_tokenizer._re[0]
    table = _spacing_table(pattern.pattern, replacement)
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert pattern.sub(replacement, text) == text.translate(table)
    with pytest.raises(ValueError, match="not a spaced character class"):
        _spacing_table(r"([a-z])(x)", r"\1 \2")


# -- randomised and adversarial ------------------------------------------------------------------------------

def random_line(rng, max_words):
    vocab = ["the", "cat", "sat", ".", ",", "a", "b", "1", "2.5", "-", "(", ")", "’", "é", "日本", "&amp;", "x.y",
             "3-4", "U.S.", "\t", "😀", "Σ", "İ"]
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(0, max_words)))


def random_case(rng):
    n = rng.randint(1, 30)
    max_words = rng.choice([1, 4, 12, 40])
    hyps = [random_line(rng, max_words) for _ in range(n)]
    streams = [[None if (k and rng.random() < 0.3) else random_line(rng, max_words) for _ in range(n)]
               for k in range(rng.randint(1, 4))]
    options = {"lowercase": rng.random() < 0.3, "max_ngram_order": rng.choice([1, 2, 4, 5]),
               "tokenize": rng.choice(["13a", "13a", "intl", "none", "char"])}
    return options, hyps, streams


@pytest.mark.slow
def test_randomised_cases(engine):
    rng = random.Random(20240611)
    for case in range(150):
        options, hyps, streams = random_case(rng)
        try:
            assert_same_statistics(options, hyps, streams)
        except AssertionError as e:
            raise AssertionError(f"case {case}: {options} {hyps!r} {streams!r}") from e


def test_very_long_lines_and_repeated_ngrams(engine):
    rng = random.Random(3)
    refs = [" ".join(rng.choice("ab") for _ in range(5000)), "a " * 3000, "x"]
    hyps = [" ".join(rng.choice("abc") for _ in range(4000)), "a " * 2999 + "b", "x x x x"]
    assert_same_statistics({}, hyps, [refs])
    assert_same_statistics({}, hyps, [refs, [r[::-1] for r in refs]])


def test_hypotheses_and_references_of_different_lengths_pair_as_zip(engine):
    refs = [["a b c", "d e", "f"]]
    assert_same_statistics({}, ["a b", "d"], refs)  # fewer hypotheses
    assert_same_statistics({}, ["a b", "d", "f", "extra", "more"], refs)  # more


def test_a_segment_without_references_is_sacrebleus_own_code():
    """sacreBLEU gives [0, -1, ...] for an empty hypothesis without references, and fails on any other."""
    assert_same_statistics({}, ["a b", ""], [["a b", None]])
    with pytest.raises(TypeError):
        FastBLEU()._extract_corpus_statistics(["a b", "c"], [["a b", None]])
    with pytest.raises(TypeError):
        sacrebleu.BLEU()._extract_corpus_statistics(["a b", "c"], [["a b", None]])


@pytest.mark.parametrize("compiled", [True, False])
def test_codes_that_could_overflow_fall_back_exactly(flores, monkeypatch, compiled):
    if compiled:
        pytest.importorskip("numba")
    else:
        monkeypatch.setattr(chrf_fast, "compiled_matcher", lambda: None)
    monkeypatch.setattr(FastBLEU, "_max_code", 1000)
    metric = assert_same_statistics({}, flores["opus"][:100], [flores["eng"][:100], flores["opus+bt"][:100]])
    assert metric._ref_cache.ngrams is None


def test_tokenized_period_warning_as_sacrebleu(caplog):
    hyps = ["a b ."] * 120
    with caplog.at_level(logging.WARNING, logger="sacrebleu"):
        FastBLEU()._extract_corpus_statistics(hyps, [["a b c"] * 120])
    assert any("forgot to detokenize" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sacrebleu"):
        FastBLEU(force=True)._extract_corpus_statistics(hyps, [["a b c"] * 120])
    assert not caplog.records


# -- reference sets change -------------------------------------------------------------------------------------

def test_same_object_two_reference_sets_and_changed_options(flores):
    hyps = flores["opus"][:200]
    ref_sets = [[flores["eng"][:200]], [flores["opus+bt"][:200]], [flores["eng"][:200], flores["opus+bt"][:200]]]
    expected = [sacrebleu.BLEU()._extract_corpus_statistics(hyps, refs) for refs in ref_sets]
    explicit, cached = FastBLEU(), FastBLEU()
    for _ in range(2):
        for refs, want in zip(ref_sets, expected):
            assert explicit._extract_corpus_statistics(hyps, refs) == want
            cached._ref_cache = cached._cache_references(refs)
            assert cached._extract_corpus_statistics(hyps, None) == want
    cached.lowercase = True  # prepared for mixed case: prepared again
    assert cached._extract_corpus_statistics(hyps, None) == \
        sacrebleu.BLEU(lowercase=True)._extract_corpus_statistics(hyps, ref_sets[2])


def test_sacrebleu_cache_and_missing_cache():
    hyps, refs = ["the cat sat", "a mat"], [["the cat sat on", "the mat"]]
    metric = FastBLEU()
    metric._ref_cache = sacrebleu.BLEU()._cache_references(refs)  # built by sacreBLEU's own BLEU
    assert metric._extract_corpus_statistics(hyps, None) == sacrebleu.BLEU()._extract_corpus_statistics(hyps, refs)
    assert metric.corpus_statistics(hyps).tolist() == sacrebleu.BLEU()._extract_corpus_statistics(hyps, refs)
    with pytest.raises(RuntimeError, match=re.escape("No references provided")):
        FastBLEU()._extract_corpus_statistics(hyps, None)
