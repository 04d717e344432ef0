"""The planner: pure scheduling state for one run, in the manner of ``graphlib``.

No ``await`` and no I/O. The runner asks ``take_ready()`` for nodes to start and
reports back with ``mark_succeeded``/``mark_failed``; every change of a node's state is
recorded as a ``Transition`` that the runner turns into an event. Joins, conditional
edges, skipping, fallback gates and cancelling what is no longer needed are all
decided here.

Edge resolution: once its source is settled, each edge is LIVE (carries a value),
DEAD (branch not taken, source skipped) or ERROR (source failed and a tolerant join
downstream absorbs it). A node runs once all its incoming edges are resolved, at least
one is live and every required input is live; otherwise it is skipped. A disabled node
(``NodeSpec.disabled``) is skipped once its inputs are resolved, its out-edges DEAD.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from graphflow.compile import CompiledEdge, CompiledGraph, CompiledNode
from graphflow.events import NodeStatus
from graphflow.expressions import ExpressionError
from graphflow.joins import DEAD, ERROR, LIVE, JoinTracker
from graphflow.model import ERROR_PORT
from graphflow.nodes.routing import expression_scope
from graphflow.waits import Wait


class NodeState(StrEnum):
    """The scheduler's states: the read model's ``NodeStatus`` plus two of its own."""

    PENDING = NodeStatus.PENDING.value
    READY = "ready"
    HELD = "held"
    """Ready, but a sequential fallback has not reached its branch yet."""
    RUNNING = NodeStatus.RUNNING.value
    WAITING = NodeStatus.WAITING.value
    """Suspended until woken (``graphflow.waits``): not settled, not running."""
    SUCCEEDED = NodeStatus.SUCCEEDED.value
    FAILED = NodeStatus.FAILED.value
    SKIPPED = NodeStatus.SKIPPED.value
    CANCELLED = NodeStatus.CANCELLED.value


_NAMES = {s: s.value for s in NodeState}
TERMINAL = frozenset({NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED})


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    type: str
    message: str
    node_id: str
    traceback: str | None = field(default=None, compare=False)
    """The node's own frames, trimmed (see ``failures.py``)."""
    detail: dict[str, Any] | None = field(default=None, compare=False)
    """What the node got done before it failed (a fail-fast map's partial results)."""


class Transition(NamedTuple):
    """One change of a node's state. A named tuple: the planner makes one or two per node,
    and a frozen dataclass costs several times as much to build."""

    node_id: str
    state: NodeState
    reason: str = ""
    output: dict[str, Any] | None = None
    edges_taken: tuple[str, ...] = ()
    error: ErrorInfo | None = None
    handled: bool = False
    degraded: bool = False
    """Succeeded with its default output after failing (an optional node)."""
    wait: Wait | None = None
    """What a node entering ``WAITING`` waits for."""


class Plan:
    """One run's scheduling state. Everything is private: read it through the queries,
    change it through the verbs (``take_ready``, ``mark_succeeded``, ``mark_failed``,
    ``restore``, ``cancel``)."""

    def __init__(self, graph: CompiledGraph) -> None:
        self._graph = graph
        self._state: dict[str, NodeState] = dict.fromkeys(graph.order, NodeState.PENDING)
        self._outputs: dict[str, dict[str, Any]] = {}
        self._failure: ErrorInfo | None = None
        self._cancel_reason: str | None = None
        self._stopped_early: str | None = None
        self._degraded: list[str] = []
        self._edge_status: dict[str, str] = {}
        self._edge_value: dict[str, Any] = {}
        """A resolved edge's status and, if LIVE, its value (ERROR: the error); two dicts, not a
        tuple per edge: edges resolve twice per node of a fan-out."""
        self._unresolved = graph.in_degree.copy()
        self._open = len(graph.order)
        self._ready: deque[str] = deque()
        self._held: dict[str, list[str]] = {}
        self._waits: dict[str, Wait] = {}
        self._gate_level: dict[str, int] = dict.fromkeys(graph.join_branches, 0)
        self._joins: dict[str, JoinTracker] = {}
        for join_id, branches in graph.join_branches.items():
            join = graph.nodes[join_id]
            assert join.join is not None
            counts = Counter(e.source for e in join.in_edges)
            self._joins[join_id] = JoinTracker(join.join, branches, dict(counts))
        self._transitions: list[Transition] = []
        for node_id, count in graph.in_degree.items():  # the roots
            if count == 0 and graph.nodes[node_id].join is None:
                self._settle(node_id)

    # -- queries ---------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._open == 0

    def state_of(self, node_id: str) -> NodeState:
        return self._state[node_id]

    def states(self) -> dict[str, NodeState]:
        return dict(self._state)

    def state_names(self) -> dict[str, str]:
        """Each node's state as its plain name (``succeeded``...)."""
        names = _NAMES
        return {n: names[s] for n, s in self._state.items()}

    def output_of(self, node_id: str) -> dict[str, Any] | None:
        return self._outputs.get(node_id)

    @property
    def waits(self) -> dict[str, Wait]:
        """The nodes waiting now and what for, in the order they began to wait."""
        return {n: w for n, w in self._waits.items() if self._state[n] is NodeState.WAITING}

    @property
    def failure(self) -> ErrorInfo | None:
        """The failure that ended the run, if one did."""
        return self._failure

    @property
    def cancel_reason(self) -> str | None:
        return self._cancel_reason

    @property
    def stopped_early(self) -> str | None:
        return self._stopped_early

    @property
    def degraded(self) -> tuple[str, ...]:
        """Optional nodes that failed and went on with their default output."""
        return tuple(self._degraded)

    @property
    def status(self) -> str:
        if not self.finished:
            return "running"
        if self._cancel_reason is not None:
            return "cancelled"
        return "failed" if self._failure is not None else "succeeded"

    def inputs_for(self, node_id: str) -> dict[str, Any]:
        """Values of the live incoming edges, by port (a multi port maps source -> value)."""
        node = self._graph.nodes[node_id]
        values: dict[str, Any] = {}
        multi = node.multi_ports
        statuses, given = self._edge_status, self._edge_value
        for edge in node.in_edges:
            if statuses.get(edge.id) != LIVE:
                continue
            if multi and edge.target_port in multi:
                values.setdefault(edge.target_port, {})[edge.source] = given[edge.id]
            else:
                values[edge.target_port] = given[edge.id]
        return values

    def take_ready(self, limit: int | None = None) -> list[str]:
        """Nodes to start now, marked running. ``limit`` caps how many are handed out."""
        taken: list[str] = []
        while self._ready and (limit is None or len(taken) < limit):
            node_id = self._ready.popleft()
            if self._state[node_id] is NodeState.READY:
                self._state[node_id] = NodeState.RUNNING
                taken.append(node_id)
        return taken

    def take_transitions(self) -> list[Transition]:
        transitions, self._transitions = self._transitions, []
        return transitions

    # -- reports from the runner ------------------------------------------------

    def mark_succeeded(self, node_id: str, output: dict[str, Any]) -> None:
        if self._state.get(node_id) is not NodeState.RUNNING:
            self._expect_running(node_id)
        node = self._graph.nodes[node_id]
        if node.kind.ends_run:
            self._stop(node_id, output)
            return
        try:
            decided = self._decide(node, output)
        except ExpressionError as exc:
            self._fail(node_id, ErrorInfo("ExpressionError", str(exc), node_id))
            return
        self._succeed(node_id, output, decided)

    def mark_failed(self, node_id: str, error: ErrorInfo) -> None:
        self._expect_running(node_id)
        self._fail(node_id, error)

    def mark_waiting(self, node_id: str, wait: Wait) -> None:
        """The node suspended itself: it stays open (the run is not finished) but runs no more
        in this run's loop; it settles in a later loop, once woken (``graphflow.waits``)."""
        self._expect_running(node_id)
        self._state[node_id] = NodeState.WAITING
        self._waits[node_id] = wait
        self._transitions.append(Transition(node_id, NodeState.WAITING, wait=wait))

    def restore(self, succeeded: dict[str, dict[str, Any]], failed: dict[str, ErrorInfo],
                degraded: Sequence[str] = ()) -> None:
        """Settle nodes whose outcome is already recorded, without running them (resume).

        Everything downstream is decided again exactly as in a live run; nodes with no
        recorded outcome stay ready to run. ``degraded``: recorded degraded nodes."""
        self._degraded.extend(n for n in degraded if n not in self._degraded)
        while True:
            progressed = False
            keep = []
            for node_id in self.take_ready():
                if node_id in succeeded:
                    self.mark_succeeded(node_id, succeeded[node_id])
                    progressed = True
                elif node_id in failed:
                    self.mark_failed(node_id, failed[node_id])
                    progressed = True
                else:
                    keep.append(node_id)
            for node_id in keep:
                self._state[node_id] = NodeState.READY
            self._ready.extendleft(reversed(keep))
            if not progressed:
                return

    def cancel(self, reason: str) -> None:
        """Cancel the run: every node not yet settled ends as cancelled."""
        if self.finished:
            return
        self._cancel_reason = reason
        self._abort(reason)

    # -- internals ---------------------------------------------------------------

    def _expect_running(self, node_id: str) -> None:
        state = self._state.get(node_id)
        if state is not NodeState.RUNNING:
            raise ValueError(f"node {node_id!r} is {state.value if state else 'unknown'}, not running")

    def _decide(self, node: CompiledNode, values: dict[str, Any],
                strict: bool = True) -> list[tuple[CompiledEdge, str, Any]]:
        """The one rule for out-edges: an edge whose port has a value is LIVE unless its
        condition says no; an edge whose port has none is DEAD. A condition that cannot be
        evaluated raises ``ExpressionError`` (naming the edge), or with ``strict=False``
        (error edges: the node has already failed) leaves its edge DEAD."""
        decided: list[tuple[CompiledEdge, str, Any]] = []
        for edge in node.out_edges:
            if edge.source_port not in values:
                decided.append((edge, DEAD, None))
                continue
            value = values[edge.source_port]
            if edge.condition is not None:
                try:
                    taken = bool(edge.condition.evaluate(expression_scope(value)))
                except ExpressionError as exc:
                    if not strict:
                        decided.append((edge, DEAD, None))
                        continue
                    raise ExpressionError(f"condition of edge {edge.id!r}: {exc}") from None
                if not taken:
                    decided.append((edge, DEAD, None))
                    continue
            decided.append((edge, LIVE, value))
        return decided

    def _finish(self, node_id: str, transition: Transition) -> None:
        self._state[node_id] = transition.state
        self._open -= 1
        self._transitions.append(transition)

    def _succeed(self, node_id: str, output: dict[str, Any], decided: list[tuple[CompiledEdge, str, Any]],
                 error: ErrorInfo | None = None) -> None:
        self._outputs[node_id] = output
        taken = []
        for edge, status, _ in decided:  # not a comprehension: it would cost a call per node
            if status == LIVE:
                taken.append(edge.id)
        self._state[node_id] = NodeState.SUCCEEDED  # _finish, written out: this runs once per node
        self._open -= 1
        self._transitions.append(Transition(node_id, NodeState.SUCCEEDED, "", output, tuple(taken), error, False,
                                            error is not None))
        for edge, status, value in decided:
            self._resolve(edge, status, value)

    def _fail(self, node_id: str, error: ErrorInfo) -> None:
        node = self._graph.nodes[node_id]
        payload = None
        decided: list[tuple[CompiledEdge, str, Any]] = []
        if any(e.source_port == ERROR_PORT for e in node.out_edges):
            payload = {"error_type": error.type, "message": error.message, "node_id": node_id,
                       "input": self.inputs_for(node_id).get("in")}
            if error.detail is not None:
                payload["partial"] = error.detail
            decided = self._decide(node, {ERROR_PORT: payload}, strict=False)
        routed = tuple(e.id for e, status, _ in decided if status == LIVE)
        if node.spec.optional and not routed:
            output = {"out": node.spec.default_output}
            try:
                degraded = self._decide(node, output)
            except ExpressionError as exc:  # it cannot go on with its default: a plain failure
                error = ErrorInfo("ExpressionError", str(exc), node_id)
            else:
                self._degraded.append(node_id)
                self._succeed(node_id, output, degraded, error=error)
                return
        # Error edges none of whose conditions held leave the failure unhandled.
        handled = bool(routed) or (node.failure_handled and payload is None)
        self._finish(node_id, Transition(node_id, NodeState.FAILED, error=error, handled=handled,
                                         edges_taken=routed))
        if routed:
            for edge, status, value in decided:
                self._resolve(edge, status, value)
        elif node.failure_propagates:
            for edge in node.out_edges:
                self._resolve(edge, ERROR, error)
        else:
            self._failure = error
            self._abort(f"node {node_id!r} failed")

    def _stop(self, node_id: str, output: dict[str, Any]) -> None:
        """A stop node ends the run early: what runs is cancelled, what waits is skipped."""
        stop = output.get("stop") or {}
        reason = str(stop.get("reason") or f"stopped by node {node_id!r}")
        self._stopped_early = reason
        self._finish(node_id, Transition(node_id, NodeState.SUCCEEDED, output=output))
        if stop.get("status") == "failed":
            self._failure = ErrorInfo("StoppedEarly", reason, node_id)
        for other in self._graph.order:
            state = self._state[other]
            if state is NodeState.RUNNING or state is NodeState.WAITING:
                self._finish(other, Transition(other, NodeState.CANCELLED, reason=f"run stopped early: {reason}"))
            elif state not in TERMINAL:
                self._finish(other, Transition(other, NodeState.SKIPPED, reason=f"run stopped early: {reason}"))

    def _skip(self, node_id: str, reason: str, status: str = DEAD, error: ErrorInfo | None = None) -> None:
        self._finish(node_id, Transition(node_id, NodeState.SKIPPED, reason=reason, error=error))
        for edge in self._graph.nodes[node_id].out_edges:
            self._resolve(edge, status, error)

    def _abort(self, reason: str) -> None:
        for node_id in self._graph.order:
            if self._state[node_id] not in TERMINAL:
                self._finish(node_id, Transition(node_id, NodeState.CANCELLED, reason=reason))

    def _resolve(self, edge: CompiledEdge, status: str, value: Any) -> None:
        self._edge_status[edge.id] = status
        self._edge_value[edge.id] = value
        target = edge.target
        if self._state[target] in TERMINAL:
            return
        self._unresolved[target] -= 1
        tracker = self._joins.get(target)
        if tracker is not None:
            if self._state[target] is NodeState.PENDING:  # the join now waits on its branches
                self._state[target] = NodeState.RUNNING
                self._transitions.append(Transition(target, NodeState.RUNNING))
            if tracker.resolve(edge.source, status, value):
                self._update_join(target, tracker)
        elif self._unresolved[target] == 0:
            self._settle(target)

    def _settle(self, node_id: str) -> None:
        """All incoming edges are resolved: run the node, or skip it."""
        node = self._graph.nodes[node_id]
        if node.spec.disabled:
            self._skip(node_id, "disabled")
            return
        live_ports: set[str] = set()
        error: ErrorInfo | None = None
        statuses = self._edge_status
        for edge in node.in_edges:  # one pass: this runs once per node of every run
            status = statuses[edge.id]
            if status == LIVE:
                live_ports.add(edge.target_port)
            elif status == ERROR and error is None:
                error = self._edge_value[edge.id]
        if error is not None:
            self._skip(node_id, f"upstream node {error.node_id!r} failed", ERROR, error)
            return
        if node.in_edges and not live_ports:
            self._skip(node_id, "no incoming branch was taken")
            return
        for name in node.required_ports:
            if name not in live_ports:
                self._skip(node_id, f"required input {name!r} received no value")
                return
        if node.gate is not None and node.gate[1] > self._gate_level[node.gate[0]]:
            self._state[node_id] = NodeState.HELD
            self._held.setdefault(node.gate[0], []).append(node_id)
            return
        self._state[node_id] = NodeState.READY
        self._ready.append(node_id)

    def _update_join(self, join_id: str, tracker: JoinTracker) -> None:
        verdict = tracker.decide()
        if verdict is None:
            if tracker.cfg.strategy == "first_success" and tracker.cfg.mode == "sequential":
                self._open_gate(join_id, tracker.cursor)
            return
        node = self._graph.nodes[join_id]
        if node.spec.disabled:
            self._skip(join_id, "disabled")
        elif verdict.kind == "ok":
            # A join that succeeded sends its verdict down every out-edge but its error edges.
            output = {"out": verdict.payload}
            values = {e.source_port: verdict.payload for e in node.out_edges if e.source_port != ERROR_PORT}
            try:
                self._succeed(join_id, output, self._decide(node, values))
            except ExpressionError as exc:
                self._fail(join_id, ErrorInfo("ExpressionError", str(exc), join_id))
        elif verdict.kind == "fail":
            self._fail(join_id, ErrorInfo(verdict.payload.type, verdict.payload.message, join_id))
        else:
            self._skip(join_id, "no incoming branch was taken")
        if tracker.pending:  # with every branch settled, so is everything that fed them
            self._release_unneeded(join_id)

    def _open_gate(self, join_id: str, index: int) -> None:
        if index <= self._gate_level[join_id]:
            return
        self._gate_level[join_id] = index
        still_held = []
        for node_id in self._held.get(join_id, []):
            gate = self._graph.nodes[node_id].gate
            if self._state[node_id] is NodeState.HELD and gate is not None and gate[1] <= index:
                self._state[node_id] = NodeState.READY
                self._ready.append(node_id)
            elif self._state[node_id] is NodeState.HELD:
                still_held.append(node_id)
        self._held[join_id] = still_held

    def _release_unneeded(self, join_id: str) -> None:
        """After a join decided early, stop the work that only fed it."""
        nodes = self._graph.nodes
        stack = [e.source for e in nodes[join_id].in_edges]
        while stack:
            node_id = stack.pop()
            if self._state[node_id] in TERMINAL:
                continue
            if not all(self._state[e.target] in TERMINAL for e in nodes[node_id].out_edges):
                continue
            busy = self._state[node_id] in (NodeState.RUNNING, NodeState.WAITING)
            state = NodeState.CANCELLED if busy else NodeState.SKIPPED
            self._finish(node_id, Transition(node_id, state, reason=f"join {join_id!r} no longer needs it"))
            stack.extend(e.source for e in nodes[node_id].in_edges)
