"""Sweeps on existing engines: Hydra's joblib launcher runs jobs in parallel local processes through
`mt-harness run --multirun`, sharing one cache; the Slurm launcher config and the sweep experiment compose."""

import json
import os
import subprocess
import sys

from conftest import ROOT

from harness.config import compose


def test_a_sweep_in_parallel_local_processes_through_the_command_line(tmp_path):
    env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp_path / "results"), "MT_HARNESS_CACHE": str(tmp_path / "c")}
    res = subprocess.run([sys.executable, "-m", "harness", "run", "--multirun", "hydra/launcher=local_processes",
                          "experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu]",
                          "significance.seed=1,2"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    sweep = next((tmp_path / "results" / "files-only").glob("multirun_*"))
    statuses = [json.loads((sweep / job / "status.json").read_text(encoding="utf-8")) for job in ("0", "1")]
    assert [s["status"] for s in statuses] == ["completed", "completed"]
    assert statuses[0]["pid"] != statuses[1]["pid"] != os.getpid()  # two worker processes, not this one
    seeds = [json.loads((sweep / job / "scores.json").read_text(encoding="utf-8"))["significance"]["settings"]["seed"]
             for job in ("0", "1")]
    assert seeds == [1, 2]
    assert (tmp_path / "c" / "cache.sqlite").exists()  # the jobs shared one cache


def test_the_slurm_launcher_and_the_sweep_experiment_compose():
    cfg = compose(["hydra/launcher=slurm", "experiment=sweep_decoding"], return_hydra_config=True)
    assert "submitit" in cfg.hydra.launcher._target_ and cfg.hydra.launcher.gpus_per_node == 1
    assert dict(cfg.hydra.sweeper.params) == {"systems.opus_mt_vi_en.num_beams": "1,4",
                                              "systems.opus_mt_vi_en.max_new_tokens": "128,256"}
    assert list(cfg.systems) == ["opus_mt_vi_en"] and list(cfg.testsets) == ["flores200_devtest"]
