"""LLMs behind an OpenAI-compatible chat-completions server (vLLM, llama.cpp, TGI, hosted APIs).

Each source is one `POST {base_url}/chat/completions` with the prompt's messages (harness/systems/llm_prompt.py).
Requests run in a thread pool of `concurrency` workers over one httpx connection pool; at most
`requests_per_minute` start per minute (spaced evenly, so a server-side window never sees a burst). 429s,
5xx answers, timeouts and dropped connections are retried by tenacity with exponential back-off and jitter,
waiting exactly as long as a `Retry-After` (or OpenAI's `retry-after-ms`) header asks. Finished answers are
yielded in input order, every `batch_size` of them, so the run caches finished work while the rest is still
in flight; answers are cleaned (harness/systems/llm_answers.py) and the raw ones kept in the details.

The API key is read from the environment variable named by `api_key_env` when translation starts and only
ever sent as an `Authorization: Bearer` header: it is not kept in the config, the signature, runtime facts,
repr or logs, and any server text quoted in an error has it masked. Local servers that need no key run
without the variable.

The server must report the configured model (the response's `model` field): a different one is an error,
since results and cached translations would carry the wrong model's name. The check accepts the configured
name plus a snapshot suffix (`gpt-4o` -> `gpt-4o-2024-08-06`, `llama3` -> `llama3:latest`); servers that
report a file name or a fixed alias instead (llama.cpp) need `allow_model_mismatch: true`. Every reported
model is recorded in `runtime_info`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

from harness.data.testset import TestSet
from harness.errors import ConfigError, HarnessError, ModelUnavailableError
from harness.languages import language_name
from harness.systems.base import TranslatedBatch, TranslationSystem
from harness.systems.llm_answers import CLEANING_STEPS, CLEANING_VERSION, hypotheses_and_details
from harness.systems.llm_prompt import load_prompt, plain_config_value

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529})
# what may follow the configured model name in the reported one: a dated or numbered snapshot, or a tag
_SNAPSHOT_SUFFIX = re.compile(r"^(?:[-@:]?\d[\w.:-]*|:latest)$")


class ServerError(HarnessError):
    """The chat-completions server could not be used: it kept failing, or answered something unusable."""


class ModelMismatchError(ServerError):
    """The server reports a different model than the configured one."""


class _RetryableStatus(Exception):
    """An HTTP status worth retrying (429, 5xx), with the wait the server asked for, if any."""

    def __init__(self, status: int, body: str, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.retry_after = status, body, retry_after


class _Secret:
    """Holds the API key; prints as *** and masks the key in text quoted from the server."""

    def __init__(self, value: str | None):
        self._value = value or None

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return "***" if self._value else "None"

    __str__ = __repr__

    def __getstate__(self):  # a pickled copy (e.g. sent to a worker process) carries no key
        return {"_value": None}

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._value}"} if self._value else {}

    def mask(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text


class RequestRateLimiter:
    """At most `per_minute` request starts per minute, spaced evenly (60/per_minute seconds apart).

    `reserve()` books the next start and returns how long the caller must wait for it; thread-safe. `clock`
    is injectable so tests can use a fake one."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic):
        self.interval = 60.0 / per_minute
        self._clock = clock
        self._next_start: float | None = None
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            start = now if self._next_start is None else max(now, self._next_start)
            self._next_start = start + self.interval
            return start - now


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms` (OpenAI), else `Retry-After` as seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def model_matches(configured: str, reported: str) -> bool:
    """True when the server's `model` is the configured one, or it plus a snapshot suffix (see module docs)."""
    return reported == configured or (reported.startswith(configured)
                                      and bool(_SNAPSHOT_SUFFIX.match(reported[len(configured):])))


def _public_url(url: str) -> str:
    """`base_url` without user:password@ or a query string, for messages and results."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenAIAPI(TranslationSystem):
    """A model served behind the OpenAI chat-completions API. Nothing is contacted until the first batch."""

    def __init__(self, name: str, model: str, base_url: str = "http://127.0.0.1:8000/v1",
                 prompt: str | Mapping[str, Any] = "instruction", temperature: float = 0.0, top_p: float | None = None,
                 max_tokens: int = 512, seed: int | None = None, concurrency: int = 8, batch_size: int | None = None,
                 timeout: float = 120.0, max_retries: int = 5, backoff_initial: float = 1.0, backoff_max: float = 60.0,
                 requests_per_minute: float | None = None, api_key_env: str = "OPENAI_API_KEY",
                 allow_model_mismatch: bool = False, clean_answers: bool = True,
                 extra_body: Mapping[str, Any] | None = None):
        super().__init__(name)
        where = f"system {name!r}"
        if not str(base_url).startswith(("http://", "https://")):
            raise ConfigError(f"{where}: base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, "
                              f"not {base_url!r}")
        if not model:
            raise ConfigError(f"{where}: model is empty; set it to the name the server serves (e.g. the id given "
                              f"to `vllm serve`)")
        if concurrency < 1 or max_tokens < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigError(f"{where}: concurrency and max_tokens must be >= 1, max_retries >= 0, timeout > 0")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"{where}: batch_size must be >= 1 or null (= concurrency)")
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ConfigError(f"{where}: requests_per_minute must be > 0 or null (no limit)")
        if temperature < 0:
            raise ConfigError(f"{where}: temperature must be >= 0 (0: greedy)")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(api_key_env)):
            raise ConfigError(f"{where}: api_key_env names an environment variable (e.g. OPENAI_API_KEY), "
                              f"not a key; got something that is not a variable name")
        reserved = {"model", "messages"} & set(extra_body or {})
        if reserved:
            raise ConfigError(f"{where}: extra_body may not set {sorted(reserved)}; use the model and prompt fields")
        self.model, self.base_url = str(model), str(base_url).rstrip("/")
        self.prompt = load_prompt(prompt, f"{where} prompt")
        self.temperature, self.top_p, self.max_tokens, self.seed = float(temperature), top_p, max_tokens, seed
        self.concurrency, self.batch_size = concurrency, batch_size or concurrency
        self.timeout, self.max_retries = float(timeout), max_retries
        self.backoff_initial, self.backoff_max = float(backoff_initial), float(backoff_max)
        self.requests_per_minute, self.api_key_env = requests_per_minute, str(api_key_env)
        self.allow_model_mismatch, self.clean_answers = bool(allow_model_mismatch), bool(clean_answers)
        self.extra_body = dict(plain_config_value(extra_body) or {})
        self._key = _Secret(None)
        self._counts = {"requests": 0, "retries": 0, "rate_limit_waits": 0}
        self._rate_limit_wait_seconds = 0.0
        self._truncated = 0
        self._server_models: set[str] = set()
        self._lock = threading.Lock()
        self._limiter = RequestRateLimiter(requests_per_minute) if requests_per_minute else None

    def __repr__(self) -> str:
        return f"OpenAIAPI(name={self.name!r}, model={self.model!r}, base_url={_public_url(self.base_url)!r})"

    @property
    def cacheable(self) -> bool:
        """Greedy (temperature 0) answers are cached; sampled ones only with a fixed seed."""
        return self.temperature == 0 or self.seed is not None

    def signature(self) -> dict[str, Any]:
        # Not the URL: the same model moved to another host or port keeps its cached translations.
        return {**super().signature(), "model": self.model, "prompt": self.prompt.signature(),
                "decoding": {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens,
                             "seed": self.seed},
                "extra_body": self.extra_body,
                "cleaning": f"v{CLEANING_VERSION}" if self.clean_answers else "lines-only"}

    def runtime_info(self) -> dict[str, Any]:
        with self._lock:
            return {"base_url": _public_url(self.base_url), "server_models": sorted(self._server_models),
                    **self._counts, "rate_limit_wait_seconds": round(self._rate_limit_wait_seconds, 3),
                    "truncated_answers": self._truncated, "api_key_env": self.api_key_env,
                    "api_key_set": bool(self._key)}

    def _key_hint(self, field: str) -> str:
        return f"{self.config_key}.{field}" if self.config_key else field

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self._counts[what] += n

    def _sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait `seconds`, returning early when the run is stopping (tests replace this to record waits)."""
        stop.wait(seconds)

    # --- one request -------------------------------------------------------------------------------------

    def _wait_before_retry(self, backoff) -> Callable:
        def wait(state) -> float:
            error = state.outcome.exception()
            if isinstance(error, _RetryableStatus) and error.retry_after is not None:
                return error.retry_after  # the server said how long: honour it exactly
            return backoff(state)
        return wait

    def _post(self, client, body: dict[str, Any], stop: threading.Event) -> dict[str, Any]:
        """One attempt: wait for a rate-limit slot, POST, and return the parsed JSON object."""
        if self._limiter is not None:
            wait = self._limiter.reserve()
            if wait > 0:
                with self._lock:
                    self._counts["rate_limit_waits"] += 1
                    self._rate_limit_wait_seconds += wait
                self._sleep(wait, stop)
        self._count("requests")
        response = client.post("/chat/completions", json=body)
        if response.status_code in _RETRY_STATUSES:
            raise _RetryableStatus(response.status_code, response.text[:300], parse_retry_after(response.headers))
        if response.status_code >= 400:
            raise self._http_error(response)
        try:
            data = response.json()
        except ValueError:
            raise ServerError(f"{self._where()} answered HTTP {response.status_code} with something that is not "
                              f"JSON (it starts {self._key.mask(response.text[:80])!r}). Check that "
                              f"{self._key_hint('base_url')} points at an OpenAI-compatible API (it usually ends "
                              f"in /v1)") from None
        if not isinstance(data, dict):
            raise ServerError(f"{self._where()} answered a JSON {type(data).__name__}, not a chat completion "
                              f"object; check {self._key_hint('base_url')}")
        return data

    def _where(self) -> str:
        return f"the chat-completions server at {_public_url(self.base_url)} (system {self.name!r})"

    def _http_error(self, response) -> HarnessError:
        text = self._key.mask(response.text[:300])
        status = response.status_code
        if status in (401, 403):
            key_state = (f"the key in ${self.api_key_env} was refused" if self._key
                         else f"no key was sent (${self.api_key_env} is not set)")
            return ServerError(f"{self._where()} refused the request (HTTP {status}): {key_state}. Set the "
                               f"environment variable {self.api_key_env} to a valid key, or point "
                               f"{self._key_hint('api_key_env')} at the variable that holds it. Server said: {text}")
        if status == 404:
            return ServerError(f"{self._where()} has no {_public_url(self.base_url)}/chat/completions (HTTP 404), or "
                               f"does not know model {self.model!r}. Check {self._key_hint('base_url')} (it usually "
                               f"ends in /v1) and {self._key_hint('model')}. Server said: {text}")
        return ServerError(f"{self._where()} rejected the request (HTTP {status}): {text}. Check the decoding "
                           f"settings and extra_body of {self.config_key or 'the system'}")

    def _answer(self, data: dict[str, Any]) -> str:
        """The message text of a chat completion, after checking the model the server reports."""
        reported = data.get("model")
        if isinstance(reported, str):
            with self._lock:
                self._server_models.add(reported)
            if not self.allow_model_mismatch and not model_matches(self.model, reported):
                raise ModelMismatchError(
                    f"{self._where()} reports model {reported!r}, but {self._key_hint('model')} is {self.model!r}. "
                    f"Set {self._key_hint('model')}={reported} if that is the model you mean to evaluate, or "
                    f"{self._key_hint('allow_model_mismatch')}=true for servers that report a file name or an "
                    f"alias instead of the model (llama.cpp)")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            error = data.get("error") or data.get("message")  # OpenAI's error object; vLLM's "message"
            said = f" Server said: {self._key.mask(str(error))[:300]}" if error else ""
            raise ServerError(f"{self._where()} answered without 'choices' (keys: {sorted(data)}), so it gave no "
                              f"translation. Check that {self._key_hint('base_url')} is an OpenAI-compatible "
                              f"/v1 endpoint and {self._key_hint('model')} a model it serves.{said}")
        choice = choices[0]
        if choice.get("finish_reason") == "length":
            with self._lock:
                self._truncated += 1
        message = choice.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else ""  # None: e.g. a refusal; scored as empty

    def _complete(self, client, messages: list[dict[str, str]], stop: threading.Event) -> str:
        import httpx
        from tenacity import (
            Retrying,
            retry_if_exception_type,
            stop_after_attempt,
            stop_when_event_set,
            wait_exponential,
            wait_random,
        )

        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, **({"top_p": self.top_p} if self.top_p is not None else {}),
                **({"seed": self.seed} if self.seed is not None else {}), **self.extra_body}

        def before_sleep(state) -> None:
            self._count("retries")
            error = state.outcome.exception()
            reason = self._key.mask(str(error) or type(error).__name__)
            log.warning("%s: %s; retry %d of %d in %.2f s", self.name, reason,
                        state.attempt_number, self.max_retries, state.next_action.sleep if state.next_action else 0)

        # backoff_initial * 2^(attempt-1), at most backoff_max, plus up to backoff_initial of jitter, so that
        # workers failing together do not retry together
        backoff = wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max) + wait_random(
            0, self.backoff_initial)
        retrying = Retrying(stop=stop_after_attempt(self.max_retries + 1) | stop_when_event_set(stop),
                            wait=self._wait_before_retry(backoff),
                            retry=retry_if_exception_type((_RetryableStatus, httpx.TransportError)),
                            sleep=lambda seconds: self._sleep(seconds, stop), before_sleep=before_sleep, reraise=True)
        attempts = self.max_retries + 1
        try:
            return self._answer(retrying(self._post, client, body, stop))
        except _RetryableStatus as e:
            raise ServerError(f"{self._where()} answered HTTP {e.status} {attempts} times "
                              f"({self._key.mask(e.body)!r}). "
                              f"It is overloaded or failing: try again later, or lower "
                              f"{self._key_hint('concurrency')} / {self._key_hint('requests_per_minute')}, or raise "
                              f"{self._key_hint('max_retries')}") from None
        except httpx.TimeoutException:
            raise ServerError(f"{self._where()} did not answer within timeout={self.timeout:g} s, {attempts} times. "
                              f"Raise {self._key_hint('timeout')} (long inputs on a busy server) or lower "
                              f"{self._key_hint('concurrency')}") from None
        except httpx.TransportError as e:
            raise ModelUnavailableError(
                f"cannot reach {self._where()} ({type(e).__name__}: {self._key.mask(str(e))}; {attempts} attempts). "
                f"Start the server (e.g. `vllm serve {self.model} --port 8000`) or set "
                f"{self._key_hint('base_url')} to where it runs") from None

    # --- batches -----------------------------------------------------------------------------------------

    def translate_batches(self, testset: TestSet) -> Iterator[TranslatedBatch]:
        import httpx

        self._key = _Secret(os.environ.get(self.api_key_env))
        target, source_language = language_name(testset.tgt_lang), language_name(testset.src_lang)
        steps = CLEANING_STEPS if self.clean_answers else ("joined_lines",)
        sources = testset.sources
        stop = threading.Event()
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        with httpx.Client(base_url=self.base_url, headers=self._key.header(), timeout=httpx.Timeout(self.timeout),
                          limits=limits) as client, ThreadPoolExecutor(self.concurrency,
                                                                       thread_name_prefix=f"{self.name}-") as pool:
            # Every request is queued at once: the pool keeps `concurrency` in flight and starts them in order,
            # and results are collected in order, so each yielded batch is the next stretch of the test set.
            futures: list[Future] = [
                pool.submit(self._complete, client, self.prompt.chat_messages(s, testset.src_lang, testset.tgt_lang),
                            stop)
                for s in sources]
            try:
                done: list[int] = []
                answers: list[str] = []
                for i, future in enumerate(futures):
                    answers.append(future.result())
                    done.append(i)
                    if len(done) == self.batch_size or i == len(futures) - 1:
                        hyps, details = hypotheses_and_details(answers, [sources[j] for j in done],
                                                               target_language=target,
                                                               source_language=source_language, steps=steps)
                        yield TranslatedBatch(done, hyps, details)
                        done, answers = [], []
            finally:
                # an error, or the consumer stopped: start nothing new and end retry waits at once
                stop.set()
                for future in futures:
                    future.cancel()
