"""`mt-harness score`: score hypothesis files against references, a drop-in for the common
`sacrebleu REF -i HYP -m bleu chrf` and `comet-score` uses. Scoring goes through the same code as `run`."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.cache import Cache
from harness.data.testset import TestSet, build_testset
from harness.errors import DataError
from harness.metrics import metric_registry
from harness.run import SystemResult, compare_systems, score_all, translate_all
from harness.significance import TEST_NAMES, MetricSignificance, SignificanceSettings
from harness.significance import as_json as significance_json
from harness.systems.file import FileOutputs
from harness.textio import read_lines

DEFAULT_METRICS = ["bleu", "chrf"]
COMET_METRICS = ("comet", "cometkiwi", "xcomet")


def add_arguments(p: argparse.ArgumentParser) -> None:
    # nargs="*" (not "+") so that `-m bleu HYP` reaches our check below instead of argparse's terse error
    p.add_argument("hypotheses", nargs="*", metavar="HYP", help="hypothesis files, one segment per line")
    p.add_argument("-r", "--ref", dest="refs", action="append", required=True, metavar="REF",
                   help="reference file; repeat -r for several references")
    p.add_argument("-s", "--src", metavar="SRC", help="source file (needed by source-based metrics such as COMET)")
    p.add_argument("-m", "--metrics", nargs="+", default=DEFAULT_METRICS, metavar="METRIC",
                   help=f"metrics to compute (default: {' '.join(DEFAULT_METRICS)}); known: "
                        f"{', '.join(metric_registry().names())}")
    p.add_argument("-f", "--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("-tok", "--tokenize", default=None, help="BLEU tokenizer (default: 13a)")
    p.add_argument("-lc", "--lowercase", action="store_true", help="lowercase before BLEU and chrF")
    p.add_argument("-w", "--width", type=int, default=None,
                   help="digits after the decimal point in text output (default: 2 for BLEU/chrF/TER, 4 for COMET)")
    p.add_argument("--src-lang", default="vi", help="source language (default: vi)")
    p.add_argument("--tgt-lang", default="en", help="target language (default: en)")
    p.add_argument("-j", "--workers", type=int, default=None, metavar="N",
                   help="processes computing string-metric statistics for several systems (default: one per CPU)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="keep per-segment statistics in DIR/cache.sqlite, so re-scoring (e.g. after adding a "
                        "system) computes only what is new (default: no cache)")
    sig = p.add_argument_group("significance (the first hypothesis file is the baseline, as in sacrebleu)")
    test = sig.add_mutually_exclusive_group()
    test.add_argument("--paired-bs", "-pbs", action="store_true",
                      help="paired bootstrap resampling test against the baseline, with 95%% confidence intervals")
    test.add_argument("--paired-ar", "-par", action="store_true",
                      help="paired approximate randomisation test against the baseline (intervals by bootstrap)")
    test.add_argument("--confidence", "-ci", action="store_true",
                      help="95%% bootstrap confidence intervals only, no paired test")
    sig.add_argument("--paired-bs-n", "-pbsn", type=int, default=1000, metavar="N",
                     help="bootstrap resamples (default: 1000)")
    sig.add_argument("--paired-ar-n", "-parn", type=int, default=10000, metavar="N",
                     help="approximate-randomisation trials (default: 10000)")
    sig.add_argument("--seed", type=int, default=12345, help="random seed of the resamples (default: 12345)")
    sig.add_argument("--all-pairs", action="store_true",
                     help="test every pair of systems, with Holm-corrected p-values, rank ranges and clusters")
    sig.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    comet = p.add_argument_group("COMET options (metrics comet, cometkiwi, xcomet; they need -s SRC)")
    comet.add_argument("--comet-model", metavar="PATH_OR_ID",
                       help="checkpoint: a hub id or a local folder (hparams.yaml + checkpoints/model.ckpt) or "
                            ".ckpt file (default: Unbabel/wmt22-comet-da, wmt22-cometkiwi-da, XCOMET-XL)")
    comet.add_argument("--comet-encoder", metavar="PATH_OR_ID",
                       help="encoder tokenizer/config to use instead of the one in the checkpoint's hparams.yaml "
                            "(e.g. a local copy of xlm-roberta-large for offline use)")
    comet.add_argument("--comet-batch-size", type=int, metavar="N", help="segments per batch (default 16; xcomet 8)")
    comet.add_argument("--comet-device", metavar="DEVICE", help="auto (default), cuda, mps or cpu")
    comet.add_argument("--comet-precision", choices=("fp32", "fp16", "bf16"),
                       help="default fp32 (the comet-score CLI always uses fp16)")


def _metric_kwargs(name: str, args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if name == "bleu" and args.tokenize:
        kw["tokenize"] = args.tokenize
    if name in ("bleu", "chrf", "chrf++") and args.lowercase:
        kw["lowercase"] = True
    if name in COMET_METRICS:
        options = {"model": args.comet_model, "encoder": args.comet_encoder, "batch_size": args.comet_batch_size,
                   "device": args.comet_device, "precision": args.comet_precision}
        kw.update({k: v for k, v in options.items() if v is not None})
    return kw


def build_metrics(names: list[str], args: argparse.Namespace):
    reg = metric_registry()
    metrics = []
    for name in names:
        if os.path.exists(name) and name not in reg.names():
            raise DataError(f"{name!r} was given as a metric but is a file; put `-m METRIC...` after the "
                            f"hypothesis files, or end the metric list with `--`")
        canonical = reg.canonical(name.lower())
        metric = reg.create(canonical, **_metric_kwargs(canonical, args))
        if canonical in COMET_METRICS:  # errors then name the options of this command, not config keys
            metric.option_hints = {"model": "--comet-model", "encoder": "--comet-encoder",
                                   "batch_size": "--comet-batch-size"}
        metrics.append(metric)
    if not any(m in COMET_METRICS for m in map(str.lower, names)):
        for option in ("comet_model", "comet_encoder", "comet_batch_size", "comet_device", "comet_precision"):
            if getattr(args, option) is not None:
                raise DataError(f"--{option.replace('_', '-')} is given but no COMET metric is: add -m comet "
                                f"(or cometkiwi, xcomet)")
    return metrics


def load_references(args: argparse.Namespace) -> TestSet:
    ref_streams = [read_lines(r) for r in args.refs]
    n = len(ref_streams[0])
    for path, stream in zip(args.refs[1:], ref_streams[1:]):
        if len(stream) != n:
            raise DataError(f"reference {args.refs[0]} has {n} lines but reference {path} has {len(stream)}")
    srcs = read_lines(args.src) if args.src else [""] * n
    if len(srcs) != n:
        raise DataError(f"source {args.src} has {len(srcs)} lines but reference {args.refs[0]} has {n}")
    origin = f"references: {', '.join(args.refs)}" + (f"; source: {args.src}" if args.src else "")
    return build_testset("score", args.src_lang, args.tgt_lang, srcs, list(zip(*ref_streams)), origin=origin)


def significance_settings(args: argparse.Namespace) -> SignificanceSettings:
    """The settings the significance options ask for (test "none" when none is given)."""
    if args.paired_bs or args.paired_ar or args.confidence:
        if (args.paired_bs or args.paired_ar) and len(args.hypotheses) < 2:
            raise DataError("a paired test needs at least two hypothesis files (the first is the baseline)")
        test = "bootstrap" if args.paired_bs or args.confidence else "ar"
        paired = args.paired_bs or args.paired_ar
        return SignificanceSettings(test=test, resamples=args.paired_bs_n, trials=args.paired_ar_n, seed=args.seed,
                                    alpha=args.alpha, baseline=args.hypotheses[0] if paired else None,
                                    all_pairs=args.all_pairs or (args.confidence and len(args.hypotheses) > 1),
                                    correction="holm" if args.all_pairs else "none")
    if args.all_pairs:
        raise DataError("--all-pairs needs --paired-bs or --paired-ar")
    return SignificanceSettings(test="none")


@dataclass
class ScoredFiles:
    testset: TestSet
    metrics: list
    results: list[SystemResult]
    settings: SignificanceSettings
    significance: dict[str, MetricSignificance]  # by metric name; {} without significance options


def score_files(args: argparse.Namespace) -> ScoredFiles:
    metrics = build_metrics(args.metrics, args)
    if not args.hypotheses:
        raise DataError("no hypothesis files given: mt-harness score -r REF HYP [HYP ...] [-m METRIC ...]")
    if len(set(args.hypotheses)) != len(args.hypotheses):
        dup = next(h for h in args.hypotheses if args.hypotheses.count(h) > 1)
        raise DataError(f"hypothesis file {dup} is given twice")
    settings = significance_settings(args)
    testset = load_references(args)
    for m in metrics:
        if m.needs_sources and not args.src:
            raise DataError(f"metric {m.name} needs the source sentences: add -s SRC")
    systems = {path: FileOutputs(path, {"score": path}) for path in args.hypotheses}
    cache = Cache(Path(args.cache_dir) / "cache.sqlite" if args.cache_dir else None)
    try:
        results, _ = translate_all({"score": testset}, systems, cache, strict=True)
        score_all({"score": testset}, metrics, results, strict=True, cache=cache, workers=args.workers)
    finally:
        cache.close()
    significance = compare_systems({"score": testset}, metrics, results, settings).get("score", {})
    return ScoredFiles(testset, metrics, results, settings, significance)


def _significance_fields(sig: MetricSignificance | None, system: str) -> dict[str, Any]:
    if sig is None:
        return {}
    i = sig.index(system)
    out: dict[str, Any] = {"ci": asdict(sig.intervals[i])}
    if sig.baseline is not None:
        out["p_value"] = sig.p_value(sig.baseline, system) if system != sig.baseline else None
    if sig.rank_ranges:
        out["rank_range"], out["cluster"] = list(sig.rank_ranges[i]), sig.clusters[i]
    return out


def as_json(scored: ScoredFiles) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "references": scored.testset.origin,
        "segments": len(scored.testset),
        "systems": {r.system: {m.name: {"score": r.scores[m.name].score, "signature": r.scores[m.name].signature,
                                        "details": r.scores[m.name].details,
                                        **_significance_fields(scored.significance.get(m.name), r.system)}
                               for m in scored.metrics}
                    for r in scored.results},
        "empty_hypotheses": {r.system: r.n_empty for r in scored.results},
    }
    if scored.significance:
        # per-system intervals and p-values are above; here what concerns all systems at once
        blocks = {name: significance_json(sig) for name, sig in scored.significance.items()}
        doc["significance"] = {"settings": scored.settings.to_dict(), "signature": scored.settings.signature(),
                               "metrics": {name: {key: block[key] for key in ("p_values", "p_values_holm", "power")}
                                           for name, block in blocks.items()}}
    return doc


def _digits(metric, width: int | None) -> int:
    return metric.display_digits if width is None else width


def _text_cell(scored: ScoredFiles, metric, r: SystemResult, width: int | None) -> str:
    d = _digits(metric, width)
    cell = f"{r.scores[metric.name].score:.{d}f}"
    sig = scored.significance.get(metric.name)
    if sig is None:
        return cell
    i = sig.index(r.system)
    ci = sig.intervals[i]
    cell += f" (μ = {ci.mean:.{d}f} ± {ci.half_width:.{d}f})"
    if sig.baseline is not None and r.system != sig.baseline:
        p = sig.p_value(sig.baseline, r.system)
        cell += f" p = {p:.4f}" + ("*" if p < scored.settings.alpha else " ")
    return cell


def as_text(scored: ScoredFiles, width: int | None) -> str:
    metrics, results = scored.metrics, scored.results
    lines = []
    if len(results) == 1 and not scored.significance:
        r = results[0]
        for m in metrics:
            s = r.scores[m.name]
            lines.append(f"{s.signature} = {s.score:.{_digits(m, width)}f} {s.details}".rstrip())
    else:
        table = [["System"] + [m.name for m in metrics]]
        for r in results:
            label = f"Baseline: {r.system}" if scored.settings.baseline == r.system else r.system
            table.append([label] + [_text_cell(scored, m, r, width) for m in metrics])
        widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
        for row in table:
            lines.append("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])])
                         .rstrip())
        lines.append("")
        lines += [results[0].scores[m.name].signature for m in metrics]
        if scored.significance:
            lines += _significance_footer(scored)
    for r in results:
        if r.n_empty:
            lines.append(f"note: {r.system} has {r.n_empty} empty hypotheses (scored as empty)")
    return "\n".join(lines)


def _significance_footer(scored: ScoredFiles) -> list[str]:
    s = scored.settings
    lines = [s.signature(), ""]
    test = TEST_NAMES[s.test]
    lines.append(f"μ ± x: mean and half-width of the 95% bootstrap confidence interval ({s.resamples} resamples, "
                 f"seed {s.seed}).")
    if s.baseline is not None:
        lines.append(f"p: {test} against the baseline; * p < {s.alpha}.")
    first = next(iter(scored.significance.values()))
    if first.rank_ranges:
        lines.append("")
        lines.append(f"All pairs ({test}{', Holm-corrected' if s.correction == 'holm' else ''}, p < {s.alpha}):")
        for name, sig in scored.significance.items():
            order = sorted(range(len(sig.systems)), key=lambda i: sig.clusters[i])
            lines.append(f"  {name}: " + "; ".join(
                f"{sig.systems[i]} rank {_range(sig.rank_ranges[i])} cluster {sig.clusters[i]}" for i in order))
    for name, sig in scored.significance.items():
        if sig.power:
            pw = sig.power
            lines.append(f"power ({name}): {pw.segments_needed:,} segments detect a difference of {pw.delta:g} "
                         f"(α = {pw.alpha}, power {pw.power}); these {pw.segments:,} detect about "
                         f"{pw.detectable_difference:.2f}")
    return lines


def _range(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}-{r[1]}"


def run_score(args: argparse.Namespace) -> int:
    scored = score_files(args)
    if args.format == "json":
        print(json.dumps(as_json(scored), ensure_ascii=False, indent=2))
    else:
        print(as_text(scored, args.width))
    return 0
