"""The loan application sample, as shipped: its state machine driven event by event in the
engine (the workspace, the CLI and a restart are in tests/storage/test_state_machine_runs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import graphflow
import graphflow.sample_graphs
from graphflow import machine
from graphflow.clock import FakeClock
from graphflow.runner import Runner, RunResult
from graphflow.waits import Wake

pytestmark = pytest.mark.anyio
SAMPLE = Path(graphflow.sample_graphs.__file__).parent / "loan_application.json"
DAYS = 86_400


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Loan:
    def __init__(self) -> None:
        self.compiled = graphflow.validate_graph(graphflow.load_graph(SAMPLE), graphflow.default_registry())
        self.clock = FakeClock()
        self.result: RunResult | None = None

    async def start(self, **application: Any) -> None:
        example = {"applicant": "Ana Silva", "amount": 25000, "credit_score": 710}
        runner = Runner(self.compiled, clock=self.clock, suspend=True)
        self.result = await runner.run({"application": {**example, **application}})

    async def wake(self, wake: Wake) -> RunResult:
        assert self.result is not None
        runner = Runner(self.compiled, clock=self.clock, suspend=True)
        self.result = await runner.resume(self.result.events, wakes={"loan": wake})
        return self.result

    async def send(self, event: str, data: Any = None) -> str | None:
        """Refused events change nothing (the workspace checks before it claims the wake)."""
        refused = machine.refusal(self.detail, event, data)
        if refused is None:
            await self.wake(Wake("event", self.clock.time(), {"event": event, "data": data}, by="officer"))
        return refused

    @property
    def detail(self) -> dict[str, Any]:
        assert self.result is not None
        return [e for e in self.result.events if e.kind == "node_waiting"][-1].detail

    @property
    def state(self) -> str:
        assert self.result is not None
        if self.result.status == "succeeded":
            return self.result.outputs["outcome"]["state"]
        return self.detail["state"]


async def test_the_whole_lifecycle_with_a_loop_a_guard_and_a_funding_retry() -> None:
    loan = Loan()
    await loan.start()
    assert loan.state == "submitted" and loan.detail["accepts"] == ["review"]
    assert loan.detail["history"][0]["result"]["reference"].startswith("LN-")
    assert await loan.send("approve") is not None and loan.state == "submitted"  # not valid yet
    await loan.send("review")
    await loan.send("request_info", {"missing": ["payslip"]})
    assert loan.state == "info_needed"
    assert loan.detail["history"][-1]["result"]["message"] == "Dear Ana Silva, please send payslip within 14 days."
    refused = await loan.send("documents", {"documents": []})
    assert refused is not None and "len(data.documents) > 0" in refused and loan.state == "info_needed"
    await loan.send("documents", {"documents": ["payslip.pdf"]})
    assert loan.state == "under_review"
    await loan.send("request_info", {"missing": ["id card"]})  # the loop: asked a second time
    await loan.send("documents", {"documents": ["id.pdf"]})
    await loan.send("approve")
    assert loan.state == "approved" and loan.detail["history"][-1]["result"]["rate_percent"] == 6.4
    await loan.send("fund")
    assert loan.state == "funding_failed"
    assert loan.detail["history"][-1]["data"]["error_type"] == "TransferRejected"
    assert loan.result is not None and loan.result.waits[0]["due_at"] == loan.clock.time() + 3600
    await loan.send("retry")
    assert loan.result.status == "succeeded" and loan.state == "funded"
    history = loan.result.outputs["outcome"]["history"]
    assert [h["to"] for h in history] == [
        "submitted", "under_review", "info_needed", "under_review", "info_needed", "under_review", "approved",
        "funded", "funding_failed", "funded"]
    assert history[-1]["result"]["paid"] == 25000 and history[-1]["who"] == "officer"


async def test_a_low_credit_score_cannot_be_approved_only_rejected() -> None:
    loan = Loan()
    await loan.start(credit_score=540)
    await loan.send("review")
    refused = await loan.send("approve")
    assert refused == ("event 'approve' refused in state 'under_review': guard 'input.credit_score >= 620' "
                       "does not hold")
    await loan.send("reject", {"reason": "score"})
    assert loan.state == "rejected"


async def test_info_needed_expires_to_rejected_after_fourteen_days() -> None:
    loan = Loan()
    await loan.start()
    await loan.send("review")
    await loan.send("request_info", {"missing": ["payslip"]})
    assert loan.result is not None and loan.result.waits[0]["due_at"] == loan.clock.time() + 14 * DAYS
    loan.clock.advance(14 * DAYS)
    done = await loan.wake(Wake("timer", loan.clock.time(), by="timer"))
    assert done.status == "succeeded" and loan.state == "rejected"
    last = done.outputs["outcome"]["history"][-1]
    assert (last["from"], last["event"], last["who"]) == ("info_needed", "expired", "timer")


async def test_a_failed_transfer_is_retried_by_the_timer_after_an_hour() -> None:
    loan = Loan()
    await loan.start()
    for event in ("review", "approve", "fund"):
        await loan.send(event)
    loan.clock.advance(3600)
    done = await loan.wake(Wake("timer", loan.clock.time(), by="timer"))
    assert done.status == "succeeded" and loan.state == "funded"
