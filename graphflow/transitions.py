"""From the planner's transitions to events: pure functions, no event loop, no I/O.

The run loop keeps one ``NodeRun`` per node it started (or found settled in the log);
``node_event`` turns a ``Transition`` plus that record into the event to publish. The
loop only stamps it (run id, seq, time) and sends it.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from graphflow import events as ev
from graphflow.compile import CompiledNode
from graphflow.failures import input_preview
from graphflow.plan import NodeState, Transition

EventDraft = tuple[type[ev._EventBase], dict[str, Any]]
"""An event's class and fields, before the loop numbers and times it."""


@dataclass(slots=True)
class NodeRun:
    """What the run loop knows about one node of one run."""

    attempt: int = 1
    started_at: float | None = None
    """Monotonic time the current attempt (or a join's wait) started, in this process."""
    ended_at: float | None = None
    """When an inline node's call returned: its duration ends there, not when its event is
    noted (after the rest of its batch of ready nodes ran)."""
    cost: float = 0.0
    tokens: int = 0
    cached: bool = False


def node_event(t: Transition, run: NodeRun | None, now: float, reused_from: str | None = None,
               inputs: dict[str, Any] | None = None, woken: bool = False) -> EventDraft:
    """The event for a node's transition. ``run`` is None for a node this run never
    started and found no record of: its success was reused from ``reused_from``.
    ``inputs``: what a failed node got (previewed on its event); ``woken``: a node that waits
    again after being woken."""
    node_id = t.node_id
    match t.state:
        case NodeState.RUNNING:  # a join starts waiting on its branches
            return ev.NodeStarted, {"node_id": node_id, "attempt": 1}
        case NodeState.SUCCEEDED:
            return ev.NodeSucceeded, _succeeded(t, run, now, reused_from)
        case NodeState.FAILED:
            assert t.error is not None
            r = run or NodeRun()
            return ev.NodeFailed, {"node_id": node_id, "attempt": r.attempt, "duration": _duration(run, now),
                                   "error_type": t.error.type, "error_message": t.error.message,
                                   "handled": t.handled, "edges_taken": list(t.edges_taken), "cost": r.cost,
                                   "tokens": r.tokens, "traceback": t.error.traceback,
                                   "input_preview": input_preview(inputs or {}), "partial": t.error.detail}
        case NodeState.SKIPPED:
            return ev.NodeSkipped, {"node_id": node_id, "reason": t.reason}
        case NodeState.CANCELLED:
            return ev.NodeCancelled, {"node_id": node_id, "reason": t.reason}
        case NodeState.WAITING:
            assert t.wait is not None
            fields = {"node_id": node_id, "wait_kind": t.wait.kind, "key": t.wait.key, "due_at": t.wait.due_at,
                      "detail": dict(t.wait.detail)}
            if woken:
                fields["woken"] = True
            return ev.NodeWaiting, fields
    raise ValueError(f"node {node_id!r}: no event for entering {t.state.value}")


def node_events(transitions: list[Transition], nodes: Mapping[str, NodeRun], now: float, reused_from: str | None,
                failed_with: Mapping[str, dict[str, Any]], wakes: Container[str]) -> list[EventDraft]:
    """``node_event`` of each transition of a batch, with each node's record as it is now
    (settled nodes' records no longer change), ``failed_with`` each failed node's inputs, and
    ``wakes`` the nodes that were woken."""
    return [node_event(t, nodes.get(t.node_id), now, reused_from, failed_with.get(t.node_id),
                       t.state is NodeState.WAITING and t.node_id in wakes) for t in transitions]


def _succeeded(t: Transition, run: NodeRun | None, now: float, reused_from: str | None) -> dict[str, Any]:
    r = run or NodeRun()
    return {"node_id": t.node_id, "attempt": r.attempt, "duration": _duration(run, now), "output": t.output or {},
            "edges_taken": list(t.edges_taken), "degraded": t.degraded,
            "error": f"{t.error.type}: {t.error.message}" if t.error else None, "cost": r.cost,
            "tokens": r.tokens, "cached": r.cached, "reused_from": reused_from if run is None else None}


def _duration(run: NodeRun | None, now: float) -> float:
    if run is None or run.started_at is None:
        return 0.0
    return (now if run.ended_at is None else run.ended_at) - run.started_at


def published(node: CompiledNode, output: dict[str, Any]) -> tuple[str, Any] | None:
    """The (name, value) a succeeded node adds to the run's outputs, as its kind says."""
    return node.kind.run_output(node.config, output)
