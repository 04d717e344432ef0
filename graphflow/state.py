"""The read model: one pure reducer from a run's events to its state.

The CLI progress display, the live canvas and replay all fold events through
``RunState.apply``, so what they show cannot drift apart: live feeds it event by event,
replay folds the stored log up to its cursor. No I/O, no clock; the state is plain data.

Edge states come from the events alone: a settled node's ``edges_taken`` (its success, or
the error edges its failure was routed down) are taken, its other out-edges are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from graphflow import events as ev
from graphflow.events import SETTLED, NodeStatus

EdgeState = Literal["taken", "untaken"]


class EdgeLike(Protocol):
    """What ``edge_states`` needs of an edge (``EdgeSpec`` and ``CompiledEdge`` have it)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass
class ToolCallView:
    """One tool call of an agent's step: running until its ``tool_call`` event arrives."""

    index: int
    name: str
    arguments: Any
    status: NodeStatus = NodeStatus.RUNNING
    """running, succeeded or failed."""
    result: Any = None
    error: str | None = None
    duration: float | None = None


@dataclass
class StepView:
    """One model turn of an agent node, with the tool calls it asked for."""

    step: int
    text: str
    calls: list[ToolCallView]
    duration: float
    tokens: int
    cost: float


@dataclass
class NodeRecord:
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    duration: float | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    """The last error (a failure, a retried attempt's, or a degraded node's)."""
    reason: str = ""
    edges_taken: list[str] = field(default_factory=list)
    retries: int = 0
    degraded: bool = False
    cached: bool = False
    reused_from: str | None = None
    """Its output was reused from this earlier run (a resume from a failure, a run from a node)."""
    progress: tuple[int, int, int] | None = None
    """Map nodes: (done, failed, total)."""
    tokens: int = 0
    cost: float = 0.0
    """Spent by the node's attempts (a cached node spent nothing)."""
    steps: list[StepView] = field(default_factory=list)
    """Agent nodes: each step so far (its model turn and tool calls)."""
    waiting_for: str | None = None
    """While (or after) it waited: event, decision or timer."""
    started_at: float | None = None
    """When its latest attempt started (the event's ``at``, wall clock)."""
    machine_state: str | None = None
    """State machine nodes: the state it is in (from its waits' detail, then its output)."""
    machine_accepts: list[str] = field(default_factory=list)
    """State machine nodes, while they wait: the events valid now."""


@dataclass
class RunState:
    run_id: str = ""
    graph_id: str = ""
    status: str = "pending"
    """pending | running | waiting | succeeded | failed | cancelled"""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    failed_node: str | None = None
    error: str | None = None
    last_seq: int = -1
    started_at: float | None = None
    duration: float | None = None
    """The whole run's, once it ended."""
    cost: float = 0.0
    tokens: int = 0
    breakers: dict[str, str] = field(default_factory=dict)
    """Each breaker's state after its last change in the run."""
    breakers_before: dict[str, str] = field(default_factory=dict)
    """Each breaker's state before its first change in the run."""

    waits: list[dict[str, Any]] = field(default_factory=list)
    """While the run waits: what for, one entry per waiting node (``RunWaiting.waits``)."""
    paused: str = ""
    """Why an operator paused the run, while it is paused."""

    @property
    def ended(self) -> bool:
        """Finished for good (a waiting run has not ended: it continues when woken)."""
        return self.status not in ("pending", "running", "waiting")

    def apply(self, event: ev.Event) -> None:
        if event.seq != self.last_seq + 1:
            raise ValueError(f"event seq {event.seq} follows {self.last_seq}: the log has a gap or a duplicate")
        self.last_seq = event.seq
        if isinstance(event, ev.RunStarted):
            self.run_id, self.graph_id, self.status = event.run_id, event.graph_id, "running"
            self.inputs, self.started_at = dict(event.inputs), event.at
            self.nodes = {n: NodeRecord() for n in event.node_ids}
        elif isinstance(event, ev.RunResumed):
            self.status, self.waits, self.paused = "running", [], ""
        elif isinstance(event, ev.RunWaiting):
            self.status, self.waits = "waiting", [dict(w) for w in event.waits]
            self.paused = event.paused
        elif isinstance(event, ev.RunFinished):
            self.status, self.outputs = event.status, dict(event.outputs)
            self.failed_node, self.error = event.failed_node, event.error
            self.duration, self.cost, self.tokens = event.duration, event.cost, event.tokens
        elif isinstance(event, ev.RunCancelled):
            self.status, self.error, self.duration = "cancelled", event.reason, event.duration
        elif isinstance(event, ev.BreakerChanged):
            self.breakers_before.setdefault(event.breaker, event.from_state)
            self.breakers[event.breaker] = event.to_state
        else:
            self._apply_node(self.nodes.setdefault(event.node_id, NodeRecord()), event)

    @staticmethod
    def _apply_node(node: NodeRecord, event: ev.NodeEvent) -> None:
        if isinstance(event, ev.NodeSucceeded | ev.NodeFailed) and node.started_at is None:
            node.started_at = event.at - event.duration  # an inline node records only its outcome
        if isinstance(event, ev.NodeStarted):
            node.status, node.attempts, node.started_at = NodeStatus.RUNNING, event.attempt, event.at
            node.machine_accepts = []  # woken: nothing can be sent until it waits again
        elif isinstance(event, ev.NodeSucceeded):
            node.status, node.duration, node.output = NodeStatus.SUCCEEDED, event.duration, event.output
            node.attempts = max(node.attempts, event.attempt)
            node.edges_taken = list(event.edges_taken)
            node.degraded, node.cached, node.reused_from = event.degraded, event.cached, event.reused_from
            node.tokens, node.cost = event.tokens, event.cost
            if event.error:
                node.error = event.error
            final: Any = event.output.get("out")
            if is_machine_output(final):  # a state machine reached a terminal state
                node.machine_state, node.machine_accepts = final["state"], []
        elif isinstance(event, ev.NodeFailed):
            node.status, node.duration = NodeStatus.FAILED, event.duration
            node.attempts = max(node.attempts, event.attempt)
            node.error = f"{event.error_type}: {event.error_message}"
            node.edges_taken = list(event.edges_taken)
            node.tokens, node.cost = event.tokens, event.cost
        elif isinstance(event, ev.NodeSkipped):
            node.status, node.reason = NodeStatus.SKIPPED, event.reason
        elif isinstance(event, ev.NodeCancelled):
            node.status, node.reason = NodeStatus.CANCELLED, event.reason
        elif isinstance(event, ev.NodeRetrying):
            node.status, node.retries = NodeStatus.RETRYING, node.retries + 1
            node.error = f"{event.error_type}: {event.error_message}"
        elif isinstance(event, ev.NodeWaiting):
            node.status, node.waiting_for = NodeStatus.WAITING, event.wait_kind
            node.reason = f"waiting for {event.wait_kind}" + (f" {event.key!r}" if event.key else "")
            if isinstance(event.detail.get("state"), str) and "history" in event.detail:  # a state machine
                node.machine_state = event.detail["state"]
                node.machine_accepts = [str(e) for e in event.detail.get("accepts") or []]
        elif isinstance(event, ev.MapProgress):
            node.progress = (event.done, event.failed, event.total)
        elif isinstance(event, ev.AgentStep):
            calls = [ToolCallView(i, c.get("name", ""), shown_arguments(c.get("arguments")))
                     for i, c in enumerate(event.tool_calls)]
            view = StepView(event.step, event.text, calls, event.duration, event.tokens_in + event.tokens_out,
                            event.cost)
            node.steps = [s for s in node.steps if s.step < event.step] + [view]
        elif isinstance(event, ev.ToolCalled):
            step = next((s for s in node.steps if s.step == event.step), None)
            if step is not None and 0 <= event.index < len(step.calls):
                call = step.calls[event.index]
                call.arguments, call.result, call.error = event.arguments, event.result, event.error
                call.status = NodeStatus.FAILED if event.error is not None else NodeStatus.SUCCEEDED
                call.duration = event.duration

    def edge_state(self, edge: EdgeLike) -> EdgeState | None:
        """Taken or untaken once the edge's source has settled; None before."""
        source = self.nodes.get(edge.source)
        if source is None or source.status not in SETTLED:
            return None
        return "taken" if edge.id in source.edges_taken else "untaken"

    def edge_states(self, edges: Iterable[EdgeLike]) -> dict[str, EdgeState | None]:
        return {edge.id: self.edge_state(edge) for edge in edges}

    def breaker_state(self, name: str, known: dict[str, str] | None = None) -> str | None:
        """A breaker at this point of the run: its last change, else its state before the
        run's first change, else what the caller knew (``known``), else None."""
        return self.breakers.get(name) or self.breakers_before.get(name) or (known or {}).get(name)

    def copy(self) -> RunState:
        """A copy that ``apply`` on either side cannot change (event values are shared)."""
        nodes = {n: NodeRecord(**{**vars(r), "edges_taken": list(r.edges_taken), "steps": copy_steps(r.steps),
                                   "machine_accepts": list(r.machine_accepts)})
                 for n, r in self.nodes.items()}
        return RunState(**{**vars(self), "inputs": dict(self.inputs), "outputs": dict(self.outputs),
                           "nodes": nodes, "breakers": dict(self.breakers),
                           "breakers_before": dict(self.breakers_before),
                           "waits": [dict(w) for w in self.waits]})

    @classmethod
    def from_events(cls, events: Iterable[ev.Event]) -> RunState:
        state = cls()
        for event in events:
            state.apply(event)
        return state


def is_machine_output(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("state"), str) and isinstance(value.get("history"), list)


def copy_steps(steps: list[StepView]) -> list[StepView]:
    return [StepView(s.step, s.text, [ToolCallView(**vars(c)) for c in s.calls], s.duration, s.tokens, s.cost)
            for s in steps]


def shown_arguments(raw: Any) -> Any:
    """A call's arguments as the model wrote them: parsed when they are JSON, else the text."""
    if not isinstance(raw, str):
        return raw
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return raw
