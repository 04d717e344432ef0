"""The support review sample: the scripted classifier's confidence decides whether a reply is
sent directly or waits for a person; an undecided review goes to a senior agent after 4 hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.service import Workspace
from graphflow.waits import review_item_id
from storage import open_store

pytestmark = pytest.mark.anyio
SAMPLE = Path(__file__).parents[2] / "sample_graphs" / "support_review.json"
EXAMPLE = graphflow.load_graph(SAMPLE).nodes[0].config["example"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def workspace(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Workspace]:
    from graphflow.sample_graphs import register

    registry = graphflow.default_registry(installed=False)
    register(registry)
    async with open_store(tmp_path / "s.db", clock=clock) as store:
        ws = Workspace(store, registry, clock=clock)
        await ws.save(SAMPLE.read_text())
        yield ws


async def run(ws: Workspace, message: str) -> Any:
    return await ws.run("support_review", {"message": message})


async def test_a_sure_classification_sends_the_reply_directly(workspace: Workspace) -> None:
    result = await run(workspace, "Please send me the invoice for March")
    assert result.status == "succeeded"
    assert result.outputs["sent"]["sent"].startswith("Thanks for letting us know")
    assert result.outputs["decision"]["decision"] == "pass" and result.outputs["decision"]["confidence"] == 0.95
    assert await workspace.reviews() == []


async def test_the_example_is_queued_and_an_edit_is_sent(workspace: Workspace) -> None:
    first = await run(workspace, EXAMPLE)
    assert first.status == "waiting"
    (item,) = await workspace.reviews(graph_id="support_review", reason="low_confidence")
    assert item.confidence == 0.8 and item.detail["context"]["label"] == "billing"
    decided = await workspace.decide(item.id, {"decision": "edit", "value": "We refunded the second charge."},
                                     by="ana")
    assert decided.result is not None and decided.result.status == "succeeded"
    assert decided.result.outputs["sent"]["sent"] == "We refunded the second charge."


async def test_a_rejected_reply_is_not_sent(workspace: Workspace) -> None:
    first = await run(workspace, EXAMPLE)
    decided = await workspace.decide(review_item_id(first.run_id, "review"),
                                     {"decision": "reject", "reason": "wrong topic"}, by="ana")
    assert decided.result is not None and "sent" not in decided.result.outputs
    assert decided.result.outputs["rejected"]["reason"] == "wrong topic"


async def test_after_four_hours_a_senior_agent_answers(workspace: Workspace, clock: FakeClock) -> None:
    first = await run(workspace, EXAMPLE)
    clock.advance(4 * 3600)
    (escalated,) = await workspace.wake_due()
    assert escalated.status == "waiting"  # now for the senior agent
    (item,) = await workspace.reviews(reason="escalation")
    assert item.id == review_item_id(first.run_id, "senior") and item.variant == "escalation"
    assert (await workspace.review_item(review_item_id(first.run_id, "review"))).status == "timed_out"
    decided = await workspace.decide(item.id, {"decision": "answer", "value": "I have fixed both for you."},
                                     by="sam")
    assert decided.result is not None
    assert decided.result.outputs["sent_by_senior"]["sent"] == "I have fixed both for you."
    assert "sent" not in decided.result.outputs
