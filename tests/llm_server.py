"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions wire format.

Tests (and the agents' tests) talk to it through the real ``openai`` client: no mocks of
graphflow or of the HTTP client. Replies are scripted (``push``) or made by a responder
(``respond``, by default an echo of the last user message). Every request is recorded.

    with FakeLLM() as llm:                      # or the ``llm_server`` fixture (tests/conftest.py)
        llm.push(Reply("Paris", logprobs=[("Paris", -0.01)]))
        llm.push(Reply(status=429, headers={"Retry-After": "0"}))
        ... point a provider at llm.url ...
        llm.requests[0].body["messages"]

Also a command, to try graphs by hand: ``python tests/llm_server.py --port 8765``.
Token counts are words (split on whitespace), so tests can predict them.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLM", "Reply", "Request", "count_tokens"]


def count_tokens(text: str) -> int:
    return len(text.split())


@dataclass
class Reply:
    """One scripted answer. ``status`` other than 200 sends an OpenAI-style error body."""

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str = "scripted error"
    usage: tuple[int, int] | None = None
    """(prompt tokens, completion tokens); None: counted as words."""
    logprobs: list[tuple[str, float]] | None = None
    """(token, logprob) per token, each also its own single top log-probability."""
    top_logprobs: list[list[tuple[str, float]]] | None = None
    """Alternatives per token (for classifiers); defaults to the token itself."""
    tool_calls: list[dict[str, Any]] | None = None
    """``[{"name": ..., "arguments": {...}}]``: the reply asks for tool calls (``"raw_arguments": "..."``
    sends that text as the arguments instead, e.g. malformed JSON)."""
    finish_reason: str | None = None
    delay: float = 0.0
    """Seconds before the answer starts."""
    chunk_delay: float = 0.0
    """Seconds between streamed chunks."""
    hold: threading.Event | None = None
    """Streaming: after the first chunk, wait until this is set (a test watches partial text)."""
    chunks: list[str] | None = None
    """Streaming: the text split this way; default one chunk per word (with its space)."""


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float
    client_port: int = 0
    """The client's port: requests on one kept-alive connection share it."""


class FakeLLM:
    def __init__(self, port: int = 0, model: str = "fake-model") -> None:
        self.model = model
        self.requests: list[Request] = []
        self.replies: deque[Reply] = deque()
        self.respond: Callable[[dict[str, Any]], Reply] = echo
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL a provider points at (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order (then the responder again)."""
        with self._lock:
            self.replies.extend(replies)

    def start(self) -> FakeLLM:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return self.respond(body)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def echo(body: dict[str, Any]) -> Reply:
    return Reply("echo: " + last_user_text(body))


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(count_tokens(str(m.get("content") or "")) for m in body.get("messages", []))


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: without this, 40 ms delayed ACKs

        def log_message(self, format: str, *args: Any) -> None:  # quiet under pytest
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._error(400, "body is not JSON", {})
                return
            fake.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                         time.time(), self.client_address[1]))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {self.path}", {})
                return
            fake._enter()
            try:
                reply = fake.next_reply(body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    self._error(reply.status, reply.error, reply.headers)
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(200, completion(fake.model, body, reply), reply.headers)
            finally:
                fake._leave()

        def _json(self, status: int, data: Any, headers: dict[str, str]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, message: str, headers: dict[str, str]) -> None:
            kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
            self._json(status, {"error": {"message": message, "type": kind, "code": kind, "param": None}}, headers)

        def _stream(self, body: dict[str, Any], reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.close_connection = True
            try:
                for i, chunk in enumerate(stream_chunks(fake.model, body, reply)):
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.flush()
                    if i == 1 and reply.hold is not None:
                        reply.hold.wait(30)
                    elif reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client went away mid-stream
                pass

    return Handler


def _usage(body: dict[str, Any], reply: Reply, text: str) -> dict[str, int]:
    given, made = reply.usage or (prompt_tokens(body), count_tokens(text))
    return {"prompt_tokens": given, "completion_tokens": made, "total_tokens": given + made}


def _logprobs(reply: Reply) -> dict[str, Any] | None:
    if reply.logprobs is None:
        return None
    content = []
    for i, (token, logprob) in enumerate(reply.logprobs):
        tops = reply.top_logprobs[i] if reply.top_logprobs and i < len(reply.top_logprobs) else [(token, logprob)]
        content.append({"token": token, "logprob": logprob, "bytes": list(token.encode()),
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in tops]})
    return {"content": content, "refusal": None}


def _tool_calls(reply: Reply) -> list[dict[str, Any]] | None:
    if not reply.tool_calls:
        return None
    return [{"id": f"call_{i}", "type": "function",
             "function": {"name": c["name"], "arguments": c.get("raw_arguments", json.dumps(c.get("arguments", {})))}}
            for i, c in enumerate(reply.tool_calls)]


def completion(model: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    calls = _tool_calls(reply)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text if not calls else (reply.text or None)}
    if calls:
        message["tool_calls"] = calls
    choice: dict[str, Any] = {"index": 0, "message": message,
                              "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop")}
    if body.get("logprobs"):
        choice["logprobs"] = _logprobs(reply)
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or model, "choices": [choice], "usage": _usage(body, reply, reply.text)}


def stream_chunks(model: str, body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model") or model}
    pieces = reply.chunks if reply.chunks is not None else [w + " " for w in reply.text.split(" ")]
    if pieces and reply.chunks is None:
        pieces[-1] = pieces[-1][:-1]
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}]
    for piece in pieces:
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    calls = _tool_calls(reply)
    if calls:
        chunks.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, **c} for i, c in
                                                                                  enumerate(calls)]},
                                            "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {},
                                        "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop")}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(body, reply, reply.text)})
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1 (echoes the prompt)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    fake = FakeLLM(args.port)
    print(f"fake chat-completions server at {fake.url} (Ctrl-C stops it)", flush=True)  # noqa: T201
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
