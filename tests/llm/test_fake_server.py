"""The fake chat-completions server speaks the wire format the official client expects."""

from __future__ import annotations

import openai
import pytest
from llm_server import Reply

pytestmark = pytest.mark.anyio


def client(llm_server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_server.url, api_key="sk-test", max_retries=0)


async def test_plain_reply_usage_logprobs_and_recorded_request(llm_server):
    llm_server.push(Reply("Paris", usage=(7, 1), logprobs=[("Paris", -0.05)]))
    async with client(llm_server) as c:
        reply = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "capital?"}],
                                                logprobs=True, top_logprobs=2)
    assert reply.choices[0].message.content == "Paris"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 1)
    assert reply.choices[0].logprobs.content[0].logprob == -0.05
    request = llm_server.requests[0]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["messages"][0]["content"] == "capital?"


async def test_default_responder_echoes_and_counts_words(llm_server):
    async with client(llm_server) as c:
        reply = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "one two"}])
    assert reply.choices[0].message.content == "echo: one two"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 3)


async def test_streaming_chunks_then_usage(llm_server):
    llm_server.push(Reply("the quick brown fox"))
    async with client(llm_server) as c:
        stream = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                 stream=True, stream_options={"include_usage": True})
        pieces, usage = [], None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage:
                usage = chunk.usage
    assert pieces == ["the ", "quick ", "brown ", "fox"]
    assert usage is not None and usage.completion_tokens == 4


async def test_tool_calls(llm_server):
    llm_server.push(Reply(tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}]))
    async with client(llm_server) as c:
        reply = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments, reply.choices[0].finish_reason) == (
        "lookup", '{"q": "x"}', "tool_calls")


async def test_errors_429_with_retry_after_and_500(llm_server):
    llm_server.push(Reply(status=429, headers={"Retry-After": "3"}, error="slow down"), Reply(status=500))
    async with client(llm_server) as c:
        with pytest.raises(openai.RateLimitError) as limited:
            await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert limited.value.response.headers["retry-after"] == "3"
    assert "slow down" in str(limited.value)
    assert len(llm_server.requests) == 2  # the client's own retries are off
