"""The config recipes the README shows, as a researcher writes them: machine-specific settings in
configs/local/default.yaml, one's own configs outside the repo, template reuse, misspelt fields, and
ready-made output files as systems from the command line."""

import os
import shutil
import subprocess
import sys

import pytest
from conftest import OPUS_2020, OPUS_BT, ROOT

from harness.config import compose, config_dir
from harness.errors import ConfigError, UnknownNameError
from harness.run import evaluate

FAST = ["metric=[bleu]", "significance.test=none"]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.fixture
def configs_with_local(tmp_path):
    """A copy of configs/ with a local/default.yaml written as the README says (no @package header)."""
    copy = tmp_path / "configs"
    shutil.copytree(config_dir(), copy, ignore=shutil.ignore_patterns("local"))
    (copy / "local").mkdir()
    (copy / "local" / "default.yaml").write_text(
        "# machine-specific settings\n"
        "systems:\n  opus_mt_vi_en:\n    model: /models/opus-mt-vi-en\n"
        "significance:\n  seed: 7\n", encoding="utf-8")
    return copy


def test_local_overrides_apply_and_do_not_break_experiments_without_that_system(configs_with_local, caplog):
    cfg = compose([], config_path=configs_with_local)
    assert cfg.systems.opus_mt_vi_en.model == "/models/opus-mt-vi-en" and cfg.significance.seed == 7
    # files_only does not select opus_mt_vi_en: the local setting is left out with a warning, the run works
    other = compose(["experiment=files_only", "testset=[seed_article]", *FAST], config_path=configs_with_local)
    with caplog.at_level("WARNING", logger="harness.config"):
        run = evaluate(other, write=False)
    assert "opus-mt-vi-en" not in {r.system for r in run.results}
    assert "systems.opus_mt_vi_en has settings (model) but no _target_" in caplog.text


def test_configs_local_is_git_ignored():
    out = subprocess.run(["git", "check-ignore", "configs/local/default.yaml"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "configs/local/default.yaml"


@pytest.fixture
def own_configs(tmp_path):
    folder = tmp_path / "my-configs"
    (folder / "system").mkdir(parents=True)
    (folder / "system" / "my_outputs.yaml").write_text(
        "# @package systems.my_outputs\n# My system's outputs\n_target_: harness.systems.file.FileOutputs\n"
        f"name: mine\noutputs:\n  flores200_devtest: {OPUS_BT}\n", encoding="utf-8")
    (folder / "system" / "my_marian.yaml").write_text(
        "# @package systems.my_marian\n# A Marian model reusing the hf_seq2seq template (the form that works)\n"
        "defaults:\n  - hf_seq2seq@_here_\n  - _self_\nname: my-marian\nmodel: /models/my-marian\n", encoding="utf-8")
    (folder / "system" / "naive.yaml").write_text(
        "# @package systems.naive\n# the template named without @_here_\ndefaults:\n  - hf_seq2seq\n"
        "name: naive\nmodel: /models/naive\n", encoding="utf-8")
    return folder


def test_own_configs_outside_the_repo_are_listed_and_run(own_configs, tmp_path):
    listed = _cli("list", "system", "--config-dir", own_configs)
    assert listed.returncode == 0 and "my_outputs" in listed.stdout and "My system's outputs" in listed.stdout
    env = {"MT_HARNESS_RESULTS": str(tmp_path / "results")}
    for form in (["--config-dir", own_configs], [f"hydra.searchpath=[file://{own_configs}]"]):
        res = _cli("run", *form, "testset=[flores200_devtest]", "system=[my_outputs]", *FAST, env=env)
        assert res.returncode == 0, res.stderr
        assert "| mine | 27.31 |" in res.stdout


def test_reusing_a_template_works_with_here_and_the_other_form_explains_itself(own_configs):
    cfg = compose(["system=[my_marian]", f"hydra.searchpath=[file://{own_configs}]"])
    assert cfg.systems.my_marian._target_ == "harness.systems.hf_seq2seq.HFSeq2Seq"
    assert cfg.systems.my_marian.model == "/models/my-marian" and cfg.systems.my_marian.num_beams == 4
    naive = compose(["system=[naive]", f"hydra.searchpath=[file://{own_configs}]"])
    with pytest.raises(ConfigError, match=r"write `defaults: \[hf_seq2seq@_here_, _self_\]`"):
        evaluate(naive, write=False)


@pytest.mark.parametrize("override, message", [
    ("systems.opus_mt_vi_en.num_beam=1", "unknown field 'num_beam' in systems.opus_mt_vi_en. Did you mean 'num_beams'?"),
    ("significance.resample=10", "unknown field 'resample' in significance. Did you mean 'resamples'?"),
    ("stict=true", "unknown field 'stict' in the config. Did you mean 'strict'?"),
])
def test_a_misspelt_field_gets_did_you_mean_not_hydras_plus_advice(tmp_path, override, message):
    res = _cli("run", override, env={"MT_HARNESS_RESULTS": str(tmp_path)})
    assert res.returncode == 2 and message in res.stderr and "+" not in res.stderr.split(message)[0][-5:]
    assert not any(tmp_path.iterdir())  # nothing started


def test_a_misspelt_field_added_with_plus_is_caught_before_the_constructor():
    with pytest.raises(UnknownNameError, match="unknown field 'num_beam' in systems.opus_mt_vi_en"):
        evaluate(compose(["system=[opus_mt_vi_en]", "+systems.opus_mt_vi_en.num_beam=1"]), write=False)


def test_ready_made_output_files_as_systems_from_the_command_line(tmp_path):
    env = {"MT_HARNESS_RESULTS": str(tmp_path / "results")}
    res = _cli("run", "testset=[flores200_devtest]", "system=[copy_source]", *FAST,
               f"+hypotheses.first.flores200_devtest={OPUS_2020}", f"+hypotheses.second={OPUS_BT}", env=env)
    assert res.returncode == 0, res.stderr
    assert "| first | 25.34 |" in res.stdout and "| second | 27.31 |" in res.stdout
    # with two test sets, a bare file is ambiguous: the error says which form to use
    res = _cli("run", "system=[copy_source]", *FAST, f"+hypotheses.first={OPUS_2020}", env=env)
    assert res.returncode == 2
    assert f"say which: +hypotheses.first.flores200_devtest={OPUS_2020}" in res.stderr
