"""`mt-harness compare`, `check` and `baseline` (harness/compare.py, harness/baseline.py): the CI gate end to end on
the shipped FLORES-200 devtest outputs, with expected differences and p-values from sacreBLEU itself (its
`corpus_*` scores and `PairedTest`, seed 12345, 1,000 resamples: the settings of configs/experiment/ci.yaml).

Degraded outputs are the shipped OPUS-MT (opus+bt) output with every second word dropped from some segments."""

import gzip
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sacrebleu
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT, ROOT, modules_loaded_by_cli
from sacrebleu.significance import PairedTest

from harness import significance
from harness.baseline import load_scored_run, read_baseline, write_baseline
from harness.cli import main
from harness.compare import (
    ALLOWED_SIGNATURE_DIFFERENCES,
    DEFAULT_MAX_DROP,
    CheckResult,
    Comparison,
    Difference,
    Verdict,
    junit_xml,
    signature_differences,
)
from harness.config import compose
from harness.results import load_run
from harness.run import evaluate
from harness.significance import SignificanceSettings
from harness.textio import read_lines

BT = "vie-eng_opus+bt-2021-04-30"
COMMITTED_BASELINE = ROOT / "data" / "baselines" / "ci.baseline.json.gz"


def drop_words(lines: list[str], segments) -> list[str]:
    """Every second word dropped from the segments at the given positions."""
    return [" ".join(line.split(" ")[::2]) if i in segments else line for i, line in enumerate(lines)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def ci_run(folder: Path, *overrides: str) -> Path:
    evaluate(compose(["experiment=ci", *overrides]), output_dir=folder)
    return folder


def sacrebleu_pair(base: list[str], other: list[str], refs: list[str]):
    """sacreBLEU's own scores and paired-bootstrap p-values (its default seed 12345, 1,000 resamples) of `other`
    against `base`: {metric: (score of base, score of other, p-value)}."""
    seed = os.environ.pop("SACREBLEU_SEED", None)
    try:
        _, table = PairedTest([("base", base), ("other", other)], {"BLEU": sacrebleu.BLEU(), "chrF2": sacrebleu.CHRF()},
                              [refs], test_type="bs", n_samples=1000)()
    finally:
        if seed is not None:
            os.environ["SACREBLEU_SEED"] = seed
    return {m: (table[m][0].score, table[m][1].score, table[m][1].p_value) for m in ("BLEU", "chrF2")}


def check_json(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def by_key(checks: list[dict]) -> dict[tuple[str, str], dict]:
    return {(c["system_b"], c["metric"]): c for c in checks}


@pytest.fixture(scope="module")
def flores():
    return read_lines(FLORES_REF), read_lines(OPUS_BT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, flores):
    """The ci experiment as it ships, its baseline file, and runs whose opus+bt output lost words on 20% of the
    segments (every fifth) or on two segments only."""
    root = tmp_path_factory.mktemp("compare")
    _, bt = flores
    degraded = write(root / "degraded.txt", drop_words(bt, set(range(0, len(bt), 5))))
    slightly = write(root / "slightly.txt", drop_words(bt, {0, 500}))
    out = {"root": root, "base": ci_run(root / "base"), "again": ci_run(root / "again"),
           "degraded_hyps": degraded, "slightly_hyps": slightly,
           "degraded": ci_run(root / "degraded", f"systems.opus_bt_2021_04_30.outputs.flores200_devtest={degraded}"),
           "slightly": ci_run(root / "slightly", f"systems.opus_bt_2021_04_30.outputs.flores200_devtest={slightly}")}
    out["baseline"] = write_baseline(out["base"], root / "ci.baseline.json.gz").path
    return out


# -- check: the verdicts ----------------------------------------------------------------------------------------

def test_an_identical_run_passes_and_nothing_counts_as_a_change(runs, capsys):
    code, doc = check_json(capsys, "--baseline", str(runs["baseline"]), str(runs["again"]))
    assert code == 0 and doc["result"] == "pass" and len(doc["checks"]) == 9  # 3 systems x BLEU, chrF2, TER
    assert all(c["same"] and c["identical"] and not c["significant"] and c["outcome"] == "same" for c in doc["checks"])
    # the same run against itself, as folders: the same, even though sacreBLEU's p for equal scores is 1/1001
    assert main(["check", "--baseline", str(runs["base"]), str(runs["again"])]) == 0
    assert "passed: 9 checks, no regression" in capsys.readouterr().out


def test_outputs_degraded_on_purpose_fail_with_the_numbers_in_junit(runs, flores, capsys, tmp_path):
    refs, bt = flores
    degraded = read_lines(runs["degraded_hyps"])
    expected = sacrebleu_pair(bt, degraded, refs)
    ter_base, ter_degraded = sacrebleu.corpus_ter(bt, [refs]).score, sacrebleu.corpus_ter(degraded, [refs]).score
    junit = tmp_path / "junit.xml"
    code = main(["check", "--baseline", str(runs["baseline"]), str(runs["degraded"]), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("mt-harness check: FAILED: 3 regressions in 9 checks")
    for metric, (base, worse, p) in expected.items():
        assert f"FAIL flores200_devtest / {BT} / {metric}: worse by {base - worse:.2f} ({metric} {base:.2f} → " \
               f"{worse:.2f}), more than the 0.50 allowed; significant: p = {p:.4f} < 0.05" in out
    assert f"worse by {ter_degraded - ter_base:.2f} (TER {ter_base:.2f} → {ter_degraded:.2f}, lower is better)" in out

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "9" and root.get("failures") == "3"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("tests") == "9" and suite.get("failures") == "3" and len(cases) == 9
    assert {(c.get("classname"), c.get("name")) for c in cases} == {
        (f"flores200_devtest.{s}", m) for s in (BT, "vie-eng_opus-2020-09-10", "copy-source")
        for m in ("BLEU", "chrF2", "TER")}
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"BLEU", "chrF2", "TER"} and all(c.get("classname").endswith(BT) for c in cases
                                                              if c.find("failure") is not None)
    base, worse, p = expected["BLEU"]
    assert failed["BLEU"].get("type") == "regression"
    message = failed["BLEU"].get("message")
    assert f"worse by {base - worse:.2f}" in message and f"p = {p:.4f}" in message
    assert f"baseline {base!r}, run {worse!r}" in failed["BLEU"].text


def test_holm_over_the_whole_check_can_turn_a_regression_into_a_warning(runs, capsys):
    """The degraded system's three differences (BLEU, chrF2, TER) each get the smallest p 1000 resamples allow,
    1/1001; the six same-score pairs are no tests. Holm over those three multiplies the smallest by 3 (and each
    later one by 2, 1, capped below by the one before): 3/1001 for all three. At alpha 0.002 they are regressions
    unadjusted and only warnings adjusted."""
    args = ("--baseline", str(runs["baseline"]), str(runs["degraded"]), "--alpha", "0.002")
    code, doc = check_json(capsys, *args)
    tested = [c for c in doc["checks"] if not c["same"]]
    assert code == 1 and len(tested) == 3 and all(c["p_value"] == 1 / 1001 and c["failed"] for c in tested)
    assert all(c["p_adjusted"] is None for c in doc["checks"])

    code, doc = check_json(capsys, *args, "--correction", "holm")
    tested = [c for c in doc["checks"] if not c["same"]]
    assert code == 0 and doc["significance"]["signature"].endswith("|corr:holm")
    assert all(c["p_value"] == 1 / 1001 and c["p_adjusted"] == pytest.approx(3 / 1001, abs=1e-15) for c in tested)
    assert all(c["outcome"] == "too small to tell" and c["warning"] and not c["significant"] for c in tested)
    assert "Holm-adjusted p = 0.0030 (unadjusted 0.0010)" in tested[0]["message"]
    assert all(c["p_adjusted"] is None for c in doc["checks"] if c["same"])


def test_a_difference_below_the_threshold_passes_and_its_p_value_is_sacrebleus(runs, flores, capsys):
    refs, bt = flores
    expected = sacrebleu_pair(bt, read_lines(runs["slightly_hyps"]), refs)
    code, doc = check_json(capsys, "--baseline", str(runs["baseline"]), str(runs["slightly"]))
    assert code == 0
    checks = by_key(doc["checks"])
    for metric, (base, worse, p) in expected.items():
        c = checks[(BT, metric)]
        assert 0 < base - worse < DEFAULT_MAX_DROP[metric]  # the premise: a small drop
        assert c["score_a"] == base and c["score_b"] == worse and c["drop"] == pytest.approx(base - worse, abs=1e-12)
        assert c["p_value"] == p and not c["failed"] and not c["warning"]
        assert c["outcome"] == ("no significant change" if p >= 0.05 else "drop within the limit")


def test_a_significant_drop_smaller_than_the_threshold_passes(runs, capsys):
    code, doc = check_json(capsys, "--baseline", str(runs["baseline"]), str(runs["degraded"]),
                           "--max-drop", "BLEU=10,chrF2=10", "--max-drop", "ter=10")  # names match in any case
    assert code == 0
    checks = by_key(doc["checks"])
    for metric in ("BLEU", "chrF2", "TER"):
        c = checks[(BT, metric)]
        assert c["significant"] and 0 < c["drop"] < 10 and c["max_drop"] == 10
        assert c["outcome"] == "drop within the limit" and "within the 10.00 allowed" in c["message"]


def test_a_large_drop_on_a_tiny_test_set_passes_with_a_too_small_warning(tmp_path, flores, capsys):
    refs, bt = flores
    n = 20
    src = write(tmp_path / "src.vi", read_lines(FLORES_SRC)[:n])
    ref = write(tmp_path / "ref.en", refs[:n])
    worse = drop_words(bt[:n], {3, 11})
    expected = sacrebleu_pair(bt[:n], worse, refs[:n])
    for metric, (base, score, p) in expected.items():  # the premise: large drops that the test cannot confirm
        assert base - score > DEFAULT_MAX_DROP[metric] and p >= 0.05

    def tiny(folder, hyps):
        return ci_run(tmp_path / folder, "testset=[parallel]", f"testsets.parallel.source={src}",
                      f"testsets.parallel.references={ref}", "system=[file]", "systems.file.name=mine",
                      f"systems.file.outputs={{parallel:{write(tmp_path / f'{folder}.txt', hyps)}}}",
                      "metric=[bleu,chrf]")

    base_run, worse_run = tiny("base", bt[:n]), tiny("worse", worse)
    code = main(["check", "--baseline", str(base_run), str(worse_run)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("mt-harness check: passed: 2 checks, no regression, 2 warnings")
    code, doc = check_json(capsys, "--baseline", str(base_run), str(worse_run))
    for metric, (base, score, p) in expected.items():
        c = by_key(doc["checks"])[("mine", metric)]
        power = c["power"]
        assert c["p_value"] == p and c["warning"] and c["outcome"] == "too small to tell"
        # the power estimate is asked about the threshold: what 20 segments detect, what detecting 0.5 takes
        assert power["segments"] == n and power["delta"] == DEFAULT_MAX_DROP[metric]
        assert power["detectable_difference"] > DEFAULT_MAX_DROP[metric] and power["segments_needed"] > n
        assert f"WARN parallel / mine / {metric}: worse by {base - score:.2f}" in out
        assert (f"with {n} segments this test detects differences of about {power['detectable_difference']:.2f} "
                f"(α = 0.05, power 80%); detecting 0.50 takes about {power['segments_needed']:,} segments. The test "
                f"set is too small to tell this drop from noise") in c["message"]


# -- check: unusable input (exit status 2) ----------------------------------------------------------------------

def test_a_baseline_scored_with_another_tokenizer_is_refused_naming_the_field(runs, capsys, tmp_path):
    intl = ci_run(tmp_path / "intl", "metrics.bleu.tokenize=intl")
    baseline = write_baseline(intl, tmp_path / "intl.baseline.json.gz").path
    junit = tmp_path / "junit.xml"
    assert main(["check", "--baseline", str(baseline), str(runs["base"]), "--junit", str(junit)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mt-harness: error: cannot compare the baseline with the run")
    assert "BLEU on 'flores200_devtest'" in err
    assert "tokenizer differs (`tok`: 'intl' in the baseline, '13a' in the run)" in err
    assert "chrF2" not in err.split("Signatures:")[0]  # only the metric that differs is named
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")  # CI still sees why
    assert error is not None and "tokenizer differs" in error.text


def test_other_test_set_content_is_refused_naming_the_field(runs, capsys, tmp_path, flores):
    refs, _ = flores
    other = write(tmp_path / "ref.en", refs[:4] + ["A reference that was edited."] + refs[5:])
    run = ci_run(tmp_path / "other", f"testsets.flores200_devtest.references={other}")
    assert main(["check", "--baseline", str(runs["baseline"]), str(run)]) == 2
    err = capsys.readouterr().err
    assert "test set 'flores200_devtest': test-set content differs (`sha256`:" in err


def test_a_metric_missing_from_the_run_is_unusable_input(runs, capsys, tmp_path):
    run = ci_run(tmp_path / "no-ter", "metric=[bleu,chrf]")
    assert main(["check", "--baseline", str(runs["baseline"]), str(run)]) == 2
    assert "metric TER of the baseline is missing from the run on 'flores200_devtest'" in capsys.readouterr().err
    assert main(["check", "--baseline", str(runs["baseline"]), str(runs["base"]), "--max-drop", "BLUE=1"]) == 2
    assert "Did you mean 'BLEU'?" in capsys.readouterr().err


def test_allowed_signature_differences_are_an_explicit_list(runs, capsys, tmp_path):
    bleu = "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    assert signature_differences(bleu, bleu.replace("2.6.0", "2.6.1")) == []
    assert signature_differences(bleu, bleu.replace("2.6.0", "2.7.0")) == [("version", "2.6.0", "2.7.0")]
    assert signature_differences(bleu, bleu.replace("13a", "intl")) == [("tok", "13a", "intl")]
    assert signature_differences(bleu, bleu.replace("|smooth:exp", "")) == [("smooth", "exp", None)]
    comet = ("COMET|model:/a/wmt22@sha256:abc|nrefs:1|prec:fp32|bs:16|trunc:0|comet:2.2.7|transformers:4.57.6"
             "|torch:2.13.0")
    moved = comet.replace("/a/", "/b/").replace("trunc:0", "trunc:3").replace("torch:2.13.0", "torch:2.13.1+cu121")
    assert signature_differences(comet, moved) == []
    assert [k for k, _, _ in signature_differences(comet, comet.replace("abc", "def").replace("bs:16", "bs:8"))] == \
        ["model", "bs"]
    assert set(ALLOWED_SIGNATURE_DIFFERENCES) == {"version", "comet", "transformers", "torch", "trunc", "model"}

    # the same through a baseline file whose signatures say another sacreBLEU version
    document = json.loads(gzip.decompress(runs["baseline"].read_bytes()))
    for version, code in (("2.6.1", 0), ("2.7.0", 2)):
        edited = json.loads(json.dumps(document).replace("version:2.6.0", f"version:{version}"))
        path = tmp_path / f"{version}.baseline.json.gz"
        path.write_bytes(gzip.compress(json.dumps(edited).encode()))
        assert main(["check", "--baseline", str(path), str(runs["again"])]) == code
        captured = capsys.readouterr()
        if code:
            assert (f"sacreBLEU version differs (`version`: '{version}' in the baseline, '2.6.0' in the run)"
                    in captured.err)


def test_check_refuses_a_multirun_folder_and_non_baseline_files(runs, capsys, tmp_path):
    multirun = tmp_path / "multirun_x"
    multirun.mkdir()
    (multirun / "0").symlink_to(runs["base"])
    assert main(["check", "--baseline", str(runs["baseline"]), str(multirun)]) == 2
    assert f"give one job's folder, e.g. {multirun / '0'}" in capsys.readouterr().err
    assert main(["check", "--baseline", str(FLORES_REF), str(runs["base"])]) == 2
    assert "is not a baseline file" in capsys.readouterr().err


# -- output for CI ----------------------------------------------------------------------------------------------

def test_github_step_summary_gets_the_markdown_appended(runs, capsys, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["check", "--baseline", str(runs["baseline"]), str(runs["degraded"])]) == 1
    capsys.readouterr()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### ❌ mt-harness check FAILED: 3 regressions in 9 checks")
    assert "| Test set | System | Metric | Baseline | Run | Δ | Max drop | p | Result |" in text
    assert f"| flores200_devtest | {BT} | BLEU |" in text and "❌ regression |" in text
    assert "| flores200_devtest | copy-source | TER ↓ | 136.36 | 136.36 | +0.00 | 0.50 | – | ✅ same |" in text


def test_junit_escapes_names_and_messages():
    name = 'sys <a> & "b"\x01'
    d = Difference(testset="t&t", metric="BLEU", system_a=name, system_b=name, score_a=30.0, score_b=20.0,
                   higher_is_better=True, digits=2, segments=10, p_value=0.001, significant=True, same=False,
                   identical=False, interval_a=None, interval_b=None, power=None)
    result = CheckResult(Comparison("a <base>", "b & run", SignificanceSettings(), [d]),
                         [Verdict(d, 0.5, "regression", "worse by 10.00 <&>")])
    root = ET.fromstring(junit_xml(result))
    case = root.find("testsuite/testcase")
    assert case.get("classname") == 't&t.sys <a> & "b"\ufffd'  # the control character is not XML 1.0
    assert case.find("failure").get("message") == "BLEU: worse by 10.00 <&>"
    assert "baseline a <base>, run b & run" in case.find("failure").text


# -- compare ----------------------------------------------------------------------------------------------------

def test_compare_two_runs_shows_differences_and_sacrebleu_p_values(runs, flores, capsys):
    refs, bt = flores
    expected = sacrebleu_pair(bt, read_lines(runs["slightly_hyps"]), refs)
    assert main(["compare", str(runs["base"]), str(runs["slightly"]), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    diffs = {(d["system_a"], d["metric"]): d for d in doc["differences"]}
    assert len(diffs) == 9
    assert doc["significance"]["signature"] == "paired-bs|n:1000|seed:12345|alpha:0.05|pairs:all|corr:none"
    for metric, (base, worse, p) in expected.items():
        assert diffs[(BT, metric)]["delta"] == pytest.approx(worse - base, abs=1e-12)
        assert diffs[(BT, metric)]["p_value"] == p
    assert all(d["same"] for (system, _), d in diffs.items() if system != BT)

    assert main(["compare", str(runs["base"]), str(runs["slightly"])]) == 0
    text = capsys.readouterr().out
    base, worse, p = expected["BLEU"]
    assert f"{BT}  BLEU    {base:.2f}   {worse:.2f}   {worse - base:+.2f}  {p:.4f}" in text
    assert main(["compare", str(runs["base"]), str(runs["degraded"]), "--format", "markdown"]) == 0
    assert "| Test set | System | Metric | A | B | Δ | p | Change |" in capsys.readouterr().out


@pytest.mark.parametrize("test", ["bootstrap", "ar"])
def test_past_the_shared_matrix_limit_compare_draws_blocks_and_gets_the_same_numbers(runs, capsys, monkeypatch, test):
    """A 1M-segment test set would make the shared (B, n) index matrix 8 GB: past SHARED_INDEX_CELLS every
    analysis draws its own blocks, which must be the same resamples."""
    args = ["compare", str(runs["base"]), str(runs["slightly"]), "--test", test, "--trials", "2000",
            "--format", "json"]
    assert main(args) == 0
    shared = json.loads(capsys.readouterr().out)["differences"]

    def whole_matrix(*_):
        raise AssertionError("the whole index matrix was drawn past the limit")
    monkeypatch.setattr(significance, "SHARED_INDEX_CELLS", 0)
    monkeypatch.setattr(significance, "bootstrap_indices", whole_matrix)
    monkeypatch.setattr(significance, "ar_swaps", whole_matrix)
    drawn = []
    block_draw = significance.bootstrap_index_blocks if test == "bootstrap" else significance.ar_swap_blocks

    def counted(*a, **k):
        drawn.append(a)
        return block_draw(*a, **k)
    monkeypatch.setattr(significance, block_draw.__name__, counted)
    assert main(args) == 0
    blocks = json.loads(capsys.readouterr().out)["differences"]
    assert drawn  # the resamples were drawn block by block
    assert blocks == shared and any(not d["same"] for d in blocks)  # real differences, with their p-values


def test_compare_with_approximate_randomisation_gives_sacrebleus_p_value(runs, flores, capsys):
    refs, bt = flores
    seed = os.environ.pop("SACREBLEU_SEED", None)
    try:
        _, table = PairedTest([("base", bt), ("other", read_lines(runs["slightly_hyps"]))], {"BLEU": sacrebleu.BLEU()},
                              [refs], test_type="ar", n_samples=2000)()
    finally:
        if seed is not None:
            os.environ["SACREBLEU_SEED"] = seed
    assert main(["compare", str(runs["base"]), str(runs["slightly"]), "--test", "ar", "--trials", "2000",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (bleu,) = [d for d in doc["differences"] if d["system_a"] == BT and d["metric"] == "BLEU"]
    assert bleu["p_value"] == table["BLEU"][1].p_value
    assert doc["significance"]["settings"]["test"] == "ar" and doc["significance"]["settings"]["trials"] == 2000


def test_compare_pairs_systems_of_other_names_and_reads_baseline_files(runs, flores, capsys):
    refs, bt = flores
    expected = sacrebleu_pair(read_lines(OPUS_2020), bt, refs)
    assert main(["compare", str(runs["baseline"]), str(runs["base"]), "--pair", f"vie-eng_opus-2020-09-10={BT}",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(d["system_a"], d["system_b"]) for d in doc["differences"]] == [("vie-eng_opus-2020-09-10", BT)] * 3
    for d in doc["differences"][:2]:
        base, better, p = expected[d["metric"]]
        assert d["score_a"] == base and d["score_b"] == better and d["p_value"] == p and d["change"] == "better"
    assert main(["compare", str(runs["base"]), str(runs["base"]), "--pair", "opus=x"]) == 2
    assert "unknown system (left of --pair OLD=NEW) 'opus'" in capsys.readouterr().err


def test_compare_a_multirun_folder_compares_each_job_with_the_first(runs, capsys, tmp_path):
    """A multirun folder as Hydra lays it out (configs/hydra/default.yaml: multirun_<stamp>/<job number>, each job's
    overrides in .hydra/overrides.yaml); the jobs are copies of the runs above."""
    import shutil

    multirun = tmp_path / "multirun_2026"
    for job, folder in (("0", "base"), ("1", "slightly"), ("2", "degraded")):
        shutil.copytree(runs[folder], multirun / job)
        (multirun / job / ".hydra").mkdir(exist_ok=True)
        (multirun / job / ".hydra" / "overrides.yaml").write_text(f"- experiment=ci\n- output={folder}\n")
    assert main(["compare", str(multirun), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["multirun"] == str(multirun) and len(doc["comparisons"]) == 2
    assert [c["a"] for c in doc["comparisons"]] == ["job 0 (output=base)"] * 2  # overrides all jobs share: left out
    assert [c["b"] for c in doc["comparisons"]] == ["job 1 (output=slightly)", "job 2 (output=degraded)"]
    worse = [d for d in doc["comparisons"][1]["differences"] if d["change"] == "worse"]
    assert {d["metric"] for d in worse} == {"BLEU", "chrF2", "TER"}
    assert main(["compare", str(runs["base"])]) == 2
    assert "is not a multirun folder" in capsys.readouterr().err


# -- baseline files ---------------------------------------------------------------------------------------------

def test_a_baseline_file_reads_back_like_its_run_folder(runs, tmp_path, capsys):
    folder, baseline = load_run(runs["base"]), read_baseline(runs["baseline"])
    assert {n: ts.signature() for n, ts in baseline.testsets.items()} == \
        {n: ts.signature() for n, ts in folder.testsets.items()}
    for r in folder.results:
        b = baseline.get(r.testset, r.system)
        assert b.scores == r.scores and b.hypotheses == []
        assert all((b.statistics[m] == r.statistics[m]).all() for m in r.statistics)
    assert baseline.significance_settings == folder.significance_settings
    # deterministic bytes: the same run gives the same file
    again = write_baseline(runs["base"], tmp_path / "again.baseline.json.gz").path
    assert again.read_bytes() == runs["baseline"].read_bytes()
    assert main(["baseline", str(runs["base"]), "-o", str(tmp_path / "h.baseline.json.gz"), "--with-hypotheses"]) == 0
    assert "hypotheses included" in capsys.readouterr().out
    with_hyps = load_scored_run(tmp_path / "h.baseline.json.gz")
    assert with_hyps.get("flores200_devtest", BT).hypotheses == read_lines(OPUS_BT)


# -- the committed baseline, with the commands the README shows ------------------------------------------------

def _mt_harness(*args, env=None):
    script = Path(sys.executable).parent / "mt-harness"
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=ROOT, check=False,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_the_committed_baseline_checks_clean_against_a_fresh_ci_run(tmp_path):
    env = {"MT_HARNESS_RESULTS": str(tmp_path / "results"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    run = _mt_harness("run", "experiment=ci", env=env)
    assert run.returncode == 0, run.stderr
    check = _mt_harness("check", "--baseline", str(COMMITTED_BASELINE.relative_to(ROOT)),
                        str(tmp_path / "results" / "ci" / "latest"), "--junit", str(tmp_path / "junit.xml"), env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("mt-harness check: passed: 9 checks, no regression\n")
    assert ET.parse(tmp_path / "junit.xml").getroot().get("failures") == "0"
    assert "### ✅ mt-harness check passed" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_check_imports_neither_torch_nor_comet(runs):
    argv = ["check", "--baseline", str(runs["baseline"]), str(runs["degraded"])]
    assert modules_loaded_by_cli(argv, ("torch", "transformers", "comet", "datasets")) == (1, [])
