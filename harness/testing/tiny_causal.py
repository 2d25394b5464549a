"""A tiny random-weight decoder-only chat model built locally (a second, < 1 MB), like Qwen2.5-Instruct in
shape: a byte-level BPE tokenizer with ChatML special tokens and a Qwen-style chat template, and a 2-layer
Llama. Saved with `save_pretrained`, so `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained` load it
exactly as they load a hub checkpoint. Its outputs are random text; the tests check the plumbing.

`build_causal(out, chat_template=False)` builds the same model without a chat template (a base model)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.testing.tiny_models import CORPUS

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen2.5's template, without tool calls: a default system message when the conversation has none.
CHATML_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] != 'system' %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def build_causal(out: Path, lines: Sequence[str] = CORPUS, seed: int = 0, chat_template: bool = True) -> Path:
    """Train a byte-level BPE on `lines`, wrap it as a fast tokenizer (left padding), save it with a random
    2-layer Llama of its vocabulary size into `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # prompt words too, so prompts do not fall apart into single bytes
    bpe.train_from_iterator(list(lines) * 4 + ["Translate the following Vietnamese text into English."], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, model_input_names=["input_ids", "attention_mask"],
                                  padding_side="left", eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  chat_template=CHATML_TEMPLATE if chat_template else None)
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None,
                      tie_word_embeddings=False)
    out.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out
