"""Provider rate limits hold for a map over many items through one provider: requests per
minute, tokens per minute (as the server counted them) and calls at once, on the run's clock."""

from __future__ import annotations

import anyio
import pytest
from helpers import point_providers
from llm_server import echo

import graphflow
from graphflow.clock import FakeClock
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio

RPM, TPM, AT_ONCE = 100, 1200, 4
PROMPT = "Summarise item {item} in one short line please"  # 8 words in, the echo 9 out: tokens are words


def map_over_llm(items: int) -> dict:
    item_graph = {"schema_version": 1, "id": "one", "nodes": [
        {"id": "item", "kind": "input", "config": {"name": "item", "type": "any"}},
        {"id": "ask", "kind": "llm", "config": {"provider": "fake", "prompt": PROMPT, "stream": False,
                                                "max_tokens": 20, "variable_types": {"item": "any"}}},
        {"id": "out", "kind": "output", "config": {"name": "text"}}],
        "edges": [{"id": "a", "source": "item", "target": "ask", "target_port": "item"},
                  {"id": "b", "source": "ask", "source_port": "text", "target": "out"}]}
    return {"schema_version": 1, "id": "many", "nodes": [
        {"id": "items", "kind": "input", "config": {"name": "items", "type": "array"}},
        {"id": "each", "kind": "map", "config": {"graph": item_graph, "concurrency": 64, "fail_fast": True}},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e1", "source": "items", "target": "each"}, {"id": "e2", "source": "each", "target": "o"}]}


async def drive(clock: FakeClock, llm) -> None:
    """Like ``FakeClock.autojump``, but time moves only while no call is on its way to or inside the
    server, so the time the server records for a call is the time the limiter let it go."""
    while True:
        await anyio.wait_all_tasks_blocked()
        seen = len(llm.requests)
        await anyio.sleep(0.002)  # a request written to the socket reaches the server's thread
        await anyio.wait_all_tasks_blocked()
        if llm.in_flight or len(llm.requests) != seen or clock.next_deadline() is None:
            continue
        clock.advance(max(0.0, clock.next_deadline() - clock.monotonic()))


def worst_window(times: list[float], weights: list[int]) -> int:
    """The largest total weight of calls started within any 60 seconds."""
    worst, start, total = 0, 0, 0
    for end, at in enumerate(times):
        total += weights[end]
        while times[start] <= at - 60.0:
            total -= weights[start]
            start += 1
        worst = max(worst, total)
    return worst


TEN_THOUSAND = pytest.param(10_000, id="10000", marks=[pytest.mark.slow, pytest.mark.timeout(600)])


@pytest.mark.parametrize("items", [pytest.param(150, id="150"), TEN_THOUSAND])
async def test_a_map_through_one_provider_never_exceeds_its_limits(llm_server, items):
    point_providers(llm_server, secret=None, limits={"rpm": RPM, "tpm": TPM, "max_concurrent": AT_ONCE})
    clock = FakeClock()
    calls: list[tuple[float, int]] = []

    def respond(body):
        reply = echo(body)
        words = sum(len(str(m.get("content") or "").split()) for m in body["messages"]) + len(reply.text.split())
        calls.append((clock.monotonic(), words))
        return reply

    llm_server.respond = respond
    compiled = graphflow.validate_graph(map_over_llm(items))
    async with anyio.create_task_group() as tg:
        tg.start_soon(drive, clock, llm_server)
        result = await Runner(compiled, clock=clock, progress_interval=0).run({"items": list(range(items))})
        tg.cancel_scope.cancel()

    assert result.ok, result.error
    assert len(result.outputs["o"]) == items and result.outputs["o"][7] == "echo: " + PROMPT.format(item=7)
    assert len(calls) == items
    times = [t for t, _ in calls]
    assert worst_window(times, [1] * items) <= RPM
    assert worst_window(times, [w for _, w in calls]) <= TPM
    assert llm_server.max_in_flight <= AT_ONCE
    # the limits were what bound the run: it took as long as the tighter limit says, not longer than needed
    per_minute = min(RPM, TPM // calls[0][1])
    assert times[-1] >= 60.0 * (items // per_minute - 1)


async def test_the_calls_of_one_run_share_connections_and_a_new_run_gets_its_own(llm_server):
    point_providers(llm_server, secret=None, limits={"max_concurrent": 2})
    graph = map_over_llm(40)
    graph["nodes"][1]["config"]["concurrency"] = 8
    first = await graphflow.run(graph, {"items": list(range(40))})
    second = await graphflow.run(graph, {"items": list(range(40))})
    assert first.ok and second.ok
    ports = [r.client_port for r in llm_server.requests]
    first_ports, second_ports = set(ports[:40]), set(ports[40:])
    assert len(first_ports) <= 2  # two calls at once: at most two kept-alive connections, not one per call
    assert not first_ports & second_ports  # the first run closed its connections when it ended
