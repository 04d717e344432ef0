"""The runner: the only module that owns tasks.

One loop drives the planner. Nodes run as tasks in one task group and report back
through a mailbox (``mailbox.py``, ``attempts.py``); the loop owns all mutable run state
and is the only place events are numbered and published. Pure, synchronous kinds
(``inline``) run in the loop itself, which is what keeps tiny nodes cheap.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from graphflow import events as ev
from graphflow.attempts import (
    Attempts,
    AttemptStarted,
    BreakerChanges,
    Done,
    Progress,
    Retrying,
    error_info,
    is_cancellation,
    jsonable,
)
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph, CompiledNode
from graphflow.failures import input_preview
from graphflow.inputs import check_run_inputs
from graphflow.mailbox import Mailbox, Workers
from graphflow.nodes.base import NodeContext
from graphflow.plan import NodeState, Plan, Transition
from graphflow.ports import EventSink, KeyValueStore
from graphflow.resilience import BreakerRegistry
from graphflow.resume import Recovery, Seed, recover


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
    cost: float = 0.0
    tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass
class _Cancel:
    reason: str


class RunControl:
    """Handle to cancel a run from outside (another task, a UI button)."""

    def __init__(self) -> None:
        self._send: Any = None
        self._pending: str | None = None
        self.cancelled = False

    def cancel(self, reason: str = "cancelled by user") -> None:
        self.cancelled = True
        if self._send is not None:
            self._send.send_nowait(_Cancel(reason))
        else:
            self._pending = reason


class Runner:
    """Runs one compiled graph, as many times as asked. Breakers and the cache are shared
    by every run of every runner given the same objects."""

    def __init__(
        self,
        graph: CompiledGraph,
        *,
        sinks: Sequence[EventSink] = (),
        clock: Clock | None = None,
        max_concurrency: int = 64,
        breakers: BreakerRegistry | None = None,
        cache: KeyValueStore | None = None,
        rng: random.Random | None = None,
        progress_interval: float = 0.25,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.graph = graph
        self.sinks = list(sinks)
        self.clock = clock or RealClock()
        self.max_concurrency = max_concurrency
        self.breakers = breakers or BreakerRegistry(self.clock)
        self.cache = cache
        self.rng = rng or random.Random()
        self.progress_interval = progress_interval

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        control: RunControl | None = None,
        graph_version: int | None = None,
        seed: Seed | None = None,
    ) -> RunResult:
        """Run the graph. With ``seed``, outputs of an earlier failed run are reused."""
        inputs = check_run_inputs(self.graph, inputs or {})
        run = _Run(self, dict(inputs), run_id or uuid.uuid4().hex, control or RunControl(), graph_version)
        return await run.go(seed=seed)

    async def resume(self, events: Sequence[ev.Event], *, control: RunControl | None = None) -> RunResult:
        """Continue an unfinished run from its log: recorded successes are not run again,
        nodes that were in flight run again with the same idempotency key."""
        rec = recover(events)
        run = _Run(self, rec.inputs, rec.run_id, control or RunControl(), rec.graph_version)
        return await run.go(recovery=rec, logged=list(events))


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
        self.attempt: dict[str, int] = {}
        self.in_flight = 0
        self.run_outputs: dict[str, Any] = {}
        self.usage: dict[str, tuple[float, int, bool]] = {}
        self.last_progress: dict[str, float] = {}
        self.recovery: Recovery | None = None
        self.workers: Workers | None = None
        self.reused_from: str | None = None

    async def emit(self, cls: type[ev._EventBase], **fields: Any) -> None:
        event = ev.make_event(cls, run_id=self.run_id, seq=self.seq, at=self.clock.time(), **fields)
        self.seq += 1
        self.events.append(event)
        for sink in self.r.sinks:
            await sink.publish(event)

    async def go(self, *, seed: Seed | None = None, recovery: Recovery | None = None,
                 logged: list[ev.Event] | None = None) -> RunResult:
        t0 = self.clock.monotonic()
        if recovery is not None:  # the run began in an earlier process: count from its start
            t0 -= max(0.0, self.clock.time() - recovery.started_at)
            self.events, self.seq, self.recovery = list(logged or []), recovery.next_seq, recovery
            await self.emit(ev.RunResumed, reason="continuing an unfinished run")
            self.plan.restore(recovery.succeeded, recovery.failed)
            self.usage.update(recovery.usage)
            self.plan.degraded.extend(recovery.degraded)
            for t in self.plan.take_transitions():
                if t.node_id not in recovery.settled and not (t.state is NodeState.RUNNING and
                                                              t.node_id in recovery.started):
                    await self.publish(t)
                elif t.state is NodeState.SUCCEEDED:
                    self.collect_output(t.node_id, t.output or {})
        else:
            await self.emit(ev.RunStarted, graph_id=self.graph.spec.id, graph_version=self.graph_version,
                            inputs=self.inputs, node_ids=list(self.graph.order),
                            resumed_from=seed.from_run if seed else None)
            await self.checkpoint()  # a durable run exists before any of its nodes runs
            if seed is not None:
                self.reused_from = seed.from_run
                self.plan.restore(seed.outputs, {})
        mailbox = Mailbox()
        self.attempts = Attempts(self.clock, self.r.breakers, self.r.cache, self.r.rng, mailbox)
        self.control._send = mailbox
        if self.control._pending is not None:
            self.plan.cancel(self.control._pending)
        async with anyio.create_task_group() as tg:
            self.workers = Workers(tg, self.attempts.execute, self.attempts.cancelled)
            await self.pump()
            while not self.plan.finished:
                await mailbox.wait()
                # handle everything already there before scheduling again
                while not self.plan.finished and (message := mailbox.get_nowait()) is not None:
                    await self.handle(message)
                await self.pump()
            self.control._send = None
            self.workers.close()
        return await self.finish(self.clock.monotonic() - t0)

    async def checkpoint(self) -> None:
        """Wait until sinks that keep events durably (they have ``flush``) have them."""
        for sink in self.r.sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                await flush()

    async def handle(self, message: Any) -> None:
        if isinstance(message, Done):
            self.in_flight -= 1
            if self.plan.state[message.node_id] is not NodeState.RUNNING:
                return  # it finished after it was cancelled: the result is dropped
            self.attempt[message.node_id] = message.attempt
            self.usage[message.node_id] = (message.cost, message.tokens, message.cached)
            if message.ok:
                self.plan.mark_succeeded(message.node_id, message.payload)
            else:
                self.plan.mark_failed(message.node_id, message.payload)
        elif isinstance(message, Retrying):
            e = message.error
            await self.emit(ev.NodeRetrying, node_id=message.node_id, attempt=message.attempt, delay=message.delay,
                            error_type=e.type, error_message=e.message, duration=message.duration)
        elif isinstance(message, AttemptStarted):
            self.started[message.node_id] = self.clock.monotonic()
            self.attempt[message.node_id] = message.attempt
            await self.emit(ev.NodeStarted, node_id=message.node_id, attempt=message.attempt)
        elif isinstance(message, BreakerChanges):
            for change in message.changes:
                await self.emit(ev.BreakerChanged, breaker=change.breaker, from_state=change.from_state.value,
                                to_state=change.to_state.value, reason=change.reason, node_id=message.node_id)
        elif isinstance(message, Progress):
            await self.emit(ev.MapProgress, node_id=message.node_id, done=message.done, failed=message.failed,
                            total=message.total, results=message.results or {})
        elif isinstance(message, _Cancel):
            self.plan.cancel(message.reason)

    async def pump(self) -> None:
        """Publish what the planner decided, then start what is ready, until nothing changes."""
        while True:
            for transition in self.plan.take_transitions():
                await self.publish(transition)
            room = self.r.max_concurrency - self.in_flight
            ready = self.plan.take_ready(None if room >= len(self.graph.order) else room)
            if not ready:
                return
            for node_id in ready:
                # An inline node earlier in this batch may have ended the run or made this one unneeded.
                if self.plan.state[node_id] is NodeState.RUNNING:
                    await self.start(self.graph.nodes[node_id])

    async def start(self, node: CompiledNode) -> None:
        attempt, retry_at = 1, None
        if self.recovery is not None:  # persisted attempt counter and backoff deadline
            attempt = self.recovery.attempts.get(node.id, 1)
            retry_at = self.recovery.retry_at.get(node.id)
        self.started[node.id] = self.clock.monotonic()
        self.attempt[node.id] = attempt
        await self.emit(ev.NodeStarted, node_id=node.id, attempt=attempt)
        ctx = NodeContext(self.run_id, node.id, attempt, self.inputs, self.clock, self.r.rng)
        inputs = self.plan.inputs_for(node.id)
        if node.inline:
            try:
                output = jsonable(node.kind.run_inline(node.runtime, inputs, ctx))
                if ctx.cost or ctx.tokens:
                    self.usage[node.id] = (ctx.cost, ctx.tokens, False)
            except BaseException as exc:  # SystemExit, KeyboardInterrupt... from the node fail it too
                if is_cancellation(exc):
                    raise
                self.plan.mark_failed(node.id, error_info(node.id, exc))
            else:
                self.plan.mark_succeeded(node.id, output)
            return
        ctx.on_progress = self.progress_reporter(node.id)
        ctx.subgraph_runner = self.run_subgraph
        if self.recovery is not None:
            ctx.recovered_items = self.recovery.map_items.get(node.id, {})
        self.in_flight += 1
        assert self.workers is not None
        self.workers.submit(node.id, (node, inputs, ctx, retry_at))

    def progress_reporter(self, node_id: str) -> Any:
        """Progress is aggregated: one event per interval, plus the final count."""
        def report(done: int, failed: int, total: int, results: dict[int, Any] | None = None) -> None:
            now = self.clock.monotonic()
            if not results and done + failed < total and \
                    now - self.last_progress.get(node_id, -math.inf) < self.r.progress_interval:
                return  # a report with results is a checkpoint: never dropped (the map batches them)
            self.last_progress[node_id] = now
            batch = {str(i): r for i, r in results.items()} if results else None
            self.attempts.send.send_nowait(Progress(node_id, done, failed, total, batch))
        return report

    async def run_subgraph(self, graph: CompiledGraph, inputs: Mapping[str, Any]) -> RunResult:
        """A sub-graph (a map's items) on this run's clock; it shares no state with the run."""
        return await Runner(graph, clock=self.clock, rng=self.r.rng).run(inputs)

    async def publish(self, t: Transition) -> None:
        node_id = t.node_id
        started = self.started.get(node_id)
        duration = self.clock.monotonic() - started if started is not None else 0.0
        attempt = self.attempt.get(node_id, 1)
        cost, tokens, cached = self.usage.get(node_id, (0.0, 0, False))
        if t.state is NodeState.RUNNING:  # a join starts waiting on its branches
            self.started[node_id] = self.clock.monotonic()
            await self.emit(ev.NodeStarted, node_id=node_id, attempt=1)
        elif t.state is NodeState.SUCCEEDED:
            output = t.output or {}
            self.collect_output(node_id, output)
            error = f"{t.error.type}: {t.error.message}" if t.error else None
            reused = self.reused_from if started is None and node_id not in self.usage else None
            if self.graph.nodes[node_id].join is not None:
                reused = None
            await self.emit(ev.NodeSucceeded, node_id=node_id, attempt=attempt, duration=duration, output=output,
                            edges_taken=list(t.edges_taken), degraded=t.degraded, error=error,
                            cost=cost, tokens=tokens, cached=cached, reused_from=reused)
        elif t.state is NodeState.FAILED:
            assert t.error is not None
            await self.emit(ev.NodeFailed, node_id=node_id, attempt=attempt, duration=duration,
                            error_type=t.error.type, error_message=t.error.message, handled=t.handled,
                            edges_taken=list(t.edges_taken), cost=cost, tokens=tokens, traceback=t.error.traceback,
                            input_preview=input_preview(self.plan.inputs_for(node_id)), partial=t.error.detail)
        elif t.state is NodeState.SKIPPED:
            await self.emit(ev.NodeSkipped, node_id=node_id, reason=t.reason)
        elif t.state is NodeState.CANCELLED:
            if self.workers is not None:
                self.workers.cancel(node_id)
            await self.emit(ev.NodeCancelled, node_id=node_id, reason=t.reason)

    def collect_output(self, node_id: str, output: dict[str, Any]) -> None:
        node = self.graph.nodes[node_id]
        name = getattr(node.config, "output_name", None) if node.kind.ends_run else None
        if node.spec.kind == "output":
            name = node.config.name
        if name:
            self.run_outputs[name] = output.get("value")

    async def finish(self, duration: float) -> RunResult:
        status = self.plan.status
        failure = self.plan.failure
        error = f"{failure.type}: {failure.message}" if failure else None
        cost = sum(u[0] for u in self.usage.values())
        tokens = sum(u[1] for u in self.usage.values())
        if status == "cancelled":
            await self.emit(ev.RunCancelled, reason=self.plan.cancel_reason or "", duration=duration)
        else:
            await self.emit(ev.RunFinished, status=status, outputs=self.run_outputs, duration=duration,
                            failed_node=failure.node_id if failure else None, error=error, cost=cost, tokens=tokens,
                            degraded=list(self.plan.degraded), stopped_early=self.plan.stopped_early)
        return RunResult(
            run_id=self.run_id, status=status, outputs=self.run_outputs, events=self.events,
            node_states={n: s.value for n, s in self.plan.state.items()},
            failed_node=failure.node_id if failure else None, error=error,
            degraded=list(self.plan.degraded), stopped_early=self.plan.stopped_early, cost=cost, tokens=tokens,
        )


__all__ = ["RunControl", "RunResult", "Runner"]
