"""The workspace: a store, a registry and the shared breakers, and what users do with
them (save, run, resume, recover, stats). The CLI and the canvas both go through it.

Circuit breakers are shared by every run of the workspace and their states are kept in
the store (kv namespace ``breakers``), so a breaker opened by one run is still open for
the next one, and after a restart. Node outputs are cached in the store (``cache``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import graphflow
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph
from graphflow.model import GraphSpec
from graphflow.ports import EventSink, GraphVersion, NotFound, RunSummary
from graphflow.resilience import BreakerRegistry
from graphflow.resume import seed_from
from graphflow.runner import RunControl, Runner, RunResult
from graphflow.stats import GraphStats, NodeStats, graph_stats, node_stats

BREAKERS = "breakers"


@dataclass(frozen=True)
class Stats:
    graph: GraphStats
    nodes: list[NodeStats]


class Workspace:
    def __init__(self, store: Any, registry: graphflow.Registry, *, clock: Clock | None = None,
                 max_concurrency: int = 64) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or RealClock()
        self.breakers = BreakerRegistry(self.clock)
        self.max_concurrency = max_concurrency

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
        try:
            return await self.runner(compiled, sinks).run(inputs, graph_version=stored.version, control=control,
                                                          run_id=run_id)
        finally:
            await self.store.flush()
            await self.save_breakers()

    async def resume(self, run_id: str, *, sinks: Sequence[EventSink] = (),
                     control: RunControl | None = None) -> RunResult:
        """Continue a run that stopped before it finished (the process died)."""
        summary = await self.store.get_run(run_id)
        if summary.status != "running":
            raise ValueError(f"run {run_id} already {summary.status}; a finished run is never changed "
                             f"(use 'resume from failure' to start a new run from it)")
        _, compiled = await self.compiled(summary.graph_id, summary.graph_version)
        events = await self.store.load_events(run_id)
        try:
            return await self.runner(compiled, sinks).resume(events, control=control)
        finally:
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
        try:
            result = await self.runner(compiled, sinks).run(old.inputs, graph_version=new_graph.version, seed=seed,
                                                            control=control, run_id=new_run_id)
        finally:
            await self.store.flush()
            await self.save_breakers()
        return result, seed.changed

    async def recover_unfinished(self) -> list[RunResult]:
        """At start-up: continue every run the last process left unfinished."""
        results = []
        for summary in await self.store.unfinished_runs():
            results.append(await self.resume(summary.run_id))
        return results

    async def runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        return list(await self.store.list_runs(graph_id, limit))

    async def stats(self, graph_id: str, limit: int = 1000) -> Stats:
        logs = await self.store.runs_for_stats(graph_id, limit)
        if not logs and not await self.store.list_versions(graph_id):
            raise NotFound(f"no graph {graph_id!r}")
        return Stats(graph_stats(logs), node_stats(logs))
