"""The state machine node in the engine: transitions and loops, guards, refusals, timeouts,
the error state with its retry, on-enter actions of each sort, history, crash redo."""

from __future__ import annotations

from typing import Any

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow import machine
from graphflow.clock import FakeClock
from graphflow.nodes.base import NodeContext
from graphflow.registry import Registry
from graphflow.runner import Runner, RunResult
from graphflow.waits import Wake

pytestmark = pytest.mark.anyio

LOOP = {
    "states": [{"name": "draft"}, {"name": "review"}, {"name": "published", "terminal": True},
               {"name": "dropped", "terminal": True}],
    "initial": "draft",
    "transitions": [
        {"from": "draft", "event": "submit", "to": "review"},
        {"from": "review", "event": "revise", "to": "draft"},
        {"from": "review", "event": "publish", "to": "published", "guard": "data.score >= 7"},
        {"from": "review", "event": "publish", "to": "dropped", "guard": "data.score < 3"},
        {"from": "draft", "after": 600, "to": "dropped", "event": "expired"},
    ],
}


def machine_graph(config: dict[str, Any], graph_id: str = "g") -> dict[str, Any]:
    return graph(node("in", "input", name="x"), node("m", "state_machine", **config),
                 node("out", "output", name="result"), edge("in", "m"), edge("m", "out"), graph_id=graph_id)


class Driver:
    """Runs a machine graph as a workspace would: suspend, then resume with one wake at a time."""

    def __init__(self, config: dict[str, Any], registry: Registry | None = None) -> None:
        self.registry = registry or graphflow.default_registry(installed=False)
        self.compiled = graphflow.validate_graph(machine_graph(config), self.registry)
        self.clock = FakeClock()
        self.result: RunResult | None = None

    def runner(self) -> Runner:
        return Runner(self.compiled, clock=self.clock, suspend=True)

    async def start(self, x: Any = None) -> RunResult:
        self.result = await self.runner().run({"x": x})
        return self.result

    async def send(self, event: str, data: Any = None, by: str = "ana") -> RunResult:
        wake = Wake("event", self.clock.time(), {"event": event, "data": data}, by=by)
        return await self.wake(wake)

    async def wake(self, wake: Wake | None) -> RunResult:
        assert self.result is not None
        self.result = await self.runner().resume(self.result.events, wakes={"m": wake} if wake else None)
        return self.result

    def detail(self) -> dict[str, Any]:
        assert self.result is not None
        return [e for e in self.result.events if e.kind == "node_waiting"][-1].detail


async def test_events_move_it_through_a_loop_to_a_terminal_state_with_its_history() -> None:
    run = Driver(LOOP)
    first = await run.start({"title": "hello"})
    assert first.status == "waiting"
    assert run.detail()["state"] == "draft" and run.detail()["accepts"] == ["submit", "expired"]
    await run.send("submit")
    assert run.detail()["state"] == "review" and run.detail()["accepts"] == ["revise", "publish"]
    await run.send("revise", {"note": "shorter"}, by="bo")
    await run.send("submit")
    run.clock.advance(5)
    done = await run.send("publish", {"score": 8}, by="cy")
    assert done.status == "succeeded"
    out = done.outputs["result"]
    assert out["state"] == "published"
    assert [(h["from"], h["to"], h["event"], h["who"]) for h in out["history"]] == [
        (None, "draft", "start", ""), ("draft", "review", "submit", "ana"), ("review", "draft", "revise", "bo"),
        ("draft", "review", "submit", "ana"), ("review", "published", "publish", "cy")]
    assert out["history"][0]["data"] == {"title": "hello"}
    assert out["history"][2]["data"] == {"note": "shorter"}
    assert out["history"][-1]["time"] == run.clock.time() and out["history"][-1]["data"] == {"score": 8}


async def test_guards_pick_the_transition_and_a_guard_that_holds_nowhere_is_refused() -> None:
    run = Driver(LOOP)
    await run.start()
    await run.send("submit")
    detail = run.detail()
    assert machine.refusal(detail, "publish", {"score": 9}) is None
    assert machine.refusal(detail, "publish", {"score": 1}) is None
    why = machine.refusal(detail, "publish", {"score": 5})
    assert why is not None and "'publish' refused in state 'review'" in why and "data.score >= 7" in why
    why = machine.refusal(detail, "publish", None)
    assert why is not None and "failed" in why  # reading a field of no data fails, it does not crash
    why = machine.refusal(detail, "submit", None)
    assert why == "event 'submit' is not valid in state 'review' (valid now: 'revise', 'publish')"
    done = await run.send("publish", {"score": 1})
    assert done.outputs["result"]["state"] == "dropped"


async def test_an_event_that_is_not_valid_now_changes_nothing_when_it_reaches_the_node() -> None:
    run = Driver(LOOP)
    await run.start()
    before = run.detail()
    again = await run.send("publish", {"score": 9})  # not valid in draft (had it slipped past the refusal)
    assert again.status == "waiting" and run.detail() == before


async def test_a_run_resumed_for_another_reason_waits_again_with_the_same_due_time() -> None:
    run = Driver(LOOP)
    first = await run.start()
    run.clock.advance(100)
    again = await run.wake(None)
    assert again.status == "waiting" and again.waits == first.waits
    assert again.waits[0]["due_at"] == first.waits[0]["due_at"]


async def test_the_timeout_counts_from_entering_the_state_and_the_timer_takes_it() -> None:
    run = Driver(LOOP)
    first = await run.start()
    entered = run.clock.time()
    assert first.waits[0]["due_at"] == entered + 600
    assert run.detail()["timeout"] == {"event": "expired", "to": "dropped"}
    await run.send("submit")
    assert run.result is not None and run.result.waits[0]["due_at"] is None  # review has no timeout
    run.clock.advance(50)
    await run.send("revise")
    assert run.result.waits[0]["due_at"] == entered + 50 + 600  # back in draft: counted again from now
    run.clock.advance(600)
    done = await run.wake(Wake("timer", run.clock.time(), by="timer"))
    last = done.outputs["result"]["history"][-1]
    assert done.outputs["result"]["state"] == "dropped"
    assert (last["from"], last["to"], last["event"], last["who"]) == ("draft", "dropped", "expired", "timer")


FUNDING = {
    "states": [{"name": "approved"},
               {"name": "funded", "terminal": True, "on_enter": {"function": "t.disburse", "args": {"bank": "b1"}}},
               {"name": "funding_failed"}],
    "initial": "approved", "error_state": "funding_failed",
    "transitions": [{"from": "approved", "event": "fund", "to": "funded"},
                    {"from": "funding_failed", "event": "retry", "to": "funded"}],
}


def funding_registry(calls: list[tuple[Any, str, str]], failures: int) -> Registry:
    registry = graphflow.default_registry(installed=False)

    def disburse(context: dict[str, Any], bank: str, ctx: NodeContext) -> dict[str, Any]:
        calls.append((context, bank, ctx.idempotency_key))
        if len(calls) <= failures:
            raise ConnectionError("the bank is down")
        return {"paid": context["input"]["amount"]}

    registry.register_function("t.disburse", disburse, non_blocking=True)
    return registry


async def test_a_failing_on_enter_action_goes_to_the_error_state_and_retry_enters_again() -> None:
    calls: list[tuple[Any, str, str]] = []
    run = Driver(FUNDING, funding_registry(calls, failures=1))
    await run.start({"amount": 900})
    await run.send("fund", by="ops")
    detail = run.detail()
    assert detail["state"] == "funding_failed" and detail["accepts"] == ["retry"]
    failed, to_error = detail["history"][-2:]
    assert failed["to"] == "funded" and failed["error"]["error_type"] == "ConnectionError"
    assert (to_error["from"], to_error["to"], to_error["event"]) == ("funded", "funding_failed", "error")
    assert to_error["data"]["message"] == "the bank is down"
    done = await run.send("retry", by="ops")
    out = done.outputs["result"]
    assert out["state"] == "funded" and out["history"][-1]["result"] == {"paid": 900}
    assert [c[1] for c in calls] == ["b1", "b1"]
    assert calls[0][0] == {"state": "funded", "from": "approved", "event": "fund", "data": None,
                           "input": {"amount": 900}}
    keys = [c[2] for c in calls]
    assert len(set(keys)) == 2 and all(k.startswith(f"{done.run_id}:m:") for k in keys)


async def test_without_an_error_state_a_failing_action_fails_the_node_and_names_the_state() -> None:
    calls: list[tuple[Any, str, str]] = []
    config = {**FUNDING, "error_state": ""}
    run = Driver(config, funding_registry(calls, failures=5))
    await run.start({"amount": 1})
    failed = await run.send("fund")
    assert failed.status == "failed" and failed.failed_node == "m"
    assert failed.error is not None and "StateActionFailed" in failed.error and "'funded'" in failed.error


async def test_a_crash_before_it_waits_again_redoes_the_same_step_with_the_same_key() -> None:
    calls: list[tuple[Any, str, str]] = []
    run = Driver(FUNDING, funding_registry(calls, failures=0))
    await run.start({"amount": 5})
    assert run.result is not None
    waiting = run.result.events
    wake = Wake("event", run.clock.time(), {"event": "fund"}, by="ops")
    first = await run.runner().resume(waiting, wakes={"m": wake})
    second = await run.runner().resume(waiting, wakes={"m": wake})  # the first process died before settling
    assert first.outputs == second.outputs
    assert calls[0][2] == calls[1][2]


async def test_node_kind_and_graph_actions_run_with_the_context() -> None:
    registry = graphflow.default_registry(installed=False)
    registry.register_graph(graphflow.load_graph(graph(
        node("amount", "input", name="amount", type="integer"), node("who", "input", name="who"),
        node("double", "transform", fields={"twice": "value * 2"}), node("out", "output", name="quote"),
        edge("amount", "double"), edge("double", "out"), graph_id="quote")))
    config = {
        "states": [{"name": "a", "on_enter": {"kind": "template", "config": {"template": "hi {input.name}"}}},
                   {"name": "b", "terminal": True,
                    "on_enter": {"graph": "quote", "inputs": {"who": "data.by"}}}],
        "initial": "a", "transitions": [{"from": "a", "event": "go", "to": "b"}],
    }
    run = Driver(config, registry)
    await run.start({"name": "Ana"})
    assert run.detail()["history"][0]["result"] == "hi Ana"
    done = await run.send("go", {"amount": 21, "by": "bo"})
    assert done.outputs["result"]["history"][-1]["result"] == {"quote": {"twice": 42}}


async def test_max_steps_stops_a_machine_that_loops() -> None:
    run = Driver({**LOOP, "max_steps": 2})
    await run.start()
    await run.send("submit")
    await run.send("revise")
    stopped = await run.send("submit")
    assert stopped.status == "failed" and stopped.error is not None and "max_steps" in stopped.error


async def test_an_initial_terminal_state_ends_at_once_and_a_bare_runner_cannot_wait() -> None:
    done_at_once = {"states": [{"name": "only", "terminal": True}], "initial": "only", "transitions": []}
    registry = graphflow.default_registry(installed=False)
    result = await graphflow.run(machine_graph(done_at_once), {"x": 1}, registry=registry)
    assert result.status == "succeeded" and result.outputs["result"]["state"] == "only"
    with pytest.raises(graphflow.errors.StoreNeeded, match="node 'm' \\(state_machine\\) may wait"):
        await graphflow.run(machine_graph(LOOP), {"x": 1}, registry=registry)  # refused before it starts
    bare = await Runner(graphflow.validate_graph(machine_graph(LOOP), registry)).run({"x": 1})
    assert bare.status == "failed" and bare.error is not None and "WaitUnsupported" in bare.error


async def test_a_redone_step_keeps_its_entry_time_so_a_crash_does_not_extend_the_timeout() -> None:
    run = Driver(LOOP)
    first = await run.start()
    started = [e for e in first.events if e.kind == "node_started" and getattr(e, "node_id", "") == "m"][0]
    cut = first.events[:first.events.index(started) + 1]  # the process died before the machine first waited
    run.clock.advance(3000)
    again = await run.runner().resume(cut)
    assert again.waits[0]["due_at"] == started.at + 600 == first.waits[0]["due_at"]

    await run.send("submit")
    assert run.result is not None
    in_review = run.result.events
    revise = Wake("event", run.clock.time(), {"event": "revise"}, by="ana")
    step = await run.runner().resume(in_review, wakes={"m": revise})
    run.clock.advance(3000)  # the first try died before settling; the step is done again later
    redone = await run.runner().resume(in_review, wakes={"m": revise})
    assert step.waits[0]["due_at"] == redone.waits[0]["due_at"] == revise.at + 600
    entries = [e for e in redone.events if e.kind == "node_waiting"][-1].detail
    assert entries["entered_at"] == revise.at == entries["history"][-1]["time"]
