"""The state machine node: states with on-enter actions, named transitions with guards,
timeouts, an error state, loops; it waits for events between transitions.

The graph stays a DAG: the loop lives inside this node (``graphflow/machine.py`` has the
rules). Between events the node waits (``Wait(kind="event", key="", detail=...)``): the
run holds nothing, and the wait's ``detail`` carries the machine's whole state (current
state, history, what it accepts now and the guards), so a refusal is decided from the
stored wait alone and a resumed run, in any process, goes on from it (``ctx.waited``).

Woken by an event (``ctx.wake.data`` = ``{"event": name, "data": ...}``) it takes the
transition, runs the new state's on-enter action and waits again, or in a terminal state
outputs ``{state, history}``. Woken by a timer it takes the state's timeout. A crash
before it waits again resumes it with the same wake and the same stored state, so it does
the same step again (actions keep their idempotency key). Every state a step enters
(the error state too) is entered at the step's recorded time: the wake's, or the node's
first start for the initial state. So a redone step keeps its entry time, and a crash never
extends a state's timeout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphflow import machine as m
from graphflow.errors import NodeError
from graphflow.nodes.base import NodeContext, NodeKind, port
from graphflow.nodes.machine_config import MachineConfig, TransitionSpec
from graphflow.nodes.state_actions import Action, ActionProblem, StateActionFailed, resolve, run_action
from graphflow.waits import Wait, Wake

if TYPE_CHECKING:
    from graphflow.model import GraphSpec
    from graphflow.registry import Registry

PROBLEM = "bad_state_machine"


class MachineLimitExceeded(NodeError):
    """A machine took ``max_steps`` transitions; it stops rather than loop for ever (a retry
    would only stop there again)."""

    retryable = False


@dataclass(frozen=True, slots=True)
class BoundMachine:
    config: MachineConfig
    actions: dict[str, Action]
    """On-enter action per state name."""
    keeps_input: bool
    """A guard reads ``input``: the wait's detail carries it, for refusals."""


@dataclass(slots=True)
class Progress:
    """The machine between two waits: what the detail stores."""

    state: str
    history: list[dict[str, Any]]
    entered_at: float

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> Progress | None:
        if not isinstance(detail.get("state"), str) or not isinstance(detail.get("history"), list):
            return None
        return cls(detail["state"], list(detail["history"]), float(detail.get("entered_at") or 0.0))


class StateMachineNode(NodeKind):
    kind = "state_machine"
    title = "State machine"
    description = ("States with on-enter actions and named transitions (guards, timeouts, an error state); "
                   "waits for events between them, then outputs the final state and its history.")
    category = "patterns"
    Config = MachineConfig
    inputs = (port("in", required=False, description="The machine's input (guards and actions see it)"),)
    outputs = (port("out", "object", description="{state, history} once a terminal state is reached"),)
    can_retry = True

    def may_wait(self, config: MachineConfig) -> bool:
        initial = config.state(config.initial)
        return initial is None or not initial.terminal  # one that ends where it starts never waits

    def expressions(self, config: MachineConfig) -> Iterable[tuple[str, str]]:
        found = [(f"transitions[{i}].guard", t.guard) for i, t in enumerate(config.transitions) if t.guard]
        for i, state in enumerate(config.states):
            for name, text in (state.on_enter.inputs.items() if state.on_enter else ()):
                found.append((f"states[{i}].on_enter.inputs.{name}", text))
        return found

    def check(self, config: MachineConfig, registry: Registry) -> list[tuple[str, str]]:
        found = [(PROBLEM, text) for text in m.problems(config)]
        for i, state in enumerate(config.states):
            if state.on_enter is None:
                continue
            try:
                resolve(state.on_enter, registry)
            except ActionProblem as exc:
                found.append((PROBLEM, f"config.states[{i}].on_enter ({state.name!r}): {exc}"))
        return found

    def prepare_in(self, config: MachineConfig, registry: Registry, graph: GraphSpec) -> BoundMachine:
        actions = {s.name: resolve(s.on_enter, registry, graph) for s in config.states if s.on_enter is not None}
        return BoundMachine(config, actions, m.uses_input(config))

    async def run(self, machine: BoundMachine, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any] | Wait:
        value = inputs.get("in")
        waited = ctx.waited  # the node's last wait in this run, if any
        progress = Progress.from_detail(waited.detail) if waited is not None else None
        if progress is None:
            # entered at the node's first start (from the log): a redone start keeps its timeout
            progress = Progress(machine.config.initial, [], ctx.started_at)
            await self.enter(machine, progress, None, m.START_EVENT, value, "", ctx.started_at, value, ctx)
        elif ctx.wake is None:
            assert waited is not None
            return waited  # another node of the run was woken: the same wait again
        else:
            transition, event, data = self.taken(machine.config, progress, ctx.wake, value)
            if transition is None:
                assert waited is not None
                return waited  # nothing valid: the wake is used up, nothing else changes
            await self.enter(machine, progress, transition, event, data, ctx.wake.by, ctx.wake.at, value, ctx)
        state = machine.config.state(progress.state)
        if state is not None and state.terminal:
            return {"out": {"state": progress.state, "history": progress.history}}
        return self.wait(machine, progress, value)

    def taken(self, config: MachineConfig, progress: Progress, wake: Wake,
              value: Any) -> tuple[TransitionSpec | None, str, Any]:
        """The transition a wake takes from the current state (None: it takes none)."""
        if wake.kind == "timer":
            timeout = m.timeout_of(config, progress.state)
            return timeout, timeout.name if timeout else m.TIMEOUT_EVENT, None
        payload: Any = wake.data if isinstance(wake.data, dict) else {"event": wake.data}
        event, data = str(payload.get("event") or ""), payload.get("data")
        chosen = m.choose(config, progress.state, event, data, value)
        return (None if isinstance(chosen, str) else chosen), event, data

    async def enter(self, machine: BoundMachine, progress: Progress, transition: TransitionSpec | None,
                    event: str, data: Any, by: str, at: float, value: Any, ctx: NodeContext) -> None:
        """Record the transition, enter its state and run its on-enter action; a failing action
        moves to the error state (whose own action failing fails the node)."""
        target = transition.to if transition is not None else machine.config.initial
        failed_in: str | None = None
        while True:
            if progress.history and len(progress.history) - 1 >= machine.config.max_steps:  # the start is no step
                raise MachineLimitExceeded(f"the machine took {machine.config.max_steps} transitions (max_steps); "
                                           f"it stopped in state {progress.state!r}")
            before = progress.state if progress.history else None
            entry: dict[str, Any] = {"from": before, "to": target, "event": event, "time": at, "data": data,
                                     "who": by}
            progress.history.append(entry)
            progress.state, progress.entered_at = target, at  # the step's recorded time, the same when redone
            action = machine.actions.get(target)
            if action is None:
                return
            context = {"state": target, "from": before, "event": event, "data": data, "input": value}
            try:
                entry["result"] = await run_action(action, context, ctx.for_call(len(progress.history), 0))
                return
            except Exception as exc:
                error = {"state": target, "error_type": type(exc).__name__, "message": str(exc)[:2000]}
                entry["error"] = error
                if not machine.config.error_state or failed_in is not None:
                    raise StateActionFailed(f"state {target!r}: on-enter action failed: "
                                            f"{type(exc).__name__}: {exc}") from exc
                failed_in, target, event, data, by = target, machine.config.error_state, m.ERROR_EVENT, error, ""

    def wait(self, machine: BoundMachine, progress: Progress, value: Any) -> Wait:
        config = machine.config
        timeout = m.timeout_of(config, progress.state)
        assert timeout is None or timeout.after is not None
        detail: dict[str, Any] = {
            "state": progress.state, "accepts": m.accepts(config, progress.state),
            "guards": m.guards(config, progress.state), "entered_at": progress.entered_at,
            "history": progress.history,
        }
        if timeout is not None:
            detail["timeout"] = {"event": timeout.name, "to": timeout.to}
        if machine.keeps_input:
            detail["input"] = value
        due = progress.entered_at + timeout.after if timeout is not None and timeout.after else None
        return Wait("event", key="", due_at=due, detail=detail)
