"""The runner: the only module that owns tasks.

One loop drives the planner. Nodes run as tasks in one task group and report back
through a memory object stream; the loop owns all mutable run state. Pure, synchronous
kinds (``inline``) run in the loop itself, which is what keeps tiny nodes cheap.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream
from pydantic_core import PydanticSerializationError, to_jsonable_python

from graphflow import events as ev
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph, CompiledNode
from graphflow.errors import NodeOutputError, NodeTimeout
from graphflow.inputs import check_run_inputs
from graphflow.nodes.base import NodeContext
from graphflow.plan import TERMINAL, ErrorInfo, NodeState, Plan, Transition
from graphflow.ports import EventSink


@dataclass
class RunResult:
    run_id: str
    status: str
    """succeeded, failed or cancelled."""
    outputs: dict[str, Any]
    events: list[ev.Event]
    node_states: dict[str, str]
    failed_node: str | None = None
    error: str | None = None
    degraded: list[str] = field(default_factory=list)
    """Optional nodes that failed; their default output was used."""
    stopped_early: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass
class _Done:
    node_id: str
    ok: bool
    payload: Any
    duration: float


@dataclass
class _Cancel:
    reason: str


@dataclass
class RunControl:
    """Handle to cancel a run from outside (another task, a UI button)."""

    _send: MemoryObjectSendStream[Any] | None = None
    _pending: str | None = None
    cancelled: bool = field(default=False, init=False)

    def cancel(self, reason: str = "cancelled by user") -> None:
        self.cancelled = True
        if self._send is not None:
            self._send.send_nowait(_Cancel(reason))
        else:
            self._pending = reason


class Runner:
    def __init__(
        self,
        graph: CompiledGraph,
        *,
        sinks: Sequence[EventSink] = (),
        clock: Clock | None = None,
        max_concurrency: int = 64,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.graph = graph
        self.sinks = list(sinks)
        self.clock = clock or RealClock()
        self.max_concurrency = max_concurrency

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        control: RunControl | None = None,
        graph_version: int | None = None,
    ) -> RunResult:
        inputs = check_run_inputs(self.graph, inputs or {})
        return await _Run(self, dict(inputs), run_id or uuid.uuid4().hex, control or RunControl(), graph_version).go()


class _Run:
    def __init__(self, runner: Runner, inputs: dict[str, Any], run_id: str, control: RunControl,
                 graph_version: int | None) -> None:
        self.r = runner
        self.graph = runner.graph
        self.clock = runner.clock
        self.inputs = inputs
        self.run_id = run_id
        self.control = control
        self.graph_version = graph_version
        self.plan = Plan(runner.graph)
        self.events: list[ev.Event] = []
        self.seq = 0
        self.started: dict[str, float] = {}
        self.scopes: dict[str, anyio.CancelScope] = {}
        self.in_flight = 0
        self.run_outputs: dict[str, Any] = {}

    async def emit(self, cls: type[ev._EventBase], **fields: Any) -> None:
        event = cls.model_construct(run_id=self.run_id, seq=self.seq, at=self.clock.time(), **fields)
        self.seq += 1
        self.events.append(event)  # type: ignore[arg-type]
        for sink in self.r.sinks:
            await sink.publish(event)  # type: ignore[arg-type]

    async def go(self) -> RunResult:
        t0 = self.clock.monotonic()
        await self.emit(ev.RunStarted, graph_id=self.graph.spec.id, graph_version=self.graph_version,
                        inputs=self.inputs, node_ids=list(self.graph.order))
        send, receive = anyio.create_memory_object_stream[Any](math.inf)
        self.control._send = send
        if self.control._pending is not None:
            self.plan.cancel(self.control._pending)
        async with send, receive, anyio.create_task_group() as tg:
            await self.pump(tg, send)
            while not self.plan.finished:
                message = await receive.receive()
                if isinstance(message, _Cancel):
                    self.plan.cancel(message.reason)
                elif self.plan.state[message.node_id] is NodeState.RUNNING:
                    self.in_flight -= 1
                    self.report(message.node_id, message.ok, message.payload, message.duration)
                else:
                    self.in_flight -= 1  # finished after it was cancelled: its result is dropped
                await self.pump(tg, send)
            self.control._send = None
        duration = self.clock.monotonic() - t0
        status = self.plan.status
        failure = self.plan.failure
        if status == "cancelled":
            await self.emit(ev.RunCancelled, reason=self.plan.cancel_reason or "", duration=duration)
        else:
            await self.emit(ev.RunFinished, status=status, outputs=self.run_outputs, duration=duration,
                            degraded=list(self.plan.degraded), stopped_early=self.plan.stopped_early,
                            failed_node=failure.node_id if failure else None,
                            error=f"{failure.type}: {failure.message}" if failure else None)
        return RunResult(
            run_id=self.run_id, status=status, outputs=self.run_outputs, events=self.events,
            node_states={n: s.value for n, s in self.plan.state.items()},
            failed_node=failure.node_id if failure else None,
            error=f"{failure.type}: {failure.message}" if failure else None,
            degraded=list(self.plan.degraded), stopped_early=self.plan.stopped_early,
        )

    def report(self, node_id: str, ok: bool, payload: Any, duration: float) -> None:
        if ok:
            self.plan.mark_succeeded(node_id, payload)
        else:
            self.plan.mark_failed(node_id, payload)

    async def pump(self, tg: TaskGroup, send: MemoryObjectSendStream[Any]) -> None:
        """Emit what the planner decided, then start what is ready, until nothing changes."""
        while True:
            for transition in self.plan.take_transitions():
                await self.publish(transition)
            room = self.r.max_concurrency - self.in_flight
            ready = self.plan.take_ready(None if room >= len(self.graph.order) else room)
            if not ready:
                return
            for node_id in ready:
                node = self.graph.nodes[node_id]
                self.started[node_id] = self.clock.monotonic()
                await self.emit(ev.NodeStarted, node_id=node_id, attempt=1)
                ctx = NodeContext(self.run_id, node_id, 1, self.inputs, self.clock)
                if node.kind.inline:
                    ok, payload = self.call_inline(node, ctx)
                    self.report(node_id, ok, payload, 0.0)
                else:
                    self.in_flight += 1
                    scope = anyio.CancelScope()
                    self.scopes[node_id] = scope
                    tg.start_soon(self.call_task, node, ctx, scope, send)

    def call_inline(self, node: CompiledNode, ctx: NodeContext) -> tuple[bool, Any]:
        try:
            return True, _jsonable(node.kind.run_inline(node.runtime, self.plan.inputs_for(node.id), ctx))
        except Exception as exc:
            return False, ErrorInfo(type(exc).__name__, str(exc), node.id)

    async def call_task(self, node: CompiledNode, ctx: NodeContext, scope: anyio.CancelScope,
                        send: MemoryObjectSendStream[Any]) -> None:
        t0 = self.clock.monotonic()
        inputs = self.plan.inputs_for(node.id)
        with scope:
            try:
                timeout = node.spec.timeout
                if timeout is None:
                    output = await node.kind.run(node.runtime, inputs, ctx)
                else:
                    output = await self.with_timeout(node, inputs, ctx, timeout)
                result = _Done(node.id, True, _jsonable(output), self.clock.monotonic() - t0)
            except Exception as exc:
                error = ErrorInfo(type(exc).__name__, str(exc) or type(exc).__name__, node.id)
                result = _Done(node.id, False, error, self.clock.monotonic() - t0)
            send.send_nowait(result)
        if scope.cancelled_caught:
            send.send_nowait(_Done(node.id, False, None, self.clock.monotonic() - t0))

    async def with_timeout(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                           timeout: float) -> dict[str, Any]:
        """Races the node against ``clock.sleep`` so a fake clock can drive timeouts."""
        output: dict[str, Any] | None = None
        async with anyio.create_task_group() as tg:
            async def watchdog() -> None:
                await self.clock.sleep(timeout)
                tg.cancel_scope.cancel()

            tg.start_soon(watchdog)
            output = await node.kind.run(node.runtime, inputs, ctx)
            tg.cancel_scope.cancel()
        if output is None and tg.cancel_scope.cancel_called:
            raise NodeTimeout(timeout, node_id=node.id, attempt=ctx.attempt)
        return output or {}

    def collect_output(self, node_id: str, output: dict[str, Any]) -> None:
        node = self.graph.nodes[node_id]
        name = getattr(node.config, "output_name", None) if node.kind.ends_run else None
        if node.spec.kind == "output":
            name = node.config.name
        if name:
            self.run_outputs[name] = output.get("value")

    async def publish(self, t: Transition) -> None:
        node_id = t.node_id
        started = self.started.get(node_id)
        duration = self.clock.monotonic() - started if started is not None else 0.0
        if t.state is NodeState.RUNNING:  # a join starts waiting on its branches
            self.started[node_id] = self.clock.monotonic()
            await self.emit(ev.NodeStarted, node_id=node_id, attempt=1)
        elif t.state is NodeState.SUCCEEDED:
            output = t.output or {}
            self.collect_output(node_id, output)
            error = f"{t.error.type}: {t.error.message}" if t.error else None
            await self.emit(ev.NodeSucceeded, node_id=node_id, attempt=1, duration=duration, output=output,
                            output_ref=None, edges_taken=list(t.edges_taken), degraded=t.degraded, error=error)
        elif t.state is NodeState.FAILED:
            assert t.error is not None
            await self.emit(ev.NodeFailed, node_id=node_id, attempt=1, duration=duration, error_type=t.error.type,
                            error_message=t.error.message, handled=t.handled)
        elif t.state is NodeState.SKIPPED:
            await self.emit(ev.NodeSkipped, node_id=node_id, reason=t.reason)
        elif t.state is NodeState.CANCELLED:
            scope = self.scopes.get(node_id)
            if scope is not None:
                scope.cancel()
            await self.emit(ev.NodeCancelled, node_id=node_id, reason=t.reason)


def _jsonable(output: Any) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise NodeOutputError(f"a node must return a dict of port values, not {type(output).__name__}")
    try:
        return to_jsonable_python(output)  # type: ignore[no-any-return]
    except PydanticSerializationError as exc:
        raise NodeOutputError(f"output is not JSON data: {exc}") from None


__all__ = ["RunControl", "RunResult", "Runner", "TERMINAL"]
