"""hf-seq2seq end to end on tiny models built locally with the real tokenizer classes."""

import json

import pytest

from harness.config import compose
from harness.data import build_testset
from harness.errors import ConfigError, ModelUnavailableError
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

    monkeypatch.setattr(HFSeq2Seq, "translate", boom)
    second = evaluate(compose(overrides), write=False).get("jsonl", "hf-seq2seq")
    assert second.translation.cached == 6 and second.hypotheses == first.hypotheses
    # a different decoding setting is a different signature: nothing cached
    monkeypatch.undo()
    third = evaluate(compose(overrides + ["systems.hf_seq2seq.num_beams=1"]), write=False).get("jsonl", "hf-seq2seq")
    assert third.translation.cached == 0


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
