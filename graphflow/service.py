"""The application service: what users do with graphs and runs (list, save, rename,
duplicate, delete, import, export, validate, run, resume, cancel, stats, breaker reset),
over any ``Store`` (``graphflow.ports``). The command line and every canvas page go
through it and never reach the store themselves.

A graph is compiled once per stored version: ``save`` keeps the compiled graph it was
given (or compiled), and a run of that version reuses it.

Every run this workspace executes holds a lease (``ports.LeaseStore``), renewed by a
heartbeat every third of its duration while the run executes; a run whose lease cannot be
renewed stops (another process may have taken it over). Resuming takes a run over only once
another owner's lease has expired.

Circuit breakers are shared by every run of the workspace and their states are kept in
the store (kv namespace ``breakers``), so a breaker opened by one run is still open for
the next one, and after a restart. Node outputs are cached in the store (``cache``).
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import anyio

from graphflow import events as ev
from graphflow.api import load_graph, validate_graph
from graphflow.clock import Clock, RealClock
from graphflow.compile import CompiledGraph
from graphflow.errors import (
    GraphflowError,
    GraphValidationError,
    LeaseHeld,
    LeaseLost,
    NotFound,
    Problem,
    RunInputError,
    StoreError,
    VersionConflict,
)
from graphflow.formatting import when
from graphflow.from_here import RunFrom, Verdict, no_fit, rerun_set, verdict
from graphflow.inputs import check_run_inputs
from graphflow.leases import lease_seconds, new_owner
from graphflow.mailbox import Scope, cancel_scope, task_after
from graphflow.model import GraphSpec
from graphflow.naming import slug, unique_id
from graphflow.ports import (
    CredentialInfo,
    CredentialStore,
    Draft,
    EventSink,
    GraphSummary,
    GraphVersion,
    ReviewItem,
    ReviewStore,
    RunSummary,
    SecretSource,
    SessionStore,
    Store,
)
from graphflow.registry import Registry
from graphflow.resilience import BreakerRegistry
from graphflow.resume import Seed, seed_from
from graphflow.runner import RunControl, Runner, RunResult, new_run_id
from graphflow.samples import offer_samples
from graphflow.secrets import EnvSecrets
from graphflow.stats import GraphStats, NodeStats, graph_stats, node_stats
from graphflow.subscribe import replay
from graphflow.waits import PAUSED, RESUME, WaitRow, Wake, refusal

BREAKERS = "breakers"
PAUSES = "pauses"
"""kv namespace: pauses asked for runs another process executes."""
PAUSE_POLL = 1.0
"""Seconds between two looks for such a pause, per run in flight."""
log = logging.getLogger("graphflow.recovery")
COMPILED_KEPT = 64
"""Compiled graphs kept, newest used first (a compiled graph is immutable, shared by runs)."""

GraphSource = CompiledGraph | GraphSpec | Mapping[str, Any] | str | bytes


@dataclass(frozen=True)
class Stats:
    graph: GraphStats
    nodes: list[NodeStats]


def only_error(exc: BaseException) -> BaseException:
    """The error inside groups of one (task groups wrap what stopped them)."""
    while isinstance(exc, BaseExceptionGroup):
        inner = cast("tuple[BaseException, ...]", exc.exceptions)  # the group type has no element type here
        if len(inner) != 1:
            break
        exc = inner[0]
    return cast(BaseException, exc)


@dataclass(frozen=True)
class Decided:
    """What ``Workspace.decide`` did: the decided item, and the run's result when it continued
    here (None: another process continues it, or ``go_on`` was off)."""

    item: ReviewItem
    result: RunResult | None


@dataclass(frozen=True)
class Sent:
    """What ``Workspace.send`` did: which node took the event, and the run's result when it
    continued here (None: another process continues it, or ``go_on`` was off)."""

    run_id: str
    node_id: str
    result: RunResult | None


def describe_waits(waits: Sequence[WaitRow]) -> str:
    """``n waits for event 'a'; the run waits for event 'resume' (paused: ...)``, as refusals say it."""
    if not waits:
        return "no node waits"
    return "; ".join(f"{w.node_id or 'the run'} waits for {w.waits_for()}" + (" (woken)" if w.wake else "")
                     for w in waits)


class RunRefused(ValueError):
    """A run, resume or cancel that the run's state does not allow (e.g. a finished run)."""


class Workspace:
    def __init__(self, store: Store, registry: Registry, *, clock: Clock | None = None,
                 max_concurrency: int = 64, lease: float | None = None, owner: str | None = None) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or RealClock()
        self.breakers = BreakerRegistry(self.clock)
        self.max_concurrency = max_concurrency
        self.lease = lease if lease is not None else lease_seconds()
        """Seconds a run's lease lasts unless renewed (``$GRAPHFLOW_LEASE_SECONDS``, else 30)."""
        self.owner = owner or new_owner()
        self._compiled: OrderedDict[tuple[str, int, int], CompiledGraph] = OrderedDict()
        self._controls: dict[str, RunControl] = {}
        self._keeps_credentials = isinstance(store, CredentialStore)  # a protocol check is slow: once, not per run
        self._rng = random.Random()  # retry jitter: seeding a generator per run costs a system call

    # -- graphs -------------------------------------------------------------------------

    def validate(self, source: GraphSource) -> CompiledGraph:
        """Every check against this workspace's registry; raises ``GraphValidationError``."""
        return source if isinstance(source, CompiledGraph) else validate_graph(source, self.registry)

    def check(self, source: GraphSource) -> tuple[CompiledGraph | None, list[Problem]]:
        """The compiled graph, or the problems that stop it from compiling."""
        try:
            return self.validate(source), []
        except GraphValidationError as exc:
            return None, list(exc.problems)

    async def graphs(self) -> list[GraphSummary]:
        return list(await self.store.list_graphs())

    async def graph(self, graph_id: str, version: int | None = None) -> GraphVersion:
        """The given version, or the latest; raises ``NotFound``."""
        return await self.store.get_graph(graph_id, version)

    async def load_tool_graphs(self, spec: GraphSpec, seen: frozenset[str] = frozenset()) -> None:
        """Register the saved graphs the spec's agents call as tools (their latest versions),
        and those they call in turn, so validation and runs find them."""
        for node in spec.nodes:
            tools: Any = node.config.get("tools") if node.kind == "agent" else None
            refs = cast(list[Any], tools) if isinstance(tools, list) else []
            for ref in refs:
                graph_id: Any = cast(dict[str, Any], ref).get("graph") if isinstance(ref, dict) else None
                if not isinstance(graph_id, str) or not graph_id or graph_id in seen:
                    continue
                try:
                    stored = await self.store.get_graph(graph_id)
                except NotFound:
                    continue  # unless code registered it, validation names it as unknown
                self.registry.register_graph(stored.spec, replace=True)
                await self.load_tool_graphs(stored.spec, seen | {graph_id})

    async def save(self, source: GraphSource, *, base_version: int | None = None) -> GraphVersion:
        """Validate (unless already compiled) and store as a new version, unless the latest
        version is the same graph; the compiled graph is kept for that version's runs.

        ``base_version``: the version the edits started from; when a newer one was saved since
        (and differs), ``VersionConflict`` and nothing is stored. Saving again with the newer
        version as ``base_version`` overwrites it (as one more version: none is ever lost)."""
        if isinstance(source, GraphSpec):
            await self.load_tool_graphs(source)
        elif not isinstance(source, CompiledGraph):
            with contextlib.suppress(Exception):  # a bad file is reported by validate, below
                await self.load_tool_graphs(load_graph(source))
        compiled = self.validate(source)
        try:
            latest = await self.store.get_graph(compiled.spec.id)
        except NotFound:
            latest = None
        if latest is not None and latest.spec == compiled.spec:
            stored = latest
        elif latest is not None and base_version is not None and latest.version != base_version:
            raise VersionConflict(latest.graph_id, base_version, latest.version)
        else:
            stored = await self.store.save_graph(compiled.spec)
        self._keep(stored, compiled)
        return stored

    async def versions(self, graph_id: str) -> list[GraphVersion]:
        """Every stored version of the graph, newest first (empty for an unknown graph)."""
        return [await self.store.get_graph(graph_id, n) for n in reversed(await self.store.list_versions(graph_id))]

    async def restore(self, graph_id: str, version: int) -> GraphVersion:
        """An old version saved again as the newest (validated against today's registry);
        the latest itself when it is already the same graph. Raises ``NotFound``."""
        return await self.save((await self.store.get_graph(graph_id, version)).spec)

    # -- drafts: the editor's autosave, one per graph, never a version and never run ------

    async def draft(self, graph_id: str) -> Draft | None:
        return await self.store.get_draft(graph_id)

    async def keep_draft(self, graph_id: str, base_version: int, graph: Mapping[str, Any]) -> Draft:
        """Create or replace the graph's draft; it need not validate. ``NotFound``, ``ValueError``."""
        return await self.store.save_draft(graph_id, base_version, dict(graph))

    async def discard_draft(self, graph_id: str) -> bool:
        return await self.store.delete_draft(graph_id)

    async def import_graph(self, data: str | bytes) -> GraphVersion:
        """A graph file: validated first (nothing is stored when it fails), nothing in it run."""
        return await self.save(data)

    async def export(self, graph_id: str, version: int | None = None) -> tuple[GraphVersion, str]:
        stored = await self.store.get_graph(graph_id, version)
        return stored, stored.spec.to_json()

    async def create(self, name: str) -> GraphVersion:
        """A new empty graph, its id made from the name."""
        spec = GraphSpec(schema_version=1, id=unique_id(slug(name), await self._ids()), name=name)
        return await self.store.save_graph(spec)

    async def rename(self, graph_id: str, name: str) -> GraphVersion:
        spec = (await self.store.get_graph(graph_id)).spec
        return await self.store.save_graph(spec.model_copy(update={"name": name}))

    async def duplicate(self, graph_id: str, name: str) -> GraphVersion:
        spec = (await self.store.get_graph(graph_id)).spec
        copy_id = unique_id(f"{graph_id}_copy", await self._ids())
        return await self.store.save_graph(spec.model_copy(update={"id": copy_id, "name": name}))

    async def delete(self, graph_id: str) -> None:
        """The graph, its versions and its runs; raises ``NotFound``."""
        await self.store.delete_graph(graph_id)
        for key in [key for key in self._compiled if key[0] == graph_id]:
            del self._compiled[key]

    async def add_samples(self, samples: Iterable[GraphSpec]) -> list[GraphVersion]:
        """Sample graphs new or changed since last offered (``graphflow.samples``); a sample
        that does not validate here (a plugin it needs is missing) is skipped."""
        valid = [compiled.spec for compiled in (self.check(spec)[0] for spec in samples) if compiled is not None]
        return await offer_samples(self.store, valid)

    async def _ids(self) -> list[str]:
        return [g.graph_id for g in await self.store.list_graphs()]

    async def _compile(self, stored: GraphVersion) -> CompiledGraph:
        key = (stored.graph_id, stored.version, self.registry.generation)  # a plugin reload compiles again
        kept = self._compiled.get(key)
        if kept is not None and (kept.spec is stored.spec or kept.spec == stored.spec):  # `is`: the common case, fast
            self._compiled.move_to_end(key)
            return kept
        await self.load_tool_graphs(stored.spec)
        compiled = validate_graph(stored.spec, self.registry)
        self._keep(stored, compiled)
        return compiled

    def _keep(self, stored: GraphVersion, compiled: CompiledGraph) -> None:
        key = (stored.graph_id, stored.version, self.registry.generation)
        self._compiled[key] = compiled
        self._compiled.move_to_end(key)
        while len(self._compiled) > COMPILED_KEPT:
            self._compiled.popitem(last=False)

    # -- runs ---------------------------------------------------------------------------

    async def run(self, graph: str | GraphVersion, inputs: Mapping[str, Any] | None = None, *,
                  version: int | None = None, sinks: Sequence[EventSink] = (), control: RunControl | None = None,
                  run_id: str | None = None) -> RunResult:
        """Run a stored graph (by id, or the version ``save`` returned). A run that cannot
        start (the stored graph no longer validates, or the inputs are wrong) is recorded as
        a failed run with the reason, and returned as such."""
        stored = graph if isinstance(graph, GraphVersion) else await self.store.get_graph(graph, version)
        run_id = run_id or new_run_id()
        try:
            compiled = await self._compile(stored)
            checked = check_run_inputs(compiled, inputs or {})
        except (GraphValidationError, RunInputError) as exc:
            return await self._refused(stored, run_id, dict(inputs or {}), exc, sinks)
        self.store.claim_new_run(run_id, self.owner, self.lease, self.clock.time())
        result = await self._execute(compiled, sinks, control, run_id, lambda runner, control: runner.run(
            checked, graph_version=stored.version, control=control, run_id=run_id))
        return await self._woken_meanwhile(result, sinks, control)

    async def resume(self, run_id: str, *, sinks: Sequence[EventSink] = (),
                     control: RunControl | None = None) -> RunResult:
        """Continue a run that stopped before it finished (the process died), or a waiting run
        one of whose nodes was woken. ``LeaseHeld`` while another live process executes it;
        ``RunRefused`` for a finished run, or a waiting run nothing woke."""
        summary = await self.store.get_run(run_id)
        if summary.status not in ("running", "waiting"):
            raise RunRefused(f"run {run_id} already {summary.status}; a finished run is never changed "
                             f"(use 'resume from failure' to start a new run from it)")
        if run_id in self._controls:
            raise RunRefused(f"run {run_id} is running in this process")
        waits = await self.store.list_waits(run_id)
        wakes = {w.node_id: w.wake for w in waits if w.wake is not None}
        paused = next((w for w in waits if w.node_id == PAUSED and w.wake is None), None)
        if summary.status == "waiting" and not wakes and paused is not None:  # resuming a paused run is its wake
            wake = Wake(kind="event", at=self.clock.time(), data={"event": RESUME}, by="resume")
            if await self.store.claim_wake(run_id, PAUSED, wake):
                wakes[PAUSED] = wake
        if summary.status == "waiting" and not wakes:
            raise RunRefused(f"run {run_id} is waiting ({describe_waits(waits)}); nothing has woken it yet")
        await self.store.take_over(run_id, self.owner, self.lease, self.clock.time())
        try:
            compiled = await self._compile(await self.store.get_graph(summary.graph_id, summary.graph_version))
            events = await self.store.load_events(run_id)
            for sink in sinks:  # a follower sees the whole run: what was logged, then what comes
                await replay(sink, events)
        except BaseException:
            await self._release(run_id)
            raise
        reason = "woken: " + ", ".join(f"{n or 'the paused run'} by {w.kind}" for n, w in wakes.items()) \
            if summary.status == "waiting" else ""
        result = await self._execute(compiled, sinks, control, run_id, lambda runner, control: runner.resume(
            events, control=control, wakes=wakes, reason=reason))
        return await self._woken_meanwhile(result, sinks, control)

    async def _woken_meanwhile(self, result: RunResult, sinks: Sequence[EventSink],
                               control: RunControl | None) -> RunResult:
        """A run that ended waiting while another of its nodes was woken goes on at once (that
        wake was claimed while this process held the run, so nobody else could continue it)."""
        if result.status != "waiting" or not any(w.wake for w in await self.store.list_waits(result.run_id)):
            return result
        return await self.resume(result.run_id, sinks=sinks, control=control)

    # -- waiting runs ---------------------------------------------------------------------

    async def pause(self, run_id: str, reason: str = "paused by user") -> str:
        """Pause a running run: its nodes in flight finish, nothing new starts, then it waits
        (status ``waiting``) until resumed (``resume``, or the event ``resume``). A run another
        process executes is asked through the store and pauses within a second or so. Returns
        what happened; ``RunRefused`` for a run that is not running."""
        control = self._controls.get(run_id)
        if control is not None:
            control.pause(reason)
            return "pausing"
        summary = await self.store.get_run(run_id)
        if summary.status != "running":
            raise RunRefused(f"run {run_id} is {summary.status}: only a running run can be paused")
        await self.store.put(PAUSES, run_id, {"reason": reason, "at": self.clock.time()})
        return "asked the process running it to pause it"

    async def waits(self, run_id: str | None = None) -> list[WaitRow]:
        """Waiting nodes (of one run, or of all), oldest first."""
        return await self.store.list_waits(run_id)

    async def send(self, run_id: str, event: str, data: Any = None, *, by: str = "",
                   go_on: bool = True, sinks: Sequence[EventSink] = ()) -> Sent:
        """Send ``event`` (with JSON ``data``) to a waiting run: the node waiting for it is woken
        (exactly once: of racing wakes one wins) and, with ``go_on``, the run continues here
        unless another process holds it. ``RunRefused``, with nothing changed, when no node of
        the run takes that event now."""
        summary = await self.store.get_run(run_id)
        if summary.status not in ("running", "waiting"):
            raise RunRefused(f"run {run_id} is {summary.status}: it takes no more events")
        waits = [w for w in await self.store.list_waits(run_id) if w.kind == "event" and w.wake is None]
        if not waits:
            raise RunRefused(f"run {run_id} is not waiting for an event ({describe_waits(await self.waits(run_id))})")
        reasons = [refusal(w, event, data) for w in waits]
        takers = [w for w, reason in zip(waits, reasons, strict=True) if reason is None]
        if not takers:
            raise RunRefused(f"run {run_id} refused event {event!r}: " + "; ".join(r for r in reasons if r))
        node_id, due, now = takers[0].node_id, takers[0].due_at, self.clock.time()
        if due is not None and due <= now:  # too late: the timeout stands, whether or not its timer has fired
            await self.fire_timers()
            if go_on:
                await self.continue_run(run_id, sinks=sinks)
            raise RunRefused(f"node {node_id!r} of run {run_id} timed out at {when(due)}, before {event!r} came; "
                             "its timeout was taken")
        wake = Wake(kind="event", at=now, data={"event": event, "data": data}, by=by)
        if not await self.store.claim_wake(run_id, node_id, wake):
            raise RunRefused(f"node {node_id!r} of run {run_id} was woken by something else first")
        return Sent(run_id, node_id, await self.continue_run(run_id, sinks=sinks) if go_on else None)

    # -- human review (graphflow.review) -------------------------------------------------

    def _review_store(self) -> ReviewStore:
        if not isinstance(self.store, ReviewStore):
            raise RunRefused("this workspace's store keeps no review items")
        return self.store

    async def reviews(self, *, status: str | None = "pending", graph_id: str | None = None,
                      reason: str | None = None, limit: int = 500) -> list[ReviewItem]:
        """Review items (pending ones by default), oldest first, by graph and reason."""
        return await self._review_store().review_items(status=status, graph_id=graph_id, reason=reason, limit=limit)

    async def review_item(self, item_id: str) -> ReviewItem:
        return await self._review_store().get_review_item(item_id)

    async def labelled(self, graph_id: str | None = None) -> list[ReviewItem]:
        """Decided items that carry a label (active learning), in the order they were decided."""
        return await self._review_store().labelled_items(graph_id)

    async def decide(self, item_id: str, decision: Mapping[str, Any], *, by: str = "", go_on: bool = True,
                     sinks: Sequence[EventSink] = ()) -> Decided:
        """Decide a review item (``{"decision": approve|edit|reject|label|answer, "value", "reason",
        "label"}``): the item and its node's wake in one transaction, so of a decision and its
        timeout exactly one takes effect; then, with ``go_on``, the run continues here unless
        another process holds it. ``ValueError`` for a decision that does not fit (nothing changed),
        ``WakeRefused`` when it was decided or timed out already, ``NotFound``."""
        item = await self._review_store().decide_review(item_id, dict(decision), by)
        return Decided(item, await self.continue_run(item.run_id, sinks=sinks) if go_on else None)

    async def continue_run(self, run_id: str, *, sinks: Sequence[EventSink] = ()) -> RunResult | None:
        """Continue a woken waiting run here; None when another live process holds it, it is
        running here already, or it is no longer waiting (someone continued it first)."""
        if run_id in self._controls:
            return None
        try:
            return await self.resume(run_id, sinks=sinks)
        except (LeaseHeld, RunRefused) as exc:
            log.info("run %s not continued here: %s", run_id, exc)
            return None
        except ValueError as exc:  # finished meanwhile, by whoever continued it
            log.info("run %s not continued here: %s", run_id, exc)
            return None

    async def fire_timers(self) -> list[WaitRow]:
        """Claim a ``timer`` wake for every wait whose time has come (a timer, or an event or
        decision timing out); returns those this call won."""
        fired: list[WaitRow] = []
        now = self.clock.time()
        for row in await self.store.due_waits(now):
            if await self.store.claim_wake(row.run_id, row.node_id, Wake(kind="timer", at=now, by="timer")):
                fired.append(row)
        return fired

    async def wake_due(self) -> list[RunResult]:
        """Fire the due timers, then continue every woken run no other process holds, one after
        another; what a cron job or ``graphflow waits --fire`` does once."""
        await self.fire_timers()
        results: list[RunResult] = []
        for run_id in await self.store.woken_runs():
            result = await self.continue_run(run_id)
            if result is not None:
                results.append(result)
        return results

    async def watch_waits(self, *, poll: float = 2.0, max_runs: int = 16,
                          start: Callable[[str], bool] | None = None) -> None:
        """Forever: fire timers as they fall due and continue woken runs, checking the store at
        least every ``poll`` seconds for wakes claimed by other processes. ``start(run_id)``
        continues a run the caller's way (the canvas: as a live run) and says whether it did;
        by default up to ``max_runs`` continue here at once. Cancel it to stop."""
        limiter = anyio.CapacityLimiter(max_runs)
        going: set[str] = set()

        async def go_on(run_id: str) -> None:
            async with limiter:
                try:
                    await self.continue_run(run_id)
                except Exception:  # a broken run must not stop the watcher
                    log.exception("run %s could not be continued", run_id)
                finally:
                    going.discard(run_id)

        async with anyio.create_task_group() as tg:
            while True:
                try:
                    await self.fire_timers()
                    for run_id in await self.store.woken_runs(limit=max_runs * 4):
                        if run_id in going or run_id in self._controls:
                            continue
                        if start is not None:
                            start(run_id)
                        else:
                            going.add(run_id)
                            tg.start_soon(go_on, run_id)
                    due = await self.store.next_due()
                except StoreError as exc:  # the file is busy or broken: try again later
                    log.error("waits: %s", exc)
                    due = None
                now = self.clock.time()
                await self.clock.sleep(poll if due is None else min(poll, max(0.0, due - now)))

    async def resume_from_failure(self, run_id: str, *, version: int | None = None,
                                  sinks: Sequence[EventSink] = (), control: RunControl | None = None,
                                  new_run_id: str | None = None) -> tuple[RunResult, list[str]]:
        """A new run from a failed one, reusing every output that did not change.
        ``version`` picks the graph version to run (default: the latest). Returns the
        result and the nodes whose spec changed since the failed run's version."""
        old = await self.store.get_run(run_id)
        if old.status not in ("failed", "cancelled"):
            raise RunRefused(f"run {run_id} is {old.status}: only a failed or cancelled run can be resumed from")
        old_graph = await self.store.get_graph(old.graph_id, old.graph_version)
        new_graph = await self.store.get_graph(old.graph_id, version)
        seed = seed_from(await self.store.load_events(run_id), old_graph.spec, new_graph.spec)
        result = await self._run_seeded(new_graph, old.inputs, seed, sinks, control, new_run_id)
        return result, seed.changed

    async def plan_from(self, graph_id: str, node_id: str, *, after: str | None = None,
                        version: int | None = None, look_back: int = 100) -> RunFrom:
        """A run from ``node_id`` of the graph's ``version`` (default: the latest): the node and its
        descendants run again, every other node's output (and the inputs) come from run ``after``
        (default: the newest of the graph's latest ``look_back`` runs whose outputs fit). ``RunRefused``
        saying why not (an unknown or input node, no run that fits, a node changed since), ``NotFound``."""
        stored = await self.store.get_graph(graph_id, version)
        try:
            rerun = rerun_set(await self._compile(stored), node_id)
        except ValueError as exc:
            raise RunRefused(str(exc)) from None
        candidates = [await self.store.get_run(after)] if after else await self.store.list_runs(graph_id, look_back)
        verdicts: list[Verdict] = []
        for earlier in candidates:
            if earlier.graph_id != graph_id:
                raise RunRefused(f"run {earlier.run_id} is a run of {earlier.graph_id!r}, not of {graph_id!r}")
            if earlier.graph_version is None:
                continue
            old = (await self.store.get_graph(graph_id, earlier.graph_version)).spec
            events = await self.store.load_events(earlier.run_id)
            found = verdict(events, old, stored.spec, rerun)
            if found.fits:
                return RunFrom(stored, node_id, rerun, earlier, seed_from(events, old, stored.spec, node_id))
            verdicts.append(found)
        raise RunRefused(no_fit(graph_id, node_id, verdicts, named=after is not None))

    async def run_from(self, plan: RunFrom, *, sinks: Sequence[EventSink] = (), control: RunControl | None = None,
                       run_id: str | None = None) -> RunResult:
        """Start the run ``plan_from`` made ready, with the earlier run's inputs."""
        result = await self._run_seeded(plan.graph, plan.earlier.inputs, plan.seed, sinks, control, run_id)
        return await self._woken_meanwhile(result, sinks, control)

    async def _run_seeded(self, stored: GraphVersion, inputs: Mapping[str, Any], seed: Seed,
                          sinks: Sequence[EventSink], control: RunControl | None, run_id: str | None) -> RunResult:
        """A new run of ``stored`` that reuses the outputs ``seed`` holds."""
        compiled = await self._compile(stored)
        run_id = run_id or new_run_id()
        self.store.claim_new_run(run_id, self.owner, self.lease, self.clock.time())
        return await self._execute(compiled, sinks, control, run_id, lambda runner, control: runner.run(
            inputs, graph_version=stored.version, seed=seed, control=control, run_id=run_id))

    async def recover(self, run_id: str, *, sinks: Sequence[EventSink] = (),
                      control: RunControl | None = None) -> RunResult | None:
        """Continue an unfinished run; one that cannot be continued (its graph missing or invalid,
        a corrupt log, a node raising ``BaseException``) is marked failed with the reason, and None
        returned: recovery never takes its caller down. ``LeaseHeld`` while another process runs it."""
        try:
            return await self.resume(run_id, sinks=sinks, control=control)
        except (LeaseHeld, LeaseLost, StoreError):  # the run is fine: it stays unfinished, for later
            raise
        except BaseException as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            exc = only_error(exc)
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
            await self.store.publish(ev.RunFinished(
                run_id=run_id, seq=summary.last_seq + 1, at=now, status="failed", error=reason,
                duration=max(0.0, now - summary.started_at)))
        finally:
            await self._release(run_id)

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

    async def recoverable(self) -> list[RunSummary]:
        """Unfinished runs no live process holds: no lease, our own, or an expired one."""
        found: list[RunSummary] = []
        for summary in await self.store.unfinished_runs():
            lease = await self.store.lease_of(summary.run_id)
            if lease is None or lease.owner == self.owner or lease.expires_at <= self.clock.time():
                found.append(summary)
        return found

    def cancel(self, run_id: str, reason: str = "cancelled by user") -> bool:
        """Ask a run this workspace is executing to stop; False when it is not running here."""
        control = self._controls.get(run_id)
        if control is None:
            return False
        control.cancel(reason)
        return True

    def running(self) -> list[str]:
        """Ids of the runs this workspace is executing now."""
        return list(self._controls)

    async def runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        return list(await self.store.list_runs(graph_id, limit))

    async def run_summary(self, run_id: str) -> RunSummary:
        return await self.store.get_run(run_id)

    async def session_messages(self, session_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """A conversation's messages (``{"role", "content", "run_id"}``), oldest first; [] when
        the store keeps no sessions."""
        sessions = self._sessions()
        return [] if sessions is None else await sessions.session_messages(session_id, limit)

    async def run_sessions(self, run_id: str) -> list[str]:
        """The sessions a run stored turns in."""
        sessions = self._sessions()
        return [] if sessions is None else await sessions.run_sessions(run_id)

    def _sessions(self) -> SessionStore | None:
        return cast(SessionStore, self.store) if hasattr(self.store, "session_messages") else None

    async def events(self, run_id: str) -> list[ev.Event]:
        """A run's stored events in order (empty for an unknown run)."""
        return list(await self.store.load_events(run_id))

    async def _execute(self, compiled: CompiledGraph, sinks: Sequence[EventSink], control: RunControl | None,
                       run_id: str, go: Callable[[Runner, RunControl], Awaitable[RunResult]]) -> RunResult:
        """``go`` with the run's lease (already taken) renewed beside it, released at the end."""
        control = control or RunControl()
        self._controls[run_id] = control
        runner = Runner(compiled, sinks=[self.store, *sinks], clock=self.clock, max_concurrency=self.max_concurrency,
                        breakers=self.breakers, suspend=True, cache=self.store, rng=self._rng,
                        secrets=await self._secrets(), sessions=self._sessions())
        try:
            return await self._owned(run_id, lambda: go(runner, control))
        finally:
            self._controls.pop(run_id, None)
            await self._release(run_id)

    # -- credentials ----------------------------------------------------------------------

    def _credential_store(self) -> CredentialStore:
        if not isinstance(self.store, CredentialStore):
            raise RunRefused("this workspace's store keeps no credentials (use GRAPHFLOW_SECRET_<NAME>)")
        return self.store

    async def set_credential(self, name: str, value: str) -> CredentialInfo:
        """Create or replace a named credential (stored encrypted); its value is never read back."""
        return await self._credential_store().set_credential(name, value)

    async def credentials(self) -> list[CredentialInfo]:
        """Names and dates of the stored credentials (never values)."""
        return await self._credential_store().credentials()

    async def delete_credential(self, name: str) -> bool:
        return await self._credential_store().delete_credential(name)

    async def _secrets(self) -> SecretSource | None:
        """What ``ctx.secret`` reads in this workspace's runs: stored credentials, then the environment."""
        if not self._keeps_credentials:
            return None
        return await cast(CredentialStore, self.store).secret_source(EnvSecrets())

    async def _owned(self, run_id: str, work: Callable[[], Awaitable[RunResult]]) -> RunResult:
        """``work()`` with the run's lease renewed beside it; stopped (``LeaseLost``) when a renewal fails."""
        lost: list[Exception] = []
        tick = min(PAUSE_POLL, self.lease / 3)
        next_renewal = self.clock.monotonic() + self.lease / 3
        # A real clock's first tick is a timer on the loop (most runs end before it: no task);
        # another clock (a test's FakeClock) moves only through its sleep, so the task sleeps it.
        real = isinstance(self.clock, RealClock)
        error: BaseException | None = None
        with cancel_scope() as scope:  # cancelled from the heartbeat's task
            async with task_after(tick if real else 0, lambda: self._heartbeat(
                    run_id, scope, lost, next_renewal, sleep_first=not real)):
                try:
                    return await work()
                except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                    error = only_error(exc)  # the runner's task group wraps what stopped it
        if error is not None:
            raise error
        raise LeaseLost(run_id, str(lost[0]) if lost else "the lease could not be renewed")

    async def _heartbeat(self, run_id: str, scope: Scope, lost: list[Exception], next_renewal: float,
                         *, sleep_first: bool) -> None:
        """Renew the lease every third of it; look for a pause asked by another process every tick."""
        renew = self.lease / 3
        tick = min(PAUSE_POLL, renew)
        while True:
            if sleep_first:
                await self.clock.sleep(tick)
            sleep_first = True
            with contextlib.suppress(GraphflowError):  # a storage hiccup: asked again next tick
                asked = await self.store.get(PAUSES, run_id)
                control = self._controls.get(run_id)
                if asked is not None and control is not None:
                    await self.store.delete(PAUSES, run_id)
                    control.pause(str(asked.get("reason") or "paused"))
            if self.clock.monotonic() < next_renewal:
                continue
            next_renewal += renew
            try:
                await self.store.renew_lease(run_id, self.owner, self.lease, self.clock.time())
            except GraphflowError as exc:  # lost, or a storage error: someone else may run it now, never both
                log.error("run %s stopped: %s", run_id, exc)
                lost.append(exc)
                scope.cancel()
                return

    async def _release(self, run_id: str) -> None:
        with anyio.CancelScope(shield=True):
            self.store.release_lease(run_id, self.owner)
            await self.store.flush()
            await self.save_breakers()

    async def _refused(self, stored: GraphVersion, run_id: str, inputs: dict[str, Any], exc: Exception,
                       sinks: Sequence[EventSink]) -> RunResult:
        """Record a run that could not start: its start and its failure, with the reason."""
        message = f"could not start: {exc}"
        events: list[ev.Event] = [
            ev.RunStarted(run_id=run_id, seq=0, at=self.clock.time(), graph_id=stored.graph_id,
                          graph_version=stored.version, inputs=inputs),
            ev.RunFinished(run_id=run_id, seq=1, at=self.clock.time(), status="failed", error=message),
        ]
        for event in events:
            for sink in (self.store, *sinks):
                await sink.publish(event)
        await self.store.flush()
        return RunResult(run_id=run_id, status="failed", outputs={}, events=events, node_states={}, error=message)

    # -- stats and breakers ---------------------------------------------------------------

    async def stats(self, graph_id: str, limit: int = 1000) -> Stats:
        logs = await self.store.runs_for_stats(graph_id, limit)
        if not logs and not await self.store.list_versions(graph_id):
            raise NotFound(f"no graph {graph_id!r}")
        return Stats(graph_stats(logs), node_stats(logs))

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

    async def reset_breaker(self, name: str) -> bool:
        """Close a breaker and forget its failures, here and in the store; False if unknown."""
        known = self.breakers.reset(name)
        return await self.store.delete(BREAKERS, name) or known

