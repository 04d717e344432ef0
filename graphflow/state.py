"""Rebuild a run's state from its events alone: what storage, the canvas and replay use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphflow import events as ev
from graphflow.events import NodeStatus


@dataclass
class NodeRecord:
    status: NodeStatus = NodeStatus.PENDING
    attempts: int = 0
    duration: float | None = None
    output: dict[str, Any] | None = None
    error: str | None = None
    reason: str = ""
    edges_taken: list[str] = field(default_factory=list)
    retries: int = 0
    degraded: bool = False
    cached: bool = False
    progress: tuple[int, int, int] | None = None
    """Map nodes: (done, failed, total)."""


@dataclass
class RunState:
    run_id: str = ""
    graph_id: str = ""
    status: str = "pending"
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    failed_node: str | None = None
    error: str | None = None
    last_seq: int = -1
    breakers: dict[str, str] = field(default_factory=dict)

    def apply(self, event: ev.Event) -> None:
        if event.seq != self.last_seq + 1:
            raise ValueError(f"event seq {event.seq} follows {self.last_seq}: the log has a gap or a duplicate")
        self.last_seq = event.seq
        if isinstance(event, ev.RunStarted):
            self.run_id, self.graph_id, self.status = event.run_id, event.graph_id, "running"
            self.inputs = dict(event.inputs)
            self.nodes = {n: NodeRecord() for n in event.node_ids}
        elif isinstance(event, ev.RunResumed):
            self.status = "running"
        elif isinstance(event, ev.RunFinished):
            self.status, self.outputs = event.status, dict(event.outputs)
            self.failed_node, self.error = event.failed_node, event.error
        elif isinstance(event, ev.RunCancelled):
            self.status, self.error = NodeStatus.CANCELLED, event.reason
        elif isinstance(event, ev.BreakerChanged):
            self.breakers[event.breaker] = event.to_state
        else:
            node = self.nodes.setdefault(event.node_id, NodeRecord())
            if isinstance(event, ev.NodeStarted):
                node.status, node.attempts = NodeStatus.RUNNING, event.attempt
            elif isinstance(event, ev.NodeSucceeded):
                node.status, node.duration, node.output = NodeStatus.SUCCEEDED, event.duration, event.output
                node.attempts = max(node.attempts, event.attempt)
                node.edges_taken = list(event.edges_taken)
                node.degraded, node.cached = event.degraded, event.cached
                if event.error:
                    node.error = event.error
            elif isinstance(event, ev.NodeFailed):
                node.status, node.duration = NodeStatus.FAILED, event.duration
                node.error = f"{event.error_type}: {event.error_message}"
            elif isinstance(event, ev.NodeSkipped):
                node.status, node.reason = NodeStatus.SKIPPED, event.reason
            elif isinstance(event, ev.NodeCancelled):
                node.status, node.reason = NodeStatus.CANCELLED, event.reason
            elif isinstance(event, ev.NodeRetrying):
                node.status, node.retries = NodeStatus.RETRYING, node.retries + 1
                node.error = f"{event.error_type}: {event.error_message}"
            elif isinstance(event, ev.MapProgress):
                node.progress = (event.done, event.failed, event.total)

    @classmethod
    def from_events(cls, events: Iterable[ev.Event]) -> RunState:
        state = cls()
        for event in events:
            state.apply(event)
        return state
