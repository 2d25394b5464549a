"""The translation cache survives `kill -9`: a run killed in the middle of translating keeps every finished
batch, and the re-run translates only the rest, ending with the outputs of an uninterrupted run. Two processes
share one cache safely."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import FLORES_REF, FLORES_SRC, ROOT

pytestmark = pytest.mark.slow

BATCH = 4
N = 160  # the first FLORES-200 devtest segments: enough batches to stop a run in the middle


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    for name, path in (("src.vi", FLORES_SRC), ("ref.en", FLORES_REF)):
        (folder / name).write_text("\n".join(path.read_text(encoding="utf-8").split("\n")[:N]) + "\n",
                                   encoding="utf-8")
    return folder


def _overrides(model, data):
    return ["testset=[parallel]", f"testsets.parallel.source={data / 'src.vi'}",
            f"testsets.parallel.references={data / 'ref.en'}", "system=[hf_seq2seq]", "metric=[bleu]",
            "significance.test=none", f"systems.hf_seq2seq.model={model}", "systems.hf_seq2seq.name=tiny",
            "systems.hf_seq2seq.num_beams=2", "systems.hf_seq2seq.max_new_tokens=12",
            f"systems.hf_seq2seq.batch_size={BATCH}"]


def _start(model, data, results, cache):
    env = {**os.environ, "MT_HARNESS_RESULTS": str(results), "MT_HARNESS_CACHE": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *_overrides(model, data)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _stored(cache) -> int:
    """Translations in the cache, read as another process would (SQLite WAL: readers never block the writer)."""
    db = cache / "cache.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM kv WHERE ns = 'translations'").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def _finished(results):
    folder = (results / "default" / "latest").resolve()
    doc = json.loads((folder / "scores.json").read_text(encoding="utf-8"))
    hyps = (folder / "hyps" / "parallel" / "tiny.txt").read_text(encoding="utf-8")
    return doc["results"][0]["translation"], hyps


def test_kill_9_in_the_middle_keeps_every_finished_batch(tiny_models, data, tmp_path):
    model = tiny_models["marian"]
    run = _start(model, data, tmp_path / "results", tmp_path / "cache")
    deadline = time.time() + 120
    while _stored(tmp_path / "cache") < 5 * BATCH and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    kept = _stored(tmp_path / "cache")
    assert 0 < kept < N, "the run was not killed in the middle of translating"
    assert kept % BATCH == 0  # whole batches only: each is one transaction

    again = _start(model, data, tmp_path / "results", tmp_path / "cache")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    facts, resumed = _finished(tmp_path / "results")
    assert facts["cached"] == kept and facts["translated"] == N - kept  # model calls: only what was missing

    whole = _start(model, data, tmp_path / "results-whole", tmp_path / "cache-whole")
    _, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    facts, uninterrupted = _finished(tmp_path / "results-whole")
    assert facts["translated"] == N and resumed == uninterrupted


def test_two_processes_translate_into_one_cache_at_the_same_time(tiny_models, data, tmp_path):
    runs = [_start(tiny_models["marian"], data, tmp_path / f"results{i}", tmp_path / "cache") for i in range(2)]
    for r in runs:
        _, err = r.communicate(timeout=300)
        assert r.returncode == 0, err
    outputs = [_finished(tmp_path / f"results{i}")[1] for i in range(2)]
    assert outputs[0] == outputs[1]
    assert _stored(tmp_path / "cache") == N  # one entry per segment, whichever process wrote it
