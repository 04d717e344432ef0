"""A follower that stops before its run ends (a page closed, its task cancelled) leaves no open
stream behind: the log drops it and the run's later events go to the others."""

from __future__ import annotations

import gc
import warnings

import anyio
import pytest

from graphflow import events as ev
from graphflow.subscribe import EventLog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def started() -> ev.Event:
    return ev.RunStarted(run_id="r", seq=0, at=0.0, graph_id="g", node_ids=[], inputs={})


async def test_a_cancelled_follower_is_dropped_and_its_stream_closed():
    log = EventLog()
    await log.publish(started())
    seen: list[str] = []

    async def follow(stream) -> None:
        async for item in stream:
            seen.append(item.kind)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(follow, log.watch())
            tasks.start_soon(follow, log.subscribe())
            await anyio.wait_all_tasks_blocked()
            assert (len(log._watchers), len(log._subscribers)) == (1, 1)
            tasks.cancel_scope.cancel()
        assert (log._watchers, log._subscribers) == ([], [])
        await log.publish(ev.RunFinished(run_id="r", seq=1, at=0.0, status="succeeded", outputs={}, duration=0.1))
        gc.collect()
    assert seen == ["run_started", "run_started"]
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_a_follower_that_breaks_off_early_is_dropped():
    log = EventLog()
    await log.publish(started())
    stream = log.subscribe()
    assert (await anext(stream)).kind == "run_started"
    await stream.aclose()
    assert log._subscribers == []
