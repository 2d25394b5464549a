"""String metrics at 100k-1M segments: `sacrebleu` against `mt-harness score`, time and peak memory.

The test set is FLORES-200 devtest repeated (1,012 segments a copy) with seeded 5% word drops in every line of
every copy, references included, so no two copies are the same text: 100 copies make 101,200 segments. The
two systems are the shipped OPUS-MT outputs, repeated and perturbed the same way. Both tools run as fresh
processes (imports and file reading included), one after the other. Peak memory is the largest sum, over
the process and all its descendants (worker processes), of their proportional set sizes (PSS, from
/proc/PID/smaps_rollup every 50 ms: physical memory, a page that forked workers share with their parent
counted once in all); the kernel's peak RSS of the largest single process is shown beside it. Reported:

* 100k segments x 2 systems, BLEU + chrF + `--paired-bs` (1,000 resamples): time, memory, and whether every
  printed score, mean, interval and p-value is the same;
* the same command at 1M segments, the harness alone (sacreBLEU's resampling needs ~130 GB there);
* per-system statistics (one system, one reference set, references prepared included) for BLEU, chrF,
  chrF++ and TER: sacreBLEU's `_extract_corpus_statistics` against the harness metric, in this process,
  statistics compared value for value.

    python -m benchmarks scale                       # all of it (about 10 minutes on 2 CPU cores)
    python -m benchmarks scale -- --skip-million     # without the 1M run
    python -m benchmarks scale -- --quick            # a smoke run in seconds, no targets
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"
FLORES_REF = DATA / "flores200" / "eng_Latn.devtest"
OUTPUTS = sorted((DATA / "outputs" / "flores200-devtest").glob("*/*.output"))
SEED = 12345
DROP = 0.05
GIB = 1024 ** 3
TARGETS = {"speed": 10.0, "memory 100k": 1 * GIB, "memory 1M": 2 * GIB, "extraction": 3.0}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--segments", type=int, default=101_200, help="segments of the end-to-end run (default 101200)")
    p.add_argument("--million", type=int, default=1_012_000, help="segments of the large run (default 1012000)")
    p.add_argument("--skip-million", action="store_true", help="leave out the large run")
    p.add_argument("--extraction-segments", type=int, default=20_240,
                   help="segments of the per-system extraction comparison (default 20240; TER a quarter of it)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--quick", action="store_true", help="2,024 / 10,120 segments, 100 resamples, no targets")
    p.add_argument("--without-numba", action="store_true",
                   help="also run the end-to-end harness command with numba hidden (its exact numpy engine)")
    args = p.parse_args(argv)
    if args.quick:
        args.segments, args.million, args.extraction_segments, args.resamples = 2024, 10_120, 1012, 100
    return args


# -- the data ----------------------------------------------------------------------------------------------

def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def perturbed(lines: list[str], n_segments: int, seed: int) -> list[str]:
    """`lines` repeated to `n_segments`, each line of each copy with every word dropped with probability 5%."""
    words = [line.split() for line in lines]
    counts = np.array([len(w) for w in words])
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_segments, len(lines)):
        copy_words = words[:min(len(lines), n_segments - start)]
        keep = rng.random(int(counts[:len(copy_words)].sum())) >= DROP
        offsets = np.concatenate([[0], np.cumsum(counts[:len(copy_words)])]).tolist()
        keep_list = keep.tolist()
        for w, a in zip(copy_words, offsets):
            out.append(" ".join(x for x, k in zip(w, keep_list[a:a + len(w)]) if k))
    return out


def write_data(folder: Path, n_segments: int) -> tuple[Path, list[Path]]:
    """References and two system files of `n_segments` lines in `folder` (kept when already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    ref = folder / "ref.en"
    hyps = [folder / f"{p.parent.name}.en" for p in OUTPUTS]
    if not all(p.exists() for p in [ref, *hyps]):
        for k, (source, target) in enumerate(zip([FLORES_REF, *OUTPUTS], [ref, *hyps])):
            target.write_text("\n".join(perturbed(_lines(source), n_segments, seed=k)) + "\n", encoding="utf-8")
    return ref, hyps


# -- running a tool, with its memory -------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_pss(pid: int) -> int:
    """Summed proportional set size (PSS) of a process and all its descendants, in bytes: physical memory, a
    page shared by n processes (forked workers share their parent's) counted 1/n in each."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _pss(p)
        todo += _children(p)
    return total


@dataclass
class Timed:
    seconds: float
    peak_bytes: int  # largest sampled PSS sum over the process tree
    max_rss: int  # the kernel's peak RSS of the largest single process in the tree
    output: str


def timed(cmd: list[str], hide_numba: bool = False) -> Timed:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if hide_numba:  # a module named numba that fails to import, first on the path: what an install without it does
        shim = Path(tempfile.mkdtemp(prefix="no-numba-"))
        (shim / "numba.py").write_text('raise ImportError("numba hidden by the benchmark")\n')
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    env.pop("SACREBLEU_SEED", None)  # sacreBLEU's default seed is 12345, the harness' is an argument
    peak = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        while True:
            waited, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if waited:
                break
            peak = max(peak, tree_pss(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if hide_numba:
        shutil.rmtree(shim, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{stderr[-2000:]}")
    max_rss = usage.ru_maxrss * 1024  # KiB on Linux: the largest of the process and its waited-for descendants
    return Timed(seconds, max(peak, max_rss) if peak == 0 else peak, max_rss, stdout)


def sacrebleu_cmd(ref: Path, hyps: list[Path], resamples: int) -> list[str]:
    return [sys.executable, "-m", "sacrebleu", str(ref), "-i", *map(str, hyps), "-m", "bleu", "chrf",
            "--paired-bs", "--paired-bs-n", str(resamples), "-f", "text", "-w", "2"]


def harness_cmd(ref: Path, hyps: list[Path], resamples: int) -> list[str]:
    return [sys.executable, "-m", "harness", "score", "-r", str(ref), *map(str, hyps), "-m", "bleu", "chrf",
            "--paired-bs", "--paired-bs-n", str(resamples), "--seed", str(SEED), "-w", "2"]


_SACREBLEU_CELL = re.compile(r"(-?\d+\.\d+) \((-?\d+\.\d+) ± (\d+\.\d+)\)")
_HARNESS_CELL = re.compile(r"(-?\d+\.\d+) \(μ = (-?\d+\.\d+) ± (\d+\.\d+)\)")
_P_VALUE = re.compile(r"p = (\d\.\d{4})")


def printed_numbers(text: str, cell: re.Pattern) -> tuple[list[tuple[str, ...]], list[str]]:
    return cell.findall(text), _P_VALUE.findall(text)


# -- per-system extraction, in this process --------------------------------------------------------------------

EXTRACTION = {"BLEU": ("bleu", "BLEU", {}), "chrF": ("chrf", "CHRF", {}),
              "chrF++": ("chrf++", "CHRF", {"word_order": 2}), "TER": ("ter", "TER", {})}


def extraction(name: str, refs: list[str], hyps: list[str]) -> tuple[float, float, bool]:
    """(sacreBLEU seconds, harness seconds, identical statistics) for one system against one reference set,
    each with a fresh metric object (so the reference side is prepared within the timing)."""
    import sacrebleu

    from harness.config import build_metric

    config, cls, options = EXTRACTION[name]
    # a first call on a few segments, untimed: what each loads on first use (compiled kernels) is loaded
    getattr(sacrebleu, cls)(**options)._extract_corpus_statistics(hyps[:20], [refs[:20]])
    build_metric(config).segment_statistics(hyps[:20], [(r,) for r in refs[:20]])
    theirs = getattr(sacrebleu, cls)(**options)
    t0 = time.perf_counter()
    expected = theirs._extract_corpus_statistics(hyps, [refs])
    sb_seconds = time.perf_counter() - t0
    ours = build_metric(config)
    ref_tuples = [(r,) for r in refs]
    t0 = time.perf_counter()
    got = ours.segment_statistics(hyps, ref_tuples)
    our_seconds = time.perf_counter() - t0
    same = np.array_equal(np.asarray(got, dtype=np.float64), np.array(expected, dtype=np.float64))
    return sb_seconds, our_seconds, same


# -- main ---------------------------------------------------------------------------------------------------

def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    ok = True
    rows = []
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}; {args.resamples} bootstrap resamples, "
          f"seed {SEED}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        ref, hyps = write_data(Path(tmp) / "large", args.segments)
        sb = timed(sacrebleu_cmd(ref, hyps, args.resamples))
        ours = timed(harness_cmd(ref, hyps, args.resamples))
        same = printed_numbers(sb.output, _SACREBLEU_CELL) == printed_numbers(ours.output, _HARNESS_CELL)
        same &= len(printed_numbers(ours.output, _HARNESS_CELL)[1]) == 2
        ok &= same
        print(f"{args.segments} segments x 2 systems, BLEU + chrF + --paired-bs: sacreBLEU {sb.seconds:.1f} s "
              f"{_gib(sb.peak_bytes)}, harness {ours.seconds:.1f} s {_gib(ours.peak_bytes)}; printed scores, "
              f"intervals and p-values identical: {'yes' if same else 'NO'}", flush=True)
        if not same:
            print(f"  sacreBLEU: {printed_numbers(sb.output, _SACREBLEU_CELL)}\n"
                  f"  harness:   {printed_numbers(ours.output, _HARNESS_CELL)}")
        rows.append((f"{args.segments:,} x 2, end to end (s)", f"{sb.seconds:.1f}", f"{ours.seconds:.1f}",
                     sb.seconds / ours.seconds, "speed"))
        rows.append((f"{args.segments:,} x 2, peak memory", _gib(sb.peak_bytes), _gib(ours.peak_bytes),
                     sb.peak_bytes / ours.peak_bytes, "memory 100k", ours.peak_bytes))

        if args.without_numba:
            plain = timed(harness_cmd(ref, hyps, args.resamples), hide_numba=True)
            same = printed_numbers(plain.output, _HARNESS_CELL) == printed_numbers(ours.output, _HARNESS_CELL)
            ok &= same
            print(f"{args.segments} segments x 2 systems without numba: harness {plain.seconds:.1f} s "
                  f"{_gib(plain.peak_bytes)}; the same numbers: {'yes' if same else 'NO'}", flush=True)
            rows.append((f"{args.segments:,} x 2, without numba (s)", f"{sb.seconds:.1f}", f"{plain.seconds:.1f}",
                         sb.seconds / plain.seconds, None))

        refs_lines, hyp_lines = _lines(ref), _lines(hyps[0])
        for name in EXTRACTION:
            n = args.extraction_segments // (4 if name == "TER" else 1)
            sb_s, our_s, same = extraction(name, refs_lines[:n], hyp_lines[:n])
            ok &= same
            print(f"per-system extraction, {name}, {n} segments: sacreBLEU {sb_s:.2f} s, harness {our_s:.2f} s; "
                  f"identical statistics: {'yes' if same else 'NO'}", flush=True)
            rows.append((f"extraction {name}, {n:,} segments (s)", f"{sb_s:.2f}", f"{our_s:.2f}", sb_s / our_s,
                         "extraction"))
        del refs_lines, hyp_lines

        if not args.skip_million:
            ref, hyps = write_data(Path(tmp) / "million", args.million)
            big = timed(harness_cmd(ref, hyps, args.resamples))
            print(f"{args.million} segments x 2 systems: harness {big.seconds:.1f} s, {_gib(big.peak_bytes)}",
                  flush=True)
            rows.append((f"{args.million:,} x 2, end to end (s)", "-", f"{big.seconds:.1f}", None, None))
            rows.append((f"{args.million:,} x 2, peak memory", "-", _gib(big.peak_bytes), None, "memory 1M",
                         big.peak_bytes))

    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other processes on the machine slow both tools)")
    print(f"{'':44}{'sacreBLEU':>11}{'harness':>11}{'ratio':>8}{'target':>12}")
    for label, base, mine, ratio, target, *peak in rows:
        goal = ""
        met = True
        if target is not None and target.startswith("memory"):
            goal = f"<={TARGETS[target] / GIB:g} GiB"
            met = peak[0] <= TARGETS[target]
        elif target is not None:
            goal = f">={TARGETS[target]:g}x"
            met = ratio >= TARGETS[target]
        met = met or args.quick
        ok &= met
        shown = f"{ratio:.1f}x" if ratio is not None else "-"
        print(f"{label:44}{base:>11}{mine:>11}{shown:>8}{goal:>12}{'' if met else '  MISSED'}")
    if args.quick:
        print("(--quick: targets not checked)")
    print("OK: identical numbers; every target met" if ok and not args.quick else
          "OK: identical numbers" if ok else "FAILED: see above")
    return 0 if ok else 1
