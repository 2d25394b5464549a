"""The fast TER port gives exactly sacreBLEU's edits (harness/metrics/ter_fast.py)."""

import pickle
import random

import pytest
import sacrebleu
from conftest import FLORES_REF, OPUS_2020, OPUS_BT
from sacrebleu.metrics.lib_ter import translation_edit_rate as sacrebleu_ter

from harness.config import build_metric
from harness.metrics.ter_fast import FastTER, translation_edit_rate
from harness.textio import read_lines


def assert_same_edits(pairs):
    expected = [sacrebleu_ter(h, r) for h, r in pairs]
    got = [translation_edit_rate(h, r) for h, r in pairs]
    mismatches = [(pairs[i], e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not mismatches, mismatches[:3]


def scrambled(words, rng, moves):
    """`words` with `moves` random phrase moves: the inputs TER's shift search exists for."""
    words = list(words)
    for _ in range(moves):
        i, j, length = rng.randrange(len(words) + 1), rng.randrange(len(words) + 1), rng.randint(1, 5)
        phrase = words[i:i + length]
        del words[i:i + length]
        words[j:j] = phrase
    return words


def test_opus_outputs_identical_edits():
    refs = read_lines(FLORES_REF)
    pairs = [(h.split(), r.split()) for path in (OPUS_2020, OPUS_BT)
             for h, r in list(zip(read_lines(path), refs))[:250]]
    assert_same_edits(pairs)


@pytest.mark.parametrize("vocab", [2, 4, 12, 50])
def test_random_small_vocabularies_with_moved_phrases(vocab):
    # Small vocabularies make many equal words, hence many shift candidates and ties in their ranking.
    rng = random.Random(vocab)
    pairs = []
    for _ in range(150):
        ref = [str(rng.randrange(vocab)) for _ in range(rng.randint(1, 30))]
        if rng.random() < 0.6:
            hyp = scrambled(ref, rng, rng.randint(1, 6))
        else:
            hyp = [str(rng.randrange(vocab)) for _ in range(rng.randint(1, 30))]
        pairs.append((hyp, ref))
    assert_same_edits(pairs)


def test_long_segments_reach_the_candidate_limit_and_the_wide_beam():
    # Long, heavily scrambled segments hit sacreBLEU's limit of 1000 shift candidates; very unequal lengths
    # widen the beam (length ratio / 2 > 25).
    rng = random.Random(7)
    pairs = []
    for _ in range(4):
        ref = [str(rng.randrange(30)) for _ in range(rng.randint(80, 120))]
        pairs.append((scrambled(ref, rng, 12), ref))
    pairs.append((["a", "b"], ["a", "b", "c"] * 40))
    pairs.append((["x"] * 3, [str(i % 7) for i in range(150)]))
    assert_same_edits(pairs)


def test_empty_sides():
    assert translation_edit_rate([], ["a", "b"]) == sacrebleu_ter([], ["a", "b"]) == (2, 2)
    assert translation_edit_rate(["a"], []) == sacrebleu_ter(["a"], []) == (1, 0)
    assert translation_edit_rate([], []) == sacrebleu_ter([], [])


def test_a_moved_phrase_costs_one_shift():
    ref = "the cat sat on the mat today".split()
    hyp = "today the cat sat on the mat".split()
    assert translation_edit_rate(hyp, ref) == (1, 7)  # one shift, no other edit


@pytest.mark.parametrize("options", [{}, {"normalized": True}, {"no_punct": True}, {"case_sensitive": True},
                                     {"asian_support": True}], ids=lambda o: ",".join(o) or "default")
def test_metric_object_matches_sacrebleu_with_two_references(options):
    refs = read_lines(FLORES_REF)[:120]
    hyps = read_lines(OPUS_BT)[:120]
    other = read_lines(OPUS_2020)[:120]  # a second "reference": TER keeps the best one per segment
    sacre, fast = sacrebleu.metrics.TER(**options), FastTER(**options)
    expected = sacre.corpus_score(hyps, [refs, other])
    got = fast.corpus_score(hyps, [refs, other])
    assert (got.score, got.num_edits, got.ref_length) == (expected.score, expected.num_edits, expected.ref_length)
    assert fast.get_signature().format() == sacre.get_signature().format()


def test_harness_ter_uses_the_fast_port_and_pickles_without_references():
    metric = build_metric("ter")
    refs = [(r,) for r in read_lines(FLORES_REF)[:50]]
    hyps = read_lines(OPUS_BT)[:50]
    stats = metric.segment_statistics(hyps, refs)
    assert isinstance(metric._sb, FastTER)
    clone = pickle.loads(pickle.dumps(metric))  # what worker processes receive
    assert clone._sb._ref_cache is None and metric._sb._ref_cache is not None
    assert (clone.segment_statistics(hyps, refs) == stats).all()
    expected = sacrebleu.metrics.TER().corpus_score(hyps, [[r for (r,) in refs]])
    assert metric.corpus_score(stats).score == expected.score
