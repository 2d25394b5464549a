"""hf-seq2seq end to end on tiny models built locally with the real tokenizer classes."""

import json

import pytest

from harness.config import compose
from harness.data import build_testset
from harness.errors import ConfigError, HarnessError, ModelUnavailableError
from harness.run import evaluate
from harness.systems.hf_seq2seq import HFSeq2Seq
from harness.testing.tiny_models import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture
def testset():
    return build_testset("tiny", "vi", "en", CORPUS[:6], [(r,) for r in CORPUS[8:14]])


@pytest.mark.parametrize("family, src_token, tgt_token", [
    ("marian", None, None),
    ("nllb", "vie_Latn", "eng_Latn"),
    ("m2m100", "__vi__", "__en__"),
    ("mbart50", "vi_VN", "en_XX"),
])
def test_language_codes_per_family(tiny_models, testset, family, src_token, tgt_token):
    system = HFSeq2Seq(family, str(tiny_models[family]), num_beams=1, max_new_tokens=4)
    system._load()
    assert system.runtime_info()["family"] == family and system.family == "auto"  # detected, not configured
    kwargs = system._language_kwargs(testset)
    tok = system._tokenizer
    if tgt_token is None:
        assert kwargs == {}
        return
    assert tok.convert_ids_to_tokens(kwargs["forced_bos_token_id"]) == tgt_token
    # the source language token is part of every encoded source
    ids = tok(testset.sources[0])["input_ids"]
    assert tok.convert_tokens_to_ids(src_token) in ids


def test_forced_target_language_starts_every_output(tiny_models, testset):
    import torch

    system = HFSeq2Seq("nllb", str(tiny_models["nllb"]), num_beams=2, max_new_tokens=5)
    system._load()
    kwargs = system._language_kwargs(testset)
    enc = system._tokenizer(testset.sources[:2], return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = system._model.generate(**enc, num_beams=2, max_new_tokens=5, **kwargs)
    assert (out[:, 1] == kwargs["forced_bos_token_id"]).all()  # position 0 is the decoder start token


def test_vinai_style_decoder_start(tiny_models, testset):
    system = HFSeq2Seq("vinai", str(tiny_models["mbart50"]), target_start="decoder_start", num_beams=1,
                       max_new_tokens=4)
    system._load()
    kwargs = system._language_kwargs(testset)
    assert list(kwargs) == ["decoder_start_token_id"]
    assert system._tokenizer.convert_ids_to_tokens(kwargs["decoder_start_token_id"]) == "en_XX"
    assert len(system.translate(testset)) == len(testset)


def test_unknown_target_language_token_is_a_config_error(tiny_models, testset):
    system = HFSeq2Seq("nllb", str(tiny_models["nllb"]), tgt_lang="xxx_Latn")
    system._load()
    with pytest.raises(ConfigError, match="no language token 'xxx_Latn'"):
        system._language_kwargs(testset)


@pytest.mark.parametrize("family", ["marian", "nllb", "m2m100"])
def test_end_to_end_load_translate_score_results(tiny_models, tmp_path, results_env, family):
    """The same code path as a hub id: config -> from_pretrained -> translate -> score -> results files."""
    model = str(tiny_models[family])
    cfg = compose(["testset=[jsonl]", "system=[hf_seq2seq]", "metric=[bleu,chrf]",
                   f"testsets.jsonl.path={_jsonl(tmp_path)}", f"systems.hf_seq2seq.model={model}",
                   "systems.hf_seq2seq.num_beams=2", "systems.hf_seq2seq.max_new_tokens=8",
                   "systems.hf_seq2seq.batch_size=4", f"systems.hf_seq2seq.name=tiny-{family}"])
    run = evaluate(cfg, output_dir=tmp_path / "out")
    r = run.get("jsonl", f"tiny-{family}")
    assert r.ok and len(r.hypotheses) == 6
    assert set(r.scores) == {"BLEU", "chrF2"}
    scores = json.loads((tmp_path / "out" / "scores.json").read_text(encoding="utf-8"))
    sys_info = scores["systems"][f"tiny-{family}"]
    assert sys_info["runtime"]["family"] == family and sys_info["runtime"]["device"] == "cpu"
    assert sys_info["signature"]["model"] == model
    hyps = (tmp_path / "out" / "hyps" / "jsonl" / f"tiny-{family}.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert hyps == r.hypotheses


def _jsonl(tmp_path):
    p = tmp_path / "tiny.jsonl"
    p.write_text("\n".join(json.dumps({"src": s, "ref": r}, ensure_ascii=False)
                           for s, r in zip(CORPUS[:6], CORPUS[8:14])) + "\n", encoding="utf-8")
    return p


def test_translation_cache_skips_the_model_on_a_second_run(tiny_models, tmp_path, results_env, monkeypatch):
    overrides = ["testset=[jsonl]", "system=[hf_seq2seq]", "metric=[bleu]", f"testsets.jsonl.path={_jsonl(tmp_path)}",
                 f"systems.hf_seq2seq.model={tiny_models['marian']}", "systems.hf_seq2seq.max_new_tokens=6"]
    first = evaluate(compose(overrides), write=False).get("jsonl", "hf-seq2seq")
    assert first.translation.cached == 0

    def boom(self, testset):
        raise AssertionError("the model was called although every translation is cached")

    monkeypatch.setattr(HFSeq2Seq, "translate_batches", boom)
    second = evaluate(compose(overrides), write=False).get("jsonl", "hf-seq2seq")
    assert second.translation.cached == 6 and second.hypotheses == first.hypotheses
    # a different decoding setting is a different signature: nothing cached
    monkeypatch.undo()
    third = evaluate(compose(overrides + ["systems.hf_seq2seq.num_beams=1"]), write=False).get("jsonl", "hf-seq2seq")
    assert third.translation.cached == 0


def test_default_experiment_with_a_local_model_translates_nothing_the_second_time(tiny_models, tmp_path, results_env,
                                                                                 monkeypatch):
    """Two test sets (FLORES and the seed article), two runs: the second makes zero model calls, and the system's
    signature in scores.json is the same in both (detected facts such as the model family are runtime info)."""
    import transformers

    overrides = ["system=[opus_mt_vi_en]", "metric=[bleu]", f"systems.opus_mt_vi_en.model={tiny_models['marian']}",
                 "systems.opus_mt_vi_en.max_new_tokens=3", "systems.opus_mt_vi_en.num_beams=1",
                 "systems.opus_mt_vi_en.batch_size=64", "significance.test=none"]
    generate = transformers.GenerationMixin.generate
    calls = []
    monkeypatch.setattr(transformers.GenerationMixin, "generate",
                        lambda self, *a, **kw: calls.append(1) or generate(self, *a, **kw))
    docs = []
    for attempt in ("first", "second"):
        calls.clear()
        run = evaluate(compose(overrides), output_dir=tmp_path / attempt)
        docs.append(json.loads((tmp_path / attempt / "scores.json").read_text(encoding="utf-8")))
        by_testset = {r.testset: r for r in run.results}
        assert set(by_testset) == {"flores200_devtest", "seed_article"} and all(r.ok for r in run.results)
        if attempt == "first":
            assert calls and all(r.translation.cached == 0 for r in run.results)
        else:
            assert calls == []
            assert [r.translation.cached for r in run.results] == [1012, 52]
    assert docs[0]["systems"]["opus-mt-vi-en"]["signature"] == docs[1]["systems"]["opus-mt-vi-en"]["signature"]
    assert docs[0]["systems"]["opus-mt-vi-en"]["signature"]["family"] == "auto"
    assert docs[0]["systems"]["opus-mt-vi-en"]["runtime"]["family"] == "marian"
    assert [r["cached_translations"] for r in docs[1]["results"]] == [1012, 52]


def test_translations_reach_the_cache_batch_by_batch(tiny_models, testset, tmp_path):
    """An interrupted translation keeps every finished batch: the re-run translates only the rest."""
    from harness.cache import TRANSLATIONS, Cache
    from harness.run import translate_testset

    system = HFSeq2Seq("tiny", str(tiny_models["marian"]), num_beams=1, max_new_tokens=3, batch_size=2)
    cache = Cache(tmp_path / "cache.sqlite")
    batches = system.translate_batches
    seen = []

    def interrupted(ts):
        for batch in batches(ts):
            seen.append(len(batch.indices))
            yield batch
            if len(seen) == 2:
                raise KeyboardInterrupt

    system.translate_batches = interrupted
    with pytest.raises(KeyboardInterrupt):
        translate_testset(system, testset, cache)
    assert cache.count(TRANSLATIONS) == 4
    del system.translate_batches
    result = translate_testset(system, testset, cache)
    assert (result.translation.cached, result.translation.translated) == (4, 2)
    assert result.hypotheses == system.translate(testset)
    cache.close()


def test_hub_model_offline_error_names_model_and_config_key(testset):
    system = HFSeq2Seq("opus", "Helsinki-NLP/opus-mt-vi-en")
    system.config_key = "systems.opus_mt_vi_en"
    with pytest.raises(ModelUnavailableError) as e:
        system.translate(testset)
    msg = str(e.value)
    assert "'Helsinki-NLP/opus-mt-vi-en'" in msg and "HF_HUB_OFFLINE=1" in msg
    assert "systems.opus_mt_vi_en.model=/models/opus-mt-vi-en" in msg


def test_missing_local_folder_is_reported_as_such(testset, tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        HFSeq2Seq("x", str(tmp_path / "no-such-model")).translate(testset)


def test_an_input_longer_than_the_models_positions_is_cut_and_counted(tiny_models, tmp_path):
    """The tiny Marian has 256 positions; max_input_tokens=512 would make generate() raise IndexError."""
    long_source = " ".join(CORPUS[:8]) * 4
    ts = build_testset("long", "vi", "en", [long_source, CORPUS[0]], [("x",), ("y",)])
    system = HFSeq2Seq("tiny", str(tiny_models["marian"]), num_beams=1, max_new_tokens=3, max_input_tokens=512)
    assert len(system.translate(ts)) == 2
    info = system.runtime_info()
    assert info["max_input_tokens"] == 256 and info["truncated_inputs"] == 1


def test_any_exception_in_one_system_makes_it_not_run_and_the_rest_completes(tiny_models, tmp_path, results_env,
                                                                          monkeypatch, caplog):
    def explode(self, testset):
        raise IndexError("index out of range in self")
        yield  # a generator, as translate_batches is

    monkeypatch.setattr(HFSeq2Seq, "translate_batches", explode)
    overrides = ["testset=[seed_article]", "system=[copy_source,hf_seq2seq]", "metric=[bleu]",
                 f"systems.hf_seq2seq.model={tiny_models['marian']}"]
    with caplog.at_level("ERROR", logger="harness.runlog"):
        run = evaluate(compose(overrides), output_dir=tmp_path / "out")
    failed = run.get("seed_article", "hf-seq2seq")
    assert not failed.ok and failed.reason == "IndexError while translating: index out of range in self"
    assert run.get("seed_article", "copy-source").ok
    record = next(r for r in caplog.records if r.name == "harness.runlog")
    assert record.exc_info and record.exc_info[0] is IndexError  # the traceback goes to run.log
    assert "not run [1]" in (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    with pytest.raises(HarnessError, match="strict=true.*IndexError"):
        evaluate(compose(overrides + ["strict=true"]), write=False)
