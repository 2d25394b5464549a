"""Comparing two scored runs, and the CI gate's verdicts: the plain functions behind `mt-harness compare` and
`mt-harness check` (harness/commands/compare.py and check.py only parse arguments and print).

- **Inputs** are RunResults: `harness.baseline.load_scored_run` reads a run folder, a `latest` link or a
  baseline file into one, so nothing here knows which it got.
- **Matching**: test sets and metrics by name; systems by name, or by explicit (A, B) pairs.
- **Compatibility**: a test set must have the same languages, segment count, reference count and content hash
  on both sides, and each metric's signature must agree field by field except where
  ALLOWED_SIGNATURE_DIFFERENCES says otherwise. Anything else is refused with an error that names the field
  (exit status 2): a score with another tokenizer, checkpoint or test set is another number, not a difference.
- **Differences**: each matched pair's score difference with a paired test (bootstrap or approximate
  randomisation) on the stored per-segment statistics, through `harness.significance.analyse_metric`: the
  engine, resample indices and p-values (sacreBLEU's) of the leaderboards; nothing is translated or scored
  again. Two runs on one test set are just two "systems" scoring the same segments. A difference of zero is
  never significant (identical outputs are "same").
- **Verdicts** (`check`): a metric fails when its drop (for a lower-is-better metric such as TER, its increase)
  exceeds its threshold (DEFAULT_MAX_DROP) AND the paired test calls it significant. A larger drop that the
  test cannot confirm passes with a warning quoting the power estimate: the test set is too small to tell it
  from noise.
- **Rendering** (end of the module): text and Markdown tables, JSON, JUnit XML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from harness.errors import DataError, UnknownNameError
from harness.metrics.base import Metric
from harness.run_result import RunResult, SystemResult
from harness.significance import (
    CORRECTIONS,
    Interval,
    PowerEstimate,
    SignificanceSettings,
    analyse_metric,
    holm,
    shared_resamples,
)

#: The largest drop of each metric that `check` tolerates, in the metric's own units (for TER, lower is better:
#: the largest increase): half of what is usually called a meaningful difference. `--max-drop METRIC=X,...`
#: overrides them; a metric not named here (another chrF variant, a new metric) tolerates MAX_DROP_SHARE of its
#: `meaningful_difference` (1 point; COMET-style 0..1 scores 0.01), the rule these numbers follow.
DEFAULT_MAX_DROP: dict[str, float] = {"BLEU": 0.5, "chrF2": 0.5, "chrF2++": 0.5, "TER": 0.5,
                                      "COMET": 0.005, "CometKiwi": 0.005, "xCOMET": 0.005}
MAX_DROP_SHARE = 0.5

SAME_MAJOR_MINOR = "same major.minor version"
ANY_VALUE = "any value"
SAME_CHECKPOINT = "same checkpoint identity (the part after '@')"
#: The signature fields whose values may differ between the two sides, and how far; every other field of a
#: metric signature, and every test-set fact, must be equal.
ALLOWED_SIGNATURE_DIFFERENCES: dict[str, str] = {
    "version": SAME_MAJOR_MINOR,       # sacreBLEU: a patch release (2.6.0 vs 2.6.1) does not change scores
    "comet": SAME_MAJOR_MINOR,         # unbabel-comet, in COMET signatures
    "transformers": SAME_MAJOR_MINOR,  # in COMET signatures
    "torch": SAME_MAJOR_MINOR,         # in COMET signatures; also another build (2.13.0+cpu vs 2.13.1+cu121)
    "trunc": ANY_VALUE,                # COMET: inputs the encoder saw truncated, a fact about the hypotheses
    "model": SAME_CHECKPOINT,          # COMET: the same hub commit or content hash, wherever the folder is
}

#: What signature fields mean, for the error that refuses a comparison.
FIELD_MEANINGS = {
    "name": "metric", "nrefs": "number of references", "case": "casing", "eff": "effective order",
    "tok": "tokenizer", "smooth": "smoothing", "version": "sacreBLEU version", "nc": "character n-gram order",
    "nw": "word n-gram order", "space": "whitespace handling", "norm": "normalisation", "punct": "punctuation",
    "asian": "Asian-language support", "model": "COMET checkpoint", "encoder": "COMET encoder",
    "prec": "COMET precision", "bs": "COMET batch size", "comet": "unbabel-comet version",
    "transformers": "transformers version", "torch": "torch version", "languages": "language pair",
    "segments": "segment count", "sha256": "test-set content",
}

# stored scores must come back from the stored statistics to this relative precision (float round-off only)
_SCORE_TOLERANCE = 1e-6


# ------------------------------------------------------------------------------------------- signatures

def parse_signature(signature: str) -> dict[str, str]:
    """`BLEU|nrefs:1|tok:13a|version:2.6.0` -> {"name": "BLEU", "nrefs": "1", "tok": "13a", "version": "2.6.0"};
    a part without a colon after the first is keyed by its position (`#2`)."""
    out: dict[str, str] = {}
    for i, part in enumerate(signature.split("|")):
        key, sep, value = part.partition(":")
        if sep:
            out[key] = value
        else:
            out["name" if i == 0 else f"#{i}"] = part
    return out


def _major_minor(version: str) -> tuple[str, str] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (match.group(1), match.group(2)) if match else None


def field_may_differ(key: str, a: str, b: str) -> bool:
    """Whether signature field `key` may read `a` on one side and `b` on the other (ALLOWED_SIGNATURE_DIFFERENCES)."""
    rule = ALLOWED_SIGNATURE_DIFFERENCES.get(key)
    if rule == ANY_VALUE:
        return True
    if rule == SAME_MAJOR_MINOR:
        return _major_minor(a) is not None and _major_minor(a) == _major_minor(b)
    if rule == SAME_CHECKPOINT:
        id_a, id_b = a.rpartition("@")[2], b.rpartition("@")[2]
        return "@" in a and "@" in b and id_a == id_b and id_a != "unresolved"
    return False


def signature_differences(a: str, b: str) -> list[tuple[str, str | None, str | None]]:
    """(field, value in a, value in b) for every field two signatures disagree on beyond what
    ALLOWED_SIGNATURE_DIFFERENCES allows; None where a side lacks the field. [] when they are compatible."""
    fields_a, fields_b = parse_signature(a), parse_signature(b)
    out = []
    for key in list(fields_a) + [k for k in fields_b if k not in fields_a]:
        va, vb = fields_a.get(key), fields_b.get(key)
        if va != vb and not (va is not None and vb is not None and field_may_differ(key, va, vb)):
            out.append((key, va, vb))
    return out


def testset_facts(ts) -> dict[str, str]:
    """What must be equal for two runs' scores on a test set to be comparable (all of its signature)."""
    return {"languages": f"{ts.src_lang}-{ts.tgt_lang}", "segments": str(len(ts)), "nrefs": str(ts.num_refs),
            "sha256": ts.fingerprint()}


def _field_text(key: str, a: str | None, b: str | None, label_a: str, label_b: str) -> str:
    meaning = FIELD_MEANINGS.get(key, f"signature field {key}")
    a_text, b_text = ("absent" if v is None else repr(v) for v in (a, b))
    return f"{meaning} differs (`{key}`: {a_text} in {label_a}, {b_text} in {label_b})"


# ------------------------------------------------------------------------------------------- differences

@dataclass(frozen=True)
class Difference:
    """One metric of one pair of systems (A's `system_a`, B's `system_b`) on one test set."""

    testset: str
    metric: str
    system_a: str
    system_b: str
    score_a: float
    score_b: float
    higher_is_better: bool
    digits: int
    segments: int
    p_value: float          # sacreBLEU's p-value of the paired test (for the same score it means nothing)
    significant: bool       # p < alpha and the scores differ
    same: bool              # the same score (or identical per-segment statistics): never a change
    identical: bool         # identical per-segment statistics, e.g. identical outputs
    interval_a: Interval | None
    interval_b: Interval | None
    power: PowerEstimate | None
    # with --correction holm: p_value adjusted over every difference of the comparison that is not the same score
    p_adjusted: float | None = None

    @property
    def p_decision(self) -> float:
        """The p-value `significant` was decided on: the adjusted one under a correction, else p_value."""
        return self.p_value if self.p_adjusted is None else self.p_adjusted

    @property
    def delta(self) -> float:
        """B - A in the metric's units."""
        return self.score_b - self.score_a

    @property
    def drop(self) -> float:
        """How much worse B is than A (negative: better); for lower-is-better metrics, the increase."""
        return -self.delta if self.higher_is_better else self.delta

    @property
    def system(self) -> str:
        return self.system_a if self.system_a == self.system_b else f"{self.system_a} → {self.system_b}"

    @property
    def change(self) -> str:
        """same | better | worse (significant) | n.s. (not significant)."""
        if self.same:
            return "same"
        if not self.significant:
            return "n.s."
        return "worse" if self.drop > 0 else "better"


@dataclass
class Comparison:
    """Every difference between two runs, with the settings of the paired test and notes on what was left out."""

    label_a: str
    label_b: str
    settings: SignificanceSettings
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)


def comparison_settings(run: RunResult, test: str | None = None, resamples: int | None = None,
                        trials: int | None = None, seed: int | None = None, alpha: float | None = None,
                        correction: str = "none") -> SignificanceSettings:
    """The paired test of a comparison: `run`'s own significance settings (bootstrap where the run had none)
    with the given values (None: keep). `correction` is the comparison's own ("none" or "holm": Holm over every
    difference compared), never the run's, whose family was the pairs of systems within one metric."""
    if correction not in CORRECTIONS:
        raise UnknownNameError("correction", correction, list(CORRECTIONS))
    base = run.significance_settings
    changes: dict[str, Any] = {k: v for k, v in {"test": test, "resamples": resamples, "trials": trials,
                                                 "seed": seed, "alpha": alpha}.items() if v is not None}
    if changes.get("test", base.test) == "none":
        changes["test"] = "bootstrap"
    return replace(base, baseline=None, all_pairs=True, correction=correction, **changes)


def _system_pairs(a: RunResult, b: RunResult, pairs: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    """Explicit pairs, checked against the systems each side has; None: match by name."""
    if not pairs:
        return None
    names_a = list(dict.fromkeys(r.system for r in a.results))
    names_b = list(dict.fromkeys(r.system for r in b.results))
    for old, new in pairs:
        if old not in names_a:
            raise UnknownNameError("system (left of --pair OLD=NEW)", old, names_a)
        if new not in names_b:
            raise UnknownNameError("system (right of --pair OLD=NEW)", new, names_b)
    return list(pairs)


def _check_statistics(r: SystemResult, metric: Metric | None, name: str, n_segments: int, label: str) -> str | None:
    """Why the statistics of `r` for metric `name` cannot be used, or None."""
    where = f"{name} of {r.system!r} on {r.testset!r} in {label}"
    stats = r.statistics.get(name)
    if stats is None:
        return (f"no per-segment statistics for {where} (statistics/ in the run folder; runs written before the "
                f"harness kept them lack it): run the experiment again")
    if stats.ndim != 2 or stats.shape[0] != n_segments:
        return f"segment mismatch: the statistics of {where} cover {stats.shape[0]} segments, the test set {n_segments}"
    if metric is not None:
        recomputed = float(metric.scores_from_statistics(stats.sum(axis=0)))
        stored = r.scores[name].score
        if not abs(recomputed - stored) <= _SCORE_TOLERANCE * max(1.0, abs(stored)):
            return (f"the statistics of {where} give {recomputed!r}, not its stored score {stored!r}: the files were "
                    f"edited, or written by another metric implementation; score the run again")
    return None


def compare_runs(a: RunResult, b: RunResult, *, settings: SignificanceSettings,
                 pairs: Sequence[tuple[str, str]] | None = None, label_a: str = "A", label_b: str = "B",
                 name_a: str = "A", name_b: str = "B", require_a: bool = False,
                 power_delta: Mapping[str, float] | None = None) -> Comparison:
    """Differences and paired tests between runs `a` and `b` for every test set and metric both have.

    `label_a`/`label_b` describe the runs in headers (e.g. their paths); `name_a`/`name_b` name them in
    messages ("the baseline", "the run").

    `pairs` (A's system, B's system) replace matching by name. With `require_a`, everything A has must be in B
    too (test sets, systems that ran, metrics): the gate's rule, where a missing piece is unusable input;
    otherwise what only one side has is listed in `notes`. `power_delta` (metric -> score difference) sets what
    each metric's power estimate asks about (default: the metric's meaningful difference).
    Raises DataError naming every problem (another test-set content, signature field, segment count, missing
    statistics) when anything cannot be compared."""
    problems: list[str] = []
    notes: list[str] = []
    # (test set, metric, fields that differ) -> systems: one message however many systems share the signature
    signature_problems: dict[tuple, list[str]] = {}
    explicit = _system_pairs(a, b, pairs)
    metrics_a = {m.name: m for m in a.metrics}
    metrics_b = {m.name: m for m in b.metrics}
    # (testset, metric object, name, result in A, result in B), checked first, tested after: all problems at once
    work: list[tuple[str, Metric, str, SystemResult, SystemResult]] = []

    def missing(text: str) -> None:
        (problems if require_a else notes).append(text)

    for name in b.testsets:
        if name not in a.testsets:
            notes.append(f"test set {name!r} is only in {name_b}")
    for name, ts_a in a.testsets.items():
        if name not in b.testsets:
            missing(f"test set {name!r} of {name_a} is not in {name_b}")
            continue
        facts_a, facts_b = testset_facts(ts_a), testset_facts(b.testsets[name])
        bad = [_field_text(k, facts_a[k], facts_b[k], name_a, name_b) for k in facts_a if facts_a[k] != facts_b[k]]
        if bad:
            problems.append(f"test set {name!r}: {'; '.join(bad)}. Scores on different data cannot be compared: "
                            f"score both on the same test set, or refresh the baseline")
            continue
        results_a = {r.system: r for r in a.for_testset(name)}
        results_b = {r.system: r for r in b.for_testset(name)}
        if explicit is None:
            matched = [(s, s) for s in results_a if s in results_b]
            for s, result in results_a.items():
                if s not in results_b and result.ok:
                    missing(f"system {s!r} of {name_a} is not in {name_b} on {name!r} (match systems of "
                            f"another name with --pair OLD=NEW)")
            only_b = [s for s in results_b if s not in results_a]
            if only_b:
                notes.append(f"on {name!r}, only {name_b} has {', '.join(map(repr, only_b))}")
        else:
            matched = []
            for old, new in explicit:
                if old in results_a and new in results_b:
                    matched.append((old, new))
                elif old in results_a or new in results_b:
                    missing(f"--pair {old}={new}: {old!r} is {'' if old in results_a else 'not '}in {name_a} and "
                            f"{new!r} is {'' if new in results_b else 'not '}in {name_b} on {name!r}")
        for old, new in matched:
            ra, rb = results_a[old], results_b[new]
            if not ra.ok:
                notes.append(f"{old!r} did not run on {name!r} in {name_a} ({ra.reason}): nothing to compare")
                continue
            if not rb.ok:
                missing(f"{new!r} did not run on {name!r} in {name_b}: {rb.reason}")
                continue
            for metric_name in [m for m in ra.scores]:
                if metric_name not in rb.scores:
                    missing(f"metric {metric_name} of {name_a} is missing from {name_b} on {name!r}"
                            + (f" (it failed there: {b.metric_errors[metric_name]})"
                               if metric_name in b.metric_errors else " (add it to the run's metrics)"))
                    continue
                sig_a, sig_b = ra.scores[metric_name].signature, rb.scores[metric_name].signature
                bad = signature_differences(sig_a, sig_b)
                if bad:
                    signature_problems.setdefault((name, metric_name, tuple(bad), sig_a, sig_b), []).append(new)
                    continue
                metric = metrics_b.get(metric_name) or metrics_a.get(metric_name)
                if metric is None:
                    problems.append(f"metric {metric_name} cannot be rebuilt from either run's config, so its "
                                    f"statistics cannot be scored")
                    continue
                n = len(b.testsets[name])
                why = (_check_statistics(ra, metrics_a.get(metric_name), metric_name, n, name_a)
                       or _check_statistics(rb, metrics_b.get(metric_name), metric_name, n, name_b))
                if why is None and ra.statistics[metric_name].shape != rb.statistics[metric_name].shape:
                    why = (f"the {metric_name} statistics of {old!r} and {new!r} on {name!r} have different shapes "
                           f"{ra.statistics[metric_name].shape} and {rb.statistics[metric_name].shape}")
                if why:
                    problems.append(why)
                    continue
                work.append((name, metric, metric_name, ra, rb))
    scored_a = {m for r in a.results for m in r.scores}
    only_b_metrics = sorted({m for r in b.results for m in r.scores} - scored_a)
    if only_b_metrics:
        notes.append(f"only {name_b} has {', '.join(only_b_metrics)}: not compared")
    for (name, metric_name, bad, sig_a, sig_b), systems in signature_problems.items():
        problems.append(f"{metric_name} on {name!r} ({', '.join(map(repr, systems))}): "
                        + "; ".join(_field_text(k, va, vb, name_a, name_b) for k, va, vb in bad)
                        + f". Scores with different settings are different numbers, not a difference: score both the "
                          f"same way, or refresh the baseline (mt-harness baseline RUN -o FILE). Signatures: {sig_a} "
                          f"({name_a}), {sig_b} ({name_b})")
    problems = list(dict.fromkeys(problems))
    if problems:
        raise DataError(f"cannot compare {name_a} with {name_b} ({name_a}: {label_a}; {name_b}: {label_b}):\n  - "
                        + "\n  - ".join(problems))
    if not work:
        raise DataError(f"{name_a} ({label_a}) and {name_b} ({label_b}) have no test set, system and metric in common"
                        + (f" ({'; '.join(notes)})" if notes else ""))
    return Comparison(label_a, label_b, settings, _differences(work, settings, power_delta or {}),
                      list(dict.fromkeys(notes)))


def _differences(work, settings: SignificanceSettings, power_delta: Mapping[str, float]) -> list[Difference]:
    out = []
    # resamples shared by consecutive analyses of one test-set size; one size held at a time (bounded memory)
    shared: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
    for testset, metric, name, ra, rb in work:
        stats_a, stats_b = ra.statistics[name], rb.statistics[name]
        n = stats_a.shape[0]
        if n not in shared:
            shared = {n: shared_resamples(n, settings)}
        indices, swaps = shared[n]
        score_a, score_b = ra.scores[name].score, rb.scores[name].score
        result = analyse_metric(metric, ["A", "B"], [stats_a, stats_b], [score_a, score_b],
                                replace(settings, power_delta=power_delta.get(name), correction="none"),
                                indices, swaps)
        identical = bool(np.array_equal(stats_a, stats_b))
        same = identical or bool(result.no_difference[0, 1])
        out.append(Difference(testset=testset, metric=name, system_a=ra.system, system_b=rb.system,
                              score_a=score_a, score_b=score_b, higher_is_better=metric.higher_is_better,
                              digits=metric.display_digits, segments=n, p_value=float(result.p_values[0, 1]),
                              significant=not same and result.differ("A", "B", settings.alpha), same=same,
                              identical=identical, interval_a=result.intervals[0], interval_b=result.intervals[1],
                              power=result.power))
    return _corrected(out, settings) if settings.correction == "holm" else out


def _corrected(differences: list[Difference], settings: SignificanceSettings) -> list[Difference]:
    """Holm over the comparison's family: every difference that is not the same score (a same score is never a
    change, so it is no test). Many test sets x metrics x systems otherwise make a chance 'significant' drop
    likely somewhere; Holm keeps the chance of any false call at most alpha."""
    tested = [i for i, d in enumerate(differences) if not d.same]
    adjusted = dict(zip(tested, holm([differences[i].p_value for i in tested]))) if tested else {}
    return [replace(d, p_adjusted=float(adjusted[i]), significant=bool(adjusted[i] < settings.alpha))
            if i in adjusted else d for i, d in enumerate(differences)]


# ------------------------------------------------------------------------------------------- verdicts

def max_drop(metric: Metric, overrides: Mapping[str, float] | None = None) -> float:
    """The largest drop `check` tolerates for `metric`: an override, DEFAULT_MAX_DROP, or MAX_DROP_SHARE of the
    metric's meaningful difference."""
    if overrides and metric.name in overrides:
        return float(overrides[metric.name])
    return DEFAULT_MAX_DROP.get(metric.name, MAX_DROP_SHARE * metric.meaningful_difference)


REGRESSION, TOO_SMALL, SMALL_DROP, IMPROVED, NO_CHANGE, SAME = (
    "regression", "too small to tell", "drop within the limit", "improved", "no significant change", "same")


@dataclass(frozen=True)
class Verdict:
    """What `check` concludes about one Difference (A: the baseline, B: the run)."""

    difference: Difference
    max_drop: float
    outcome: str       # one of REGRESSION, TOO_SMALL, SMALL_DROP, IMPROVED, NO_CHANGE, SAME
    message: str

    @property
    def failed(self) -> bool:
        return self.outcome == REGRESSION

    @property
    def warning(self) -> bool:
        return self.outcome == TOO_SMALL


def judge(d: Difference, limit: float, alpha: float) -> Verdict:
    """The verdict on one difference: a regression only when the drop exceeds `limit` AND is significant."""
    def f(x: float) -> str:
        return f"{x:.{d.digits}f}"

    scores = f"{d.metric} {f(d.score_a)} → {f(d.score_b)}" + ("" if d.higher_is_better else ", lower is better")
    p_text = (f"p = {d.p_value:.4f}" if d.p_adjusted is None else
              f"Holm-adjusted p = {d.p_adjusted:.4f} (unadjusted {d.p_value:.4f})")
    if d.same:
        return Verdict(d, limit, SAME, "identical outputs" if d.identical else f"same score ({scores})")
    if d.drop > limit:
        head = f"worse by {f(d.drop)} ({scores}), more than the {f(limit)} allowed"
        if d.significant:
            return Verdict(d, limit, REGRESSION, f"{head}; significant: {p_text} < {alpha}")
        return Verdict(d, limit, TOO_SMALL,
                       f"{head}, but not significant ({p_text} ≥ {alpha}): {power_text(d, limit)}")
    if d.significant:
        if d.drop > 0:
            return Verdict(d, limit, SMALL_DROP, f"worse by {f(d.drop)} ({scores}; {p_text}), within the {f(limit)} "
                                                 f"allowed")
        return Verdict(d, limit, IMPROVED, f"better by {f(-d.drop)} ({scores}; {p_text})")
    return Verdict(d, limit, NO_CHANGE, f"{'worse' if d.drop > 0 else 'better'} by {f(abs(d.drop))} ({scores}), not "
                                        f"significant ({p_text})")


def power_text(d: Difference, limit: float) -> str:
    """Why a test set cannot confirm a drop: what it can detect, and what it would take to detect `limit`."""
    if d.power is None:
        return f"the test set ({d.segments:,} segments) is too small to tell this drop from noise"
    p = d.power
    return (f"with {p.segments:,} segments this test detects differences of about "
            f"{p.detectable_difference:.{d.digits}f} (α = {p.alpha}, power {p.power:.0%}); detecting "
            f"{limit:.{d.digits}f} takes about {p.segments_needed:,} segments. The test set is too small to tell "
            f"this drop from noise")


#: the sanity-flag severities `check --fail-on-flags` can fail on, and what each includes
FLAG_LEVELS = {"error": ("error",), "warning": ("error", "warning")}


@dataclass(frozen=True)
class FlaggedOutput:
    """A sanity flag (harness/sanity.py) the checked run raised for one output (system "" for the test set)."""

    testset: str
    system: str
    flag: dict[str, Any]

    def text(self) -> str:
        who = f"{self.testset} / {self.system}" if self.system else f"test set {self.testset}"
        return f"{who}: {self.flag['severity']} {self.flag['check']}: {self.flag['message']}"


def run_flags(run: RunResult, severities: Sequence[str]) -> list[FlaggedOutput]:
    """The sanity flags of `run` (from its scores.json) of the given severities."""
    doc = run.document or {}
    found = [FlaggedOutput(name, "", f) for name, facts in doc.get("testsets", {}).items()
             for f in facts.get("flags") or []]
    found += [FlaggedOutput(r["testset"], r["system"], f) for r in doc.get("results", []) for f in r.get("flags") or []]
    return [x for x in found if x.flag["severity"] in severities]


@dataclass
class CheckResult:
    """`check`'s verdicts (and, with --fail-on-flags, the run's sanity flags that fail it); exit status 1 when
    any verdict is a regression or any such flag is raised, else 0."""

    comparison: Comparison
    verdicts: list[Verdict]
    flags: list[FlaggedOutput] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.failed]

    @property
    def warnings(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.warning]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures or self.flags else 0


def resolve_max_drops(metrics: Sequence[Metric], overrides: Mapping[str, float] | None) -> dict[str, float]:
    """Every metric's threshold; override names are matched without regard to case and must be metrics of
    `metrics` (else an UnknownNameError with a suggestion)."""
    names = {m.name.lower(): m.name for m in metrics}
    given: dict[str, float] = {}
    for key, value in (overrides or {}).items():
        if key.lower() not in names:
            raise UnknownNameError("metric in --max-drop", key, sorted(set(names.values())))
        if not value >= 0:
            raise DataError(f"--max-drop {key}={value}: a maximum drop is a number >= 0")
        given[names[key.lower()]] = float(value)
    return {m.name: max_drop(m, given) for m in metrics}


def check_runs(baseline: RunResult, run: RunResult, *, settings: SignificanceSettings,
               max_drops: Mapping[str, float] | None = None, pairs: Sequence[tuple[str, str]] | None = None,
               label_baseline: str = "baseline", label_run: str = "run",
               fail_on_flags: str | None = None) -> CheckResult:
    """The CI gate: `run` against `baseline`. Everything the baseline has must be in the run (else DataError, exit
    status 2); `max_drops` overrides DEFAULT_MAX_DROP per metric name. `fail_on_flags` ("error" or "warning")
    also fails the run on its own sanity flags of that severity or worse."""
    if fail_on_flags is not None and fail_on_flags not in FLAG_LEVELS:
        raise UnknownNameError("flag severity", fail_on_flags, list(FLAG_LEVELS))
    limits = resolve_max_drops(list(baseline.metrics) + list(run.metrics), max_drops)
    comparison = compare_runs(baseline, run, settings=settings, pairs=pairs, label_a=label_baseline,
                              label_b=label_run, name_a="the baseline", name_b="the run", require_a=True,
                              power_delta=limits)
    flags = run_flags(run, FLAG_LEVELS[fail_on_flags]) if fail_on_flags else []
    return CheckResult(comparison, [judge(d, limits[d.metric], settings.alpha) for d in comparison.differences],
                       flags)


# ------------------------------------------------------------------------------------------- rendering

def settings_text(settings: SignificanceSettings) -> str:
    if settings.test == "ar":
        test = f"paired approximate randomisation ({settings.trials:,} trials, seed {settings.seed})"
    else:
        test = f"paired bootstrap resampling ({settings.resamples:,} resamples, seed {settings.seed})"
    holm_text = ", Holm-adjusted over every difference shown" if settings.correction == "holm" else ""
    return f"{test}, α = {settings.alpha}{holm_text}"


def _metric_label(d: Difference) -> str:
    return d.metric if d.higher_is_better else f"{d.metric} ↓"  # as the leaderboard marks lower-is-better


def _p_cell(d: Difference, alpha_star: bool = True) -> str:
    if d.same:
        return "–"
    return f"{d.p_decision:.4f}" + ("*" if d.significant and alpha_star else "")


def _aligned(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _by_testset(differences):
    groups: dict[str, list] = {}
    for item in differences:
        d = item.difference if isinstance(item, Verdict) else item
        groups.setdefault(d.testset, []).append(item)
    return groups


def comparison_text(c: Comparison) -> str:
    lines = [f"A: {c.label_a}", f"B: {c.label_b}",
             (f"Δ = B − A; p: {settings_text(c.settings)} on the stored per-segment statistics; * p < "
              f"{c.settings.alpha} (a difference of zero is never significant); ↓ lower is better.")]
    for testset, group in _by_testset(c.differences).items():
        lines += ["", f"{testset} ({group[0].segments:,} segments)"]
        rows = [["system", "metric", "A", "B", "Δ", "p", "change"]]
        rows += [[d.system, _metric_label(d), f"{d.score_a:.{d.digits}f}", f"{d.score_b:.{d.digits}f}",
                  f"{d.delta:+.{d.digits}f}", _p_cell(d), d.change] for d in group]
        lines += _aligned(rows)
    if c.notes:
        lines += [""] + [f"Note: {n}" for n in c.notes]
    return "\n".join(lines)


def comparison_markdown(c: Comparison) -> str:
    lines = [(f"A: `{_md(c.label_a)}` · B: `{_md(c.label_b)}` · Δ = B − A · p: {settings_text(c.settings)}; "
              f"* p < {c.settings.alpha}; ↓ lower is better"), "",
             "| Test set | System | Metric | A | B | Δ | p | Change |", "|:--|:--|:--|--:|--:|--:|--:|:--|"]
    for d in c.differences:
        lines.append(f"| {_md(d.testset)} | {_md(d.system)} | {_md(_metric_label(d))} | {d.score_a:.{d.digits}f} | "
                     f"{d.score_b:.{d.digits}f} | {d.delta:+.{d.digits}f} | {_p_cell(d)} | {d.change} |")
    if c.notes:
        lines += [""] + [f"- {_md(n)}" for n in c.notes]
    return "\n".join(lines)


def difference_json(d: Difference) -> dict[str, Any]:
    return {"testset": d.testset, "metric": d.metric, "system_a": d.system_a, "system_b": d.system_b,
            "higher_is_better": d.higher_is_better, "score_a": d.score_a, "score_b": d.score_b, "delta": d.delta,
            "drop": d.drop, "p_value": d.p_value, "p_adjusted": d.p_adjusted, "significant": d.significant,
            "same": d.same,
            "identical": d.identical, "change": d.change, "segments": d.segments,
            "ci_a": asdict(d.interval_a) if d.interval_a else None,
            "ci_b": asdict(d.interval_b) if d.interval_b else None,
            "power": asdict(d.power) if d.power else None}


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {"a": c.label_a, "b": c.label_b, "significance": {"settings": c.settings.to_dict(),
                                                             "signature": c.settings.signature()},
            "differences": [difference_json(d) for d in c.differences], "notes": c.notes}


def _where(d: Difference) -> str:
    return f"{d.testset} / {d.system} / {d.metric}"


def check_headline(r: CheckResult) -> str:
    n, failures, warnings = len(r.verdicts), len(r.failures), len(r.warnings)
    extra = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
    flagged = f", {len(r.flags)} sanity flag{'s' * (len(r.flags) != 1)}" if r.flags else ""
    if failures or r.flags:
        return f"FAILED: {failures} regression{'s' * (failures != 1)} in {n} checks{flagged}{extra}"
    return f"passed: {n} checks, no regression{extra}"


def check_text(r: CheckResult) -> str:
    """The short verdict for stdout: one headline, then one line per failure and warning."""
    c = r.comparison
    lines = [f"mt-harness check: {check_headline(r)}", f"  baseline: {c.label_a}", f"  run:      {c.label_b}",
             f"  test: {settings_text(c.settings)}; a check fails when the drop exceeds its maximum and is significant"]
    lines += [f"FAIL {_where(v.difference)}: {v.message}" for v in r.failures]
    lines += [f"FAIL sanity {x.text()}" for x in r.flags]
    lines += [f"WARN {_where(v.difference)}: {v.message}" for v in r.warnings]
    lines += [f"Note: {n}" for n in c.notes]
    return "\n".join(lines)


_RESULT_MARKS = {REGRESSION: "❌ regression", TOO_SMALL: "⚠️ too small to tell", SMALL_DROP: "✅ drop within limit",
                 IMPROVED: "✅ improved", NO_CHANGE: "✅ no significant change", SAME: "✅ same"}


def check_markdown(r: CheckResult) -> str:
    """The Markdown summary (for $GITHUB_STEP_SUMMARY): headline, settings, one row per check, warnings."""
    c = r.comparison
    mark = "❌" if r.failures else "⚠️" if r.warnings else "✅"
    lines = [f"### {mark} mt-harness check {check_headline(r)}", "",
             (f"Baseline `{_md(c.label_a)}` → run `{_md(c.label_b)}`. p: {settings_text(c.settings)}. A check "
              f"fails when the drop exceeds its maximum **and** is significant; ↓ lower is better."), "",
             "| Test set | System | Metric | Baseline | Run | Δ | Max drop | p | Result |",
             "|:--|:--|:--|--:|--:|--:|--:|--:|:--|"]
    for v in r.verdicts:
        d = v.difference
        lines.append(f"| {_md(d.testset)} | {_md(d.system)} | {_md(_metric_label(d))} | {d.score_a:.{d.digits}f} | "
                     f"{d.score_b:.{d.digits}f} | {d.delta:+.{d.digits}f} | {v.max_drop:.{d.digits}f} | "
                     f"{_p_cell(d, alpha_star=False)} | {_RESULT_MARKS[v.outcome]} |")
    details = [f"- ❌ **{_md(_where(v.difference))}**: {_md(v.message)}" for v in r.failures]
    details += [f"- ❌ sanity: {_md(x.text())}" for x in r.flags]
    details += [f"- ⚠️ **{_md(_where(v.difference))}**: {_md(v.message)}" for v in r.warnings]
    details += [f"- {_md(n)}" for n in c.notes]
    return "\n".join(lines + ([""] + details if details else [])) + "\n"


def check_json(r: CheckResult) -> dict[str, Any]:
    doc = comparison_json(r.comparison)
    doc.update({"baseline": doc.pop("a"), "run": doc.pop("b"), "result": "fail" if r.exit_code else "pass",
                "exit_code": r.exit_code, "failing_flags": [asdict(x) for x in r.flags]})
    doc["checks"] = [{**difference_json(v.difference), "max_drop": v.max_drop, "outcome": v.outcome,
                      "failed": v.failed, "warning": v.warning, "message": v.message} for v in r.verdicts]
    del doc["differences"]
    return doc


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: Any) -> str:
    """Text XML 1.0 can hold: ElementTree escapes &, <, > and quotes, but control characters are invalid even
    escaped, so they become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", str(text))


def junit_xml(r: CheckResult, name: str = "mt-harness check") -> bytes:
    """JUnit XML as CI systems read it: <testsuites> with one <testsuite> per test set and one <testcase> per
    (system, metric) (classname `<testset>.<system>`, name the metric); a regression is a <failure> whose message
    carries the numbers; warnings go to the case's <system-out>."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=_xml(name), tests=str(len(r.verdicts) + len(r.flags)),
                      failures=str(len(r.failures) + len(r.flags)), errors="0", skipped="0", time="0")
    for testset, verdicts in _by_testset(r.verdicts).items():
        suite = ET.SubElement(root, "testsuite", name=_xml(f"{name}: {testset}"), tests=str(len(verdicts)),
                              failures=str(sum(v.failed for v in verdicts)), errors="0", skipped="0", time="0")
        for v in verdicts:
            d = v.difference
            case = ET.SubElement(suite, "testcase", classname=_xml(f"{testset}.{d.system}"), name=_xml(d.metric),
                                 time="0")
            facts = (f"baseline {d.score_a!r}, run {d.score_b!r}, delta {d.delta!r}, drop {d.drop!r}, max drop "
                     f"{v.max_drop!r}, p {d.p_value!r}"
                     + (f", Holm-adjusted p {d.p_adjusted!r}" if d.p_adjusted is not None else "")
                     + f" ({settings_text(r.comparison.settings)}), segments "
                     f"{d.segments}; baseline {r.comparison.label_a}, run {r.comparison.label_b}")
            if v.failed:
                failure = ET.SubElement(case, "failure", message=_xml(f"{d.metric}: {v.message}"), type="regression")
                failure.text = _xml(facts)
            elif v.warning:
                ET.SubElement(case, "system-out").text = _xml(f"warning: {v.message}\n{facts}")
    if r.flags:  # --fail-on-flags: each flag that fails the run is a failed case
        suite = ET.SubElement(root, "testsuite", name=_xml(f"{name}: sanity"), tests=str(len(r.flags)),
                              failures=str(len(r.flags)), errors="0", skipped="0", time="0")
        for x in r.flags:
            case = ET.SubElement(suite, "testcase", classname=_xml(f"{x.testset}.{x.system or 'testset'}"),
                                 name=_xml(f"sanity {x.flag['check']}"), time="0")
            ET.SubElement(case, "failure", message=_xml(x.text()), type=f"sanity {x.flag['severity']}").text = \
                _xml(x.text())
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def junit_error_xml(message: str, name: str = "mt-harness check") -> bytes:
    """JUnit XML for a check that could not run (unusable input, exit status 2): one <testcase> with an <error>,
    so that CI shows why instead of "no tests"."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=_xml(name), tests="1", failures="0", errors="1", skipped="0", time="0")
    suite = ET.SubElement(root, "testsuite", name=_xml(name), tests="1", failures="0", errors="1", skipped="0",
                          time="0")
    case = ET.SubElement(suite, "testcase", classname="mt-harness", name="inputs", time="0")
    ET.SubElement(case, "error", message=_xml(message.splitlines()[0]), type="unusable input").text = _xml(message)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def check_error_markdown(message: str) -> str:
    """The Markdown summary of a check that could not run (exit status 2)."""
    return f"### ⛔ mt-harness check could not run (exit status 2)\n\n```\n{message}\n```\n"
