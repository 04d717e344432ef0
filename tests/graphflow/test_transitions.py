"""Transitions -> events, as plain functions: no event loop, no runner."""

from __future__ import annotations

from graphflow import events as ev
from graphflow.plan import ErrorInfo, NodeState, Transition
from graphflow.ports import DurableSink
from graphflow.transitions import NodeRun, node_event


def test_success_carries_the_records_attempt_usage_and_duration() -> None:
    t = Transition("a", NodeState.SUCCEEDED, output={"out": 1}, edges_taken=("e1",))
    cls, fields = node_event(t, NodeRun(attempt=2, started_at=10.0, cost=0.5, tokens=7, cached=True), now=12.5)
    assert cls is ev.NodeSucceeded
    assert (fields["attempt"], fields["duration"], fields["cost"], fields["tokens"], fields["cached"]) == (
        2, 2.5, 0.5, 7, True)
    assert fields["output"] == {"out": 1} and fields["edges_taken"] == ["e1"] and fields["reused_from"] is None


def test_a_success_never_started_here_was_reused_from_the_seed_run() -> None:
    _, fields = node_event(Transition("a", NodeState.SUCCEEDED, output={"out": 1}), None, 5.0, reused_from="old")
    assert fields["reused_from"] == "old" and fields["duration"] == 0.0
    _, fields = node_event(Transition("a", NodeState.SUCCEEDED, output={}), NodeRun(started_at=1.0), 5.0, "old")
    assert fields["reused_from"] is None


def test_degraded_success_names_its_failure() -> None:
    t = Transition("a", NodeState.SUCCEEDED, output={"out": 0}, error=ErrorInfo("ValueError", "bad", "a"),
                   degraded=True)
    _, fields = node_event(t, NodeRun(started_at=0.0), 1.0)
    assert fields["degraded"] and fields["error"] == "ValueError: bad"


def test_failure_skip_cancel_and_a_join_starting_to_wait() -> None:
    failed = Transition("a", NodeState.FAILED, error=ErrorInfo("KeyError", "k", "a"), handled=True)
    cls, fields = node_event(failed, NodeRun(attempt=3, started_at=1.0, cost=1.0), 4.0)
    assert cls is ev.NodeFailed and (fields["attempt"], fields["duration"], fields["handled"]) == (3, 3.0, True)
    assert (fields["error_type"], fields["error_message"], fields["cost"]) == ("KeyError", "k", 1.0)
    assert node_event(Transition("b", NodeState.SKIPPED, reason="no branch"), None, 0.0) == (
        ev.NodeSkipped, {"node_id": "b", "reason": "no branch"})
    assert node_event(Transition("c", NodeState.CANCELLED, reason="stop"), None, 0.0)[0] is ev.NodeCancelled
    assert node_event(Transition("j", NodeState.RUNNING), None, 0.0) == (ev.NodeStarted, {"node_id": "j", "attempt": 1})


def test_every_draft_validates_as_its_event() -> None:
    drafts = [node_event(Transition("a", NodeState.SUCCEEDED, output={"out": 1}), NodeRun(started_at=0.0), 1.0),
              node_event(Transition("a", NodeState.FAILED, error=ErrorInfo("E", "m", "a")), None, 1.0),
              node_event(Transition("a", NodeState.SKIPPED), None, 1.0)]
    for cls, fields in drafts:
        cls.model_validate({"run_id": "r", "seq": 1, "at": 0.0, **fields})


def test_a_sink_with_flush_is_durable_one_without_is_not() -> None:
    class Durable:
        async def publish(self, event: ev.Event) -> None: ...

        async def flush(self) -> None: ...

    class Plain:
        async def publish(self, event: ev.Event) -> None: ...

    assert isinstance(Durable(), DurableSink) and not isinstance(Plain(), DurableSink)


def test_a_failure_keeps_its_traceback_partial_results_and_input_preview() -> None:
    error = ErrorInfo("ValueError", "bad", "a", traceback="File x, line 1", detail={"0": "done"})
    _, fields = node_event(Transition("a", NodeState.FAILED, error=error), NodeRun(started_at=0.0), 1.0,
                           inputs={"in": {"q": 1}})
    assert fields["traceback"] == "File x, line 1" and fields["partial"] == {"0": "done"}
    assert fields["input_preview"] == '{"q": 1}'
    _, fields = node_event(Transition("a", NodeState.FAILED, error=ErrorInfo("E", "m", "a")), None, 1.0)
    assert fields["input_preview"] is None and fields["traceback"] is None
