"""COMET for N systems: this harness against `load_from_checkpoint` + one `predict` call per system.

Both sides score the same N systems on the same segments with the same locally built regression checkpoint
(wmt22-comet-da style: XLM-R encoder, hidden size 256, 4 layers by default, big enough that encoding
dominates), in one process, alternately, and the best of `--repeats` rounds counts. Reported: wall time
(model loading included on both sides), encoder passes and sequences encoded (counted by a hook on the
encoder, the same way on both sides), the ratios, and the largest score difference from predict (must be
<= 1e-6). A final run with a persistent statistics cache shows what a re-run computes.

    python -m benchmarks comet               # 5 systems x 500 segments (a few minutes on 2 CPU cores)
    python -m benchmarks comet -- --quick    # a smoke run in seconds (what the test suite runs)
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

TOLERANCE = 1e-6
DATA = Path(__file__).resolve().parent.parent / "data"
FLORES_SRC = DATA / "flores200" / "vie_Latn.devtest"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
OUTPUTS = sorted((DATA / "outputs" / "flores200-devtest").glob("*/*.output"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks comet", description=__doc__.split("\n\n")[0])
    p.add_argument("--systems", type=int, default=5, help="number of systems N (default 5)")
    p.add_argument("--segments", type=int, default=500, help="segments per system (default 500)")
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2, help="rounds; the best time of each side counts (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on shared machines)")
    p.add_argument("--quick", action="store_true", help="2 systems x 40 segments, a tiny model, 1 round")
    args = p.parse_args(argv)
    if args.quick:
        args.systems, args.segments, args.hidden_size, args.layers, args.repeats = 2, 40, 32, 2, 1
    if args.systems < 1 or args.segments < 1:
        p.error("--systems and --segments must be >= 1")
    return args


def read_lines(path: Path, n: int) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:n]


def make_systems(n_systems: int, n_segments: int) -> dict[str, list[str]]:
    """The shipped OPUS-MT outputs, then word-dropped and word-swapped variants of them (seeded), so every
    system has its own hypotheses (none equal to a source or reference, which the harness would reuse)."""
    real = {p.parent.name: read_lines(p, n_segments) for p in OUTPUTS}
    systems = dict(list(real.items())[:n_systems])
    rng = random.Random(0)
    base = list(real.values())
    while len(systems) < n_systems:
        k = len(systems)
        words_per_line = [line.split() for line in base[k % len(base)]]
        noisy = []
        for words in words_per_line:
            words = [w for w in words if rng.random() > 0.1] or words[:1]
            if len(words) > 2:
                i = rng.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
            noisy.append(" ".join(words))
        systems[f"variant-{k}"] = noisy
    return systems


class EncoderCounter:
    """A forward hook on a comet model's encoder: forward calls, rows, and tokens including padding."""

    def __init__(self, model):
        self.calls = self.rows = self.tokens = 0
        self.handle = model.encoder.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        self.calls += 1
        self.rows += args[0].shape[0]
        self.tokens += args[0].numel()


@dataclass
class Measurement:
    wall: float          # seconds, model loading included
    cpu: float           # process CPU seconds (steadier than wall time on a shared machine)
    passes: int          # encoder passes over one kind of input
    counter: EncoderCounter | None
    scores: dict         # system -> segment scores


def run_baseline(ckpt: Path, systems, srcs, refs, batch_size: int) -> Measurement:
    """What a script does with unbabel-comet: load the checkpoint, call predict once per system."""
    import comet

    wall, cpu = time.perf_counter(), time.process_time()
    model = comet.load_from_checkpoint(str(ckpt / "checkpoints" / "model.ckpt"), local_files_only=True)
    counter = EncoderCounter(model)
    scores = {}
    for name, hyps in systems.items():
        samples = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(srcs, hyps, refs)]
        scores[name] = model.predict(samples, batch_size=batch_size, gpus=0, progress_bar=False).scores
    counter.handle.remove()
    # predict encodes src, mt and ref in every batch: 3 passes over the segments per system
    return Measurement(time.perf_counter() - wall, time.process_time() - cpu, 3 * len(systems), counter, scores)


def run_harness(ckpt: Path, systems, testset, batch_size: int, cache_file: Path | None = None) -> Measurement:
    """The harness path of `mt-harness run`: score_all over the systems, statistics cache optional."""
    from harness.cache import Cache
    from harness.config import build_metric
    from harness.run import score_all
    from harness.run_result import SystemResult

    wall, cpu = time.perf_counter(), time.process_time()
    metric = build_metric("comet", {"model": str(ckpt), "batch_size": batch_size, "device": "cpu",
                                    "progress_bar": False})
    results = [SystemResult(testset.name, name, ok=True, hypotheses=hyps) for name, hyps in systems.items()]
    cache = Cache(cache_file)
    # count like the baseline; a re-run with everything cached must not load the model at all
    counter = EncoderCounter(metric.load()) if cache.count("statistics") == 0 else None
    score_all({testset.name: testset}, [metric], results, strict=True, cache=cache)
    cache.close()
    if counter:
        counter.handle.remove()
    scores = {r.system: r.segment_scores[metric.name] for r in results}
    return Measurement(time.perf_counter() - wall, time.process_time() - cpu, metric.counts.passes, counter, scores)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # before comet is imported: it configures the root logger at INFO when nothing else has
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message=".*(treespec|pkg_resources).*")
    import numpy as np
    import pytorch_lightning  # noqa: F401  (it sets its loggers' levels at import; quieten them after)
    import torch

    for noisy in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):  # predict's GPU/TPU lines, tips
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from harness.data.testset import build_testset
    from harness.testing.tiny_comet import build_comet_checkpoint

    torch.set_num_threads(args.threads)
    srcs, refs = read_lines(FLORES_SRC, args.segments), read_lines(FLORES_REF, args.segments)
    systems = make_systems(args.systems, args.segments)
    testset = build_testset("flores200-devtest", "vi", "en", srcs, [(r,) for r in refs])
    srcs = testset.sources  # NFC-normalised, as the harness scores them

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ckpt = build_comet_checkpoint(Path(tmp) / "ckpt", "regression", hidden_size=args.hidden_size,
                                      layers=args.layers, heads=max(2, args.hidden_size // 64),
                                      intermediate_size=4 * args.hidden_size, vocab_size=4000,
                                      hidden_sizes=(2 * args.hidden_size, args.hidden_size // 2),
                                      lines=srcs + refs)
        print(f"checkpoint: XLM-R hidden {args.hidden_size}, {args.layers} layers, built in "
              f"{time.perf_counter() - t0:.1f} s; {args.systems} systems x {args.segments} segments, "
              f"batch size {args.batch_size}, {args.threads} torch thread(s)", flush=True)

        base, harness = [], []
        for round_ in range(args.repeats):  # alternating, so both sides see the same machine load
            base.append(run_baseline(ckpt, systems, srcs, refs, args.batch_size))
            harness.append(run_harness(ckpt, systems, testset, args.batch_size))
            print(f"round {round_ + 1}: predict {base[-1].wall:.2f} s ({base[-1].cpu:.2f} s CPU), "
                  f"harness {harness[-1].wall:.2f} s ({harness[-1].cpu:.2f} s CPU)", flush=True)
        cache_file = Path(tmp) / "cache.sqlite"
        filled = run_harness(ckpt, systems, testset, args.batch_size, cache_file)
        cached = run_harness(ckpt, systems, testset, args.batch_size, cache_file)

    b, h = base[-1], harness[-1]
    diff = max(float(np.max(np.abs(np.asarray(h.scores[s]) - np.asarray(b.scores[s])))) for s in systems)
    sys_diff = max(abs(float(np.mean(h.scores[s])) - float(np.mean(b.scores[s]))) for s in systems)
    cached_diff = max(float(np.max(np.abs(cached.scores[s] - filled.scores[s]))) for s in systems)
    n = args.systems
    rows = [
        (f"wall time, best of {args.repeats} (s)", min(m.wall for m in base), min(m.wall for m in harness), ".2f"),
        (f"CPU time, best of {args.repeats} (s)", min(m.cpu for m in base), min(m.cpu for m in harness), ".2f"),
        ("encoder passes", b.passes, h.passes, "d"),
        ("encoder forward calls", b.counter.calls, h.counter.calls, "d"),
        ("sequences encoded", b.counter.rows, h.counter.rows, "d"),
        ("tokens encoded, with padding", b.counter.tokens, h.counter.tokens, "d"),
    ]
    print()
    print(f"{'':34}{'predict':>12}{'harness':>12}{'ratio':>9}")
    for label, x, y, fmt in rows:
        print(f"{label:34}{x:>12{fmt}}{y:>12{fmt}}{x / y:>8.2f}x")
    print(f"(N = {n} systems: 3N = {3 * n} passes for predict, N+2 = {n + 2} with reuse)")
    print(f"max |segment score - predict|: {diff:.2e} (tolerance {TOLERANCE:.0e}); "
          f"max |system score - predict|: {sys_diff:.2e}")
    print(f"re-run with the statistics cache: {cached.wall:.2f} s, {cached.passes} encoder passes, model "
          f"{'not ' if cached.counter is None else ''}loaded, max |score - the run that filled it|: {cached_diff:.1e}")
    ok = (diff <= TOLERANCE and sys_diff <= TOLERANCE and cached_diff == 0.0 and h.passes == n + 2
          and cached.passes == 0)
    print("OK: scores agree with predict; N+2 encoder passes; nothing recomputed when cached" if ok
          else "FAILED: see the numbers above")
    return 0 if ok else 1
