"""`mt-harness score`: score hypothesis files against references, a drop-in for the common
`sacrebleu REF -i HYP -m bleu chrf` and `comet-score` uses.

Scoring goes through the same code as `run`: metrics are built from configs/metric/<name>.yaml (the options
below override their fields), the files are a one-test-set run (`translate_all`, `score_all`,
`compare_systems`), and the output is that run's document (`--format json`, the same shape as scores.json)
or its plain-text rendering."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import DataError

log = logging.getLogger(__name__)

HELP = "score hypothesis files against references (like sacrebleu / comet-score)"
DESCRIPTION = ("Score one or more hypothesis files against reference file(s). The first hypothesis is the baseline "
               "for significance tests. Metrics are configs/metric/<name>.yaml; options below override their fields.")
DEFAULT_METRICS = ["bleu", "chrf"]
COMET_METRICS = ("comet", "cometkiwi", "xcomet")
#: the COMET options of this command and the metric field each overrides
COMET_OPTIONS = {"comet_model": "model", "comet_encoder": "encoder", "comet_batch_size": "batch_size",
                 "comet_device": "device", "comet_precision": "precision"}


def _digits(text: str) -> int:
    """-w: digits after the decimal point, 0 to 10."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of digits, not {text!r}") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"digits must be between 0 and 10, not {value}")
    return value


def _count(text: str) -> int:
    """A positive count (resamples, trials, workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.config import group_options

    # nargs="*" (not "+") so that `-m bleu HYP` reaches our check below instead of argparse's terse error
    p.add_argument("hypotheses", nargs="*", metavar="HYP",
                   help="hypothesis files, one segment per line (none: one system read from standard input)")
    p.add_argument("-i", "--input", dest="input_files", nargs="+", default=[], metavar="HYP",
                   help="hypothesis files, as sacrebleu's -i (the same as giving them as arguments)")
    p.add_argument("-r", "--ref", dest="refs", action="append", required=True, metavar="REF",
                   help="reference file; repeat -r for several references")
    p.add_argument("-s", "--src", metavar="SRC", help="source file (needed by source-based metrics such as COMET)")
    p.add_argument("-m", "--metrics", nargs="+", default=DEFAULT_METRICS, metavar="METRIC",
                   help=f"metrics to compute (default: {' '.join(DEFAULT_METRICS)}); known: "
                        f"{', '.join(group_options('metric'))} (configs/metric/)")
    p.add_argument("-O", "--metric-option", dest="metric_options", action="append", default=[],
                   metavar="METRIC.FIELD=VALUE",
                   help="set a field of a metric's config, e.g. -O chrf.lowercase=true -O xcomet.model=/models/x "
                        "(repeatable; values are YAML)")
    p.add_argument("-f", "--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--segments", metavar="FILE",
                   help="also write segment-level scores as TSV (system, segment, seg_id, one column per metric) to "
                        "FILE; `-` prints them instead of the table, as comet-score prints segment scores")
    p.add_argument("-tok", "--tokenize", default=None, help="BLEU tokenizer (default: by --tgt-lang as sacreBLEU: zh, ja-mecab, ko-mecab, else 13a)")
    p.add_argument("-lc", "--lowercase", action="store_true", help="lowercase before BLEU")
    p.add_argument("-w", "--width", type=_digits, default=None,
                   help="digits after the decimal point in text output (default: 2 for BLEU/chrF/TER, 4 for COMET)")
    p.add_argument("--no-sanity", action="store_true",
                   help="skip the sanity checks of the outputs (copies of the source, shifted lines, wrong language, "
                        "undecoded tokens, ...), which print warnings and add flags to the JSON output")
    p.add_argument("--src-lang", default="vi", help="source language (default: vi)")
    p.add_argument("--tgt-lang", default="en", help="target language (default: en)")
    p.add_argument("-j", "--workers", type=_count, default=None, metavar="N",
                   help="processes computing string-metric statistics for several systems (default: one per CPU)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="keep per-segment statistics (and COMET checkpoint hashes) in DIR/cache.sqlite, so "
                        "re-scoring (e.g. after adding a system) computes only what is new (default: no cache)")
    sig = p.add_argument_group("significance (the first hypothesis file is the baseline, as in sacrebleu)")
    test = sig.add_mutually_exclusive_group()
    test.add_argument("--paired-bs", "-pbs", action="store_true",
                      help="paired bootstrap resampling test against the baseline, with 95%% confidence intervals")
    test.add_argument("--paired-ar", "-par", action="store_true",
                      help="paired approximate randomisation test against the baseline (intervals by bootstrap)")
    test.add_argument("--confidence", "-ci", action="store_true",
                      help="95%% bootstrap confidence intervals only, no paired test")
    sig.add_argument("--paired-bs-n", "-pbsn", type=_count, default=1000, metavar="N",
                     help="bootstrap resamples (default: 1000)")
    sig.add_argument("--paired-ar-n", "-parn", type=_count, default=10000, metavar="N",
                     help="approximate-randomisation trials (default: 10000)")
    sig.add_argument("--seed", type=int, default=12345, help="random seed of the resamples (default: 12345)")
    sig.add_argument("--all-pairs", action="store_true",
                     help="test every pair of systems, with Holm-corrected p-values, rank ranges and clusters")
    sig.add_argument("--alpha", type=_probability, default=0.05, help="significance level (default: 0.05)")
    comet = p.add_argument_group("COMET options (metrics comet, cometkiwi, xcomet; they need -s SRC). With two "
                                 "COMET metrics, set each one's fields with -O NAME.FIELD=VALUE instead")
    comet.add_argument("--comet-model", metavar="PATH_OR_ID",
                       help="checkpoint: a hub id or a local folder (hparams.yaml + checkpoints/model.ckpt) or "
                            ".ckpt file (default: the metric config's, e.g. Unbabel/wmt22-comet-da)")
    comet.add_argument("--comet-encoder", metavar="PATH_OR_ID",
                       help="encoder tokenizer/config to use instead of the one in the checkpoint's hparams.yaml "
                            "(e.g. a local copy of xlm-roberta-large for offline use)")
    comet.add_argument("--comet-batch-size", type=_count, metavar="N", help="segments per batch (default: the config's)")
    comet.add_argument("--comet-device", metavar="DEVICE", help="auto (default), cuda, mps or cpu")
    comet.add_argument("--comet-precision", choices=("fp32", "fp16", "bf16"),
                       help="default fp32 (the comet-score CLI always uses fp16)")


# ------------------------------------------------------------------------------------------ metrics

def _parse_metric_options(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """`-O chrf.lowercase=true` -> {"chrf": {"lowercase": True}}; the metric must be one of -m."""
    import yaml

    from harness.config import metric_config_name

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        metric, dot, field = key.partition(".")
        if not sep or not dot or not field:
            raise DataError(f"-O {item!r}: expected METRIC.FIELD=VALUE, e.g. -O chrf.lowercase=true")
        config_name = metric_config_name(metric)
        if config_name not in names:
            raise DataError(f"-O {item!r} sets an option of {config_name}, which is not among the metrics "
                            f"(-m {' '.join(names)})")
        out.setdefault(config_name, {})[field] = yaml.safe_load(value)
    return out


def build_metrics(args: argparse.Namespace) -> list:
    """The metrics of `-m`, from their config files with this command's options as overrides."""
    from harness.config import METRIC_ALIASES, build_metric, group_options, metric_config_name

    for name in args.metrics:
        if os.path.exists(name) and name.lower() not in group_options("metric") + list(METRIC_ALIASES):
            raise DataError(f"{name!r} was given as a metric but is a file; put `-m METRIC...` after the "
                            f"hypothesis files, or end the metric list with `--`")
    names = list(dict.fromkeys(metric_config_name(n) for n in args.metrics))
    overrides = _parse_metric_options(args.metric_options, names)
    if args.tokenize:
        overrides.setdefault("bleu", {}).setdefault("tokenize", args.tokenize)
    if args.lowercase:  # sacreBLEU's -lc lowercases for BLEU only (chrF has its own --chrf-lowercase)
        overrides.setdefault("bleu", {}).setdefault("lowercase", True)
    comet_names = [n for n in names if n in COMET_METRICS]
    given = {opt: getattr(args, opt) for opt in COMET_OPTIONS if getattr(args, opt) is not None}
    if given and not comet_names:
        raise DataError(f"--{next(iter(given)).replace('_', '-')} is given but no COMET metric is: add -m comet "
                        f"(or cometkiwi, xcomet)")
    if given and len(comet_names) > 1:
        option = next(iter(given)).replace("_", "-")
        raise DataError(f"--{option} would apply to {len(comet_names)} COMET metrics ({', '.join(comet_names)}), "
                        f"which need different checkpoints: set each one's with -O, e.g. "
                        + " ".join(f"-O {n}.{COMET_OPTIONS[next(iter(given))]}=..." for n in comet_names))
    for opt, value in given.items():
        overrides.setdefault(comet_names[0], {}).setdefault(COMET_OPTIONS[opt], value)
    metrics = []
    for name in names:
        metric = build_metric(name, overrides.get(name), cache_dir=args.cache_dir)
        if name in COMET_METRICS:  # errors then name the options of this command, not config keys
            single = len(comet_names) == 1
            metric.option_hints = {field: (f"--comet-{field.replace('_', '-')}" if single else f"-O {name}.{field}")
                                   for field in ("model", "encoder", "batch_size")}
        metrics.append(metric)
    return metrics


# ------------------------------------------------------------------------------------------ scoring

def load_references(args: argparse.Namespace):
    from harness.data.testset import build_testset
    from harness.textio import read_lines

    ref_streams = [read_lines(r) for r in args.refs]
    n = len(ref_streams[0])
    for path, stream in zip(args.refs[1:], ref_streams[1:]):
        if len(stream) != n:
            raise DataError(f"reference {args.refs[0]} has {n} lines but reference {path} has {len(stream)}")
    srcs = read_lines(args.src) if args.src else [""] * n
    if len(srcs) != n:
        raise DataError(f"source {args.src} has {len(srcs)} lines but reference {args.refs[0]} has {n}")
    origin = f"references: {', '.join(args.refs)}" + (f"; source: {args.src}" if args.src else "")
    import dataclasses

    testset = build_testset("score", args.src_lang, args.tgt_lang, srcs, list(zip(*ref_streams)), origin=origin)
    return dataclasses.replace(testset, reference_files=tuple(args.refs))  # the sanity checks read their bytes


def significance_settings(args: argparse.Namespace):
    """The settings the significance options ask for (test "none" when none is given)."""
    from harness.significance import SignificanceSettings

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


def _systems(args: argparse.Namespace, testset) -> dict:
    """One system per hypothesis file, or one read from standard input when no file is given (as sacrebleu)."""
    import sys

    from harness.systems.file import FileOutputs, GivenOutputs
    from harness.textio import read_lines

    if not args.hypotheses:
        if sys.stdin is None or sys.stdin.isatty():
            raise DataError("no hypothesis files given: mt-harness score -r REF HYP [HYP ...] [-m METRIC ...] "
                            "(or pipe one system's output in: ... | mt-harness score -r REF)")
        lines = [line.rstrip() for line in sys.stdin.read().split("\n")]
        if lines and lines[-1] == "":
            lines.pop()
        return {"stdin": GivenOutputs("stdin", {"score": lines}, origin="standard input")}
    references = [read_lines(r) for r in args.refs]
    for path in args.hypotheses:
        same = next((ref for ref, lines in zip(args.refs, references) if read_lines(path) == lines), None)
        if same is not None:
            log.warning("hypothesis file %s is identical to reference %s: is it meant as a reference? Each -r names "
                        "one reference file (repeat -r for more); hypothesis files follow the options", path, same)
    return {path: FileOutputs(path, {"score": path}) for path in args.hypotheses}


def score_files(args: argparse.Namespace):
    """The files as a one-test-set run (test set "score", one file-output system per hypothesis file)."""
    from harness.cache import Cache
    from harness.run import check_outputs, compare_systems, sanity_thresholds, score_all, translate_all
    from harness.run_result import RunResult

    started = datetime.now().astimezone()
    t0 = time.perf_counter()
    args.hypotheses = [*args.hypotheses, *args.input_files]
    metrics = build_metrics(args)
    if len(set(args.hypotheses)) != len(args.hypotheses):
        dup = next(h for h in args.hypotheses if args.hypotheses.count(h) > 1)
        raise DataError(f"hypothesis file {dup} is given twice")
    settings = significance_settings(args)
    testset = load_references(args)
    for m in metrics:
        if m.needs_sources and not args.src:
            raise DataError(f"metric {m.name} needs the source sentences: add -s SRC")
    systems = _systems(args, testset)
    testsets = {"score": testset}
    cache = Cache(Path(args.cache_dir) / "cache.sqlite" if args.cache_dir else None)
    try:
        results, _ = translate_all(testsets, systems, cache, strict=True)
        score_all(testsets, metrics, results, strict=True, cache=cache, workers=args.workers)
        # the sanity checks of a run (harness/sanity.py): warnings on stderr, flags in the JSON document
        testset_flags = {} if args.no_sanity else check_outputs(testsets, systems, results, sanity_thresholds(None),
                                                                 cache)
    finally:
        cache.close()
    return RunResult(experiment="score", testsets=testsets, systems=systems, metrics=metrics, results=results,
                     significance_settings=settings, significance=compare_systems(testsets, metrics, results, settings),
                     testset_flags=testset_flags, rank_by=metrics[0].name,
                     started=started.isoformat(timespec="seconds"), seconds=time.perf_counter() - t0)


def segment_table(run) -> str:
    """Segment-level scores as TSV: system, segment (1-based line), seg_id, then one column per metric."""
    metrics = [m.name for m in run.metrics if m.name not in run.metric_errors]
    lines = ["\t".join(["system", "segment", "seg_id", *metrics])]
    for r in run.results:
        for i, seg in enumerate(run.testsets[r.testset].segments):
            values = [f"{r.segment_scores[m][i]:.{next(x.display_digits for x in run.metrics if x.name == m) + 2}f}"
                      for m in metrics]
            lines.append("\t".join([r.system, str(i + 1), seg.id, *values]))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from harness.report import score_text
    from harness.results import run_document
    from harness.textio import write_text

    scored = score_files(args)
    if args.segments:
        table = segment_table(scored)
        if args.segments == "-":
            print(table, end="")
            return 0
        write_text(args.segments, table)
    doc = run_document(scored)
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(score_text(doc, args.width))
    return 0
