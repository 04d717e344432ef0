"""An EventLog closed at a run's ``run_waiting`` opens again when the same run goes on in the same
process (``Workspace`` continues a run woken while its loop was ending): a new watcher follows it."""

from __future__ import annotations

import anyio
import pytest

from graphflow import events as ev
from graphflow.subscribe import EventLog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_resumed_run_opens_its_log_again():
    log = EventLog()
    await log.publish(ev.RunStarted(run_id="r", seq=0, at=0.0, graph_id="g", node_ids=[], inputs={}))
    await log.publish(ev.RunWaiting(run_id="r", seq=1, at=0.0, waits=[]))
    assert log.closed
    await log.publish(ev.RunResumed(run_id="r", seq=2, at=0.0, reason="woken"))
    assert not log.closed
    seen: list[str] = []

    async def follow() -> None:
        async for item in log.watch():
            seen.append(item.kind)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(follow)
        await anyio.wait_all_tasks_blocked()
        await log.publish(ev.RunFinished(run_id="r", seq=3, at=0.0, status="succeeded", outputs={}, duration=0.1))
    assert seen == ["run_started", "run_waiting", "run_resumed", "run_finished"]
    assert log.closed
