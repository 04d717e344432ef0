"""The inbox page with NiceGUI's simulated user: pending items with their reason and proposal,
filters, a decision that continues the run live, and the count in the header."""

from __future__ import annotations

import pytest
from app_support import run_ended

pytestmark = pytest.mark.anyio

GRAPH = {"schema_version": 1, "id": "gate", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "string"}},
    {"id": "r", "kind": "review", "config": {"variant": "review", "reason": "refund"}},
    {"id": "y", "kind": "output", "config": {"name": "y"}}], "edges": [
    {"id": "e1", "source": "in", "target": "r"}, {"id": "e2", "source": "r", "target": "y"}]}


async def test_the_inbox_lists_and_approves(user, ctx):
    first = await ctx.workspace.run(await ctx.workspace.save(GRAPH), {"x": "<b>refund 40</b>"})
    assert first.status == "waiting"
    await user.open("/inbox")
    await user.should_see("refund")
    await user.should_see("<b>refund 40</b>")  # shown as text, not markup
    user.find(f"approve-{first.run_id}.r").click()
    summary = await run_ended(ctx.workspace, first.run_id)
    assert summary.status == "succeeded" and summary.outputs == {"y": "<b>refund 40</b>"}
    assert ctx.runs.get(first.run_id) is not None  # continued as a live run of this server
    await user.should_see("Nothing waits for a review.")
