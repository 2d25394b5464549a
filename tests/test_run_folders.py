"""Run folders through the command line: every run its own folder (even two started in the same second), a
status that says how the run ended, and `latest` pointing at the last completed run, multirun jobs included."""

import json
import os
import subprocess
import sys

from conftest import ROOT

FAST = ["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu]", "significance.test=none"]


def _env(results):
    return {**os.environ, "MT_HARNESS_RESULTS": str(results)}


def _start(results, *overrides):
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *overrides], cwd=ROOT, env=_env(results),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _status(folder):
    return json.loads((folder / "status.json").read_text(encoding="utf-8"))["status"]


def test_two_runs_started_in_the_same_second_keep_their_own_folders(tmp_path):
    procs = [_start(tmp_path, *FAST, f"experiment_name=same-second"), _start(tmp_path, *FAST,
                                                                              "experiment_name=same-second")]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    folders = sorted(p for p in (tmp_path / "same-second").iterdir() if p.name != "latest")
    assert len(folders) == 2
    for folder in folders:
        assert _status(folder) == "completed"
        assert (folder / "leaderboard.md").exists() and (folder / "hyps").is_dir()
        log = (folder / "run.log").read_text(encoding="utf-8")
        assert log.count("results written to") == 1  # one run's log, not both
    assert (tmp_path / "same-second" / "latest").resolve() in folders


def test_a_failed_run_says_so_and_latest_keeps_the_last_completed_one(tmp_path):
    ok = _start(tmp_path, *FAST)
    ok.communicate(timeout=120)
    latest = (tmp_path / "files-only" / "latest").resolve()
    assert ok.returncode == 0 and _status(latest) == "completed"
    bad = _start(tmp_path, *FAST, "system=[file]", "systems.file.outputs={flores200_devtest:/no/such/file.txt}",
                 "strict=true")
    _, err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and "file not found: /no/such/file.txt" in err
    failed = [p for p in (tmp_path / "files-only").iterdir() if p.name != "latest" and p.resolve() != latest]
    assert len(failed) == 1 and _status(failed[0]) == "failed"
    status = json.loads((failed[0] / "status.json").read_text(encoding="utf-8"))
    assert "/no/such/file.txt" in status["error"]
    assert (tmp_path / "files-only" / "latest").resolve() == latest


def test_latest_points_at_the_last_job_of_a_multirun(tmp_path):
    proc = _start(tmp_path, "--multirun", *FAST, "significance.seed=1,2")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    latest = tmp_path / "files-only" / "latest"
    assert latest.is_symlink() and os.readlink(latest).startswith("multirun_") and latest.resolve().name == "1"
    assert _status(latest.resolve()) == "completed" and _status(latest.resolve().parent / "0") == "completed"
