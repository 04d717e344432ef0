"""One chat-completions call through the official ``openai`` client, its errors translated.

The client's own retries are off (``max_retries=0``): the node's retry policy owns retries,
and the errors say whether one helps (``ModelCallFailed.retryable``) and how long the server
asked to wait (``retry_after``). The API key is used for the call only; it is scrubbed from
every message that leaves this module, in case a server echoes request headers.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphflow.errors import ModelCallFailed, ModelRateLimited, ModelRejected, ModelUnavailable
from graphflow.providers import Provider
from graphflow.shared_clients import current

__all__ = ["ChatReply", "ChatRequest", "ToolCallRequest", "chat", "estimate_tokens"]

NO_KEY = "no-key"
"""What the client sends as the key to servers that need none (it insists on one)."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list[str])
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    logprobs: int | None = None
    """Ask for log-probabilities with this many alternatives per token."""
    tools: list[dict[str, Any]] | None = None
    """Function tools the model may call (``{"type": "function", "function": {...}}`` each)."""

    def body(self) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` (also the cache's view of a call)."""
        body: dict[str, Any] = {"model": self.model, "messages": self.messages}
        for name in ("temperature", "max_tokens", "seed", "response_format"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.stop:
            body["stop"] = self.stop
        if self.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = self.logprobs
        if self.tools:
            body["tools"] = self.tools
        return body


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A tool call the model asked for; ``arguments`` is its JSON text, unparsed (it may be bad)."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ChatReply:
    text: str
    tokens_in: int
    tokens_out: int
    finish_reason: str | None = None
    logprobs: list[dict[str, Any]] | None = None
    """Per token: ``{"token", "logprob", "top": [(token, logprob), ...]}``."""
    usage_reported: bool = True
    """False when the server sent no usage and the counts are estimates."""
    tool_calls: list[ToolCallRequest] = field(default_factory=list[ToolCallRequest])


def estimate_tokens(text: str) -> int:
    """About four characters a token: for rate-limit reservations and servers that send no usage."""
    return max(1, len(text) // 4)


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "***") if key and key != NO_KEY and len(key) >= 4 else text


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def translate(exc: Exception, provider: Provider, key: str) -> ModelCallFailed:
    import openai

    where = f"provider {provider.name!r}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _scrub(f"{where}: HTTP {status}: {exc.message}", key)
        headers = exc.response.headers
        if status == 429:
            return ModelRateLimited(message, status=status, retry_after=retry_after(headers))
        if status >= 500 or status in (408, 409):
            return ModelUnavailable(message, status=status, retry_after=retry_after(headers))
        return ModelRejected(message, status=status)
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailable(f"{where}: no reply within {provider.timeout:g}s")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return ModelUnavailable(_scrub(f"{where}: cannot reach {provider.base_url}: {cause}", key))
    return ModelUnavailable(_scrub(f"{where}: {type(exc).__name__}: {exc}", key))


def _logprobs(choice: Any) -> list[dict[str, Any]] | None:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return [{"token": t.token, "logprob": t.logprob,
             "top": [(a.token, a.logprob) for a in (t.top_logprobs or [])]} for t in content]


async def chat(provider: Provider, key: str | None, request: ChatRequest,
               on_text: Callable[[str], None] | None = None) -> ChatReply:
    """Call the model; with ``on_text``, stream the reply and report the text so far."""
    key = key or NO_KEY
    body = request.body()
    try:
        shared = current()
        if shared is None:
            async with _client(provider, key) as client:
                return await _call(client, body, request, on_text)
        digest = hashlib.sha256(key.encode()).hexdigest()  # one pool per server and key
        client = shared.get(("openai", provider.base_url, digest, provider.timeout),
                            lambda: _client(provider, key), lambda c: c.close())
        return await _call(client, body, request, on_text)
    except ModelCallFailed:
        raise
    except Exception as exc:
        raise translate(exc, provider, key) from None


def _client(provider: Provider, key: str) -> Any:
    import openai

    from graphflow.scripted_model import is_scripted, transport

    if is_scripted(provider.base_url):  # answered in the process (samples with no model server)
        import httpx

        http_client: Any = httpx.AsyncClient(transport=transport(provider.base_url))
        return openai.AsyncOpenAI(base_url="http://scripted.invalid/v1", api_key=key, max_retries=0,
                                  timeout=provider.timeout, http_client=http_client)
    return openai.AsyncOpenAI(base_url=provider.base_url, api_key=key, max_retries=0, timeout=provider.timeout)


async def _call(client: Any, body: dict[str, Any], request: ChatRequest,
                on_text: Callable[[str], None] | None) -> ChatReply:
    if on_text is None:
        return _complete(await client.chat.completions.create(**body), request)
    return await _stream(client, body, request, on_text)


def _complete(reply: Any, request: ChatRequest) -> ChatReply:
    if not reply.choices:
        raise ModelUnavailable("the server sent a reply with no choices")
    choice = reply.choices[0]
    text = choice.message.content or ""
    calls = [ToolCallRequest(c.id or f"call_{i}", c.function.name or "", c.function.arguments or "")
             for i, c in enumerate(getattr(choice.message, "tool_calls", None) or []) if c.function is not None]
    usage = reply.usage
    if usage is None:
        return ChatReply(text, _prompt_estimate(request), estimate_tokens(text), choice.finish_reason,
                         _logprobs(choice), usage_reported=False, tool_calls=calls)
    return ChatReply(text, usage.prompt_tokens, usage.completion_tokens, choice.finish_reason, _logprobs(choice),
                     tool_calls=calls)


async def _stream(client: Any, body: dict[str, Any], request: ChatRequest,
                  on_text: Callable[[str], None]) -> ChatReply:
    stream = await client.chat.completions.create(**body, stream=True, stream_options={"include_usage": True})
    text = ""
    usage: Any = None
    finish: str | None = None
    logprobs: list[dict[str, Any]] = []
    calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]: tool calls arrive in pieces
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        if choice.delta is not None and choice.delta.content:
            text += choice.delta.content
            on_text(text)
        for piece in (choice.delta.tool_calls or []) if choice.delta is not None else []:
            call = calls.setdefault(piece.index, ["", "", ""])
            call[0] = piece.id or call[0]
            if piece.function is not None:
                call[1] += piece.function.name or ""
                call[2] += piece.function.arguments or ""
        logprobs.extend(_logprobs(choice) or ())
    tool_calls = [ToolCallRequest(c[0] or f"call_{i}", c[1], c[2]) for i, c in sorted(calls.items())]
    if usage is None:
        return ChatReply(text, _prompt_estimate(request), estimate_tokens(text), finish, logprobs or None,
                         usage_reported=False, tool_calls=tool_calls)
    return ChatReply(text, usage.prompt_tokens, usage.completion_tokens, finish, logprobs or None,
                     tool_calls=tool_calls)


def _prompt_estimate(request: ChatRequest) -> int:
    return estimate_tokens("".join(str(m.get("content") or "") for m in request.messages))
