"""Tiny random-weight models built locally (seconds, < 1 MB each) with the real tokenizer and model classes,
so the real loading code (`from_pretrained`) can be tested with no model hub.

Each builder writes a folder that `AutoTokenizer` / `AutoModelForSeq2SeqLM.from_pretrained` load exactly as
they load a hub checkpoint. Outputs are random text; what the tests check is the plumbing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

CORPUS = [
    "Đoàn đại biểu cấp cao thành phố Hà Nội thăm và làm việc tại Nhật Bản.",
    "Chủ tịch UBND thành phố Trần Sỹ Thanh đã tiến hành các cuộc hội kiến.",
    "Thống đốc Tokyo bày tỏ mong muốn chia sẻ kinh nghiệm phòng chống thiên tai.",
    "Năm 2013, thành phố Hà Nội và thành phố Tokyo đã ký kết Bản ghi nhớ hợp tác.",
    "Đầu tư từ Nhật Bản vào Việt Nam đạt trị giá 12,5 tỷ USD.",
    "Lễ hội Việt Nam đã thu hút hơn 200.000 lượt khách tham quan.",
    "Chúng tôi hiện có đàn chuột 4 tháng tuổi đã hết bị tiểu đường.",
    "Giống như một số chuyên gia khác, ông ấy hoài nghi về khả năng chữa bệnh.",
    "Hanoi high-ranking delegation visits and works in Japan.",
    "Chairman Tran Sy Thanh held meetings with Tokyo Governor Koike Yuriko.",
    "The Tokyo Governor expressed his desire to share experiences in disaster prevention.",
    "In 2013, Hanoi and Tokyo signed the first official Memorandum of Understanding.",
    "Investment from Japan to Vietnam reached a value of 12.5 billion USD.",
    "The Vietnam Festival attracted more than 200,000 visitors.",
    "We now have 4-month-old mice that are non-diabetic that used to be diabetic.",
    "Like some other experts, he is skeptical about whether diabetes can be cured.",
]


def train_sentencepiece(folder: Path, lines: Sequence[str] = CORPUS, *, vocab_size: int = 400, **special) -> Path:
    """Train a small unigram SentencePiece model; `special` sets ids such as unk_id, eos_id, bos_id, pad_id."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "spm_corpus.txt"
    # Repeat the corpus: SentencePiece wants enough sentences to estimate piece frequencies.
    text.write_text("\n".join(list(lines) * 4) + "\n", encoding="utf-8")
    prefix = folder / "spm"
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(prefix), vocab_size=vocab_size,
                                   character_coverage=1.0, hard_vocab_limit=False, model_type="unigram",
                                   minloglevel=2, **special)
    text.unlink()
    return prefix.with_suffix(".model")


#: the shape of the tiny test models: 2 layers, 32 dimensions
TINY = {"d_model": 32, "layers": 2, "heads": 2, "ffn": 64, "positions": 256}
#: the shape of Helsinki-NLP/opus-mt-vi-en (Marian transformer-align: 6+6 layers, 512 dimensions, 8 heads)
OPUS_MT_SHAPE = {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048, "positions": 512}


def _save_random_model(out: Path, tok, config_cls, model_cls, seed: int, shape: dict | None = None, **ids) -> Path:
    """A random model of `model_cls` with the tokenizer's vocabulary (tiny unless `shape` says otherwise), saved
    with the tokenizer."""
    import torch

    shape = shape or TINY
    torch.manual_seed(seed)
    cfg = config_cls(vocab_size=len(tok), d_model=shape["d_model"], encoder_layers=shape["layers"],
                     decoder_layers=shape["layers"], encoder_attention_heads=shape["heads"],
                     decoder_attention_heads=shape["heads"], encoder_ffn_dim=shape["ffn"], decoder_ffn_dim=shape["ffn"],
                     max_position_embeddings=shape["positions"],
                     pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, **ids)
    out.mkdir(parents=True, exist_ok=True)
    model_cls(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_marian(out: Path, lines: Sequence[str] = CORPUS, seed: int = 0, shape: dict | None = None,
                 vocab_size: int = 400) -> Path:
    """Like Helsinki-NLP/opus-mt-vi-en: MarianTokenizer (source/target spm + vocab.json) + MarianMTModel; tiny
    unless `shape` is given (e.g. OPUS_MT_SHAPE, with a SentencePiece model of `vocab_size` trained on `lines`)."""
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = out / "_spm"
    model_file = train_sentencepiece(work, lines, vocab_size=vocab_size, unk_id=1, eos_id=0, bos_id=-1, pad_id=-1)
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    vocab["<pad>"] = len(vocab)
    out.mkdir(parents=True, exist_ok=True)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = MarianTokenizer(str(model_file), str(model_file), str(work / "vocab.json"),
                          source_lang="vi", target_lang="en")
    _save_random_model(out, tok, MarianConfig, MarianMTModel, seed, shape, decoder_start_token_id=tok.pad_token_id)
    _cleanup(work)
    return out


def build_nllb(out: Path, lines: Sequence[str] = CORPUS, seed: int = 0) -> Path:
    """Like facebook/nllb-200-distilled-600M: NllbTokenizerFast + M2M100ForConditionalGeneration."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizerFast

    work = out / "_spm"
    model_file = train_sentencepiece(work, lines)
    tok = NllbTokenizerFast(vocab_file=str(model_file), src_lang="vie_Latn", tgt_lang="eng_Latn")
    _save_random_model(out, tok, M2M100Config, M2M100ForConditionalGeneration, seed,
                       bos_token_id=tok.bos_token_id, decoder_start_token_id=tok.eos_token_id)
    _cleanup(work)
    return out


def build_m2m100(out: Path, lines: Sequence[str] = CORPUS, seed: int = 0) -> Path:
    """Like facebook/m2m100_418M: M2M100Tokenizer (spm + vocab.json, `__xx__` language tokens)."""
    import sentencepiece as spm
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

    work = out / "_spm"
    model_file = train_sentencepiece(work, lines)
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(str(work / "vocab.json"), str(model_file), src_lang="vi", tgt_lang="en",
                          additional_special_tokens=[f"__{c}__" for c in FAIRSEQ_LANGUAGE_CODES["m2m100"]])
    _save_random_model(out, tok, M2M100Config, M2M100ForConditionalGeneration, seed,
                       bos_token_id=tok.bos_token_id, decoder_start_token_id=tok.eos_token_id)
    _cleanup(work)
    return out


def build_mbart50(out: Path, lines: Sequence[str] = CORPUS, seed: int = 0) -> Path:
    """Like facebook/mbart-large-50-many-to-many-mmt: MBart50TokenizerFast + MBartForConditionalGeneration."""
    from transformers import MBart50TokenizerFast, MBartConfig, MBartForConditionalGeneration

    work = out / "_spm"
    model_file = train_sentencepiece(work, lines)
    tok = MBart50TokenizerFast(vocab_file=str(model_file), src_lang="vi_VN", tgt_lang="en_XX")
    _save_random_model(out, tok, MBartConfig, MBartForConditionalGeneration, seed,
                       bos_token_id=tok.bos_token_id, decoder_start_token_id=tok.eos_token_id)
    _cleanup(work)
    return out


def _cleanup(work: Path) -> None:
    import shutil

    shutil.rmtree(work, ignore_errors=True)
