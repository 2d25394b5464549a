"""openai-api against the local OpenAI-compatible test server: order, concurrency, retries, Retry-After,
requests per minute, clear errors for bad servers, and the API key going nowhere but the Authorization header."""

import json
import logging
import time

import pytest

from harness.data import build_testset
from harness.errors import ConfigError, HarnessError, ModelUnavailableError, UnknownNameError
from harness.systems.openai_api import (
    ModelMismatchError,
    OpenAIAPI,
    RequestRateLimiter,
    ServerError,
    model_matches,
    parse_retry_after,
)
from harness.testing.openai_server import OpenAITestServer
from harness.testing.tiny_models import CORPUS

SOURCES, REFERENCES = CORPUS[:8], CORPUS[8:16]
TRANSLATION = dict(zip(SOURCES, REFERENCES))
KEY = "sk-test-6f1d0c2a-never-write-me"


def chatty_translator(request):
    """Answers as a chat model does: a preamble, then the reference of the source found in the prompt."""
    prompt = request["messages"][-1]["content"]
    source = next(s for s in SOURCES if s in prompt)
    return f"Here is the translation:\n\n{TRANSLATION[source]}"


@pytest.fixture
def testset():
    return build_testset("tiny", "vi", "en", SOURCES, [(r,) for r in REFERENCES])


@pytest.fixture
def server():
    with OpenAITestServer(answer=chatty_translator) as s:
        yield s


def api(server, **kwargs):
    # back-off 10 ms: retries in these tests take milliseconds, not the default seconds
    settings = dict(model="tiny-llm", base_url=server.base_url, concurrency=4, backoff_initial=0.01, timeout=5)
    return OpenAIAPI("api", **{**settings, **kwargs})


def test_answers_come_back_cleaned_in_input_order_batch_by_batch(server, testset):
    # slow answers for early segments: they finish last, yet every batch is the next stretch of the test set
    server.answer = lambda req: (time.sleep(0.1 if SOURCES[0] in req["messages"][-1]["content"] else 0),
                                 chatty_translator(req))[1]
    batches = list(api(server, concurrency=4, batch_size=3).translate_batches(testset))
    assert [b.indices for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert [h for b in batches for h in b.hypotheses] == REFERENCES
    details = [d for b in batches for d in b.details]
    assert details[0] == {"raw": f"Here is the translation:\n\n{REFERENCES[0]}", "cleaning": ["preamble"]}


def test_concurrency_limit_is_never_exceeded_and_is_used(testset):
    with OpenAITestServer(answer=chatty_translator, delay=0.1) as server:
        api(server, concurrency=3).translate(testset)
    assert server.requests == len(testset)
    # 8 requests of 100 ms each, 3 workers: never four in flight; and more than one (the limit is used)
    assert 2 <= server.max_concurrent <= 3


@pytest.mark.parametrize("fault, extra", [("429", {}), ("500", {}), ("drop", {}), ("slow", {"seconds": 2.0})])
def test_transient_failures_are_retried(server, testset, fault, extra):
    server.fail_next(fault, **extra)
    system = api(server, timeout=0.5, concurrency=1)  # a slow answer (2 s) outlasts the 0.5 s timeout
    assert system.translate(testset) == REFERENCES
    assert server.requests == len(testset) + 1
    assert system.runtime_info()["retries"] == 1 and system.runtime_info()["requests"] == len(testset) + 1


def test_retry_after_is_honoured_exactly(server, testset):
    server.fail_next("429", retry_after="7")
    system = api(server, concurrency=1)
    waits = []
    system._sleep = lambda seconds, stop: waits.append(seconds)  # record instead of waiting 7 s
    assert system.translate(testset) == REFERENCES
    assert waits == [7.0]  # the exponential back-off alone would have waited about 0.01-0.02 s


def test_retry_after_really_waits(server, testset):
    server.fail_next("429", retry_after="0.3")
    start = time.monotonic()
    api(server, concurrency=1).translate(testset.subset([0]))
    assert time.monotonic() - start >= 0.3


def test_retry_after_forms():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25  # OpenAI's finer header wins
    # an HTTP date 30 s after `now` (1994-11-06 08:49:07 UTC is 784111747 s since the epoch)
    assert parse_retry_after({"retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"}, now=784111747.0) == 30.0
    assert parse_retry_after({}) is None and parse_retry_after({"retry-after": "soon"}) is None


def test_giving_up_names_the_server_and_the_fix(server, testset):
    server.fail_next("500", times=3)
    with pytest.raises(ServerError) as e:
        api(server, max_retries=2, concurrency=1).translate(testset)
    message = str(e.value)
    assert "HTTP 500 3 times" in message and server.base_url in message and "max_retries" in message


def test_malformed_json_is_a_clear_error(server, testset):
    server.fail_next("malformed")
    with pytest.raises(ServerError, match=r"not JSON .*base_url.* ends in /v1"):
        api(server).translate(testset)


def test_missing_choices_is_a_clear_error(server, testset):
    server.fail_next("no_choices")
    with pytest.raises(ServerError, match=r"without 'choices' .*keys: \['message', 'object'\]") as e:
        api(server).translate(testset)
    assert "Server said: model overloaded" in str(e.value)  # vLLM's error object carries a "message"


def test_a_different_model_on_the_server_is_an_error_unless_allowed(server, testset):
    server.model = "Qwen/Qwen2.5-0.5B-Instruct"
    system = api(server)
    system.config_key = "systems.qwen"
    with pytest.raises(ModelMismatchError) as e:
        system.translate(testset)
    assert "reports model 'Qwen/Qwen2.5-0.5B-Instruct'" in str(e.value)
    assert "systems.qwen.model=Qwen/Qwen2.5-0.5B-Instruct" in str(e.value)
    assert "systems.qwen.allow_model_mismatch=true" in str(e.value)
    allowed = api(server, allow_model_mismatch=True)
    assert allowed.translate(testset) == REFERENCES
    assert allowed.runtime_info()["server_models"] == ["Qwen/Qwen2.5-0.5B-Instruct"]


@pytest.mark.parametrize("configured, reported, ok", [
    ("gpt-4o", "gpt-4o", True),
    ("gpt-4o", "gpt-4o-2024-08-06", True),      # OpenAI answers with the dated snapshot
    ("llama3", "llama3:latest", True),           # Ollama's default tag
    ("gpt-4o", "gpt-4o-mini", False),            # a prefix, but another model
    ("gpt-4o", "gpt-4o-mini-2024-07-18", False),
    ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct", False),
    ("qwen", "/models/qwen2.5-7b-instruct-q4_k_m.gguf", False),  # llama.cpp: needs allow_model_mismatch
])
def test_model_check_tolerates_snapshot_suffixes_only(configured, reported, ok):
    assert model_matches(configured, reported) is ok


def test_unreachable_server_is_model_unavailable_with_the_fix(testset):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    system = OpenAIAPI("api", model="Qwen/Qwen2.5-7B-Instruct", base_url=f"http://127.0.0.1:{port}/v1",
                       max_retries=1, backoff_initial=0.01)
    with pytest.raises(ModelUnavailableError, match=r"vllm serve Qwen/Qwen2\.5-7B-Instruct --port 8000"):
        system.translate(testset)


def test_rate_limiter_spaces_requests_on_a_fake_clock():
    now = [100.0]
    limiter = RequestRateLimiter(per_minute=30, clock=lambda: now[0])  # 30 per minute: one every 2 s
    assert [limiter.reserve() for _ in range(3)] == [0.0, 2.0, 4.0]
    now[0] += 60.0  # long idle: no debt carried over, and no burst allowed either
    assert [limiter.reserve() for _ in range(2)] == [0.0, 2.0]


def test_requests_per_minute_holds_across_workers(server, testset):
    system = api(server, concurrency=4, requests_per_minute=1200)  # one request start every 50 ms
    start = time.monotonic()
    assert system.translate(testset) == REFERENCES
    # 8 starts 50 ms apart take at least 7 x 50 ms, however many workers there are (without the limit: ~10 ms)
    assert time.monotonic() - start >= 0.35
    info = system.runtime_info()
    assert info["rate_limit_waits"] == len(testset) - 1 and info["rate_limit_wait_seconds"] > 0


def test_key_is_sent_as_bearer_token_and_shown_nowhere(server, testset, monkeypatch, caplog):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    system = api(server, api_key_env="MY_LLM_KEY")
    server.fail_next("500")  # a retry, so a warning is logged
    with caplog.at_level(logging.DEBUG):
        system.translate(testset)
    assert {h["Authorization"] for h in server.headers} == {f"Bearer {KEY}"}
    shown = [repr(system), str(system), json.dumps(system.signature()), json.dumps(system.runtime_info()),
             repr(vars(system)), caplog.text]
    assert not [text for text in shown if KEY in text]
    assert system.runtime_info()["api_key_set"] is True


def test_server_text_quoted_in_errors_has_the_key_masked(server, testset, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.fail_next("401")  # the server quotes the Authorization header back in its error
    with pytest.raises(ServerError) as e:
        api(server).translate(testset)
    assert "HTTP 401" in str(e.value) and "invalid credentials: Bearer ***" in str(e.value)
    assert KEY not in str(e.value)
    assert "environment variable OPENAI_API_KEY" in str(e.value)  # names the variable to fix, not its value


def test_no_key_variable_sends_no_authorization(server, testset, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    system = api(server)
    assert system.translate(testset) == REFERENCES
    assert all("Authorization" not in h for h in server.headers)
    assert system.runtime_info()["api_key_set"] is False


def test_cacheable_only_when_deterministic():
    base = dict(model="m", base_url="http://127.0.0.1:8000/v1")
    assert OpenAIAPI("a", **base).cacheable is True                       # temperature 0: greedy
    assert OpenAIAPI("a", **base, temperature=0.7).cacheable is False     # sampled, no seed
    assert OpenAIAPI("a", **base, temperature=0.7, seed=1).cacheable is True


def test_signature_keys_model_prompt_and_decoding_not_server_or_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    examples = tmp_path / "shots.jsonl"
    examples.write_text(json.dumps({"src": "Xin chào.", "ref": "Hello."}) + "\n", encoding="utf-8")
    prompt = {"user_template": "Translate to {tgt_lang}:\n{source}", "few_shot": str(examples)}
    here = OpenAIAPI("a", model="m", base_url="http://127.0.0.1:8000/v1", prompt=prompt).signature()
    there = OpenAIAPI("a", model="m", base_url="https://llm.example.org/v1", prompt=prompt).signature()
    assert here == there  # same model and prompt elsewhere: cached translations stay valid
    assert here["model"] == "m" and here["decoding"]["temperature"] == 0.0
    assert OpenAIAPI("a", model="m", prompt=prompt, max_tokens=64).signature() != here
    examples.write_text(json.dumps({"src": "Xin chào.", "ref": "Hi."}) + "\n", encoding="utf-8")  # new example
    assert OpenAIAPI("a", model="m", prompt=prompt).signature()["prompt"] != here["prompt"]
    assert KEY not in json.dumps(here)


@pytest.mark.parametrize("kwargs, message", [
    ({"base_url": "127.0.0.1:8000/v1"}, "base_url must be an http"),
    ({"api_key_env": KEY}, "api_key_env names an environment variable"),
    ({"concurrency": 0}, "concurrency"),
    ({"extra_body": {"messages": []}}, "extra_body may not set"),
])
def test_bad_settings_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message) as e:
        OpenAIAPI("a", **{"model": "m", **kwargs})
    assert KEY not in str(e.value)


def test_unknown_prompt_name_suggests_the_close_one():
    with pytest.raises(UnknownNameError, match="Did you mean 'tower'"):
        OpenAIAPI("a", model="m", prompt="towr")


def test_errors_are_harness_errors():
    assert issubclass(ServerError, HarnessError) and issubclass(ModelMismatchError, ServerError)
