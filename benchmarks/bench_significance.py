"""Significance for 10 systems: sacreBLEU's `--paired-bs` against `mt-harness score --paired-bs`, side by side.

Both tools score the same 10 systems x 2,000 segments (built in the run from FLORES-200 devtest and the
shipped OPUS-MT outputs) with the same metrics, 1,000 bootstrap resamples and seed 12345, each as a fresh
subprocess (imports included), alternately, and the best of `--repeats` rounds counts. Reported:

* end to end, cold statistics cache: BLEU + chrF, and BLEU + chrF + TER (`mt-harness score -j auto`);
* end to end, warm persistent statistics cache (`--cache-dir`, filled by a previous run);
* the resampling step alone: sacreBLEU's per-resample loop against the harness' vectorised engine, on the
  same statistics, in this process;
* whether every p-value, mean and 95% interval printed by the two tools is identical.

    python -m benchmarks significance                # the full run (a few minutes on 2 CPU cores)
    python -m benchmarks significance -- --quick     # a smoke run in seconds (what the test suite runs)
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
OUTPUTS = sorted((DATA / "outputs" / "flores200-devtest").glob("*/*.output"))
TARGETS = {"resampling": 50.0, "bleu+chrf": 3.0, "bleu+chrf+ter": 2.0, "warm cache": 20.0}
SEED = 12345
# share of words each variant system touches: from not significantly different to clearly worse
RATES = (0.001, 0.003, 0.006, 0.01, 0.02, 0.04, 0.07, 0.1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks significance", description=__doc__.split("\n\n")[0])
    p.add_argument("--systems", type=int, default=10, help="number of systems (default 10)")
    p.add_argument("--segments", type=int, default=2000, help="segments per system (default 2000)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--repeats", type=int, default=1, help="rounds; the best time of each side counts (default 1)")
    p.add_argument("--workers", default="auto", help="the harness' -j (default auto: one per core)")
    p.add_argument("--quick", action="store_true", help="3 systems x 120 segments, 100 resamples, no targets")
    args = p.parse_args(argv)
    if args.quick:
        args.systems, args.segments, args.resamples, args.repeats = 3, 120, 100, 1
    if args.systems < 2 or args.segments < 1:
        p.error("--systems must be >= 2 and --segments >= 1")
    return args


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def make_testset(n_systems: int, n_segments: int) -> tuple[list[str], dict[str, list[str]]]:
    """References and `n_systems` hypothesis lists of `n_segments` lines each.

    FLORES-200 devtest has 1,012 segments; past them, the segments come again lower-cased and without their
    final punctuation mark (distinct strings, same lengths, so the statistics cost what real segments cost).
    Systems are the two OPUS-MT outputs, then seeded variants of them (words dropped, swapped, repeated or
    moved as a phrase, each word with a probability of 0.1% to 10%), so the systems differ by a range of
    margins, some of them not significant.
    """
    refs0 = _lines(FLORES_REF)
    real = [_lines(p) for p in OUTPUTS]

    def extend(lines: list[str]) -> list[str]:
        out = list(lines[:n_segments])
        k = 0
        while len(out) < n_segments:
            copy = k // len(lines) + 1
            line = lines[k % len(lines)].lower()
            out.append(line[:-1] if line[-1:] in ".?!\"" else line + " " * copy)
            k += 1
        return out

    refs = extend(refs0)
    systems = {p.parent.name: extend(lines) for p, lines in zip(OUTPUTS, real)}
    names = list(systems)
    rng = random.Random(0)
    k = 0
    while len(systems) < n_systems:
        base = systems[names[k % len(names)]]
        rate = RATES[k % len(RATES)]
        noisy = []
        for line in base:
            words = line.split()
            for i in reversed(range(len(words) - 1)):
                if rng.random() >= rate:
                    continue
                op = rng.randrange(4)
                if op == 0:
                    del words[i]
                elif op == 1:
                    words[i], words[i + 1] = words[i + 1], words[i]
                elif op == 2:
                    words.insert(i, words[i])
                else:  # move a short phrase: what TER's shifts are for
                    phrase = words[i:i + 2]
                    del words[i:i + 2]
                    j = rng.randrange(len(words) + 1)
                    words[j:j] = phrase
            noisy.append(" ".join(words))
        systems[f"variant-{k + 1:02d}"] = noisy
        k += 1
    return refs, systems


def write_testset(folder: Path, refs: list[str], systems: dict[str, list[str]]) -> tuple[Path, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    ref = folder / "ref.en"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    hyps = []
    for name, lines in systems.items():
        path = folder / f"{name}.en"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        hyps.append(path)
    return ref, hyps


# -- the two tools, each as a fresh process ------------------------------------------------------------------

@dataclass
class Timed:
    seconds: float
    output: str


def timed(cmd: list[str]) -> Timed:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("SACREBLEU_SEED", None)  # sacreBLEU's default seed is 12345, the harness' is an argument
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return Timed(seconds, res.stdout)


def sacrebleu_cmd(ref: Path, hyps: list[Path], metrics: list[str], resamples: int) -> list[str]:
    return [sys.executable, "-m", "sacrebleu", str(ref), "-i", *map(str, hyps), "-m", *metrics, "--paired-bs",
            "--paired-bs-n", str(resamples), "-f", "text", "-w", "2"]


def harness_cmd(ref: Path, hyps: list[Path], metrics: list[str], resamples: int, workers: str,
                cache_dir: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "harness", "score", "-r", str(ref), *map(str, hyps), "-m", *metrics, "--paired-bs",
           "--paired-bs-n", str(resamples), "--seed", str(SEED), "-w", "2"]
    if workers != "auto":
        cmd += ["-j", workers]
    return cmd + (["--cache-dir", str(cache_dir)] if cache_dir else [])


# Both print, per system and metric: score (mean ± half-width) and, past the baseline, "p = 0.0010".
_SACREBLEU_CELL = re.compile(r"(-?\d+\.\d+) \((-?\d+\.\d+) ± (\d+\.\d+)\)")
_HARNESS_CELL = re.compile(r"(-?\d+\.\d+) \(μ = (-?\d+\.\d+) ± (\d+\.\d+)\)")
_P_VALUE = re.compile(r"p = (\d\.\d{4})")


def printed_numbers(text: str, cell: re.Pattern) -> tuple[list[tuple[str, ...]], list[str]]:
    """(score, mean, half-width) of every cell, and every p-value, in the order printed (system by system)."""
    return cell.findall(text), _P_VALUE.findall(text)


# -- the resampling step alone, in this process --------------------------------------------------------------

def resampling_step(ref_lines: list[str], systems: dict[str, list[str]], metric_names: list[str],
                    resamples: int) -> dict:
    """sacreBLEU's PairedTest and the harness' `analyse` on the same precomputed statistics: time and results."""
    import numpy as np
    from sacrebleu.significance import PairedTest

    from harness.config import build_metric
    from harness.significance import SignificanceSettings, analyse

    names = list(systems)
    refs = [(r,) for r in ref_lines]
    metrics = [build_metric(name) for name in metric_names]
    stats = {m.name: [m.segment_statistics(h, refs) for h in systems.values()] for m in metrics}
    scores = {m.name: [m.corpus_score(s).score for s in stats[m.name]] for m in metrics}

    # sacreBLEU with its statistics extraction replaced by a lookup, so only resampling and scoring remain
    sb_metrics = {}
    for m in metrics:
        sb = copy.deepcopy(m._sb)
        table = {id(hyps): stats[m.name][i].tolist() for i, hyps in enumerate(systems.values())}
        sb._extract_corpus_statistics = lambda hyps, refs, table=table: table[id(hyps)]
        sb_metrics[m.name] = sb
    t0 = time.perf_counter()
    _, sb_table = PairedTest(list(systems.items()), sb_metrics, None, test_type="bs", n_samples=resamples)()
    sb_seconds = time.perf_counter() - t0

    settings = SignificanceSettings(resamples=resamples, seed=SEED, baseline=names[0], all_pairs=False)
    t0 = time.perf_counter()
    ours = analyse(metrics, names, stats, scores, settings)
    our_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    analyse(metrics, names, stats, scores, SignificanceSettings(resamples=resamples, seed=SEED, baseline=names[0]))
    all_pairs_seconds = time.perf_counter() - t0

    mismatches = []
    for m in metrics:
        for i, system in enumerate(names):
            expected, got = sb_table[m.name][i], ours[m.name]
            # p-values exactly; means and intervals to 1e-12 (BLEU's logs: numpy's and math's may differ in
            # the last bit)
            same = (got.scores[i] == expected.score
                    and abs(got.intervals[i].mean - expected.mean) <= 1e-12 * abs(expected.mean)
                    and abs(got.intervals[i].half_width - expected.ci) <= 1e-12 * max(1.0, expected.ci)
                    and (i == 0 or got.p_value(names[0], system) == expected.p_value))
            if not same:
                mismatches.append(f"{m.name} {system}")
    n_pairs = len(names) * (len(names) - 1) // 2
    return {"sacrebleu": sb_seconds, "harness": our_seconds, "all_pairs": all_pairs_seconds, "pairs": n_pairs,
            "mismatches": mismatches, "p_values": [float(np.round(ours[m.name].p_value(names[0], s), 4))
                                                   for m in metrics for s in names[1:]]}


# -- main ---------------------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    args = parse_args(argv)
    refs, systems = make_testset(args.systems, args.segments)
    print(f"{args.systems} systems x {args.segments} segments, {args.resamples} bootstrap resamples, seed {SEED}, "
          f"harness -j {args.workers} on {os.cpu_count()} CPU(s)", flush=True)
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        ref, hyps = write_testset(Path(tmp) / "data", refs, systems)

        step = resampling_step(refs, systems, ["bleu", "chrf", "ter"], args.resamples)
        rows.append(("resampling step alone (BLEU+chrF+TER)", step["sacrebleu"], step["harness"], "resampling"))
        print(f"resampling step: sacreBLEU {step['sacrebleu']:.2f} s, harness {step['harness']:.3f} s "
              f"(all {step['pairs']} pairs: {step['all_pairs']:.3f} s); identical p-values, scores and intervals "
              f"(to 1e-12): {'yes' if not step['mismatches'] else 'NO: ' + ', '.join(step['mismatches'][:5])}",
              flush=True)
        ok &= not step["mismatches"]

        for metrics, label in ((["bleu", "chrf"], "bleu+chrf"), (["bleu", "chrf", "ter"], "bleu+chrf+ter")):
            best_sb = best_h = None
            for _ in range(args.repeats):  # alternating, so both see the same machine load
                sb = timed(sacrebleu_cmd(ref, hyps, metrics, args.resamples))
                ours = timed(harness_cmd(ref, hyps, metrics, args.resamples, args.workers))
                best_sb = sb if best_sb is None or sb.seconds < best_sb.seconds else best_sb
                best_h = ours if best_h is None or ours.seconds < best_h.seconds else best_h
            sb_numbers = printed_numbers(best_sb.output, _SACREBLEU_CELL)
            our_numbers = printed_numbers(best_h.output, _HARNESS_CELL)
            same = sb_numbers == our_numbers and len(sb_numbers[1]) == (args.systems - 1) * len(metrics)
            ok &= same
            print(f"end to end, cold, {label}: sacreBLEU {best_sb.seconds:.2f} s, harness {best_h.seconds:.2f} s; "
                  f"printed scores, intervals and p-values identical: {'yes' if same else 'NO'}", flush=True)
            if not same:
                print(f"  sacreBLEU: {sb_numbers}\n  harness:   {our_numbers}")
            rows.append((f"end to end, cold cache, {label.replace('+', ' + ').upper().replace('CHRF', 'chrF')}",
                         best_sb.seconds, best_h.seconds, label))

            cache_dir = Path(tmp) / f"cache-{label}"
            timed(harness_cmd(ref, hyps, metrics, args.resamples, args.workers, cache_dir))  # fills the cache
            warm = min((timed(harness_cmd(ref, hyps, metrics, args.resamples, args.workers, cache_dir))
                        for _ in range(max(2, args.repeats))), key=lambda t: t.seconds)
            same = printed_numbers(warm.output, _HARNESS_CELL) == our_numbers
            ok &= same
            rows.append((f"end to end, warm cache, {label.replace('+', ' + ').upper().replace('CHRF', 'chrF')}",
                         best_sb.seconds, warm.seconds, "warm cache"))
            print(f"end to end, warm statistics cache, {label}: harness {warm.seconds:.2f} s; same output as cold: "
                  f"{'yes' if same else 'NO'}", flush=True)

    print()
    print(f"{'':44}{'sacreBLEU':>11}{'harness':>10}{'ratio':>9}{'target':>9}")
    for label, base, ours, target in rows:
        ratio = base / ours
        goal = TARGETS[target]
        met = args.quick or ratio >= goal
        ok &= met
        print(f"{label:44}{base:>10.2f}s{ours:>9.2f}s{ratio:>8.1f}x{'>=' + format(goal, 'g') + 'x':>9}"
              f"{'' if met else '  MISSED'}")
    if args.quick:
        print("(--quick: targets not checked)")
    print("OK: identical numbers; every ratio meets its target" if ok and not args.quick else
          "OK: identical numbers" if ok else "FAILED: see above")
    return 0 if ok else 1
