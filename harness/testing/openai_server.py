"""A small OpenAI-compatible chat-completions server for offline tests (stdlib only).

It answers `POST /v1/chat/completions` deterministically, from `answer(request_json) -> str` (by default:
the last line of the last user message, i.e. the source for the instruction prompt), and can be told to
misbehave for the next requests: a 429 with Retry-After, a 500, a 401 that quotes the Authorization header
back, a slow answer, malformed JSON, an answer without `choices`, a dropped connection. It counts requests,
tracks the most requests in flight at once, and records the headers and bodies it received.

    with OpenAITestServer() as server:            # 127.0.0.1, a free port, serving in a thread
        server.fail_next("429", retry_after="0.1")
        ... OpenAIAPI(..., base_url=server.base_url) ...
        assert server.requests == 2
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

FAULTS = ("429", "500", "401", "slow", "malformed", "no_choices", "drop")


def echo_source(request: dict[str, Any]) -> str:
    """The default answer: the last line of the last user message (the source, in the shipped prompts)."""
    users = [m.get("content", "") for m in request.get("messages", []) if m.get("role") == "user"]
    lines = [line for line in (users[-1] if users else "").split("\n") if line.strip()]
    return lines[-1] if lines else ""


@dataclass
class _Fault:
    kind: str
    retry_after: str | None = None
    seconds: float = 0.0


class OpenAITestServer:
    """See the module docstring. `model` is the model it reports (None: the one each request names);
    `delay` seconds are spent on every request (to make requests overlap)."""

    def __init__(self, answer: Callable[[dict[str, Any]], str] = echo_source, model: str | None = None,
                 delay: float = 0.0):
        self.answer, self.model, self.delay = answer, model, delay
        self.requests = 0
        self.max_concurrent = 0
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.start_times: list[float] = []
        self._in_flight = 0
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def fail_next(self, kind: str, times: int = 1, retry_after: str | None = None, seconds: float = 0.0) -> None:
        """Make the next `times` requests misbehave: kind is one of FAULTS; `retry_after` is sent with a 429
        (as given: "2", "0.1", an HTTP date); `seconds` is how long a "slow" answer takes."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend(_Fault(kind, retry_after, seconds) for _ in range(times))

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def start(self) -> "OpenAITestServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def log_message(self, *args):  # quiet: tests read counters, not logs
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._lock:
                    server.requests += 1
                    server._in_flight += 1
                    server.max_concurrent = max(server.max_concurrent, server._in_flight)
                    server.headers.append(dict(self.headers.items()))
                    server.start_times.append(time.monotonic())
                try:
                    self._handle(raw)
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _handle(self, raw: bytes) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                request = json.loads(raw)
                with server._lock:
                    server.bodies.append(request)
                fault = server._next_fault()
                if server.delay:
                    time.sleep(server.delay)
                if fault is not None:
                    if fault.kind == "429":
                        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                        self._send(429, b'{"error": {"message": "rate limited"}}', headers)
                        return
                    if fault.kind == "401":  # quoting the credentials back, as some proxies do
                        said = f"invalid credentials: {self.headers.get('Authorization')}"
                        self._send(401, json.dumps({"error": {"message": said}}).encode())
                        return
                    if fault.kind == "500":
                        self._send(500, b'{"error": {"message": "internal error"}}')
                        return
                    if fault.kind == "malformed":
                        self._send(200, b'{"choices": [{"message": ', content_type="application/json")
                        return
                    if fault.kind == "no_choices":
                        self._send(200, json.dumps({"object": "error", "message": "model overloaded"}).encode())
                        return
                    if fault.kind == "drop":
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if fault.kind == "slow":
                        time.sleep(fault.seconds)
                content = server.answer(request)
                payload = {"id": f"chatcmpl-{server.requests}", "object": "chat.completion", "created": 0,
                           "model": server.model or request.get("model"),
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                        "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                try:
                    self._send(200, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout), as it should on a slow answer

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAITestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
