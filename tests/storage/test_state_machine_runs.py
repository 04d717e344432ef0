"""The loan application state machine through a workspace on a SQLite file: events sent,
refusals that change nothing stored, a restart (a new workspace on the same file) between
events, and the 14-day timeout fired by the timers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import graphflow
import graphflow.sample_graphs
from graphflow.clock import FakeClock
from graphflow.service import RunRefused, Workspace
from storage import open_store

pytestmark = pytest.mark.anyio
SAMPLE = Path(graphflow.sample_graphs.__file__).parent / "loan_application.json"
APPLICATION = {"applicant": "Ana Silva", "amount": 25000, "credit_score": 710}
DAYS = 86_400.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def snapshot(ws: Workspace, run_id: str) -> tuple[Any, ...]:
    """Everything stored about the run that a refused event must leave alone."""
    events = [e.model_dump() for e in await ws.events(run_id)]
    waits = [(w.node_id, w.kind, w.key, w.due_at, w.detail, w.wake) for w in await ws.waits(run_id)]
    return (await ws.run_summary(run_id)).status, events, waits


async def state_of(ws: Workspace, run_id: str) -> str:
    [row] = await ws.waits(run_id)
    return row.detail["state"]


async def test_a_loan_survives_restarts_between_events_and_refusals_change_nothing(tmp_path: Path) -> None:
    db, clock = tmp_path / "loans.db", FakeClock()
    registry = graphflow.default_registry()
    async with open_store(db, clock=clock) as store:
        ws = Workspace(store, registry, clock=clock)
        graph_id = (await ws.save(SAMPLE)).graph_id
        first = await ws.run(graph_id, {"application": APPLICATION})
        run_id = first.run_id
        assert first.status == "waiting" and await state_of(ws, run_id) == "submitted"
        before = await snapshot(ws, run_id)
        for event, data in (("approve", None), ("fund", None), ("nonsense", {"x": 1})):
            with pytest.raises(RunRefused, match=f"event '{event}' is not valid in state 'submitted'"):
                await ws.send(run_id, event, data, by="ana")
        assert await snapshot(ws, run_id) == before

    async with open_store(db, clock=clock) as store:  # a new process on the same file
        ws = Workspace(store, registry, clock=clock)
        await ws.send(run_id, "review", by="ana")
        await ws.send(run_id, "request_info", {"missing": ["payslip"]}, by="ana")
        before = await snapshot(ws, run_id)
        with pytest.raises(RunRefused, match=r"guard 'len\(data.documents\) > 0' does not hold"):
            await ws.send(run_id, "documents", {"documents": []}, by="ana")
        assert await snapshot(ws, run_id) == before
        await ws.send(run_id, "documents", {"documents": ["payslip.pdf"]}, by="ana")
        assert await state_of(ws, run_id) == "under_review"

    async with open_store(db, clock=clock) as store:
        ws = Workspace(store, registry, clock=clock)
        await ws.send(run_id, "approve", by="bo")
        sent = await ws.send(run_id, "fund", by="bo")
        assert sent.result is not None and sent.result.status == "waiting"
        assert await state_of(ws, run_id) == "funding_failed"
        done = await ws.send(run_id, "retry", by="bo")
        assert done.result is not None and done.result.status == "succeeded"
        outcome = (await ws.run_summary(run_id)).outputs["outcome"]
        assert outcome["state"] == "funded"
        assert [(h["to"], h["who"]) for h in outcome["history"]] == [
            ("submitted", ""), ("under_review", "ana"), ("info_needed", "ana"), ("under_review", "ana"),
            ("approved", "bo"), ("funded", "bo"), ("funding_failed", ""), ("funded", "bo")]
        assert await ws.waits(run_id) == []
        with pytest.raises(RunRefused):
            await ws.send(run_id, "retry")


async def test_info_needed_expires_after_fourteen_days_once_the_timers_run(tmp_path: Path) -> None:
    clock = FakeClock()
    async with open_store(tmp_path / "loans.db", clock=clock) as store:
        ws = Workspace(store, graphflow.default_registry(), clock=clock)
        run_id = (await ws.run((await ws.save(SAMPLE)).graph_id, {"application": APPLICATION})).run_id
        await ws.send(run_id, "review")
        await ws.send(run_id, "request_info", {"missing": ["payslip"]})
        clock.advance(13 * DAYS)
        assert await ws.wake_due() == [] and await state_of(ws, run_id) == "info_needed"
        clock.advance(1 * DAYS)
        [result] = await ws.wake_due()
        assert result.status == "succeeded" and result.outputs["outcome"]["state"] == "rejected"
        last = result.outputs["outcome"]["history"][-1]
        assert (last["from"], last["event"], last["who"]) == ("info_needed", "expired", "timer")
        assert await ws.wake_due() == []  # fired once
