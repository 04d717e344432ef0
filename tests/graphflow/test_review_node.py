"""The review node in the engine: confident proposals pass, others wait for a decision, and each
decision (or the timeout) makes its output."""

from __future__ import annotations

from typing import Any

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.errors import GraphValidationError
from graphflow.review import check_decision
from graphflow.runner import Runner, RunResult
from graphflow.waits import Wake, review_item_id

pytestmark = pytest.mark.anyio


def spec(**config: Any) -> dict[str, Any]:
    return graph(node("in", "input", name="x", type="any"), node("r", "review", **config),
                 node("y", "output", name="y"), node("rej", "output", name="rejected"),
                 node("esc", "output", name="escalated"), node("d", "output", name="decision"),
                 edge("in", "r"), edge("r", "y"), edge("r", "rej", "rejected"), edge("r", "esc", "escalated"),
                 edge("r", "d", "decision"))


def runner(clock: FakeClock, **config: Any) -> Runner:
    compiled = graphflow.validate_graph(spec(**config), graphflow.default_registry(installed=False))
    return Runner(compiled, clock=clock, suspend=True)


async def waiting(clock: FakeClock, x: Any, **config: Any) -> RunResult:
    first = await runner(clock, **config).run({"x": x}, run_id="run1")
    assert first.status == "waiting"
    return first


async def wake(clock: FakeClock, first: RunResult, wake: Wake, **config: Any) -> RunResult:
    return await runner(clock, **config).resume(first.events, wakes={"r": wake})


REPLY = {"label": "refund", "confidence": 0.6, "text": "We will refund you."}


async def test_a_confident_proposal_passes_without_review() -> None:
    result = await runner(FakeClock(), threshold=0.85, proposal_field="text").run(
        {"x": {**REPLY, "confidence": 0.9}})
    assert result.status == "succeeded"
    assert result.outputs["y"] == "We will refund you."
    assert result.outputs["decision"]["decision"] == "pass" and not result.outputs["decision"]["reviewed"]
    assert "rejected" not in result.outputs and "escalated" not in result.outputs


async def test_a_doubtful_proposal_waits_with_its_review_item() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, threshold=0.85, proposal_field="text", timeout=3600)
    (wait,) = first.waits
    assert wait["kind"] == "decision" and wait["key"] == review_item_id("run1", "r")
    assert wait["due_at"] == clock.time() + 3600
    (waited,) = [e for e in first.events if e.kind == "node_waiting"]
    assert waited.detail == {"proposal": "We will refund you.", "context": REPLY, "reason": "low_confidence",
                             "confidence": 0.6, "variant": "review", "labels": []}


@pytest.mark.parametrize(("config", "x", "reason"), [
    ({"threshold": 0.5}, {"text": "hi"}, "model_uncertainty"),
    ({"review_when": "amount > 500"}, {"amount": 900}, "high_value"),
    ({"variant": "escalation"}, "help", "escalation"),
    ({}, "anything", "review"),
    ({"threshold": 0.9, "reason": "refund"}, {"confidence": 0.1}, "refund"),
])
async def test_why_an_item_is_queued(config: dict[str, Any], x: Any, reason: str) -> None:
    first = await waiting(FakeClock(), x, **config)
    (waited,) = [e for e in first.events if e.kind == "node_waiting"]
    assert waited.detail["reason"] == reason


async def test_review_when_false_and_no_threshold_passes() -> None:
    result = await runner(FakeClock(), review_when="amount > 500").run({"x": {"amount": 20}})
    assert result.status == "succeeded" and result.outputs["y"] == {"amount": 20}


async def test_approve_continues_with_the_proposal_and_says_who() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, threshold=0.85, proposal_field="text")
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "approve"}, by="ana"),
                      threshold=0.85, proposal_field="text")
    assert done.status == "succeeded" and done.outputs["y"] == "We will refund you."
    assert done.outputs["decision"] == {"decision": "approve", "reason": "", "by": "ana", "at": 5.0,
                                        "reviewed": True, "value": "We will refund you."}


async def test_edit_continues_with_the_edited_value() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, proposal_field="text")
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "edit", "value": "Refund sent."}, by="bo"),
                      proposal_field="text")
    assert done.outputs["y"] == "Refund sent." and done.outputs["decision"]["decision"] == "edit"


async def test_reject_routes_to_rejected_and_skips_out() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY)
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "reject", "reason": "rude"}, by="cy"))
    assert done.status == "succeeded" and "y" not in done.outputs
    assert done.outputs["rejected"] == {"proposal": REPLY, "reason": "rude", "by": "cy"}
    assert done.outputs["decision"]["decision"] == "reject"


async def test_reject_can_fail_the_node_without_retrying() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, on_reject="fail")
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "reject", "reason": "rude"}, by="cy"),
                      on_reject="fail")
    assert done.status == "failed" and done.failed_node == "r"
    assert "rejected by cy: rude" in (done.error or "")
    assert sum(1 for e in done.events if e.kind == "node_started" and e.node_id == "r") == 2  # first run + woken


async def test_label_gives_the_correct_label() -> None:
    clock = FakeClock()
    config: dict[str, Any] = {"variant": "label", "labels": ["refund", "billing"], "proposal_field": "label",
                              "threshold": 0.85}
    first = await waiting(clock, REPLY, **config)
    (waited,) = [e for e in first.events if e.kind == "node_waiting"]
    assert waited.detail["labels"] == ["refund", "billing"] and waited.detail["proposal"] == "refund"
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "label", "label": "billing"}, by="di"),
                      **config)
    assert done.outputs["y"] == "billing" and done.outputs["decision"]["label"] == "billing"


async def test_escalation_continues_with_the_persons_answer() -> None:
    clock = FakeClock()
    first = await waiting(clock, "where is my order?", variant="escalation")
    done = await wake(clock, first, Wake("decision", 5.0, {"decision": "answer", "value": "It ships today."},
                                         by="ed"), variant="escalation")
    assert done.outputs["y"] == "It ships today."


async def test_a_timeout_takes_the_escalation_path() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, timeout=60)
    done = await wake(clock, first, Wake("timer", clock.time() + 60, by="timer"), timeout=60)
    assert done.status == "succeeded" and "y" not in done.outputs
    assert done.outputs["escalated"] == {"proposal": REPLY, "context": None, "reason": "timeout"}
    assert done.outputs["decision"]["decision"] == "escalate" and done.outputs["decision"]["by"] == "timer"


async def test_a_timeout_can_approve_by_default() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, timeout=60, on_timeout="approve")
    done = await wake(clock, first, Wake("timer", 60.0, by="timer"), timeout=60, on_timeout="approve")
    assert done.outputs["y"] == REPLY and not done.outputs["decision"]["reviewed"]


async def test_resumed_without_a_wake_it_waits_again_with_the_same_due_time() -> None:
    clock = FakeClock()
    first = await waiting(clock, REPLY, timeout=60)
    clock.advance(30)
    again = await runner(clock, timeout=60).resume(first.events)
    assert again.status == "waiting" and again.waits == first.waits


async def test_a_bare_runner_fails_the_review_clearly() -> None:
    compiled = graphflow.validate_graph(spec(), graphflow.default_registry(installed=False))
    result = await Runner(compiled, clock=FakeClock()).run({"x": REPLY})
    assert result.status == "failed" and (result.error or "").startswith("WaitUnsupported: node 'r' waits for decision")


@pytest.mark.parametrize(("detail", "data", "message"), [
    ({"variant": "approval"}, {"decision": "edit", "value": 1}, "approval review takes approve, reject"),
    ({}, {"decision": "reject"}, "needs a reason"),
    ({}, {"decision": "edit"}, "needs the edited value"),
    ({"variant": "label", "labels": ["a", "b"]}, {"decision": "label", "label": "c"}, "not one of a, b"),
    ({"variant": "escalation"}, {"decision": "answer", "value": ""}, "needs the answer"),
    ({}, "approve", "is an object"),
])
def test_decisions_that_do_not_fit_are_refused(detail: dict[str, Any], data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_decision(detail, data)


@pytest.mark.parametrize(("config", "problem"), [
    ({"labels": ["a"]}, "labels are for the label variant"),
    ({"variant": "label", "labels": ["a", "a"]}, "distinct"),
    ({"threshold": 1.5}, "threshold"),
    ({"review_when": "amount >"}, "review_when"),
])
def test_bad_config_is_a_validation_error(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(GraphValidationError, match=problem):
        graphflow.validate_graph(spec(**config), graphflow.default_registry(installed=False))


async def test_graphflow_run_refuses_a_review_graph_at_start_saying_a_database_is_needed() -> None:
    seen: list[str] = []

    class Sink:
        async def publish(self, event: Any) -> None:
            seen.append(event.kind)

    with pytest.raises(graphflow.errors.StoreNeeded, match="node 'r' \\(review\\) may wait .* a store"):
        await graphflow.run(spec(), {"x": REPLY}, registry=graphflow.default_registry(installed=False),
                            sinks=[Sink()])
    assert seen == []  # nothing ran, nothing was spent
