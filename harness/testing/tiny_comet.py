"""Tiny COMET checkpoints built locally (random weights, seconds, < 1 MB at the default size), laid out as
on the hub: `<folder>/hparams.yaml` + `<folder>/checkpoints/model.ckpt`, so `comet.load_from_checkpoint`
and the harness load them exactly as they load `Unbabel/wmt22-comet-da`.

- `regression`: like wmt22-comet-da (`RegressionMetric`: src, mt and ref encoded apart, a feed-forward head);
- `unified`: like wmt22-cometkiwi-da (`UnifiedMetric` on [mt, src] jointly, no references);
- `xcomet`: like XCOMET-XL (`XCOMETMetric`: word-level error tags, so predict returns error spans).

The encoder is an XLM-R with a SentencePiece vocabulary trained on `lines`; its folder is stored in
hparams.yaml as an absolute path (`pretrained_model`), where a hub checkpoint names `xlm-roberta-large`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.testing.tiny_models import CORPUS, _cleanup, train_sentencepiece

KINDS = ("regression", "unified", "xcomet")


def build_xlmr_encoder(out: Path, lines: Sequence[str] = CORPUS, *, hidden_size: int = 32, layers: int = 2,
                       heads: int = 2, intermediate_size: int = 64, max_position_embeddings: int = 514,
                       vocab_size: int = 400, seed: int = 0) -> Path:
    """An XLM-R encoder folder (config, weights, tokenizer). Inputs longer than `max_position_embeddings - 4`
    tokens are truncated by COMET (XLM-R reserves 2 positions; comet keeps 2 more for special tokens)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    work = out / "_spm"
    tok = XLMRobertaTokenizerFast(vocab_file=str(train_sentencepiece(work, lines, vocab_size=vocab_size)))
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=layers,
                           num_attention_heads=heads, intermediate_size=intermediate_size,
                           max_position_embeddings=max_position_embeddings, pad_token_id=tok.pad_token_id,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    XLMRobertaModel(cfg, add_pooling_layer=False).save_pretrained(out)
    tok.save_pretrained(out)
    _cleanup(work)
    return out


def build_comet_checkpoint(out: Path, kind: str = "regression", *, encoder: Path | None = None,
                           hidden_sizes: Sequence[int] = (64, 32), seed: int = 0, **encoder_options) -> Path:
    """A COMET checkpoint folder of `kind` (see KINDS) on `encoder` (built in `out/encoder` if None, with
    `encoder_options` passed to `build_xlmr_encoder`). Returns the folder."""
    import pytorch_lightning
    import torch
    import yaml
    from comet.models import RegressionMetric, UnifiedMetric, XCOMETMetric

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if encoder is None:
        encoder = build_xlmr_encoder(out / "encoder", seed=seed, **encoder_options)
    from transformers import XLMRobertaConfig

    n_layers = XLMRobertaConfig.from_pretrained(encoder).num_hidden_layers
    common = dict(encoder_model="XLM-RoBERTa", pretrained_model=str(Path(encoder).resolve()),
                  hidden_sizes=list(hidden_sizes), layer_transformation="sparsemax",
                  load_pretrained_weights=True, local_files_only=True)
    torch.manual_seed(seed)
    if kind == "regression":
        model = RegressionMetric(layer="mix", pool="avg", **common)
    elif kind == "unified":
        model = UnifiedMetric(sent_layer="mix", word_layer=n_layers, input_segments=["mt", "src"], **common)
    else:
        model = XCOMETMetric(sent_layer="mix", word_layer=n_layers, **common)
    hparams = {k: v for k, v in dict(model.hparams).items() if k != "local_files_only"}
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    (out / "hparams.yaml").write_text(yaml.safe_dump(hparams, sort_keys=True), encoding="utf-8")
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams,
                "pytorch-lightning_version": pytorch_lightning.__version__}, out / "checkpoints" / "model.ckpt")
    return out
