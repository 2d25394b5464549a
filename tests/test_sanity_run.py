"""Sanity flags in runs: computed for every output and test set, written to scores.json, shown in the
leaderboard (a Flags column and one note per flag) — and none on the real shipped outputs."""

import json

import pytest
from conftest import FLORES_SRC, OPUS_BT

from harness.config import compose
from harness.errors import ConfigError, UnknownNameError
from harness.run import evaluate


@pytest.fixture(scope="module")
def broken_outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    good = OPUS_BT.read_text(encoding="utf-8").split("\n")[:1012]
    files = {
        "copy": FLORES_SRC.read_text(encoding="utf-8").split("\n")[:1012],  # the untranslated source
        "shifted": [""] + good[:-1],                                         # one line lost at the top
        "bytefallback": [h.replace("ğ", "<0xC4><0x9F>").replace("a", "a<0xC3><0xA1>", 1) if i % 5 == 0 else h
                         for i, h in enumerate(good)],                       # undecoded byte-fallback tokens
    }
    paths = {}
    for name, lines in files.items():
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def _overrides(paths):
    return (["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu]", "report=false",
             "significance.test=none"] + [f"+hypotheses.{name}={path}" for name, path in paths.items()])


def test_broken_outputs_are_flagged_in_scores_json_and_the_leaderboard(broken_outputs, tmp_path, results_env):
    run = evaluate(compose(_overrides(broken_outputs)), output_dir=tmp_path / "out")
    flags = {r.system: {f.check: f.severity for f in r.flags} for r in run.results}
    assert flags["copy"].get("copy_of_source") == "error" and flags["copy"].get("off_target") == "error"
    assert flags["shifted"].get("shifted_lines") == "error"
    assert "byte_fallback" in flags["bytefallback"]
    # the real outputs, and copy-source (a copy of the source by design), raise nothing
    assert flags["vie-eng_opus-2020-09-10"] == flags["vie-eng_opus+bt-2021-04-30"] == flags["copy-source"] == {}
    doc = json.loads((tmp_path / "out" / "scores.json").read_text(encoding="utf-8"))
    shifted = next(r for r in doc["results"] if r["system"] == "shifted")
    assert shifted["flags"][0]["check"] == "shifted_lines"
    assert "match the reference of the previous segment better than their own" in shifted["flags"][0]["message"]
    assert doc["testsets"]["flores200_devtest"]["flags"] == []
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| Flags | Notes |" in md
    assert next(line for line in md.splitlines() if "| shifted |" in line).count("✗ shifted_lines") == 1
    assert "shifted: ✗ shifted_lines:" in md and "bytefallback: ⚠ byte_fallback:" in md


def test_thresholds_and_switch_are_config(broken_outputs, results_env):
    # byte-fallback tokens, SentencePiece pieces and special tokens share the model_tokens threshold
    loose = evaluate(compose(_overrides(broken_outputs) + ["sanity.thresholds={model_tokens: 0.5}"]), write=False)
    assert "byte_fallback" not in {f.check for f in loose.get("flores200_devtest", "bytefallback").flags}
    off = evaluate(compose(_overrides(broken_outputs) + ["sanity.enabled=false"]), write=False)
    assert all(not r.flags for r in off.results)
    with pytest.raises(UnknownNameError, match="Did you mean 'model_tokens'"):
        evaluate(compose(_overrides(broken_outputs) + ["sanity.thresholds={model_token: 0.5}"]), write=False)
    with pytest.raises(ConfigError, match="sanity.thresholds.model_tokens must be a number"):
        evaluate(compose(_overrides(broken_outputs) + ["sanity.thresholds={model_tokens: lots}"]), write=False)


def test_the_ci_gate_can_fail_on_a_sanity_flag(broken_outputs, tmp_path, results_env):
    """`check --fail-on-flags error`: a run whose output is shifted by one line fails even against a baseline
    with the same problem (no score dropped), and the JUnit file says which flag."""
    import xml.etree.ElementTree as ET

    from harness.cli import main

    run = tmp_path / "run"
    evaluate(compose(_overrides({"shifted": broken_outputs["shifted"]})), output_dir=run)
    assert main(["check", "--baseline", str(run), str(run)]) == 0  # no regression: the scores are the same
    junit = tmp_path / "junit.xml"
    assert main(["check", "--baseline", str(run), str(run), "--fail-on-flags", "error", "--junit", str(junit)]) == 1
    failures = [f.get("message") for f in ET.parse(junit).getroot().iter("failure")]
    assert len(failures) == 1 and "flores200_devtest / shifted: error shifted_lines" in failures[0]


def test_a_rerun_reads_its_flags_from_the_cache_and_other_thresholds_or_code_miss_it(broken_outputs, results_env,
                                                                                      monkeypatch):
    """A warm re-run checks nothing again (language identification alone costs 0.1 s per output); flags are
    kept by content, thresholds and the checks' implementation tag."""
    import harness.sanity as sanity

    first = evaluate(compose(_overrides(broken_outputs)), write=False)

    def checked_again(*args, **kwargs):
        raise AssertionError("checked again")

    monkeypatch.setattr(sanity, "check_hypotheses", checked_again)
    monkeypatch.setattr(sanity, "check_references", checked_again)
    again = evaluate(compose(_overrides(broken_outputs)), write=False)
    assert [[f.as_dict() for f in r.flags] for r in again.results] == \
        [[f.as_dict() for f in r.flags] for r in first.results]
    assert any(r.flags for r in again.results)
    with pytest.raises(AssertionError, match="checked again"):
        evaluate(compose(_overrides(broken_outputs) + ["sanity.thresholds={model_tokens: 0.5}"]), write=False)
    monkeypatch.setattr(sanity, "implementation_tag", lambda: "another version of the checks")
    with pytest.raises(AssertionError, match="checked again"):
        evaluate(compose(_overrides(broken_outputs)), write=False)
