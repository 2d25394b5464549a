import json

import numpy as np
import pytest
import sacrebleu
from conftest import FLORES_REF, OPUS_2020, OPUS_BT, PUBLISHED, ROOT

from harness.config import build_metric
from harness.metrics.sacrebleu_metrics import reference_streams
from harness.textio import read_lines


@pytest.fixture(scope="module")
def flores():
    refs = [(r,) for r in read_lines(FLORES_REF)]
    return refs, {"vie-eng_opus-2020-09-10": read_lines(OPUS_2020), "vie-eng_opus+bt-2021-04-30": read_lines(OPUS_BT)}


@pytest.mark.parametrize("metric", [build_metric("bleu"), build_metric("chrf"), build_metric("chrf++")], ids=["BLEU", "chrF2", "chrF2++"])
def test_published_opus_mt_figures(flores, metric):
    refs, systems = flores
    for system, hyps in systems.items():
        score = metric.corpus_score(metric.segment_statistics(hyps, refs))
        assert round(score.score, 2) == PUBLISHED[system][metric.name], system


def _eval_lines(system):
    """The OPUS-MT leaderboard's .eval file of a shipped output: signature -> the score as printed there."""
    folder = FLORES_REF.parent.parent / "outputs" / "flores200-devtest" / system
    lines = (folder / "flores200-devtest.vie-eng.eval").read_text(encoding="utf-8").splitlines()
    return dict(line.split(" = ", 1) for line in lines if "|" in line)


@pytest.mark.parametrize("system", list(PUBLISHED))
def test_the_eval_files_are_reproduced_to_their_printed_precision(flores, system):
    """Each .eval line (sacreBLEU 2.3.1: BLEU to one decimal, chrF as a 0-1 fraction to five) is reproduced with
    the same signature, bar the version. (Its tok:flores200 BLEU line needs a SentencePiece model download.)"""
    refs, systems = flores
    checked = 0
    for signature, printed in _eval_lines(system).items():
        name = signature.split("|")[0]
        if "tok:flores200" in signature:
            continue
        metric = build_metric({"BLEU": "bleu", "chrF2": "chrf", "chrF2++": "chrf++"}[name])
        ours = metric.corpus_score(metric.segment_statistics(systems[system], refs))
        value = printed.split()[0]
        if name == "BLEU":
            assert f"{ours.score:.1f}" == value and ours.details.split(" (BP")[0] in printed
        else:
            assert f"{ours.score / 100:.{len(value) - 2}f}" == value
        assert ours.signature.rsplit("|version:", 1)[0] == signature.rsplit("|version:", 1)[0]
        checked += 1
    assert checked == 3


def test_an_unverified_sacrebleu_version_falls_back_to_sacrebleus_own_extraction(flores, monkeypatch, caplog):
    import harness.metrics.sacrebleu_metrics as sm
    from harness.metrics.bleu_fast import FastBLEU
    from harness.metrics.chrf_fast import FastCHRF
    from harness.metrics.ter_fast import FastTER

    refs, systems = flores
    hyps = systems["vie-eng_opus-2020-09-10"][:200]
    names = ("bleu", "chrf", "chrf++", "ter")
    fast = {name: build_metric(name) for name in names}
    assert isinstance(fast["chrf"]._sb, FastCHRF) and isinstance(fast["ter"]._sb, FastTER)
    assert isinstance(fast["bleu"]._sb, FastBLEU) and isinstance(fast["bleu"].for_language("zh")._sb, FastBLEU)
    monkeypatch.setattr(sm, "sacrebleu_version", lambda: "2.5.1")
    sm.fast_ports_verified.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="harness.metrics.sacrebleu_metrics"):
            plain = {name: build_metric(name) for name in names}
            plain_zh = plain["bleu"].for_language("zh")
    finally:
        sm.fast_ports_verified.cache_clear()
    assert [r.getMessage().count("sacreBLEU 2.5.1 is not a version") for r in caplog.records] == [1]  # said once
    assert type(plain["chrf"]._sb) is sacrebleu.CHRF and type(plain["ter"]._sb) is sacrebleu.TER
    assert type(plain["bleu"]._sb) is sacrebleu.BLEU and type(plain_zh._sb) is sacrebleu.BLEU
    for name, metric in plain.items():
        assert metric.implementation == "sacrebleu" != fast[name].implementation  # a separate cache key
        assert metric.signature() == fast[name].signature()
        np.testing.assert_array_equal(metric.segment_statistics(hyps, refs[:200]),
                                      fast[name].segment_statistics(hyps, refs[:200]))


def test_every_fast_extraction_has_its_own_implementation_tag():
    """The statistics cache keys on these tags: each fast port has one (not sacreBLEU's), the metrics carry it."""
    from harness.metrics.sacrebleu_metrics import IMPLEMENTATION

    tags = {build_metric(name).implementation for name in ("bleu", "chrf", "chrf++", "ter")}
    assert tags == set(IMPLEMENTATION.values()) and "sacrebleu" not in tags
    assert IMPLEMENTATION["BLEU"].startswith("bleu_fast-")


def test_constraints_pin_the_verified_sacrebleu():
    from harness.metrics.sacrebleu_metrics import VERIFIED_SACREBLEU

    pins = [line.split("==")[1].strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
            if line.startswith("sacrebleu==")]
    assert pins and pins[0] in VERIFIED_SACREBLEU and sacrebleu.__version__ in VERIFIED_SACREBLEU


def test_signatures_are_sacrebleus():
    v = sacrebleu.__version__
    assert build_metric("bleu").signature() == f"BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{v}"
    assert build_metric("chrf").signature() == f"chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:{v}"
    assert build_metric("chrf++").signature(num_refs=2) == f"chrF2++|nrefs:2|case:mixed|eff:yes|nc:6|nw:2|space:no|version:{v}"
    assert build_metric("ter").signature(-1) == f"TER|nrefs:var|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:{v}"


@pytest.mark.parametrize("config, options, theirs", [
    ("bleu", {}, sacrebleu.BLEU()),
    ("bleu", {"tokenize": "intl", "lowercase": True}, sacrebleu.BLEU(tokenize="intl", lowercase=True)),
    ("chrf", {}, sacrebleu.CHRF()),
    ("chrf++", {}, sacrebleu.CHRF(word_order=2)),
    ("ter", {}, sacrebleu.TER()),
], ids=["bleu", "bleu-intl-lc", "chrf", "chrf++", "ter"])
def test_corpus_scores_identical_to_sacrebleu_api(flores, config, options, theirs):
    """The config defaults are sacreBLEU's defaults: the same numbers as sacreBLEU's own objects."""
    ours = build_metric(config, options)
    refs, systems = flores
    hyps = systems["vie-eng_opus-2020-09-10"][:300]
    expected = theirs.corpus_score(hyps, [[r[0] for r in refs[:300]]]).score
    assert ours.corpus_score(ours.segment_statistics(hyps, refs[:300])).score == expected


def test_multiple_and_variable_references_match_sacrebleu():
    hyps = ["the cat sat on the mat", "a dog barked loudly", "hello there"]
    refs = [("the cat is on the mat", "a cat sat on the mat"), ("the dog barked",), ("hello", "hi there")]
    streams = reference_streams(refs)
    assert streams[1] == ["a cat sat on the mat", None, "hi there"]
    for ours, theirs in [(build_metric("bleu"), sacrebleu.BLEU()), (build_metric("chrf++"), sacrebleu.CHRF(word_order=2)),
                         (build_metric("ter"), sacrebleu.TER())]:
        got = ours.corpus_score(ours.segment_statistics(hyps, refs), num_refs=-1)
        assert got.score == theirs.corpus_score(hyps, streams).score
        assert "nrefs:var" in got.signature


def _random_bleu_stats(rng, n, orders=4):
    hyp_len = rng.integers(0, 30, n)
    total = np.stack([np.maximum(hyp_len - k, 0) for k in range(orders)], axis=1)
    correct = np.floor(total * rng.random((n, orders)) * rng.integers(0, 2, (n, 1))).astype(int)
    ref_len = rng.integers(0, 30, n)
    return np.concatenate([hyp_len[:, None], ref_len[:, None], correct, total], axis=1).astype(float)


@pytest.mark.parametrize("kwargs", [
    {}, {"smooth_method": "floor"}, {"smooth_method": "add-k"}, {"smooth_method": "none"},
    {"effective_order": True}, {"smooth_method": "floor", "smooth_value": 0.3, "effective_order": True},
    {"max_ngram_order": 2},
])
def test_vectorised_bleu_equals_sacrebleu_formula(kwargs):
    rng = np.random.default_rng(0)
    metric = build_metric("bleu", kwargs)
    stats = _random_bleu_stats(rng, 400, metric._sb.max_ngram_order)
    # single segments (zeros, empty hypotheses, no matches) and sums over random subsets
    sums = np.stack([stats[rng.integers(0, 400, 30)].sum(0) for _ in range(100)])
    for table in (stats, sums):
        got = metric.scores_from_statistics(table)
        want = [metric._sb._compute_score_from_stats([x.item() for x in row]).score for row in table]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"word_order": 2}, {"beta": 1}, {"eps_smoothing": True},
                                    {"word_order": 2, "eps_smoothing": True}])
def test_vectorised_chrf_equals_sacrebleu_formula(flores, kwargs):
    refs, systems = flores
    metric = build_metric("chrf", kwargs)
    hyps = systems["vie-eng_opus+bt-2021-04-30"][:200]
    hyps[3] = ""  # an empty hypothesis
    stats = metric.segment_statistics(hyps, refs[:200])
    rng = np.random.default_rng(1)
    sums = np.stack([stats[rng.integers(0, 200, 50)].sum(0) for _ in range(50)])
    for table in (stats, sums):
        got = metric.scores_from_statistics(table)
        want = [metric._sb._compute_score_from_stats(list(row)).score for row in table]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_segment_scores_are_sacrebleus_sentence_scores(flores):
    refs, systems = flores
    hyps = systems["vie-eng_opus-2020-09-10"][:60]
    for metric, sentence in [(build_metric("bleu"), sacrebleu.sentence_bleu), (build_metric("chrf"), sacrebleu.sentence_chrf),
                             (build_metric("ter"), sacrebleu.sentence_ter)]:
        seg = metric.segment_scores(metric.segment_statistics(hyps, refs[:60]))
        want = [sentence(h, [r[0]]).score for h, r in zip(hyps, refs)]
        np.testing.assert_allclose(seg, want, rtol=1e-12, atol=1e-12)


def test_hand_checkable_cases():
    same = ["the quick brown fox jumps"]
    bleu, chrf, ter = build_metric("bleu"), build_metric("chrf"), build_metric("ter")
    assert bleu.corpus_score(bleu.segment_statistics(same, [tuple(same)])).score == pytest.approx(100)
    assert chrf.corpus_score(chrf.segment_statistics(same, [tuple(same)])).score == pytest.approx(100)
    assert bleu.corpus_score(bleu.segment_statistics(["xyz uvw"], [("abc def",)])).score == 0
    # "a b c" -> "a c": one deletion over a two-word reference
    stats = ter.segment_statistics(["a b c"], [("a c",)])
    assert stats.tolist() == [[1.0, 2.0]] and ter.corpus_score(stats).score == 50.0
    # empty hypothesis against a non-empty reference: no matches, every reference word an edit
    stats = ter.segment_statistics([""], [("a c",)])
    assert ter.corpus_score(stats).score == 100.0
    # BLEU statistics are [hyp_len, ref_len, matches 1-4, totals 1-4]
    assert bleu.segment_statistics(["a b c"], [("a b d",)]).tolist() == [[3, 3, 2, 1, 0, 0, 3, 2, 1, 0]]


# -- as sacreBLEU with a target language ----------------------------------------------------------------------

def test_bleu_tokenizer_follows_the_target_language_as_in_sacrebleu(tmp_path, capsys):
    """sacreBLEU with `-l xx-zh` tokenizes Chinese with its zh tokenizer: so does the harness, by test set."""
    from harness.cli import main

    refs = ["猫坐在垫子上。", "我们今天去北京。", "这是一个测试句子。"]
    hyps = ["猫坐在垫子上", "我们明天去北京。", "这是测试句子。"]
    ref, hyp = tmp_path / "ref.zh", tmp_path / "hyp.zh"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    hyp.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    expected = sacrebleu.BLEU(trg_lang="zh").corpus_score(hyps, [refs])
    assert main(["score", "-r", str(ref), str(hyp), "-m", "bleu", "--tgt-lang", "zh"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "|tok:zh|" in line and line.split(" = ")[1].startswith(f"{expected.score:.2f} ")
    assert sacrebleu.BLEU().corpus_score(hyps, [refs]).score != expected.score  # 13a would give another number
    assert main(["score", "-r", str(ref), str(hyp), "-m", "bleu", "--tgt-lang", "zh", "-tok", "13a"]) == 0
    assert "|tok:13a|" in capsys.readouterr().out  # an explicit tokenizer wins, as in sacreBLEU


def test_an_optional_tokenizer_that_is_missing_is_one_clear_error(tmp_path, capsys):
    from harness.cli import main

    pytest.importorskip("sacrebleu")
    try:
        import MeCab  # noqa: F401
        pytest.skip("mecab is installed here")
    except ImportError:
        pass
    ref = tmp_path / "ref.ja"
    ref.write_text("猫が座った。\n", encoding="utf-8")
    assert main(["score", "-r", str(ref), str(ref), "-m", "bleu", "--tgt-lang", "ja"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "sacrebleu[ja]"' in err and "Traceback" not in err


def test_lowercase_changes_bleu_only_as_sacrebleus_lc(capsys):
    from harness.cli import main

    assert main(["score", "-r", str(FLORES_REF), str(OPUS_BT), "-m", "bleu", "chrf", "-lc", "--format", "json"]) == 0
    scores = json.loads(capsys.readouterr().out)["results"][0]["scores"]
    refs, hyps = read_lines(FLORES_REF), read_lines(OPUS_BT)
    assert scores["BLEU"]["score"] == sacrebleu.BLEU(lowercase=True).corpus_score(hyps, [refs]).score
    assert scores["chrF2"]["score"] == sacrebleu.CHRF().corpus_score(hyps, [refs]).score
    assert "|case:lc|" in scores["BLEU"]["signature"] and "|case:mixed|" in scores["chrF2"]["signature"]


@pytest.mark.parametrize("code, message", [
    ("vn", "'vn' is a country code, not a language code; did you mean 'vi'?"),
    ("eng", "ISO 639-3 code; use the ISO 639-1 code 'en'"),
    ("English", "is given by name; use its ISO 639-1 code 'en'"),
])
def test_language_codes_are_checked_with_a_hint(capsys, code, message):
    from harness.cli import main

    assert main(["score", "-r", str(FLORES_REF), str(OPUS_BT), "--tgt-lang", code]) == 2
    assert message in capsys.readouterr().err


def test_unicode_normalisation_is_an_option_recorded_in_the_signature():
    """Byte-exact by default (sacreBLEU's numbers for NFD text against NFC references); NFC on request, which
    the signature says, and then the score is that of the normalised text."""
    import unicodedata

    refs = ["Hòa bình và khỏe mạnh.", "Thủy thủ đi biển."]
    hyps = [unicodedata.normalize("NFD", r) for r in refs]
    for name in ("bleu", "chrf", "ter"):
        plain, nfc = build_metric(name), build_metric(name, {"normalize_unicode": "NFC"})
        theirs = {"bleu": sacrebleu.BLEU(), "chrf": sacrebleu.CHRF(), "ter": sacrebleu.TER()}[name]
        assert plain.corpus_score(plain.segment_statistics(hyps, [(r,) for r in refs])).score == \
            theirs.corpus_score(hyps, [refs]).score
        assert nfc.corpus_score(nfc.segment_statistics(hyps, [(r,) for r in refs])).score == \
            theirs.corpus_score(refs, [refs]).score  # the normalised hypotheses are the references
        assert nfc.signature().endswith("|unicode:NFC") and "unicode" not in plain.signature()
    with pytest.raises(Exception, match="normalize_unicode must be one of"):
        build_metric("bleu", {"normalize_unicode": "nfd"})
