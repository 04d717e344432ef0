"""The workspace: a store, a registry and the shared breakers, and what users do with
them (save, run, resume, recover, stats). The CLI and the canvas both go through it.

Circuit breakers are shared by every run of the workspace and their states are kept in
the store (kv namespace ``breakers``), so a breaker opened by one run is still open for
the next one, and after a restart. Node outputs are cached in the store (``cache``).

Every run this workspace executes holds a lease (``storage/leases.py``), renewed by a
heartbeat every third of its duration while the run executes; a run whose lease cannot be
renewed stops executing at once (it stays unfinished, for the process that took it over or
the next start). Resuming takes a run over only once another owner's lease has expired.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

import graphflow
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph
from graphflow.errors import GraphflowError, LeaseHeld, LeaseLost
from graphflow.leases import lease_seconds, new_owner
from graphflow.model import GraphSpec
from graphflow.ports import EventSink, GraphVersion, NotFound, RunSummary
from graphflow.resilience import BreakerRegistry
from graphflow.resume import seed_from
from graphflow.runner import RunControl, Runner, RunResult
from graphflow.stats import GraphStats, NodeStats, graph_stats, node_stats

BREAKERS = "breakers"
log = logging.getLogger("graphflow.recovery")


@dataclass(frozen=True)
class Stats:
    graph: GraphStats
    nodes: list[NodeStats]


class Workspace:
    def __init__(self, store: Any, registry: graphflow.Registry, *, clock: Clock | None = None,
                 max_concurrency: int = 64, lease: float | None = None, owner: str | None = None) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or RealClock()
        self.breakers = BreakerRegistry(self.clock)
        self.max_concurrency = max_concurrency
        self.lease = lease if lease is not None else lease_seconds()
        """Seconds a run's lease lasts unless renewed (``$GRAPHFLOW_LEASE_SECONDS``, else 30)."""
        self.owner = owner or new_owner()

    async def load_breakers(self) -> None:
        self.breakers = BreakerRegistry(self.clock, await self.store.items(BREAKERS))

    async def save_breakers(self) -> None:
        for name, snapshot in self.breakers.snapshots().items():
            await self.store.put(BREAKERS, name, snapshot)

    def breaker_states(self) -> dict[str, str]:
        return {name: str(state) for name, state in self.breakers.states().items()}

    def breakers_of(self, spec: GraphSpec) -> dict[str, str]:
        """The current state of each breaker the graph's nodes use, by name; a breaker saved
        by an earlier run or process is restored first, so its state is the current one."""
        policies = {node.breaker.name: node.breaker for node in spec.nodes if node.breaker}
        for policy in policies.values():
            self.breakers.get(policy)
        states = self.breaker_states()
        return {name: states.get(name, "closed") for name in sorted(policies)}

    # -- graphs ---------------------------------------------------------------------

    async def save_if_changed(self, spec: GraphSpec) -> GraphVersion:
        """The latest version when it is the same graph, else a new version."""
        try:
            latest = await self.store.get_graph(spec.id)
        except NotFound:
            return await self.store.save_graph(spec)
        if latest.spec == spec:
            return latest
        return await self.store.save_graph(spec)

    async def compiled(self, graph_id: str, version: int | None = None) -> tuple[GraphVersion, CompiledGraph]:
        stored = await self.store.get_graph(graph_id, version)
        return stored, graphflow.validate_graph(stored.spec, self.registry)

    # -- runs -------------------------------------------------------------------------

    def runner(self, compiled: CompiledGraph, sinks: Sequence[EventSink]) -> Runner:
        return Runner(compiled, sinks=[self.store, *sinks], clock=self.clock, max_concurrency=self.max_concurrency,
                      breakers=self.breakers, cache=self.store)

    async def run(self, graph_id: str, inputs: Mapping[str, Any] | None = None, *, version: int | None = None,
                  sinks: Sequence[EventSink] = (), control: RunControl | None = None,
                  run_id: str | None = None) -> RunResult:
        stored, compiled = await self.compiled(graph_id, version)
        run_id = run_id or uuid.uuid4().hex
        runner = self.runner(compiled, sinks)
        self.store.claim_new_run(run_id, self.owner, self.lease, self.clock.time())
        try:
            return await self.owned(run_id, lambda: runner.run(inputs, graph_version=stored.version,
                                                               control=control, run_id=run_id))
        finally:
            await self.release(run_id)

    async def resume(self, run_id: str, *, sinks: Sequence[EventSink] = (),
                     control: RunControl | None = None) -> RunResult:
        """Continue a run that stopped before it finished (the process died). ``LeaseHeld`` while
        another live process executes it; ``ValueError`` for a finished run."""
        summary = await self.store.get_run(run_id)
        if summary.status != "running":
            raise ValueError(f"run {run_id} already {summary.status}; a finished run is never changed "
                             f"(use 'resume from failure' to start a new run from it)")
        await self.store.take_over(run_id, self.owner, self.lease, self.clock.time())
        try:
            _, compiled = await self.compiled(summary.graph_id, summary.graph_version)
            events = await self.store.load_events(run_id)
            for sink in sinks:  # a follower sees the whole run: what was logged, then what comes
                for event in events:
                    await sink.publish(event)
            runner = self.runner(compiled, sinks)
            return await self.owned(run_id, lambda: runner.resume(events, control=control))
        finally:
            await self.release(run_id)

    async def owned(self, run_id: str, work: Callable[[], Awaitable[RunResult]]) -> RunResult:
        """``work()`` with the run's lease renewed beside it; stopped (``LeaseLost``) when a renewal fails."""
        result: RunResult | None = None
        error: Exception | None = None
        lost: list[Exception] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._heartbeat, run_id, tg.cancel_scope, lost)
            try:
                result = await work()
            except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                error = exc
                while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
                    error = error.exceptions[0]  # the runner's task group wraps what stopped it
            finally:
                tg.cancel_scope.cancel()
        if error is not None:
            raise error
        if result is None:
            raise LeaseLost(run_id, str(lost[0]) if lost else "the lease could not be renewed")
        return result

    async def _heartbeat(self, run_id: str, scope: anyio.CancelScope, lost: list[Exception]) -> None:
        while True:
            await self.clock.sleep(self.lease / 3)
            try:
                await self.store.renew_lease(run_id, self.owner, self.lease, self.clock.time())
            except GraphflowError as exc:  # lost, or a storage error: someone else may run it now, never both
                log.error("run %s stopped: %s", run_id, exc)
                lost.append(exc)
                scope.cancel()
                return

    async def release(self, run_id: str) -> None:
        with anyio.CancelScope(shield=True):
            self.store.release_lease(run_id, self.owner)
            await self.store.flush()
            await self.save_breakers()

    async def resume_from_failure(self, run_id: str, *, version: int | None = None,
                                  sinks: Sequence[EventSink] = (), control: RunControl | None = None,
                                  new_run_id: str | None = None) -> tuple[RunResult, list[str]]:
        """A new run from a failed one, reusing every output that did not change.
        ``version`` picks the graph version to run (default: the latest). Returns the
        result and the nodes whose spec changed since the failed run's version."""
        old = await self.store.get_run(run_id)
        if old.status not in ("failed", "cancelled"):
            raise ValueError(f"run {run_id} is {old.status}: only a failed or cancelled run can be resumed from")
        old_graph = await self.store.get_graph(old.graph_id, old.graph_version)
        new_graph, compiled = await self.compiled(old.graph_id, version)
        seed = seed_from(await self.store.load_events(run_id), old_graph.spec, new_graph.spec)
        new_run_id = new_run_id or uuid.uuid4().hex
        runner = self.runner(compiled, sinks)
        self.store.claim_new_run(new_run_id, self.owner, self.lease, self.clock.time())
        try:
            result = await self.owned(new_run_id, lambda: runner.run(
                old.inputs, graph_version=new_graph.version, seed=seed, control=control, run_id=new_run_id))
        finally:
            await self.release(new_run_id)
        return result, seed.changed

    async def recover(self, run_id: str, *, sinks: Sequence[EventSink] = (),
                      control: RunControl | None = None) -> RunResult | None:
        """Continue an unfinished run; one that cannot be continued (its graph missing or invalid,
        a corrupt log, a node raising ``BaseException``) is marked failed with the reason, and None
        returned: recovery never takes its caller down. ``LeaseHeld`` while another process runs it."""
        try:
            return await self.resume(run_id, sinks=sinks, control=control)
        except (LeaseHeld, LeaseLost, StorageError):  # the run is fine: it stays unfinished, for later
            raise
        except BaseException as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            first_line = (str(exc).splitlines() or [""])[0]
            reason = f"could not be recovered: {type(exc).__name__}: {first_line}"
            log.error("run %s %s", run_id, reason)
            await self._mark_failed(run_id, reason)
            return None

    async def _mark_failed(self, run_id: str, reason: str) -> None:
        try:
            await self.store.take_over(run_id, self.owner, self.lease, self.clock.time())
        except (LeaseHeld, ValueError):  # another process has it, or it did finish
            return
        try:
            summary = await self.store.get_run(run_id)
            now = self.clock.time()
            await self.store.publish(graphflow.events.RunFinished(
                run_id=run_id, seq=summary.last_seq + 1, at=now, status="failed", error=reason,
                duration=max(0.0, now - summary.started_at)))
        finally:
            await self.release(run_id)

    async def recover_unfinished(self, *, wait: bool = False) -> list[RunResult | None]:
        """Continue every unfinished run whose lease has expired, one after another. Runs another
        live process executes are left to it, or (``wait``) taken over once their lease expires."""
        results: list[RunResult | None] = []
        pending = [summary.run_id for summary in await self.store.unfinished_runs()]
        while pending:
            held: dict[str, float] = {}
            for run_id in pending:
                try:
                    results.append(await self.recover(run_id))
                except LeaseHeld as exc:
                    log.info("%s", exc)
                    held[run_id] = exc.expires_at
                except ValueError:  # finished meanwhile, by its owner
                    pass
            if not wait or not held:
                break
            await self.clock.sleep(max(0.0, min(held.values()) - self.clock.time()))
            pending = [s.run_id for s in await self.store.unfinished_runs() if s.run_id in held]
        return results

    async def runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        return list(await self.store.list_runs(graph_id, limit))

    async def stats(self, graph_id: str, limit: int = 1000) -> Stats:
        logs = await self.store.runs_for_stats(graph_id, limit)
        if not logs and not await self.store.list_versions(graph_id):
            raise NotFound(f"no graph {graph_id!r}")
        return Stats(graph_stats(logs), node_stats(logs))
