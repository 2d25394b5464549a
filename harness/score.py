"""`mt-harness score`: score hypothesis files against references, a drop-in for the common
`sacrebleu REF -i HYP -m bleu chrf` and `comet-score` uses. Scoring goes through the same code as `run`."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from harness.data.testset import TestSet, build_testset
from harness.errors import DataError
from harness.metrics import metric_registry
from harness.run import SystemResult, score_all, translate_all
from harness.cache import Cache
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


def score_files(args: argparse.Namespace) -> tuple[TestSet, list, list[SystemResult]]:
    metrics = build_metrics(args.metrics, args)
    if not args.hypotheses:
        raise DataError("no hypothesis files given: mt-harness score -r REF HYP [HYP ...] [-m METRIC ...]")
    testset = load_references(args)
    for m in metrics:
        if m.needs_sources and not args.src:
            raise DataError(f"metric {m.name} needs the source sentences: add -s SRC")
    systems = {path: FileOutputs(path, {"score": path}) for path in args.hypotheses}
    results, _ = translate_all({"score": testset}, systems, Cache(None), strict=True)
    score_all({"score": testset}, metrics, results, strict=True)
    return testset, metrics, results


def as_json(testset: TestSet, metrics, results: list[SystemResult]) -> dict[str, Any]:
    return {
        "references": testset.origin,
        "segments": len(testset),
        "systems": {r.system: {m.name: {"score": r.scores[m.name].score, "signature": r.scores[m.name].signature,
                                        "details": r.scores[m.name].details} for m in metrics}
                    for r in results},
        "empty_hypotheses": {r.system: r.n_empty for r in results},
    }


def _digits(metric, width: int | None) -> int:
    return metric.display_digits if width is None else width


def as_text(metrics, results: list[SystemResult], width: int | None) -> str:
    lines = []
    if len(results) == 1:
        r = results[0]
        for m in metrics:
            s = r.scores[m.name]
            lines.append(f"{s.signature} = {s.score:.{_digits(m, width)}f} {s.details}".rstrip())
    else:
        name_w = max(len("System"), *(len(r.system) for r in results))
        lines.append(f"{'System':<{name_w}}  " + "  ".join(f"{m.name:>8}" for m in metrics))
        for r in results:
            lines.append(f"{r.system:<{name_w}}  " + "  ".join(f"{r.scores[m.name].score:>8.{_digits(m, width)}f}"
                                                                 for m in metrics))
        lines.append("")
        lines += [results[0].scores[m.name].signature for m in metrics]
    for r in results:
        if r.n_empty:
            lines.append(f"note: {r.system} has {r.n_empty} empty hypotheses (scored as empty)")
    return "\n".join(lines)


def run_score(args: argparse.Namespace) -> int:
    testset, metrics, results = score_files(args)
    if args.format == "json":
        print(json.dumps(as_json(testset, metrics, results), ensure_ascii=False, indent=2))
    else:
        print(as_text(metrics, results, args.width))
    return 0
