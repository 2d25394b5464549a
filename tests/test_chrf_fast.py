"""FastCHRF gives exactly sacreBLEU's chrF/chrF++ segment statistics (harness/metrics/chrf_fast.py), with the
compiled n-gram matcher (numba) and with the numpy engine used where numba is not installed."""

import random

import numpy as np
import pytest
import sacrebleu
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT, assert_port_agrees

import harness.metrics.chrf_fast as chrf_fast
from harness.config import build_metric
from harness.metrics.chrf_fast import FastCHRF, _PreparedReferences
from harness.textio import read_lines


OPTION_NAMES = ("char_order", "word_order", "beta", "lowercase", "whitespace", "eps_smoothing")


def assert_same_statistics(options, hyps, streams):
    """sacreBLEU's statistics == FastCHRF's, with references passed in and with a prepared cache."""
    cached, expected = assert_port_agrees(sacrebleu.CHRF(**options), FastCHRF, _PreparedReferences, options, hyps,
                                          streams)
    width = 3 * (cached.char_order + cached.word_order)
    if all(len(row) == width for row in expected):  # the array form, where every segment has a reference
        array = cached.corpus_statistics(hyps)
        assert array.dtype == np.int64 and array.tolist() == [list(row) for row in expected]
    elif width:
        with pytest.raises(ValueError, match="has no reference"):
            cached.corpus_statistics(hyps)
    return cached


@pytest.fixture(scope="module")
def flores():
    return {"eng": read_lines(FLORES_REF), "vie": read_lines(FLORES_SRC),
            "opus": read_lines(OPUS_2020), "opus+bt": read_lines(OPUS_BT)}


# -- real data -------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("word_order", [0, 2], ids=["chrF", "chrF++"])
def test_flores_systems_identical(flores, word_order, engine):
    for system in ("opus", "opus+bt"):
        assert_same_statistics({"word_order": word_order}, flores[system], [flores["eng"]])


@pytest.mark.parametrize("options", [
    {"lowercase": True, "word_order": 2},
    {"whitespace": True},
    {"whitespace": True, "word_order": 2, "lowercase": True},
    {"beta": 1, "word_order": 2},
    {"eps_smoothing": True, "word_order": 2},
    {"char_order": 4, "word_order": 1},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_vietnamese_references_large_alphabet(flores, options, engine):
    # Vietnamese references (many accented letters) against English hypotheses: few matches, many unseen.
    assert_same_statistics(options, flores["opus"][:600], [flores["vie"][:600]])


def test_flores_two_references_choose_as_sacrebleu(flores, engine):
    hyps = flores["opus"][:400]
    streams = [flores["eng"][:400], flores["opus+bt"][:400]]
    assert_same_statistics({"word_order": 2}, hyps, streams)


def test_through_the_harness_metric(flores):
    """The harness' chrF++ (built from its config) assigns `_ref_cache` and calls `_extract_corpus_statistics(hyps,
    None)`: the statistics are sacreBLEU's own CHRF's, for two systems sharing one prepared reference set."""
    refs = [(r,) for r in flores["eng"][:300]]
    harness_chrf = build_metric("chrf++")
    for system in ("opus", "opus+bt"):
        hyps = flores[system][:300]
        expected = sacrebleu.CHRF(word_order=2)._extract_corpus_statistics(hyps, [[r for (r,) in refs]])
        np.testing.assert_array_equal(harness_chrf.segment_statistics(hyps, refs), np.array(expected, dtype=float))
    assert isinstance(harness_chrf._sb, FastCHRF) and isinstance(harness_chrf._sb._ref_cache, _PreparedReferences)


def test_sacrebleu_api_and_signature(flores):
    hyps, refs = flores["opus"][:200], [flores["eng"][:200]]
    for options in ({}, {"word_order": 2, "lowercase": True}):
        fast, sacre = FastCHRF(**options), sacrebleu.CHRF(**options)
        assert fast.corpus_score(hyps, refs).score == sacre.corpus_score(hyps, refs).score
        assert str(fast.get_signature()) == str(sacre.get_signature())
        assert fast.sentence_score(hyps[0], [refs[0][0]]).score == sacre.sentence_score(hyps[0], [refs[0][0]]).score
    prepared = FastCHRF(references=refs)
    assert prepared.corpus_score(hyps, None).score == sacrebleu.CHRF().corpus_score(hyps, refs).score


# -- randomised ------------------------------------------------------------------------------------------------

ALPHABETS = {
    "tiny": "aab ",
    "punctuation": "ab c.,()!\"'-?:;x ",
    "whitespace": " \t\u3000\xa0\u2003a",
    "cjk-emoji": "你好世界中文字 😀🎉👍é\u0301İßΣς\udcff ",  # "İ".lower() has 2 characters; a lone surrogate
    "latin": "the quick brown fox jumps over lazy dog THE. ,",
}


def random_text(rng, alphabet, max_len):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))


def random_case(rng):
    alphabet = ALPHABETS[rng.choice(sorted(ALPHABETS))]
    n = rng.randint(0, 25)
    max_len = rng.choice([1, 3, 12, 40])
    special = ["", " ", "  \t ", "a", ".", "(a)", "a.", ".a", "😀"]

    def text():
        return rng.choice(special) if rng.random() < 0.15 else random_text(rng, alphabet, max_len)

    hyps = [text() for _ in range(n)]
    streams = [[None if (k and rng.random() < 0.3) else text() for _ in range(n)] for k in range(rng.randint(1, 3))]
    if n and rng.random() < 0.3:  # gaps anywhere, even a segment without any reference
        streams[0][rng.randrange(n)] = None
        if rng.random() < 0.5:
            for stream in streams:
                stream[0] = None
    options = {"char_order": rng.choice([1, 2, 3, 6]), "word_order": rng.choice([0, 1, 2, 3]),
               "beta": rng.choice([1, 2, 3]), "lowercase": rng.random() < 0.5,
               "whitespace": rng.random() < 0.3, "eps_smoothing": rng.random() < 0.3}
    return options, hyps, streams


def test_randomised_cases(engine):
    rng = random.Random(20240611)
    for case in range(150):
        options, hyps, streams = random_case(rng)
        if not hyps:
            # sacreBLEU needs a non-empty hypothesis list only in its argument checks; statistics are [].
            assert FastCHRF(**options)._extract_corpus_statistics(hyps, [["x"]]) == []
            continue
        try:
            assert_same_statistics(options, hyps, streams)
        except AssertionError as e:
            raise AssertionError(f"case {case}: {options} {hyps!r} {streams!r}") from e


def test_hypotheses_and_references_of_different_lengths_pair_as_zip(engine):
    refs = [["a b c", "d e", "f"]]
    assert_same_statistics({"word_order": 2}, ["a b", "d"], refs)  # fewer hypotheses
    assert_same_statistics({"word_order": 2}, ["a b", "d", "f", "extra", "more"], refs)  # more
    assert_same_statistics({}, ["a b", "d", "f"], [["a", "b", "c"], ["x", None]])  # a shorter stream


def test_segment_without_references_gets_empty_statistics(engine):
    stats = assert_same_statistics({}, ["abc", "abd"], [[None, "abd"], [None, "ab"]])._extract_corpus_statistics(
        ["abc", "abd"], None)
    assert stats[0] == []


def test_large_alphabet_needs_no_fallback(engine):
    rng = random.Random(7)
    cjk = [chr(c) for c in range(0x4E00, 0x4E00 + 20000)]
    refs = ["".join(rng.choice(cjk) for _ in range(rng.randint(0, 80))) for _ in range(300)]
    hyps = [r[: len(r) // 2] + "".join(rng.choice(cjk) for _ in range(10)) for r in refs]
    metric = assert_same_statistics({"word_order": 2}, hyps, [refs])
    assert metric._ref_cache.usable  # codes stay small: per-segment ranks times the alphabet


@pytest.mark.parametrize("fitting_orders", [0, 2])
def test_forced_overflow_falls_back_exactly(flores, monkeypatch, fitting_orders):
    """Codes that could exceed the limit: sacreBLEU's own per-segment code answers, exactly (numpy engine)."""
    monkeypatch.setattr(chrf_fast, "compiled_matcher", lambda: None)
    hyps, refs = flores["opus"][:50], [flores["eng"][:50], flores["opus+bt"][:50]]
    probe = FastCHRF()._cache_references(refs)
    ids_per_order = [50] + [len(t.codes) for t in probe.slots[0].chars.ngrams.tables]  # order 0: one per segment
    # Lower the limit so that the first `fitting_orders` character orders fit and the next one does not.
    monkeypatch.setattr(FastCHRF, "_max_code", ids_per_order[fitting_orders] * probe.n_char_ids - 2)
    for options in ({}, {"word_order": 2, "lowercase": True}):
        metric = assert_same_statistics(options, hyps, refs)
        assert not metric._ref_cache.usable

    monkeypatch.setattr(FastCHRF, "_max_code", 10)
    rng = random.Random(3)
    for _ in range(20):
        options, hyps, streams = random_case(rng)
        if hyps:
            assert_same_statistics(options, hyps, streams)


def test_compiled_matcher_beyond_its_code_bound_falls_back_exactly(flores, monkeypatch):
    """The compiled matcher's keys stay below 4 x (symbols of a segment) x alphabet: past `_max_code`, sacreBLEU's
    own code answers, exactly."""
    pytest.importorskip("numba")
    hyps, refs = flores["opus"][:50], [flores["eng"][:50]]
    probe = FastCHRF()._cache_references(refs)
    longest = max(len("".join(r.split())) for r in refs[0])
    assert probe.usable and probe.slots[0].chars.ngrams.kernel is not None
    monkeypatch.setattr(FastCHRF, "_max_code", 4 * longest * probe.n_char_ids - 2)
    metric = assert_same_statistics({}, hyps, refs)
    assert not metric._ref_cache.usable


def test_the_kernel_in_plain_python_gives_the_compiled_counts():
    """`_match_kernel` is plain Python until numba compiles it: both give the same counts (three references
    per segment, unseen symbols, empty pieces and segments)."""
    rng = np.random.default_rng(5)
    n, alphabet = 40, 6
    piece_lengths = rng.integers(0, 12, 3 * n)
    piece_segments = np.repeat(np.arange(n), 3)
    symbols = rng.integers(0, alphabet - 1, int(piece_lengths.sum()))  # id alphabet - 1: unseen
    hyp_lengths = rng.integers(0, 12, n)
    hyp_symbols = rng.integers(0, alphabet, int(hyp_lengths.sum()))
    refs = chrf_fast.ReferenceNgrams(symbols, piece_lengths, piece_segments, n, alphabet, 4)
    bounds = np.concatenate([[0], np.cumsum(piece_lengths)])
    segment_pieces, hyp_bounds = np.arange(0, 3 * n + 1, 3), np.concatenate([[0], np.cumsum(hyp_lengths)])
    plain = np.zeros((n, 4), dtype=np.int64)
    with np.errstate(over="ignore"):  # the hash multiplies wrap around, as they do compiled
        chrf_fast._match_kernel(symbols, bounds, segment_pieces, hyp_symbols, hyp_bounds, alphabet, 4, plain)
    refs.tables = chrf_fast._reference_tables(symbols, piece_lengths, piece_segments, n, alphabet, 4, 2 ** 62)
    assert (chrf_fast.ngram_matches(refs, hyp_symbols, hyp_lengths) == plain).all()  # the numpy engine
    # by hand: the largest count in one piece, not the sum over pieces
    for s in range(n):
        hyp = hyp_symbols[hyp_bounds[s]:hyp_bounds[s + 1]].tolist()
        pieces = [symbols[bounds[k]:bounds[k + 1]].tolist() for k in range(3 * s, 3 * s + 3)]
        for order in range(1, 5):
            grams = lambda xs: [tuple(xs[i:i + order]) for i in range(len(xs) - order + 1)]  # noqa: E731
            want = sum(min(grams(hyp).count(g), max(grams(p).count(g) for p in pieces)) for g in set(grams(hyp)))
            assert plain[s, order - 1] == want
    if chrf_fast.compiled_matcher() is not None:
        compiled = np.zeros((n, 4), dtype=np.int64)
        chrf_fast.compiled_matcher()(symbols, bounds, segment_pieces, hyp_symbols, hyp_bounds, alphabet, 4, compiled)
        assert (compiled == plain).all()


# -- reference sets change -------------------------------------------------------------------------------------

def test_same_object_two_reference_sets(flores, engine):
    hyps = flores["opus"][:200]
    ref_sets = [[flores["eng"][:200]], [flores["opus+bt"][:200]], [flores["eng"][:200], flores["opus+bt"][:200]]]
    expected = [sacrebleu.CHRF(word_order=2)._extract_corpus_statistics(hyps, refs) for refs in ref_sets]

    explicit = FastCHRF(word_order=2)
    cached = FastCHRF(word_order=2)
    for _ in range(2):
        for refs, want in zip(ref_sets, expected):
            assert explicit._extract_corpus_statistics(hyps, refs) == want
            cached._ref_cache = cached._cache_references(refs)
            assert cached._extract_corpus_statistics(hyps, None) == want
    assert expected[0] != expected[1]


def test_options_changed_after_preparing_are_honoured():
    hyps, refs = ["The Cat sat", "A mat"], [["the cat sat on", "a Mat"]]
    metric = FastCHRF(word_order=2, references=refs)
    metric.lowercase = True
    assert metric._extract_corpus_statistics(hyps, None) == \
        sacrebleu.CHRF(word_order=2, lowercase=True)._extract_corpus_statistics(hyps, refs)


def test_sacrebleu_cache_and_missing_cache():
    hyps, refs = ["the cat sat", "a mat"], [["the cat sat on", "the mat"]]
    metric = FastCHRF()
    metric._ref_cache = sacrebleu.CHRF()._cache_references(refs)  # built by sacreBLEU's own CHRF
    assert metric._extract_corpus_statistics(hyps, None) == sacrebleu.CHRF()._extract_corpus_statistics(hyps, refs)
    with pytest.raises(RuntimeError):
        FastCHRF()._extract_corpus_statistics(hyps, None)
    empty = FastCHRF()
    empty._ref_cache = empty._cache_references([[]])  # no segments: an empty cache, as sacreBLEU's []
    with pytest.raises(RuntimeError):
        empty._extract_corpus_statistics(hyps, None)
