"""Start-up recovery: runs the last process left unfinished are continued as live runs (shown
running, with Stop, in the editor and on the runs page); a run that cannot be continued is
marked failed with the reason, and never takes the server down."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from app_support import run_ended

from graphflow import events as ev
from graphflow.model import GraphSpec
from graphflow.nodes.base import NodeKind

pytestmark = pytest.mark.anyio

DELAY = {"schema_version": 1, "id": "waits", "nodes": [
    {"id": "d", "kind": "delay", "config": {"seconds": 60}},
    {"id": "o", "kind": "output", "config": {"name": "done"}}],
    "edges": [{"id": "e", "source": "d", "target": "o"}]}
EXITS = {"schema_version": 1, "id": "exits", "nodes": [{"id": "x", "kind": "test_exit"}], "edges": []}
BROKEN = {"schema_version": 1, "id": "broken", "nodes": [
    {"id": "f", "kind": "function", "config": {"function": "no.such.function"}}], "edges": []}


async def unfinished(ctx: Any, run_id: str, graph_id: str, node_ids: list[str], version: int | None = 1) -> None:
    store = ctx.workspace.store
    await store.publish(ev.RunStarted(run_id=run_id, seq=0, at=ctx.workspace.clock.time() - 5, graph_id=graph_id,
                                      graph_version=version, node_ids=node_ids))
    await store.flush()


class ExitNode(NodeKind):
    """Raises SystemExit from inside the run loop (an inline kind has no task of its own)."""

    kind = "test_exit"
    inline = True

    def run_inline(self, config: Any, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        raise SystemExit(3)


async def seed(ctx: Any) -> None:
    store = ctx.workspace.store
    ctx.registry.register_kind(ExitNode)
    await store.save_graph(GraphSpec.model_validate(EXITS))
    await unfinished(ctx, "exits", "exits", ["x"])
    await store.save_graph(GraphSpec.model_validate(DELAY))
    await store.save_graph(GraphSpec.model_validate(BROKEN))  # stored before the function went away
    await unfinished(ctx, "live", "waits", ["d", "o"])
    await unfinished(ctx, "no-graph", "gone", ["x"], version=None)
    await unfinished(ctx, "invalid", "broken", ["f"])
    await unfinished(ctx, "corrupt", "waits", ["d", "o"])
    await store.publish(ev.NodeStarted(run_id="corrupt", seq=1, at=1.0, node_id="d"))
    await store.flush()
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE events SET body_json = '{\"kind\": \"no_such_event\"' WHERE run_id = 'corrupt' "
                     "AND seq = 1")


async def settled(ctx: Any, run_ids: list[str]) -> dict[str, Any]:
    return {r: await run_ended(ctx.workspace, r, unfinished=("running",)) for r in run_ids}


async def test_unrecoverable_runs_are_marked_failed_and_a_continued_run_is_live(user, ctx, caplog):
    from graphflow.ui.app import _recover

    await seed(ctx)
    ctx.runs.task_group.start_soon(_recover, ctx.runs, name="recover")
    runs = await settled(ctx, ["no-graph", "invalid", "corrupt", "exits"])
    unrecoverable = {r: run for r, run in runs.items() if r != "exits"}
    assert {r: (run.status, run.error.split(":")[0]) for r, run in unrecoverable.items()} == {
        r: ("failed", "could not be recovered") for r in unrecoverable}
    assert "NotFound" in runs["no-graph"].error and "GraphValidationError" in runs["invalid"].error
    assert "ValidationError" in runs["corrupt"].error
    # a node's own SystemExit fails that node like any other error: the run is recovered and fails
    assert runs["exits"].status == "failed" and runs["exits"].error.startswith("SystemExit")
    caplog.clear()  # the reasons were logged as errors, on purpose

    live = ctx.runs.get("live")
    assert live is not None and not live.log.closed
    assert [e.kind for e in live.log.events][:2] == ["run_started", "run_resumed"]  # the whole run, for the page
    await user.open("/graph/waits/runs")
    await user.should_see("running")
    await user.open("/graph/waits")
    await user.should_see(marker="stop-run")
    user.find(marker="stop-run").click()
    run = (await settled(ctx, ["live"]))["live"]
    assert run.status == "cancelled"
    assert run.duration >= 5  # from the first start, not from the resume
