"""Decoder-only chat models (Qwen2.5-Instruct, SeaLLM, Vistral, Llama, Tower) as translation systems.

Each source becomes a prompt (harness/systems/llm_prompt.py) rendered with the tokenizer's own chat template
(`apply_chat_template(..., add_generation_prompt=True)`), or with the prompt's plain template for models that
have none. Prompts are batched by token count (longest first: similar lengths waste little padding, and an
out-of-memory error shows on the first batch) with left padding, so every row's continuation starts at the
same position; only that continuation is decoded. Answers are cleaned (harness/systems/llm_answers.py) and
each batch carries the raw answers and the cleaning steps in its details.

Decoding is greedy unless `do_sample` is set: the sampling settings many chat checkpoints ship in their
generation_config.json (Qwen2.5: temperature 0.7, top_p 0.8, top_k 20) are switched off, while other
settings there (e.g. Qwen's repetition_penalty 1.05) are kept, as the model's authors intended; override
them with `generate_kwargs`. The effective generation config is recorded in `runtime_info`.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any, Iterator, Mapping

from harness.data.testset import TestSet
from harness.devices import pick_device
from harness.errors import ConfigError
from harness.hub import dtype_kwarg
from harness.languages import language_name
from harness.systems.base import TranslatedBatch
from harness.systems.hf_base import HFModelSystem
from harness.systems.batching import length_sorted_batches, run_with_oom_backoff
from harness.systems.llm_answers import CLEANING_STEPS, CLEANING_VERSION, hypotheses_and_details
from harness.systems.llm_prompt import load_prompt, plain_config_value

log = logging.getLogger(__name__)

# End-of-turn tokens of common chat formats (ChatML/Qwen, Llama 3, Gemma, Phi-3): generation stops at any of
# them even where a checkpoint's generation_config names only its end-of-text token.
_END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


def _as_list(ids: Any) -> list[int]:
    if ids is None:
        return []
    return [int(i) for i in ids] if isinstance(ids, (list, tuple)) else [int(ids)]


class HFCausal(HFModelSystem):
    """A `transformers` decoder-only model prompted to translate. Loading happens on the first batch."""

    def __init__(self, name: str, model: str, prompt: str | Mapping[str, Any] = "instruction",
                 tokenizer: str | None = None, revision: str | None = None, use_chat_template: str | bool = "auto",
                 batch_size: int = 8, max_batch_tokens: int | None = None, max_new_tokens: int = 512,
                 do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, seed: int | None = None,
                 clean_answers: bool = True, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                 generate_kwargs: Mapping[str, Any] | None = None):
        super().__init__(name, model, tokenizer, revision, device, dtype, trust_remote_code)
        where = f"system {name!r}"
        if use_chat_template not in ("auto", True, False):
            raise ConfigError(f"{where}: use_chat_template must be auto, true or false, not {use_chat_template!r}")
        if batch_size < 1 or max_new_tokens < 1:
            raise ConfigError(f"{where}: batch_size and max_new_tokens must be >= 1")
        if do_sample and (temperature <= 0 or not 0 < top_p <= 1):
            raise ConfigError(f"{where}: sampling needs temperature > 0 and 0 < top_p <= 1 (or set do_sample=false "
                              f"for greedy decoding)")
        self.prompt = load_prompt(prompt, f"{where} prompt")
        self.use_chat_template = use_chat_template
        if max_batch_tokens is not None and max_batch_tokens < 1:
            raise ConfigError(f"{where}: max_batch_tokens must be >= 1 (or null), not {max_batch_tokens}")
        self.batch_size, self.max_new_tokens, self.max_batch_tokens = batch_size, max_new_tokens, max_batch_tokens
        self.do_sample, self.temperature, self.top_p, self.seed = bool(do_sample), temperature, top_p, seed
        self.clean_answers = bool(clean_answers)
        self.generate_kwargs = dict(plain_config_value(generate_kwargs) or {})
        self._model = self._tokenizer = self._generation_config = None
        self._chat = False

    @property
    def cacheable(self) -> bool:
        """Greedy outputs depend only on the signature and the source; sampled ones only with a fixed seed."""
        return not self.do_sample or self.seed is not None

    def _decoding(self) -> dict[str, Any]:
        decoding: dict[str, Any] = {"do_sample": self.do_sample, "max_new_tokens": self.max_new_tokens}
        if self.do_sample:
            decoding.update(temperature=self.temperature, top_p=self.top_p, seed=self.seed)
        return decoding

    def signature(self) -> dict[str, Any]:
        return {**super().signature(), **self.model_signature(),
                "prompt": self.prompt.signature(), "use_chat_template": self.use_chat_template,
                "decoding": self._decoding(), "generate_kwargs": self.generate_kwargs,
                "cleaning": f"v{CLEANING_VERSION}" if self.clean_answers else "lines-only"}

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        start = time.perf_counter()
        tok = self._from_pretrained(AutoTokenizer.from_pretrained, tokenizer=True)
        dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        model = self._from_pretrained(AutoModelForCausalLM.from_pretrained, **dtype_kwarg(dtype))
        has_template = bool(getattr(tok, "chat_template", None))
        if self.use_chat_template is True and not has_template:
            raise ConfigError(f"system {self.name!r}: the tokenizer of {self.model_name} has no chat template; "
                              f"set use_chat_template=auto (use the prompt's plain_template) or give a tokenizer "
                              f"that has one")
        self._chat = has_template and self.use_chat_template is not False
        tok.padding_side = "left"  # every row's continuation then starts at the same column
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token  # Llama-style tokenizers have no pad token; padding is masked anyway
        device = pick_device(self.device)
        self._model, self._tokenizer = model.to(device).eval(), tok
        self._generation_config = self._make_generation_config(model, tok)
        self._runtime = {"device": device, "dtype": str(model.dtype).replace("torch.", ""),
                         "commit": getattr(model.config, "_commit_hash", None),
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "chat_template": self._chat,
                         "generation_config": self._generation_config.to_diff_dict(),
                         "load_seconds": round(time.perf_counter() - start, 2)}
        log.info("loaded %s (%s parameters, %s) on %s", self.model_name, f"{self._runtime['parameters']:,}",
                 "chat template" if self._chat else "plain prompt", device)

    def _make_generation_config(self, model, tok):
        gen = copy.deepcopy(model.generation_config)
        eos = _as_list(gen.eos_token_id) + _as_list(tok.eos_token_id)
        for token in _END_OF_TURN:
            token_id = tok.convert_tokens_to_ids(token)
            if token_id is not None and token_id != tok.unk_token_id and token in tok.get_vocab():
                eos.append(int(token_id))
        gen.eos_token_id = sorted(set(eos))
        gen.pad_token_id = tok.pad_token_id
        gen.max_new_tokens = self.max_new_tokens
        gen.do_sample = self.do_sample
        if self.do_sample:
            gen.temperature, gen.top_p = self.temperature, self.top_p
        else:  # the neutral values: greedy ignores them, and shipped sampling values would only warn
            gen.temperature, gen.top_p, gen.top_k = 1.0, 1.0, 50
        gen.update(**self.generate_kwargs)
        return gen

    def prompt_text(self, source: str, src_lang: str, tgt_lang: str) -> str:
        """The exact text the model sees for one source (after loading: it depends on the chat template)."""
        self._load()
        if self._chat:
            messages = self.prompt.chat_messages(source, src_lang, tgt_lang)
            return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.prompt.plain_text(source, src_lang, tgt_lang)

    def translate_batches(self, testset: TestSet) -> Iterator[TranslatedBatch]:
        import torch

        self._load()
        tok, model, device = self._tokenizer, self._model, self._runtime["device"]
        target, source_language = language_name(testset.tgt_lang), language_name(testset.src_lang)
        sources = testset.sources
        prompts = [self.prompt_text(s, testset.src_lang, testset.tgt_lang) for s in sources]
        # a chat template writes its own special tokens (BOS included where the model needs one)
        add_special = not self._chat
        lengths = [len(ids) for ids in tok(prompts, add_special_tokens=add_special)["input_ids"]]
        limit = getattr(model.config, "max_position_embeddings", None)
        if limit and max(lengths) + self.max_new_tokens > limit:
            log.warning("%s: the longest prompt of %s (%d tokens) plus max_new_tokens=%d exceeds the model's %d "
                        "positions", self.name, testset.name, max(lengths), self.max_new_tokens, limit)
        steps = CLEANING_STEPS if self.clean_answers else ("joined_lines",)
        if self.do_sample and self.seed is not None:
            torch.manual_seed(self.seed)

        def generate(batch: list[int]) -> tuple[list[str], int]:
            enc = tok([prompts[i] for i in batch], return_tensors="pt", padding=True,
                      add_special_tokens=add_special).to(device)
            generated = model.generate(**enc, generation_config=self._generation_config)[:, enc["input_ids"].shape[1]:]
            n_tokens = int((generated != self._generation_config.pad_token_id).sum())
            return tok.batch_decode(generated, skip_special_tokens=True), n_tokens

        with torch.inference_mode():
            for batch in length_sorted_batches(lengths, self.batch_size, self.max_batch_tokens):
                retries: dict[str, int] = {}
                for part, (answers, n_tokens) in run_with_oom_backoff(batch, generate, self.name, retries):
                    hyps, details = hypotheses_and_details(answers, [sources[i] for i in part],
                                                           target_language=target, source_language=source_language,
                                                           steps=steps)
                    yield TranslatedBatch(part, hyps, details, generated_tokens=n_tokens,
                                          oom_retries=retries.pop("oom_retries", 0))
