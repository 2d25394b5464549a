"""One experiment with a dedicated MT model (tiny Marian), a local chat LLM (tiny Llama with a chat template)
and an LLM behind the OpenAI API (the local test server), through `evaluate`: one leaderboard with
significance, raw answers kept, the API key written nowhere, and a re-run that calls no model and no server."""

import json
import logging

import pytest

from harness.config import compose
from harness.run import evaluate
from harness.testing.openai_server import OpenAITestServer
from harness.testing.tiny_models import CORPUS

pytestmark = pytest.mark.slow

SOURCES, REFERENCES = CORPUS[:8], CORPUS[8:16]
KEY = "sk-llm-run-9b2e71d4-must-not-be-written"
SYSTEMS = ["tiny-marian", "tiny-chat", "tiny-api"]


@pytest.fixture(scope="module")
def models(tmp_path_factory, torch_single_thread):
    from harness.testing.tiny_causal import build_causal
    from harness.testing.tiny_models import build_marian

    root = tmp_path_factory.mktemp("llm_run_models")
    return {"marian": build_marian(root / "marian"), "chat": build_causal(root / "chat")}


@pytest.fixture
def server():
    def answer(request):  # a chatty model that knows the references: BLEU 100 once the preamble is cleaned
        prompt = request["messages"][-1]["content"]
        return "Sure! Here's the translation:\n\n" + next(r for s, r in zip(SOURCES, REFERENCES) if s in prompt)

    with OpenAITestServer(answer=answer) as s:
        yield s


def _overrides(tmp_path, models, server):
    data = tmp_path / "tiny.jsonl"
    data.write_text("\n".join(json.dumps({"src": s, "ref": r}, ensure_ascii=False)
                              for s, r in zip(SOURCES, REFERENCES)) + "\n", encoding="utf-8")
    return ["testset=[jsonl]", "system=[hf_seq2seq,hf_causal,openai_compatible]", "metric=[bleu,chrf]",
            f"testsets.jsonl.path={data}", "significance.resamples=200",
            f"systems.hf_seq2seq.model={models['marian']}", "systems.hf_seq2seq.name=tiny-marian",
            "systems.hf_seq2seq.num_beams=1", "systems.hf_seq2seq.max_new_tokens=8",
            f"systems.hf_causal.model={models['chat']}", "systems.hf_causal.name=tiny-chat",
            "systems.hf_causal.max_new_tokens=8",
            f"systems.openai_compatible.base_url={server.base_url}", "systems.openai_compatible.name=tiny-api",
            "systems.openai_compatible.model=tiny-llm", "systems.openai_compatible.api_key_env=MT_TEST_LLM_KEY",
            "systems.openai_compatible.backoff_initial=0.01", "systems.openai_compatible.concurrency=3"]


def test_three_kinds_of_system_in_one_leaderboard_then_a_rerun_from_the_cache(tmp_path, results_env, models,
                                                                               server, monkeypatch):
    monkeypatch.setenv("MT_TEST_LLM_KEY", KEY)
    overrides = _overrides(tmp_path, models, server)
    server.fail_next("500")  # one retry, so the run logs a warning about the API
    log_file = tmp_path / "results" / "run.log"  # everything logged, at every level, lands in the results folder
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        run = evaluate(compose(overrides), output_dir=tmp_path / "results" / "first")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    for name in SYSTEMS:
        assert run.get("jsonl", name).ok, run.get("jsonl", name).reason
    api = run.get("jsonl", "tiny-api")
    assert api.hypotheses == REFERENCES and api.scores["BLEU"].score == pytest.approx(100.0)
    assert api.translation_details[0] == {
        "raw": f"Sure! Here's the translation:\n\n{REFERENCES[0]}", "cleaning": ["preamble"]}
    chat = run.get("jsonl", "tiny-chat")
    assert all(set(d) == {"raw", "cleaning"} for d in chat.translation_details)
    assert server.requests == len(SOURCES) + 1  # one retried 500

    out = tmp_path / "results" / "first"
    leaderboard = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert all(name in leaderboard for name in SYSTEMS)
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    bleu = scores["significance"]["testsets"]["jsonl"]["BLEU"]
    assert json.dumps(bleu).count("tiny-") >= 3  # every system has an interval, rank and cluster
    assert scores["systems"]["tiny-api"]["runtime"]["server_models"] == ["tiny-llm"]
    assert scores["systems"]["tiny-api"]["runtime"]["retries"] == 1
    assert scores["systems"]["tiny-chat"]["runtime"]["chat_template"] is True
    rows = [json.loads(line) for line in (out / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    api_rows = [r for r in rows if r["system"] == "tiny-api"]
    assert api_rows[0]["translation"]["raw"].startswith("Sure! Here's the translation:")

    # the key was used (as a Bearer token) but reached no file: results, log or cache
    assert {h["Authorization"] for h in server.headers} == {f"Bearer {KEY}"}
    written = [p for folder in (tmp_path / "results", tmp_path / "cache") for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "cache.sqlite" for p in written) and log_file in written
    assert "tiny-api: HTTP 500; retry 1 of 5" in log_file.read_text(encoding="utf-8")  # the log saw the API at work
    assert not [str(p) for p in written if KEY.encode() in p.read_bytes()]

    # a re-run: every translation from the cache, no generate() call, no request
    import transformers

    generate_calls = []
    original_generate = transformers.GenerationMixin.generate

    def counting_generate(self, *args, **kwargs):
        generate_calls.append(type(self).__name__)
        return original_generate(self, *args, **kwargs)

    monkeypatch.setattr(transformers.GenerationMixin, "generate", counting_generate)
    requests_before = server.requests
    again = evaluate(compose(overrides), output_dir=tmp_path / "results" / "second")
    assert generate_calls == [] and server.requests == requests_before
    for name in SYSTEMS:
        first, second = run.get("jsonl", name), again.get("jsonl", name)
        assert second.translation.cached == len(SOURCES) and second.translation.translated == 0
        assert second.hypotheses == first.hypotheses
        assert second.translation_details == first.translation_details  # raw answers come back from the cache too


def test_the_same_experiment_through_mt_harness_run(tmp_path, models, server):
    """The command line a user types: `mt-harness run ...` in a fresh process, twice; the second run sends no
    request (every translation is in the cache shared by both processes)."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "MT_HARNESS_RESULTS": str(tmp_path / "results"), "MT_HARNESS_CACHE": str(tmp_path / "cache"),
           "MT_TEST_LLM_KEY": KEY}
    command = [sys.executable, "-m", "harness", "run", *_overrides(tmp_path, models, server)]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert first.returncode == 0, first.stderr
    table = [line for line in first.stdout.splitlines() if line.startswith("| ")]
    assert all(any(name in line for line in table) for name in SYSTEMS)
    requests = server.requests
    assert requests == len(SOURCES)
    second = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert second.returncode == 0, second.stderr
    assert server.requests == requests
    assert [line for line in second.stdout.splitlines() if line.startswith("| ")] == table
