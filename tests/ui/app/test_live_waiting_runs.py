"""The server's side of waiting runs: its watcher fires due timers and continues woken runs as
live runs (followed on the canvas), and an event sent from a page continues the run live."""

from __future__ import annotations

from typing import Any

import pytest
from app_support import run_ended

from graphflow.service import RunRefused

pytestmark = pytest.mark.anyio


def approval(timeout: float | None = None) -> dict[str, Any]:
    wait = {"event": "approved"} | ({"timeout": timeout, "on_timeout": "continue", "timeout_value": "late"}
                                    if timeout else {})
    return {"schema_version": 1, "id": "approval", "nodes": [
        {"id": "wait", "kind": "wait_event", "config": wait},
        {"id": "out", "kind": "output", "config": {"name": "y"}}],
        "edges": [{"id": "e", "source": "wait", "target": "out"}]}


async def test_the_watcher_fires_a_due_timeout_and_the_run_goes_on_live(user, ctx):
    from graphflow.ui.app import _watch_waits

    first = await ctx.workspace.run(await ctx.workspace.save(approval(timeout=0.05)))
    assert first.status == "waiting"
    ctx.runs.task_group.start_soon(_watch_waits, ctx.runs)
    summary = await run_ended(ctx.workspace, first.run_id)
    assert summary.status == "succeeded" and summary.outputs == {"y": "late"}
    live = ctx.runs.get(first.run_id)
    assert live is not None and live.log.closed  # it was a live run, followers saw it end


async def test_an_event_sent_from_a_page_continues_the_run_live(user, ctx):
    first = await ctx.workspace.run(await ctx.workspace.save(approval()))
    with pytest.raises(RunRefused, match="does not take event 'nope'"):
        await ctx.runs.send(first.run_id, "nope")
    assert await ctx.runs.send(first.run_id, "approved", {"ok": True}, by="ana") == "wait"
    summary = await run_ended(ctx.workspace, first.run_id)
    assert summary.outputs == {"y": {"ok": True}}
    assert any(e.kind == "run_resumed" for e in ctx.runs.get(first.run_id).log.events)
