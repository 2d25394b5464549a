"""Hugging Face encoder-decoder models (Marian/OPUS-MT, NLLB-200, M2M100, mBART-50, VinAI) via `from_pretrained`.

Each family marks languages differently; the tokenizer class tells which family a checkpoint belongs to:
- Marian/OPUS-MT: one model per direction, no codes (multi-target models take a `>>xxx<<` source prefix);
- NLLB-200: `src_lang="vie_Latn"`, generation forced to start with the `eng_Latn` token;
- M2M100: `src_lang="vi"`, forced start `__en__` (via `get_lang_id`, since "en" is also a normal piece);
- mBART-50: `src_lang="vi_VN"`, forced start `en_XX`; VinAI's vi2en models instead start the decoder with it
  (`target_start: decoder_start`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator, Mapping

from harness.data.testset import TestSet
from harness.devices import pick_device
from harness.errors import ConfigError
from harness.hub import dtype_kwarg
from harness.languages import code_for_family
from harness.systems.base import TranslatedBatch
from harness.systems.hf_base import HFModelSystem
from harness.systems.batching import length_sorted_batches, run_with_oom_backoff

log = logging.getLogger(__name__)

FAMILIES = ("auto", "marian", "nllb", "m2m100", "mbart50", "generic")


def detect_family(tokenizer: Any) -> str:
    cls = type(tokenizer).__name__
    for prefix, family in (("Nllb", "nllb"), ("M2M100", "m2m100"), ("MBart", "mbart50"), ("Marian", "marian")):
        if cls.startswith(prefix):
            return family
    return "generic"


class HFSeq2Seq(HFModelSystem):
    """A `transformers` seq2seq model. Loading happens on the first `translate` call."""

    #: outputs are a pure function of the signature and the source, so the run may cache them
    cacheable = True

    def __init__(self, name: str, model: str, tokenizer: str | None = None, revision: str | None = None,
                 family: str = "auto", src_lang: str | None = None, tgt_lang: str | None = None,
                 source_prefix: str = "", target_start: str = "forced_bos", batch_size: int = 16,
                 max_batch_tokens: int | None = None,
                 num_beams: int = 4, max_new_tokens: int = 256, max_input_tokens: int = 512,
                 device: str = "auto", dtype: str = "float32", generate_kwargs: Mapping[str, Any] | None = None,
                 trust_remote_code: bool = False):
        super().__init__(name, model, tokenizer, revision, device, dtype, trust_remote_code)
        if family not in FAMILIES:
            raise ConfigError(f"system {name!r}: family {family!r} is not one of {', '.join(FAMILIES)}")
        if target_start not in ("forced_bos", "decoder_start"):
            raise ConfigError(f"system {name!r}: target_start must be forced_bos or decoder_start, not "
                              f"{target_start!r}")
        if batch_size < 1 or num_beams < 1:
            raise ConfigError(f"system {name!r}: batch_size and num_beams must be >= 1")
        #: the configured family ("auto" stays "auto": it is part of the signature that keys the cache)
        self.family, self.src_lang, self.tgt_lang = family, src_lang, tgt_lang
        self.source_prefix, self.target_start = source_prefix, target_start
        if max_batch_tokens is not None and max_batch_tokens < 1:
            raise ConfigError(f"system {name!r}: max_batch_tokens must be >= 1 (or null), not {max_batch_tokens}")
        self.batch_size, self.num_beams, self.max_batch_tokens = batch_size, num_beams, max_batch_tokens
        self.max_new_tokens, self.max_input_tokens = max_new_tokens, max_input_tokens
        self.generate_kwargs = dict(generate_kwargs or {})
        self._model = self._tokenizer = None
        self._family: str | None = None  # the family in use once loaded (detected when configured "auto")
        self._input_limit = max_input_tokens

    def signature(self) -> dict[str, Any]:
        return {**super().signature(), **self.model_signature(),
                "family": self.family, "src_lang": self.src_lang, "tgt_lang": self.tgt_lang,
                "source_prefix": self.source_prefix, "target_start": self.target_start, "num_beams": self.num_beams,
                "max_new_tokens": self.max_new_tokens, "max_input_tokens": self.max_input_tokens,
                "generate_kwargs": self.generate_kwargs}

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        start = time.perf_counter()
        self._tokenizer = self._from_pretrained(AutoTokenizer.from_pretrained, tokenizer=True)
        dtype = None if self.dtype == "auto" else getattr(torch, self.dtype)
        model = self._from_pretrained(AutoModelForSeq2SeqLM.from_pretrained, **dtype_kwarg(dtype))
        device = pick_device(self.device)
        self._model = model.to(device).eval()
        self._family = detect_family(self._tokenizer) if self.family == "auto" else self.family
        # An input longer than the model's position table raises deep inside the model (IndexError); cut
        # inputs at the smaller of max_input_tokens and that limit, and count what was cut.
        model_limit = getattr(model.config, "max_position_embeddings", None)
        self._input_limit = min(self.max_input_tokens, model_limit) if model_limit else self.max_input_tokens
        if self._input_limit < self.max_input_tokens:
            log.info("%s: max_input_tokens=%d is above the model's limit of %d positions; inputs are cut at %d",
                     self.name, self.max_input_tokens, model_limit, self._input_limit)
        self._runtime = {"device": device, "family": self._family,
                         "commit": getattr(model.config, "_commit_hash", None),
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "max_input_tokens": self._input_limit, "truncated_inputs": 0,
                         "load_seconds": round(time.perf_counter() - start, 2)}
        log.info("loaded %s (%s, %s parameters) on %s", self.model_name, self._family,
                 f"{self._runtime['parameters']:,}", device)

    def _language_kwargs(self, testset: TestSet) -> dict[str, Any]:
        """Set the tokenizer's source language and return the generate() arguments for the target."""
        tok, family = self._tokenizer, self._family
        if family in ("marian", "generic"):
            return {}
        src = self.src_lang or code_for_family(testset.src_lang, family)
        tgt = self.tgt_lang or code_for_family(testset.tgt_lang, family)
        tok.src_lang = src
        if family == "m2m100":
            try:
                tgt_id = tok.get_lang_id(tgt)
            except KeyError:
                raise ConfigError(f"system {self.name!r}: the tokenizer has no language token for {tgt!r}") from None
        else:
            tgt_id = tok.convert_tokens_to_ids(tgt)
            if tgt_id is None or tgt_id == tok.unk_token_id:
                raise ConfigError(f"system {self.name!r}: the tokenizer has no language token {tgt!r}; "
                                  f"set tgt_lang to one of its codes")
        key = "forced_bos_token_id" if self.target_start == "forced_bos" else "decoder_start_token_id"
        return {key: tgt_id}

    def translate_batches(self, testset: TestSet) -> Iterator[TranslatedBatch]:
        import torch

        self._load()
        tok, model = self._tokenizer, self._model
        lang_kwargs = self._language_kwargs(testset)
        sources = [self.source_prefix + s for s in testset.sources]
        lengths = [len(ids) for ids in tok(sources, add_special_tokens=True)["input_ids"]]
        n_truncated = sum(n > self._input_limit for n in lengths)
        if n_truncated:
            self._runtime["truncated_inputs"] += n_truncated
            log.warning("%s: %d of %d sources of %s are longer than %d tokens and are truncated",
                        self.name, n_truncated, len(sources), testset.name, self._input_limit)
        device = self._runtime["device"]

        def generate(batch: list[int]) -> tuple[list[str], int]:
            enc = tok([sources[i] for i in batch], return_tensors="pt", padding=True, truncation=True,
                      max_length=self._input_limit).to(device)
            generated = model.generate(**enc, num_beams=self.num_beams, max_new_tokens=self.max_new_tokens,
                                       **lang_kwargs, **self.generate_kwargs)
            # tokens after the decoder's start token, padding not counted
            n_tokens = int((generated[:, 1:] != tok.pad_token_id).sum())
            return [text.strip() for text in tok.batch_decode(generated, skip_special_tokens=True)], n_tokens

        with torch.inference_mode():
            inputs = [min(n, self._input_limit) for n in lengths]  # what the model sees, after truncation
            for batch in length_sorted_batches(inputs, self.batch_size, self.max_batch_tokens):
                retries: dict[str, int] = {}
                for part, (texts, n_tokens) in run_with_oom_backoff(batch, generate, self.name, retries):
                    yield TranslatedBatch(part, texts, generated_tokens=n_tokens,
                                          oom_retries=retries.pop("oom_retries", 0))
