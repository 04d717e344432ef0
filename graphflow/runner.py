"""The runner: the only module that owns tasks.

One loop drives the planner. Nodes run as tasks in one task group and report back
through a mailbox (``mailbox.py``, ``attempts.py``) with the messages of
``messages.py``; the loop owns all mutable run state (one ``NodeRun`` per node) and is
the only place events are numbered and published. What each transition publishes is
decided by ``transitions.node_event``, a pure function. Pure, synchronous kinds
(``inline``) run in the loop itself, which is what keeps tiny nodes cheap.

A run starts one of two ways, fresh (``RunStarted``, made durable before any node
runs) or recovered from its log (``RunResumed``, recorded outcomes restored), and then
goes through the same loop.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

import anyio
import anyio.lowlevel

from graphflow import events as ev
from graphflow.attempts import Attempts, error_info, is_cancellation, jsonable
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph, CompiledNode
from graphflow.errors import NotFound
from graphflow.inputs import check_run_inputs
from graphflow.mailbox import Mailbox, Scope, Workers, cancel_scope, task_group
from graphflow.messages import (
    AttemptStarted,
    BreakerChanges,
    Cancel,
    Done,
    Message,
    Nested,
    Pause,
    Progress,
    Retrying,
    TextSoFar,
)
from graphflow.nodes.base import NodeContext
from graphflow.plan import ErrorInfo, NodeState, Plan, Transition
from graphflow.ports import DurableSink, EventSink, KeyValueStore, LiveSink, SecretSource, SessionStore, sinks_of
from graphflow.resilience import BreakerRegistry
from graphflow.resume import Recovery, Seed, recover
from graphflow.shared_clients import shared_clients
from graphflow.transitions import NodeRun, node_event, node_events, published
from graphflow.waits import PAUSED, RESUME, Wait, Wake

log = logging.getLogger("graphflow.runner")


@dataclass
class RunResult:
    run_id: str
    status: str
    """succeeded, failed, cancelled, or waiting (suspended until woken: ``graphflow.waits``)."""
    outputs: dict[str, Any]
    events: Sequence[ev.Event]
    """In order (``events.RunEvents``; built when first read for a run nothing was subscribed to)."""
    node_states: dict[str, str]
    failed_node: str | None = None
    error: str | None = None
    degraded: list[str] = field(default_factory=list)
    """Optional nodes that failed; their default output was used."""
    stopped_early: str | None = None
    cost: float = 0.0
    tokens: int = 0
    waits: list[dict[str, Any]] = field(default_factory=list)
    """A waiting run's waits (``RunWaiting.waits``)."""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class RunControl:
    """Handle to cancel a run from outside (another task, a UI button)."""

    def __init__(self) -> None:
        self._deliver: Callable[[Cancel | Pause], None] | None = None
        self._pending: str | None = None
        self.cancelled = False
        """True once ``cancel`` was called (the run may still be ending)."""
        self.pause_requested: str | None = None
        """The reason of a pause asked before the run started (it pauses at once)."""

    def cancel(self, reason: str = "cancelled by user") -> None:
        self.cancelled = True
        if self._deliver is not None:
            self._deliver(Cancel(reason))
        else:
            self._pending = reason

    def pause(self, reason: str = "paused by user") -> None:
        """Let the nodes in flight finish, start nothing new; the run then waits (status
        ``waiting``) until it is sent the event ``resume``."""
        if self._deliver is not None:
            self._deliver(Pause(reason))
        else:
            self.pause_requested = reason

    def attach(self, deliver: Callable[[Cancel | Pause], None]) -> str | None:
        """The run loop takes cancels through ``deliver`` from now on; returns the reason of
        a cancel that came before the run started, if one did."""
        self._deliver = deliver
        pending, self._pending = self._pending, None
        return pending

    def detach(self) -> None:
        """The run is over: later cancels are remembered, not sent."""
        self._deliver = None


def new_run_id() -> str:
    """32 hex digits: the time in milliseconds (12), then 80 random bits (20), as UUIDv7 lays
    them out. Ids of later runs sort later, so a run's rows go in at the right edge of every
    index keyed by run id (runs, events, outputs, leases): a commit of a few runs dirties a few
    pages, not a few per run scattered over the file (about 30% of a recorded run's SQL)."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


_JITTER = random.Random()
"""Retry jitter of runners given no generator: seeding one per runner costs some 11 us (a
system call), more than a small run's nodes."""


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
        secrets: SecretSource | None = None,
        text_interval: float = 0.2,
        sessions: SessionStore | None = None,
        suspend: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.graph = graph
        self.sinks = list(sinks)
        self.durable = sinks_of(self.sinks, DurableSink)
        """Sinks whose ``flush`` makes a run's start durable before its first node runs."""
        self.clock = clock or RealClock()
        self.max_concurrency = max_concurrency
        self.breakers = breakers or BreakerRegistry(self.clock)
        self.cache = cache
        self.rng = rng or _JITTER
        self.progress_interval = progress_interval
        self.text_interval = text_interval
        """Seconds between two showings of a streaming node's text (a few a second)."""
        self.live = sinks_of(self.sinks, LiveSink)
        """Sinks shown streaming text (never stored)."""
        self.secrets = secrets
        """Where nodes' ``ctx.secret(name)`` looks (the environment when None)."""
        self.sessions = sessions
        """Where agents keep conversations by session id (none kept when None)."""
        self.suspend = suspend
        """A node's ``Wait`` suspends the run (status ``waiting``), for a caller that keeps
        runs in a store and wakes them (``Workspace``); otherwise the node fails with
        ``WaitUnsupported``."""
        sets = graph.node_sets  # which nodes the loop treats apart: see ``NodeSets``
        self.hooked, self.contextual, self.publishers, self.solo = (sets.hooked, sets.own_context, sets.publishers,
                                                                    sets.solo)

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        control: RunControl | None = None,
        graph_version: int | None = None,
        seed: Seed | None = None,
        parent_run_id: str | None = None,
    ) -> RunResult:
        """Run the graph. With ``seed``, outputs of an earlier run are reused;
        ``parent_run_id``: the run this one is part of (on its ``RunStarted``)."""
        inputs = check_run_inputs(self.graph, inputs or {})
        run = _Run(self, inputs, run_id or new_run_id(), control or RunControl(), graph_version)
        run.parent_run_id = parent_run_id
        await run.start_fresh(seed)
        async with shared_clients():
            return await run.drive()

    async def resume(self, events: Sequence[ev.Event], *, control: RunControl | None = None,
                     wakes: Mapping[str, Wake] | None = None, reason: str = "") -> RunResult:
        """Continue an unfinished (or waiting) run from its log: recorded successes are not run
        again, nodes that were in flight run again with the same idempotency key, and waiting
        nodes run again with their ``wakes`` (``ctx.wake``), or wait again without one."""
        rec = recover(events)
        run = _Run(self, rec.inputs, rec.run_id, control or RunControl(), rec.graph_version)
        run.wakes = dict(wakes or {})
        await run.start_recovered(rec, events, reason or "continuing an unfinished run")
        async with shared_clients():
            return await run.drive()


SOLO_YIELD_EVERY = 16
"""A run of nodes awaited by the loop itself yields to the event loop this often."""


class _Run:
    """One run's loop and its mutable state; only the loop touches it."""

    def __init__(self, runner: Runner, inputs: dict[str, Any], run_id: str, control: RunControl,
                 graph_version: int | None) -> None:
        self.r = runner
        self.graph = runner.graph
        self.clock = runner.clock
        self.t0 = runner.clock.monotonic()
        self.inputs = inputs
        self.run_id = run_id
        self.control = control
        self.graph_version = graph_version
        self.plan = Plan(runner.graph)
        self.events = ev.RunEvents(run_id, later=node_events)
        self.seq = 0
        self.nodes: dict[str, NodeRun] = {}
        self.in_flight = 0
        self.run_outputs: dict[str, Any] = {}
        self.recovery: Recovery | None = None
        self.reused_from: str | None = None
        self.mailbox: Mailbox[Message] = Mailbox()
        self.attempts = Attempts(self.clock, runner.breakers, runner.cache, runner.rng, self.mailbox)
        self.workers: Workers | None = None
        """Node tasks, made when the first node needs one (until then ``deferred`` holds those nodes)."""
        self.deferred: dict[str, tuple[Any, ...]] = {}
        self.alone: Scope | None = None
        """The scope of the node the loop awaits itself, while it does."""
        self.alone_count = 0
        self.wakes: dict[str, Wake] = {}
        """What woke this run's waiting nodes (a resumed run), by node."""
        self.parent_run_id: str | None = None
        self.paused = ""
        """Why an operator paused the run: nothing new starts, it waits once nothing runs."""
        self.unsent: list[tuple[int, float, dict[str, Any]]] = []
        """Seq, time and fields of NodeStarted events not yet sent (see ``start``)."""
        self.shared: NodeContext | None = None
        """The context of inline nodes whose kind reads none (``NodeKind.needs_own_context``)."""

    def waited_before(self, node_id: str) -> Wait | None:
        last = self.recovery.waited.get(node_id) if self.recovery is not None else None
        if last is None:
            return None
        return Wait(kind=last["kind"], key=last["key"], due_at=last["due_at"], detail=last["detail"])

    # -- the two ways in ---------------------------------------------------------------

    async def start_fresh(self, seed: Seed | None) -> None:
        await self.emit(ev.RunStarted, graph_id=self.graph.spec.id, graph_version=self.graph_version,
                        inputs=self.inputs, node_ids=list(self.graph.order),
                        resumed_from=seed.from_run if seed else None, from_node=seed.from_node if seed else None,
                        parent_run_id=self.parent_run_id)
        await self.checkpoint()  # a durable run exists before any of its nodes runs
        if seed is not None:
            self.reused_from = seed.from_run
            self.plan.restore(seed.outputs, {})

    async def start_recovered(self, rec: Recovery, logged: Sequence[ev.Event], reason: str) -> None:
        """Continue after the log: settled nodes are restored, not published again."""
        self.t0 -= max(0.0, self.clock.time() - rec.started_at)  # began in an earlier process: count from then
        self.events, self.seq, self.recovery = ev.RunEvents(self.run_id, logged, node_events), rec.next_seq, rec
        await self.emit(ev.RunResumed, reason=reason)
        self.plan.restore(rec.succeeded, rec.failed, rec.degraded)
        for node_id, (cost, tokens, cached) in rec.usage.items():
            self.nodes[node_id] = NodeRun(cost=cost, tokens=tokens, cached=cached)
        for t in self.plan.take_transitions():
            if t.node_id not in rec.settled and not (t.state is NodeState.RUNNING and t.node_id in rec.started):
                await self.publish(t)
            elif t.state is NodeState.SUCCEEDED:
                self.collect_output(t.node_id, t.output or {})

    # -- the loop ------------------------------------------------------------------------

    async def drive(self) -> RunResult:
        pending = self.control.attach(self.deliver)
        if pending is not None:
            self.plan.cancel(pending)
        if self.control.pause_requested is not None:
            self.paused, self.control.pause_requested = self.control.pause_requested, None
        try:
            await self.loop()  # inline and solo nodes need no task: a run of only those opens no task group
            if self.deferred:
                async with task_group() as tg:
                    self.workers = Workers(tg, self.attempts.execute, self.attempts.cancelled)
                    deferred, self.deferred = self.deferred, {}
                    for node_id, item in deferred.items():
                        self.workers.submit(node_id, item)
                    await self.loop()
                    self.workers.close()
        finally:
            self.control.detach()
        return await self.finish()

    async def loop(self) -> None:
        """Until the run ends or suspends (or, before there are workers, a node needs one)."""
        await self.pump()
        while not self.plan.finished and not self.suspended and not self.deferred:
            await self.mailbox.wait()
            # handle everything already there before scheduling again
            while not self.plan.finished and (message := self.mailbox.get_nowait()) is not None:
                if type(message) is Done:  # most messages: settled here, without a coroutine
                    self.settle(message)
                else:
                    await self.handle(message)
            await self.pump()

    async def handle(self, message: Message) -> None:
        match message:
            case Done():
                self.settle(message)
            case AttemptStarted(node_id=node_id, attempt=attempt):
                record = self.nodes[node_id]
                record.attempt, record.started_at = attempt, self.clock.monotonic()
                await self.emit(ev.NodeStarted, node_id=node_id, attempt=attempt)
            case Retrying(node_id=node_id, error=e):
                await self.emit(ev.NodeRetrying, node_id=node_id, attempt=message.attempt, delay=message.delay,
                                error_type=e.type, error_message=e.message, duration=message.duration)
            case BreakerChanges(node_id=node_id, changes=changes):
                for c in changes:
                    await self.emit(ev.BreakerChanged, breaker=c.breaker, from_state=c.from_state.value,
                                    to_state=c.to_state.value, reason=c.reason, node_id=node_id)
            case TextSoFar(node_id=node_id, text=text):
                self.show_text(node_id, text)
            case Progress(node_id=node_id, done=done, failed=failed, total=total):
                await self.emit(ev.MapProgress, node_id=node_id, done=done, failed=failed, total=total,
                                results=message.results or {})
            case Nested():
                await self.record_nested(message)
            case Cancel(reason=reason):
                self.plan.cancel(reason)
            case Pause(reason=reason):
                self.paused = self.paused or reason or "paused"
            case _:
                assert_never(message)

    def show_text(self, node_id: str, text: str) -> None:
        """A streaming node's text so far, to the live sinks (never stored)."""
        if self.plan.state_of(node_id) is NodeState.RUNNING:
            note = ev.NodeText(run_id=self.run_id, node_id=node_id, text=text, at=self.clock.time())
            for sink in self.r.live:
                sink.show(note)

    async def record_nested(self, message: Nested) -> None:
        """A step of a node's own log (an agent's): recorded and made durable before the node goes on."""
        if self.plan.state_of(message.node_id) is NodeState.RUNNING:
            await self.emit_draft(message.event, dict(message.fields))  # a copy: a draft keeps what it is given
            await self.checkpoint()
        message.durable.set()

    @property
    def suspended(self) -> bool:
        """Nothing runs and nothing can start until a waiting node is woken (or the paused run
        is resumed)."""
        return self.in_flight == 0 and (bool(self.plan.waits) or bool(self.paused))

    def deliver(self, message: Cancel | Pause) -> None:
        self.mailbox.send_nowait(message)
        if isinstance(message, Cancel) and self.alone is not None:
            self.alone.cancel()

    def settle(self, done: Done) -> None:
        self.in_flight -= 1
        if self.plan.state_of(done.node_id) is not NodeState.RUNNING:
            return  # it finished after it was cancelled: the result is dropped
        record = self.nodes[done.node_id]
        record.attempt, record.cost, record.tokens, record.cached = done.attempt, done.cost, done.tokens, done.cached
        if done.ok and isinstance(done.payload, Wait):
            if self.r.suspend:
                self.plan.mark_waiting(done.node_id, done.payload)
            else:
                self.plan.mark_failed(done.node_id, ErrorInfo("WaitUnsupported", f"node {done.node_id!r} waits for "
                                      f"{done.payload.kind}: a waiting run needs a store to keep it in (run the "
                                      "graph through a workspace, e.g. graphflow run without --no-store)",
                                      done.node_id))
        elif done.ok:
            self.plan.mark_succeeded(done.node_id, done.payload)
        else:
            self.plan.mark_failed(done.node_id, done.payload)

    async def pump(self) -> None:
        """Publish what the planner decided, then start what is ready, until nothing changes."""
        plan, nodes, everything = self.plan, self.graph.nodes, len(self.graph.order)
        while True:
            if self.unsent:  # the last batch's NodeStarted, numbered before anything taken below
                if self.workers is None:
                    return  # drive() makes the workers, then the next pump sends them
                await self.announce()
            transitions = plan.take_transitions()
            if not self.r.sinks:
                if transitions:
                    self.record_quietly(transitions)
            else:
                for transition in transitions:
                    if (event := self.record(transition)) is not None:
                        await self.send(event)
            if self.paused:
                return
            room = self.r.max_concurrency - self.in_flight
            ready = plan.take_ready(None if room >= everything else room)
            if not ready:
                return
            alone = len(ready) == 1 and self.in_flight == 0
            for node_id in ready:
                # An inline node earlier in this batch may have ended the run or made this one unneeded.
                if plan.state_of(node_id) is not NodeState.RUNNING:
                    continue
                node = nodes[node_id]
                if node.inline:
                    self.run_inline(node)
                elif (alone_run := self.start(node, alone)) is not None:
                    await alone_run

    async def announce(self) -> None:
        """Send the NodeStarted of the nodes just handed to workers, once those have begun:
        in a wide batch the last node does not wait for every event of its batch to be sent."""
        await anyio.lowlevel.checkpoint()  # the workers take their nodes up
        unsent, self.unsent = self.unsent, []
        for seq, at, fields in unsent:
            event = ev.stamp_event(ev.NodeStarted, self.run_id, seq, at, fields)
            self.events.add(event)
            await self.send(event)

    # -- one node ------------------------------------------------------------------------

    def start(self, node: CompiledNode, alone: bool = False) -> Awaitable[None] | None:
        """Start a node that runs in a task, or is awaited by the loop (``run_alone``: returned,
        to await). A node handed to a worker costs no coroutine; its ``NodeStarted`` is numbered
        now, built and sent by the next ``pump`` (``unsent``): only the loop publishes, so it
        still goes out before the node's outcome."""
        node_id = node.id
        attempt, retry_at = (1, None) if self.recovery is None else self.resume_point(node_id)
        self.nodes[node_id] = NodeRun(attempt, self.clock.monotonic())
        ctx = self.context(node_id, attempt)
        inputs = self.plan.inputs_for(node_id)
        started = {"node_id": node_id, "attempt": attempt}
        if node_id in self.r.hooked:
            self.attach_hooks(ctx, node_id)
        if self.recovery is not None:
            ctx.recovered_items = self.recovery.map_items.get(node_id, {})
            ctx.nested = self.recovery.nested.get(node_id, ())
        self.in_flight += 1
        if alone and retry_at is None and node_id in self.r.solo:
            return self.run_alone(node, inputs, ctx, self.note(ev.NodeStarted, started))
        if self.workers is None:
            self.deferred[node_id] = (node, inputs, ctx, retry_at)
        else:
            self.workers.submit(node_id, (node, inputs, ctx, retry_at))
        if self.r.sinks:  # numbered and timed now; built and sent once the node has begun
            self.unsent.append((self.seq, self.clock.time(), started))
            self.seq += 1
        else:
            self.note(ev.NodeStarted, started)
        return None

    def attach_hooks(self, ctx: NodeContext, node_id: str) -> None:
        """How the node reports while it runs, and runs sub-graphs."""
        ctx.on_progress = self.progress_reporter(node_id)
        if self.r.live:
            ctx.on_text = self.text_reporter(node_id)
        ctx.subgraph_runner = self.run_subgraph
        ctx.on_nested = self.nested_reporter(node_id)

    def context(self, node_id: str, attempt: int) -> NodeContext:
        r = self.r
        if self.recovery is None:  # a fresh run: nothing woke the node, it never waited before
            return NodeContext(self.run_id, node_id, attempt, self.inputs, self.clock, r.rng, secrets=r.secrets,
                               sessions=r.sessions, started_at=self.clock.time(), can_wait=r.suspend)
        first = self.recovery.first_started.get(node_id)
        return NodeContext(self.run_id, node_id, attempt, self.inputs, self.clock, r.rng, secrets=r.secrets,
                           sessions=r.sessions, started_at=first if first is not None else self.clock.time(),
                           wake=self.wakes.get(node_id), can_wait=r.suspend, waited=self.waited_before(node_id))

    async def run_alone(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                        started: ev.Event | None) -> None:
        """The only node to run: awaited by the loop itself, not handed to a worker (the
        hand-off costs more than a small node). It reports through the mailbox as a worker
        would; a cancel of the run cancels it. ``started``: its event, to send first."""
        if started is not None:
            await self.send(started)
        self.alone_count += 1
        if self.alone_count % SOLO_YIELD_EVERY == 0:
            await anyio.lowlevel.checkpoint()  # a long chain of instant nodes never starves other tasks
        with cancel_scope() as scope:
            self.alone = scope
            try:
                await self.attempts.execute(node, inputs, ctx)
            finally:
                self.alone = None
        if scope.cancelled_caught:
            self.attempts.cancelled(node, inputs, ctx)

    def resume_point(self, node_id: str) -> tuple[int, float | None]:
        """The attempt to start with and the persisted backoff deadline, of a recovered run."""
        assert self.recovery is not None
        return self.recovery.attempts.get(node_id, 1), self.recovery.retry_at.get(node_id)

    def run_inline(self, node: CompiledNode) -> None:
        """Run a node within this step of the loop. Nobody could see it running, so it records
        only its outcome, no ``NodeStarted``. A kind that reads no context gets the run's shared
        one (making a context was a tenth of such a node's cost)."""
        node_id = node.id
        attempt = 1 if self.recovery is None else self.recovery.attempts.get(node_id, 1)
        record = self.nodes[node_id] = NodeRun(attempt, self.clock.monotonic())
        own = node_id in self.r.contextual
        ctx = self.context(node_id, attempt) if own else self.shared_context()
        inputs = self.plan.inputs_for(node_id)
        try:
            output = jsonable(node.kind.run_inline(node.runtime, inputs, ctx))
        except BaseException as exc:  # SystemExit, KeyboardInterrupt... from the node fail it too
            if is_cancellation(exc):
                raise
            record.ended_at = self.clock.monotonic()
            self.plan.mark_failed(node_id, error_info(node_id, exc))
        else:
            record.ended_at = self.clock.monotonic()
            if own:
                record.cost, record.tokens = ctx.cost, ctx.tokens
            self.plan.mark_succeeded(node_id, output)

    def shared_context(self) -> NodeContext:
        if self.shared is None:
            self.shared = NodeContext(self.run_id, "", 1, self.inputs, self.clock, self.r.rng, secrets=self.r.secrets,
                                      sessions=self.r.sessions, can_wait=False)
        return self.shared

    def progress_reporter(self, node_id: str) -> Callable[..., None]:
        """Progress is aggregated: one event per interval, plus the final count."""
        last = -math.inf

        def report(done: int, failed: int, total: int, results: dict[int, Any] | None = None) -> None:
            nonlocal last
            now = self.clock.monotonic()
            if not results and done + failed < total and now - last < self.r.progress_interval:
                return  # a report with results is a checkpoint: never dropped (the map batches them)
            last = now
            batch = {str(i): r for i, r in results.items()} if results else None
            self.mailbox.send_nowait(Progress(node_id, done, failed, total, batch))
        return report

    def nested_reporter(self, node_id: str) -> Callable[[type[ev._EventBase], dict[str, Any]], Any]:
        async def report(cls: type[ev._EventBase], fields: dict[str, Any]) -> None:
            durable = anyio.Event()
            self.mailbox.send_nowait(Nested(node_id, cls, fields, durable))
            await durable.wait()
        return report

    def text_reporter(self, node_id: str) -> Callable[[str], None]:
        """Streaming text is throttled to one showing per ``text_interval``; the final text is
        the node's output."""
        last = -math.inf

        def report(text: str) -> None:
            nonlocal last
            now = self.clock.monotonic()
            if now - last >= self.r.text_interval:
                last = now
                self.mailbox.send_nowait(TextSoFar(node_id, text))
        return report

    async def run_subgraph(self, graph: CompiledGraph, inputs: Mapping[str, Any],
                           run_id: str | None = None, record: bool = False) -> RunResult:
        """A sub-graph (a map's items, an agent's graph tool) on this run's clock and secrets;
        it shares no other state with the run. ``record``: once it ended, store it as a run of
        its own, part of this one (``record_subrun``)."""
        runner = Runner(graph, clock=self.clock, rng=self.r.rng, secrets=self.r.secrets, sessions=self.r.sessions)
        result = await runner.run(inputs, run_id=run_id, parent_run_id=self.run_id if record else None)
        if record:
            await self.record_subrun(result)
        return result

    async def record_subrun(self, result: RunResult) -> None:
        """Store an ended sub-run's events in the durable sinks that keep runs, as a run of its
        own. Written after it ended, never while it runs, so an interrupted sub-run leaves no
        unfinished run to continue on its own; a sub-run stored already (the same call made
        again after a crash) is kept as first stored. Best effort: the call's result stands
        whether or not its run could be stored."""
        if result.status == "waiting":
            return
        for sink in self.r.durable:
            get_run = getattr(sink, "get_run", None)
            if get_run is None:
                continue  # it keeps events, not runs
            try:
                try:
                    await get_run(result.run_id)
                    continue
                except NotFound:
                    pass
                for event in result.events:
                    await sink.publish(event)
                await sink.flush()
            except Exception:
                log.warning("sub-run %s of run %s could not be stored", result.run_id, self.run_id, exc_info=True)

    async def publish(self, t: Transition) -> None:
        if (event := self.record(t)) is not None:
            await self.send(event)

    def record(self, t: Transition) -> ev.Event | None:
        """Carry out a transition in the loop's state and note its event (see ``note``)."""
        record = self.nodes.get(t.node_id)
        now = self.clock.monotonic()
        self.carry_out(t, now)
        failed_with = self.plan.inputs_for(t.node_id) if t.state is NodeState.FAILED else None
        cls, fields = node_event(t, record, now, self.reused_from, failed_with,
                                 t.state is NodeState.WAITING and t.node_id in self.wakes)
        return self.note(cls, fields)

    def record_quietly(self, transitions: list[Transition]) -> None:
        """``record`` for a run with no sinks: the batch's events are one draft, worked out only
        if someone reads them (``transitions.node_events``; most of a small node's cost)."""
        now = self.clock.monotonic()
        publishers, failed_with = self.r.publishers, {}
        for t in transitions:  # a success, most of them, is carried out here: a call fewer per node
            if t.state is not NodeState.SUCCEEDED:
                self.carry_out(t, now)
                if t.state is NodeState.FAILED:
                    failed_with[t.node_id] = self.plan.inputs_for(t.node_id)
            elif t.node_id in publishers:
                self.collect_output(t.node_id, t.output or {})
        seq, count = self.seq, len(transitions)
        self.seq = seq + count
        self.events.draft_batch(seq, self.clock.time(), count,
                                (transitions, self.nodes, now, self.reused_from, failed_with, self.wakes))

    def carry_out(self, t: Transition, now: float) -> None:
        """What a transition changes in the loop's state, besides the planner's."""
        if t.state is NodeState.SUCCEEDED:
            if t.node_id in self.r.publishers:
                self.collect_output(t.node_id, t.output or {})
        elif t.state is NodeState.RUNNING:  # a join starts waiting on its branches
            self.nodes[t.node_id] = NodeRun(started_at=now)
        elif t.state is NodeState.CANCELLED:
            self.cancel_task(t.node_id)

    def cancel_task(self, node_id: str) -> None:
        """End a node that runs in (or waits for) a task; its ``Done`` reports it."""
        if self.workers is not None:
            self.workers.cancel(node_id)
        elif node_id in self.deferred:
            self.attempts.cancelled(*self.deferred.pop(node_id))

    def collect_output(self, node_id: str, output: dict[str, Any]) -> None:
        """What a publishing node (``Runner.publishers``) adds to the run's outputs."""
        named = published(self.graph.nodes[node_id], output)
        if named is not None:
            self.run_outputs[named[0]] = named[1]

    # -- events and the end --------------------------------------------------------------

    async def emit(self, cls: type[ev._EventBase], **fields: Any) -> None:
        await self.emit_draft(cls, fields)

    async def emit_draft(self, cls: type[ev._EventBase], fields: dict[str, Any]) -> None:
        if (event := self.note(cls, fields)) is not None:
            await self.send(event)

    def note(self, cls: type[ev._EventBase], fields: dict[str, Any]) -> ev.Event | None:
        """Number, time and keep the next event; it is returned to be sent to the sinks, or kept
        as a draft (None) when there are none: built only if someone reads it."""
        seq = self.seq
        self.seq = seq + 1
        if not self.r.sinks:
            self.events.draft(cls, seq, self.clock.time(), fields)
            return None
        event: ev.Event = ev.stamp_event(cls, self.run_id, seq, self.clock.time(), fields)
        self.events.add(event)
        return event

    async def send(self, event: ev.Event) -> None:
        for sink in self.r.sinks:
            await sink.publish(event)

    async def checkpoint(self) -> None:
        """Wait until the durable sinks have everything published so far."""
        for sink in self.r.durable:
            await sink.flush()

    async def finish(self) -> RunResult:
        plan, failure = self.plan, self.plan.failure
        error = f"{failure.type}: {failure.message}" if failure else None
        cost, tokens = 0.0, 0
        for record in self.nodes.values():
            cost, tokens = cost + record.cost, tokens + record.tokens
        if not plan.finished:  # suspended: the run goes on when a waiting node is woken
            waits = [wait.as_json(node_id) for node_id, wait in plan.waits.items()]
            if self.paused:
                waits.append(Wait("event", key=RESUME).as_json(PAUSED))
            await self.emit(ev.RunWaiting, waits=waits, paused=self.paused)
            return RunResult(run_id=self.run_id, status="waiting", outputs=self.run_outputs, events=self.events,
                             node_states=plan.state_names(), cost=cost, tokens=tokens, waits=waits)
        status, duration = plan.status, self.clock.monotonic() - self.t0
        if status == "cancelled":
            await self.emit(ev.RunCancelled, reason=plan.cancel_reason or "", duration=duration)
        else:
            await self.emit(ev.RunFinished, status=status, outputs=self.run_outputs, duration=duration,
                            failed_node=failure.node_id if failure else None, error=error, cost=cost,
                            tokens=tokens, degraded=list(plan.degraded), stopped_early=plan.stopped_early)
        return RunResult(
            run_id=self.run_id, status=status, outputs=self.run_outputs, events=self.events,
            node_states=plan.state_names(), failed_node=failure.node_id if failure else None, error=error,
            degraded=list(plan.degraded), stopped_early=plan.stopped_early, cost=cost, tokens=tokens,
        )


__all__ = ["RunControl", "RunResult", "Runner"]
