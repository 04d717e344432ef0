"""Scripted models: a provider whose ``base_url`` is ``scripted://NAME`` is answered in the
process by the script registered under that name, through the official ``openai`` client and
the real wire format (an ``httpx`` transport), so a sample runs with no model server at all.

A script is a function from the request body (``model``, ``messages``, ``tools``) to a reply:
``{"text": ...}`` or ``{"tool_calls": [{"name": ..., "arguments": {...}}]}``. Token counts
are words. Scripts are registered by code (a plugin's ``register``), never named by a graph.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

SCHEME = "scripted://"
Script = Callable[[dict[str, Any]], dict[str, Any]]

_scripts: dict[str, Script] = {}
"""The process's scripts by name (like the registry's functions, filled by plugins)."""


def register_script(name: str, script: Script) -> None:
    _scripts[name] = script


def is_scripted(base_url: str) -> bool:
    return base_url.startswith(SCHEME)


def _words(text: str) -> int:
    return len(text.split())


def completion(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions response of script ``name`` to ``body``."""
    script = _scripts.get(name)
    if script is None:
        raise LookupError(f"no scripted model {name!r} is registered (known: {', '.join(sorted(_scripts)) or 'none'})")
    reply = script(body)
    calls = [{"id": f"call_{i}", "type": "function",
              "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
             for i, c in enumerate(reply.get("tool_calls") or [])]
    text = str(reply.get("text") or "")
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    prompt = sum(_words(str(m.get("content") or "")) for m in body.get("messages", []))
    made = _words(text) + sum(_words(c["function"]["arguments"]) for c in calls)
    return {"id": "scripted", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": made, "total_tokens": prompt + made}}


def _stream(done: dict[str, Any]) -> bytes:
    """The same reply as server-sent events: the text word by word, then the calls and usage."""
    base = {k: done[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    message = done["choices"][0]["message"]
    chunks: list[dict[str, Any]] = []
    words = (message.get("content") or "").split(" ")
    for i, word in enumerate(words if message.get("content") else []):
        piece = word + (" " if i < len(words) - 1 else "")
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    if message.get("tool_calls"):
        delta = {"tool_calls": [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]}
        chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    finish = done["choices"][0]["finish_reason"]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({**base, "choices": [], "usage": done["usage"]})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def transport(base_url: str) -> Any:
    """An ``httpx`` transport answering ``POST .../chat/completions`` with the named script."""
    import httpx

    name = base_url[len(SCHEME):].split("/", 1)[0]

    def handle(request: httpx.Request) -> httpx.Response:
        if not request.url.path.rstrip("/").endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
        body = json.loads(request.content or b"{}")
        try:
            done = completion(name, body)
        except LookupError as exc:
            return httpx.Response(404, json={"error": {"message": str(exc), "type": "not_found"}})
        if body.get("stream"):
            return httpx.Response(200, content=_stream(done), headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=done)

    return httpx.MockTransport(handle)
