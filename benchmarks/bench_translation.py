"""Translation throughput: length-sorted batching, token-count vs character sorting, and the translation cache.

A Marian model shaped like Helsinki-NLP/opus-mt-vi-en (6+6 layers, d_model 512, 8 heads, random weights) with a
real SentencePiece tokenizer trained on FLORES-200 dev text translates the first FLORES-200 devtest sources
through `harness.run.translate_testset`, the code a run uses, side by side in one process, after one warm-up
translation, in `--repeats` rounds whose order rotates (the best time of each side counts):

* batch size 1 against length-sorted batches (batch 16, sorted by token count);
* sorted by token count (the harness) against sorted by character count (the same code with only the sort
  key changed), with the share of padding each leaves in the encoder input;
* a warm re-run from the translation cache against the cold run (zero model calls expected);
* on a GPU, generated tokens per second in float32 against bfloat16.

    python -m benchmarks translation               # 120 segments, 2 rounds (several minutes on 2 CPU cores)
    python -m benchmarks translation -- --quick    # a tiny model and 24 segments, in seconds (the test suite)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
FLORES_SRC = DATA / "flores200" / "vie_Latn.devtest"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
TARGETS = {"batching": 3.0, "cache": 50.0}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks translation", description=__doc__.split("\n\n")[0])
    p.add_argument("--segments", type=int, default=120, help="FLORES-200 devtest sources to translate (default 120)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--repeats", type=int, default=2, help="rounds; the best time of each side counts (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on shared machines)")
    p.add_argument("--quick", action="store_true", help="a tiny model and 24 segments: a smoke run in seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.segments, args.max_new_tokens, args.repeats = 24, 8, 1
    return args


def build_model(folder: Path, quick: bool) -> Path:
    from harness.testing.tiny_models import OPUS_MT_SHAPE, TINY, build_marian

    dev = DATA / "flores200"
    lines = [line for path in (FLORES_SRC, FLORES_REF) for line in path.read_text(encoding="utf-8").split("\n")[:997]]
    return build_marian(folder, lines=lines if not quick else lines[:200], shape=TINY if quick else OPUS_MT_SHAPE,
                        vocab_size=400 if quick else 8000) if dev.is_dir() else None


def padding_share(system, testset, sort_key) -> float:
    """Share of pad positions in the encoder inputs of the batches `sort_key` makes (0: no padding)."""
    from harness.systems.batching import length_sorted_batches

    tok = system._tokenizer
    tokens = [len(ids) for ids in tok(testset.sources)["input_ids"]]
    batches = length_sorted_batches(sort_key(testset.sources, tokens), system.batch_size)
    padded = sum(len(b) * max(tokens[i] for i in b) for b in batches)
    return 1 - sum(tokens) / padded


def timed_translation(system, testset, cache=None):
    from harness.cache import Cache
    from harness.run import translate_testset

    start = time.perf_counter()
    result = translate_testset(system, testset, cache or Cache(None))
    return time.perf_counter() - start, result


def main(argv: list[str]) -> int:
    import torch

    import harness.systems.hf_seq2seq as seq2seq
    from harness.cache import Cache
    from harness.data import build_testset
    from harness.systems.hf_seq2seq import HFSeq2Seq

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    sources = FLORES_SRC.read_text(encoding="utf-8").split("\n")[:args.segments]
    refs = FLORES_REF.read_text(encoding="utf-8").split("\n")[:args.segments]
    testset = build_testset("flores", "vi", "en", sources, [(r,) for r in refs])
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "marian", args.quick)
        options = dict(num_beams=1, max_new_tokens=args.max_new_tokens, device="cpu")
        one = HFSeq2Seq("batch-1", str(model), batch_size=1, **options)
        batched = HFSeq2Seq("sorted", str(model), batch_size=args.batch_size, **options)
        for system in (one, batched):
            system._load()
        print(f"{args.segments} FLORES-200 sources, {'tiny' if args.quick else 'opus-mt-vi-en-shaped'} Marian "
              f"({batched.runtime_info()['parameters']:,} parameters), greedy, max_new_tokens "
              f"{args.max_new_tokens}, {args.threads} torch thread(s), device cpu", flush=True)

        by_chars = lambda texts, tokens: [len(t) for t in texts]  # noqa: E731
        original = seq2seq.length_sorted_batches

        def sorted_by_characters():
            seq2seq.length_sorted_batches = lambda lengths, size, budget=None: original(
                by_chars(testset.sources, lengths), size, budget)
            try:
                return timed_translation(batched, testset)
            finally:
                seq2seq.length_sorted_batches = original

        variants = {"one": lambda: timed_translation(one, testset), "tokens": lambda: timed_translation(batched, testset),
                    "chars": sorted_by_characters}
        timed_translation(batched, build_testset("warm-up", "vi", "en", sources[:4], [(r,) for r in refs[:4]]))
        best: dict[str, float] = {}
        outputs = {}
        for round_ in range(args.repeats):
            names = list(variants)[round_ % 3:] + list(variants)[:round_ % 3]
            for name in names:
                seconds, outputs[name] = variants[name]()
                best[name] = min(best.get(name, seconds), seconds)
        t_one, t_sorted, t_chars = best["one"], best["tokens"], best["chars"]
        r_one, r_sorted, r_chars = outputs["one"], outputs["tokens"], outputs["chars"]
        cache = Cache(Path(tmp) / "cache.sqlite")
        t_cold, cold = timed_translation(batched, testset, cache)
        calls = []
        generate = batched._model.generate
        batched._model.generate = lambda *a, **kw: calls.append(1) or generate(*a, **kw)
        t_warm, warm = timed_translation(batched, testset, cache)
        cache.close()

        pad_tokens = padding_share(batched, testset, lambda texts, tokens: tokens)
        pad_chars = padding_share(batched, testset, by_chars)
        tokens_per_s = r_sorted.translation.generated_tokens / t_sorted
        rows = [("batch size 1 -> length-sorted batches of %d" % args.batch_size, t_one, t_sorted, "batching"),
                ("character-sorted -> token-sorted batches", t_chars, t_sorted, None),
                ("cold run -> warm re-run from the cache", t_cold, t_warm, "cache")]
        print(f"{'':46}{'before':>9}{'after':>9}{'ratio':>9}{'target':>9}")
        ok = True
        for label, before, after, target in rows:
            ratio = before / after
            goal = TARGETS.get(target)
            ok &= goal is None or ratio >= goal or args.quick
            print(f"{label:46}{before:8.2f}s{after:8.2f}s{ratio:8.1f}x{(f'>={goal:g}x' if goal else '-'):>9}")
        print(f"padding in the encoder input: {pad_chars:.1%} sorted by characters, {pad_tokens:.1%} by tokens")
        print(f"generated tokens per second (length-sorted batches): {tokens_per_s:,.0f}")
        print(f"warm re-run: {len(calls)} model calls, {warm.translation.cached} of {len(testset)} from the cache")
        same = r_one.hypotheses == r_sorted.hypotheses == r_chars.hypotheses == cold.hypotheses == warm.hypotheses
        print(f"identical outputs across batching and the cache: {'yes' if same else 'no'}")
        ok &= not calls and warm.translation.cached == len(testset)
        if torch.cuda.is_available():
            for dtype in ("float32", "bfloat16"):
                gpu = HFSeq2Seq(f"gpu-{dtype}", str(model), batch_size=64, dtype=dtype,
                                **{**options, "device": "cuda"})
                seconds, result = timed_translation(gpu, testset)
                print(f"GPU {dtype}: {result.translation.generated_tokens / seconds:,.0f} generated tokens/s")
        else:
            print("GPU float32 vs bfloat16: no GPU here")
    print("OK" if ok else "BELOW TARGET")
    return 0 if ok else 1
