"""hf-causal on a tiny chat model built locally (real tokenizer, chat template, `from_pretrained`), and the
prompt configs it shares with openai-api."""

import json
import shutil

import pytest

from harness.data import build_testset
from harness.errors import ConfigError, ModelUnavailableError, UnknownNameError
from harness.systems.hf_causal import HFCausal
from harness.systems.llm_prompt import load_prompt, prompt_names
from harness.testing.tiny_models import CORPUS

SOURCES, REFERENCES = CORPUS[:6], CORPUS[8:14]


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory, torch_single_thread):
    """The tiny chat model and the same model without a chat template, built once per session."""
    from harness.testing.tiny_causal import build_causal

    root = tmp_path_factory.mktemp("tiny_causal")
    return {"chat": build_causal(root / "chat"), "base": build_causal(root / "base", chat_template=False)}


@pytest.fixture
def testset():
    return build_testset("tiny", "vi", "en", SOURCES, [(r,) for r in REFERENCES])


# --- prompts (no model) ------------------------------------------------------------------------------------

def test_shipped_prompts_load_and_name_the_languages():
    assert {"instruction", "tower", "translation_only"} <= set(prompt_names())
    for name in prompt_names():
        messages = load_prompt(name).chat_messages("Xin chào.", "vi", "en")
        assert messages[-1]["role"] == "user" and "Xin chào." in messages[-1]["content"]
        text = json.dumps(messages, ensure_ascii=False)
        assert "{" + "tgt_lang}" not in text and "English" in text  # placeholders filled with language names


def test_tower_prompt_has_towers_shape():
    messages = load_prompt("tower").chat_messages("Xin chào.", "vi", "en")
    assert messages == [{"role": "user", "content": "Translate the following text from Vietnamese into English.\n"
                                                    "Vietnamese: Xin chào.\nEnglish:"}]


def test_unknown_prompt_name_says_did_you_mean():
    with pytest.raises(UnknownNameError, match=r"unknown prompt 'instructions'\. Did you mean 'instruction'"):
        load_prompt("instructions")


@pytest.mark.parametrize("fields, message", [
    ({"user_template": "Translate: {src}"}, r"unknown placeholder\(s\) \{src\}"),
    ({"user_template": "Translate into {tgt_lang}."}, r"no \{source\} placeholder"),
    ({"user_template": "{source}", "sytem_message": "x"}, r"Did you mean 'system_message'"),
    ({"system_message": "Be terse."}, "no user_template"),
    ({"user_template": "{source}", "few_shot": "/no/such/file.jsonl"}, "no file /no/such/file.jsonl"),
])
def test_bad_prompt_fields_are_config_errors_naming_the_key(fields, message):
    with pytest.raises(ConfigError, match=message) as e:
        load_prompt(fields, "systems.qwen.prompt")
    assert "systems.qwen.prompt" in str(e.value)


def test_few_shot_examples_become_earlier_turns_from_jsonl_or_tsv(tmp_path):
    jsonl = tmp_path / "shots.jsonl"
    jsonl.write_text("\n".join(json.dumps({"src": s, "ref": r}, ensure_ascii=False)
                               for s, r in zip(CORPUS[:3], CORPUS[8:11])) + "\n", encoding="utf-8")
    tsv = tmp_path / "shots.tsv"
    tsv.write_text("".join(f"{s}\t{r}\n" for s, r in zip(CORPUS[:3], CORPUS[8:11])), encoding="utf-8")
    template = {"system_message": "You translate {src_lang}.", "user_template": "{source}", "few_shot_count": 2}
    from_jsonl = load_prompt({**template, "few_shot": str(jsonl)})
    from_tsv = load_prompt({**template, "few_shot": str(tsv)})
    assert from_jsonl.fingerprint() == from_tsv.fingerprint()  # same examples, whatever the file format
    messages = from_jsonl.chat_messages("Xin chào.", "vi", "en")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == "You translate Vietnamese."
    assert messages[1:5] == [{"role": "user", "content": CORPUS[0]}, {"role": "assistant", "content": CORPUS[8]},
                             {"role": "user", "content": CORPUS[1]}, {"role": "assistant", "content": CORPUS[9]}]
    # the plain prompt shows the examples in the plain template, each followed by its reference
    assert from_jsonl.plain_text("Xin chào.", "vi", "en") == (
        f"You translate Vietnamese.\n\nVietnamese: {CORPUS[0]}\nEnglish: {CORPUS[8]}\n\n"
        f"Vietnamese: {CORPUS[1]}\nEnglish: {CORPUS[9]}\n\nVietnamese: Xin chào.\nEnglish:")
    # editing an example changes the fingerprint (and so the cache key)
    jsonl.write_text(json.dumps({"src": CORPUS[0], "ref": "edited"}) + "\n", encoding="utf-8")
    assert load_prompt({**template, "few_shot": str(jsonl)}).fingerprint() != from_tsv.fingerprint()


def test_cacheable_only_when_deterministic():
    assert HFCausal("a", "org/m").cacheable is True
    assert HFCausal("a", "org/m", do_sample=True, temperature=0.7).cacheable is False
    assert HFCausal("a", "org/m", do_sample=True, temperature=0.7, seed=1).cacheable is True


def test_signature_has_model_prompt_hash_and_decoding():
    sig = HFCausal("a", "org/m", revision="abc").signature()
    assert sig["model"] == "org/m" and sig["revision"] == "abc"
    assert sig["prompt"]["sha256"] == load_prompt("instruction").fingerprint()[:16]
    assert sig["decoding"] == {"do_sample": False, "max_new_tokens": 512}
    assert HFCausal("a", "org/m", revision="abc", prompt="tower").signature()["prompt"] != sig["prompt"]
    assert HFCausal("a", "org/m", revision="abc", max_new_tokens=64).signature() != sig


def test_trust_remote_code_is_off_unless_configured(monkeypatch, testset):
    seen = []

    def fake_load(load, name, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        raise ModelUnavailableError("stop here")

    monkeypatch.setattr("harness.systems.hf_base.load_pretrained", fake_load)  # every transformers backend loads there
    for setting in (False, True):
        with pytest.raises(ModelUnavailableError):
            list(HFCausal("a", "org/m", trust_remote_code=setting).translate_batches(testset))
    assert seen == [False, True]


def test_hub_model_offline_error_names_model_and_config_key(testset):
    system = HFCausal("qwen", "Qwen/Qwen2.5-7B-Instruct")
    system.config_key = "systems.qwen2_5_7b_instruct"
    with pytest.raises(ModelUnavailableError) as e:
        system.translate(testset)
    assert "'Qwen/Qwen2.5-7B-Instruct'" in str(e.value)
    assert "systems.qwen2_5_7b_instruct.model=/models/Qwen2.5-7B-Instruct" in str(e.value)


# --- the tiny model ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_prompt_goes_through_the_chat_template(tiny_causal):
    from transformers import AutoTokenizer

    system = HFCausal("tiny", str(tiny_causal["chat"]), max_new_tokens=4)
    text = system.prompt_text(SOURCES[0], "vi", "en")
    tok = AutoTokenizer.from_pretrained(str(tiny_causal["chat"]))
    expected = tok.apply_chat_template(load_prompt("instruction").chat_messages(SOURCES[0], "vi", "en"),
                                       tokenize=False, add_generation_prompt=True)
    assert text == expected
    assert text.startswith("<|im_start|>system\nYou are a professional translator.<|im_end|>\n<|im_start|>user\n")
    assert "Vietnamese text into English" in text and SOURCES[0] in text
    assert text.endswith("<|im_start|>assistant\n")  # the generation prompt
    assert system.runtime_info()["chat_template"] is True


@pytest.mark.slow
def test_model_without_chat_template_gets_the_plain_template(tiny_causal):
    system = HFCausal("tiny", str(tiny_causal["base"]), max_new_tokens=4)
    assert system.prompt_text(SOURCES[0], "vi", "en") == (
        f"You are a professional translator.\n\nVietnamese: {SOURCES[0]}\nEnglish:")
    assert system.runtime_info()["chat_template"] is False
    with pytest.raises(ConfigError, match="has no chat template"):
        HFCausal("tiny", str(tiny_causal["base"]), use_chat_template=True).prompt_text("x", "vi", "en")


@pytest.mark.slow
def test_left_padded_batches_give_the_same_greedy_answers_as_one_at_a_time(tiny_causal, testset):
    def answers(batch_size):
        system = HFCausal("tiny", str(tiny_causal["chat"]), max_new_tokens=6, batch_size=batch_size)
        batches = list(system.translate_batches(testset))
        raw = [None] * len(testset)
        for b in batches:
            for i, d in zip(b.indices, b.details):
                raw[i] = d["raw"]
        return batches, raw

    batched, raw_batched = answers(4)
    _, raw_single = answers(1)
    # with right padding (or no attention mask) the shorter prompts of a batch would continue differently
    assert raw_batched == raw_single
    # batches are formed by token count, longest first
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_causal["chat"]))
    system = HFCausal("tiny", str(tiny_causal["chat"]))
    lengths = [len(tok(system.prompt_text(s, "vi", "en"), add_special_tokens=False)["input_ids"]) for s in SOURCES]
    assert [b.indices for b in batched] == [sorted(range(6), key=lambda i: -lengths[i])[:4],
                                            sorted(range(6), key=lambda i: -lengths[i])[4:]]


@pytest.mark.slow
def test_only_the_continuation_is_decoded_cleaned_and_put_back_in_order(tiny_causal, testset, monkeypatch):
    """A stand-in generate() answers each row with "Translation: <its prompt's token count>", appended to the
    left-padded input as the real one does: each segment must get its own count, without the prompt."""
    import torch

    system = HFCausal("tiny", str(tiny_causal["chat"]), batch_size=4)
    system.prompt_text("x", "vi", "en")  # load
    tok = system._tokenizer

    def fake_generate(input_ids, attention_mask, **kwargs):
        rows = [tok(f"Translation: {int(mask.sum())}", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
                for mask in attention_mask]
        width = max(map(len, rows))
        rows = [row + [tok.pad_token_id] * (width - len(row)) for row in rows]
        return torch.cat([input_ids, torch.tensor(rows)], dim=1)

    monkeypatch.setattr(system._model, "generate", fake_generate)
    batches = list(system.translate_batches(testset))
    by_index = {i: (h, d) for b in batches for i, h, d in zip(b.indices, b.hypotheses, b.details)}
    counts = [len(tok(system.prompt_text(s, "vi", "en"), add_special_tokens=False)["input_ids"]) for s in SOURCES]
    assert [by_index[i][0] for i in range(6)] == [str(n) for n in counts]
    assert by_index[0][1] == {"raw": f"Translation: {counts[0]}", "cleaning": ["preamble"]}
    assert system.translate(testset) == [str(n) for n in counts]  # translate() restores input order


@pytest.mark.slow
def test_greedy_even_when_the_checkpoint_ships_sampling_settings(tiny_causal, tmp_path):
    folder = tmp_path / "qwen-like"
    shutil.copytree(tiny_causal["chat"], folder)
    # as Qwen2.5-7B-Instruct's generation_config.json (eos ids adapted to the tiny vocabulary)
    (folder / "generation_config.json").write_text(json.dumps(
        {"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05,
         "eos_token_id": [0], "pad_token_id": 0}), encoding="utf-8")
    system = HFCausal("tiny", str(folder), max_new_tokens=4)
    system.prompt_text("x", "vi", "en")  # load
    gen = system._generation_config
    assert gen.do_sample is False and gen.temperature == 1.0 and gen.top_p == 1.0
    assert gen.repetition_penalty == 1.05  # kept as the model's authors ship it
    im_end = system._tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert gen.eos_token_id == sorted({0, im_end})  # the checkpoint's end-of-text and the chat end-of-turn


@pytest.mark.slow
def test_sampling_with_a_seed_is_reproducible(tiny_causal, testset):
    def run():
        return HFCausal("tiny", str(tiny_causal["chat"]), max_new_tokens=6, do_sample=True, temperature=1.0,
                        seed=7).translate(testset)

    first = run()
    assert run() == first


@pytest.mark.slow
def test_signature_does_not_change_when_the_model_loads(tiny_causal):
    system = HFCausal("tiny", str(tiny_causal["chat"]), max_new_tokens=4)
    before = system.signature()
    system.prompt_text("x", "vi", "en")  # load
    assert system.signature() == before
