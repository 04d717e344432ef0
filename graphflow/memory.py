"""``MemoryStore``: the storage ports in plain dicts, for tests, scripts and the UI fallback.
Review items too (``graphflow.memory_reviews``): a review node's run waits, and is decided, as on SQLite.

It behaves as ``graphflow.storage.SqliteStore`` does (one conformance suite runs against
both): seqs are checked on publish, events and values round-trip through JSON so a
reader never shares objects with the writer, a run creates its graph's entry, deleting a
graph deletes its runs. Nothing survives the process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic_core import to_json

from graphflow import events as ev
from graphflow.clock import Clock, RealClock
from graphflow.drafts import decode_draft, encode_draft
from graphflow.errors import LeaseHeld, LeaseLost
from graphflow.memory_reviews import MemoryReviews
from graphflow.model import GraphSpec
from graphflow.ports import Draft, GraphSummary, GraphVersion, Lease, NotFound, RunSummary
from graphflow.waits import PAUSED, RESUME, WaitRow, Wake


@dataclass
class _Graph:
    name: str
    updated_at: float
    versions: list[GraphVersion] = field(default_factory=list)
    draft: Draft | None = None


@dataclass
class _Run:
    summary: RunSummary
    log: list[str] = field(default_factory=list)
    """Events as JSON, by seq."""
    outputs: dict[str, str] = field(default_factory=dict)


class MemoryStore(MemoryReviews):
    """GraphStore + DraftStore + RunStore + KeyValueStore + LeaseStore + WaitStore + ReviewStore
    (``graphflow.ports``) in memory."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or RealClock()
        self._graphs: dict[str, _Graph] = {}
        self._runs: dict[str, _Run] = {}
        self._kv: dict[tuple[str, str], tuple[str, float | None]] = {}
        self._leases: dict[str, Lease] = {}
        self._sessions: dict[str, list[dict[str, Any]]] = {}
        self._waits: dict[tuple[str, str], WaitRow] = {}
        self._reviews = {}

    async def session_messages(self, session_id: str, limit: int = 500) -> list[dict[str, Any]]:
        kept = self._sessions.get(session_id, [])
        return [{"role": m["role"], "content": m["content"], "run_id": m["run_id"]} for m in kept[-limit:]]

    async def add_session_messages(self, session_id: str, run_id: str, node_id: str,
                                   messages: list[dict[str, Any]]) -> None:
        if any(m["run_id"] == run_id and m["node_id"] == node_id for s in self._sessions.values() for m in s):
            return
        self._sessions.setdefault(session_id, []).extend(
            {"role": str(m["role"]), "content": str(m["content"]), "run_id": run_id, "node_id": node_id}
            for m in messages)

    async def run_sessions(self, run_id: str) -> list[str]:
        return [sid for sid, kept in self._sessions.items() if any(m["run_id"] == run_id for m in kept)]

    async def __aenter__(self) -> MemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        return None

    # GraphStore

    async def save_graph(self, spec: GraphSpec) -> GraphVersion:
        now = self._clock.time()
        graph = self._graphs.setdefault(spec.id, _Graph(spec.name, now))
        graph.name, graph.updated_at = spec.name, now
        version = GraphVersion(spec.id, len(graph.versions) + 1, spec, now)
        graph.versions.append(version)
        return version

    async def get_graph(self, graph_id: str, version: int | None = None) -> GraphVersion:
        graph = self._graphs.get(graph_id)
        versions = graph.versions if graph else []
        if version is None and versions:
            return versions[-1]
        if version is not None and 1 <= version <= len(versions):
            return versions[version - 1]
        which = "any version" if version is None else f"version {version}"
        raise NotFound(f"graph {graph_id!r} has no {which}")

    async def list_graphs(self) -> list[GraphSummary]:
        runs: dict[str, int] = {}
        for run in self._runs.values():
            runs[run.summary.graph_id] = runs.get(run.summary.graph_id, 0) + 1
        summaries = [GraphSummary(graph_id, g.name, len(g.versions), g.updated_at, runs.get(graph_id, 0))
                     for graph_id, g in self._graphs.items()]
        summaries.sort(key=lambda s: s.graph_id)
        summaries.sort(key=lambda s: s.updated_at, reverse=True)
        return summaries

    async def list_versions(self, graph_id: str) -> list[int]:
        graph = self._graphs.get(graph_id)
        return [v.version for v in graph.versions] if graph else []

    async def delete_graph(self, graph_id: str) -> None:
        if self._graphs.pop(graph_id, None) is None:
            raise NotFound(f"no graph {graph_id!r}")
        for run_id in [r for r, run in self._runs.items() if run.summary.graph_id == graph_id]:
            del self._runs[run_id]
            for key in [k for k in self._waits if k[0] == run_id]:
                del self._waits[key]
            for item in self._items(run_id=run_id):
                del self._reviews[item.id]

    # DraftStore

    async def save_draft(self, graph_id: str, base_version: int, graph: dict[str, Any]) -> Draft:
        text = encode_draft(graph)
        stored = self._graphs.get(graph_id)
        if stored is None:
            raise NotFound(f"no graph {graph_id!r}")
        stored.draft = Draft(graph_id, base_version, decode_draft(text), self._clock.time())
        return Draft(graph_id, base_version, decode_draft(text), stored.draft.saved_at)

    async def get_draft(self, graph_id: str) -> Draft | None:
        stored = self._graphs.get(graph_id)
        draft = stored.draft if stored else None
        return None if draft is None else replace(draft, graph=json.loads(json.dumps(draft.graph)))

    async def delete_draft(self, graph_id: str) -> bool:
        stored = self._graphs.get(graph_id)
        if stored is None or stored.draft is None:
            return False
        stored.draft = None
        return True

    # RunStore

    async def publish(self, event: ev.Event) -> None:
        run = self._runs.get(event.run_id)
        expected = run.summary.last_seq + 1 if run else 0
        if event.seq != expected:
            raise ValueError(f"event seq {event.seq} of run {event.run_id!r} is not the next one ({expected}): "
                             "the log would have a gap or a duplicate")
        body = event.model_dump_json()
        if run is None:
            if not isinstance(event, ev.RunStarted):
                raise ValueError(f"run {event.run_id!r} must start with run_started, not {event.kind}")
            self._graphs.setdefault(event.graph_id, _Graph("", event.at))
            run = self._runs[event.run_id] = _Run(RunSummary(
                run_id=event.run_id, graph_id=event.graph_id, graph_version=event.graph_version, status="running",
                started_at=event.at, finished_at=None, duration=None, cost=0.0, failed_node=None, error=None,
                inputs=_copy(event.inputs), outputs={}, last_seq=-1))
        s = run.summary
        if isinstance(event, ev.NodeSucceeded):
            run.outputs[event.node_id] = to_json(event.output).decode()
        if isinstance(event, ev.NodeSucceeded | ev.NodeFailed) and event.cost:
            s = replace(s, cost=s.cost + event.cost)
        if isinstance(event, ev.RunFinished):
            s = replace(s, status=event.status, finished_at=event.at, duration=event.duration,
                        cost=event.cost or s.cost, failed_node=event.failed_node, error=event.error,
                        outputs=_copy(event.outputs))
        elif isinstance(event, ev.RunCancelled):
            s = replace(s, status="cancelled", finished_at=event.at, duration=event.duration, failed_node=None,
                        error=event.reason, outputs={})
        elif isinstance(event, ev.RunWaiting):
            s = replace(s, status="waiting")
        elif isinstance(event, ev.RunResumed) and s.status == "waiting":
            s = replace(s, status="running")
        self._derive_waits(event)
        run.log.append(body)
        self._derive_review(event)
        run.summary = replace(s, last_seq=event.seq)

    def _derive_waits(self, event: ev.Event) -> None:
        """The wait rows, as ``storage/waits.py`` derives them."""
        run_id = event.run_id
        if isinstance(event, ev.NodeWaiting):
            old = self._waits.get((run_id, event.node_id))
            keep = old is not None and not event.woken
            self._waits[(run_id, event.node_id)] = WaitRow(
                run_id, event.node_id, event.wait_kind, event.key, event.due_at, dict(event.detail),
                old.since if keep and old else event.at, old.wake if keep and old else None)
        elif isinstance(event, ev.RunWaiting):
            waiting = {str(w.get("node_id")) for w in event.waits}
            for key in [k for k in self._waits if k[0] == run_id and k[1] not in waiting]:
                del self._waits[key]
            if event.paused:
                self._waits[(run_id, PAUSED)] = WaitRow(run_id, PAUSED, "event", RESUME, None,
                                                        {"paused": event.paused}, event.at)
        elif isinstance(event, ev.RunFinished | ev.RunCancelled):
            for key in [k for k in self._waits if k[0] == run_id]:
                del self._waits[key]

    # WaitStore

    async def list_waits(self, run_id: str | None = None) -> list[WaitRow]:
        return sorted((w for w in self._waits.values() if run_id is None or w.run_id == run_id),
                      key=lambda w: w.since)

    async def claim_wake(self, run_id: str, node_id: str, wake: Wake) -> bool:
        """``_claim``; a timer that wins also times out the node's review item."""
        won = self._claim(run_id, node_id, wake)
        if won and wake.kind == "timer":
            self._timed_out(run_id, node_id, wake.at)
        return won

    def _claim(self, run_id: str, node_id: str, wake: Wake) -> bool:
        row = self._waits.get((run_id, node_id))
        if row is None or row.wake is not None:
            return False
        self._waits[(run_id, node_id)] = replace(row, wake=wake)
        return True

    def _graph_of(self, run_id: str) -> str:
        return self._runs[run_id].summary.graph_id

    def _time(self) -> float:
        return self._clock.time()

    async def due_waits(self, now: float, limit: int = 100) -> list[WaitRow]:
        due = [w for w in self._waits.values() if w.wake is None and w.due_at is not None and w.due_at <= now]
        return sorted(due, key=lambda w: w.due_at or 0.0)[:limit]

    async def next_due(self) -> float | None:
        return min((w.due_at for w in self._waits.values() if w.wake is None and w.due_at is not None), default=None)

    async def woken_runs(self, limit: int = 100) -> list[str]:
        woken = {w.run_id for w in self._waits.values() if w.wake is not None
                 and self._runs[w.run_id].summary.status == "waiting"}
        return sorted(woken)[:limit]

    async def flush(self) -> None:
        return None

    # LeaseStore: one process, so only the rules (a live lease of another owner, a finished run)

    def claim_new_run(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        self._leases[run_id] = Lease(run_id, owner, now + seconds)

    async def take_over(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        lease = self._leases.get(run_id)
        if lease is not None and lease.owner != owner and lease.expires_at > now:
            raise LeaseHeld(run_id, lease.owner, lease.expires_at, now)
        run = self._runs.get(run_id)
        if run is not None and run.summary.status not in ("running", "waiting"):
            raise ValueError(f"run {run_id} already {run.summary.status}; a finished run is never changed "
                             "(use 'resume from failure' to start a new run from it)")
        self._leases[run_id] = Lease(run_id, owner, now + seconds)

    async def renew_lease(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        lease = self._leases.get(run_id)
        if lease is None or lease.owner != owner:
            raise LeaseLost(run_id, "another process took the run over")
        self._leases[run_id] = Lease(run_id, owner, now + seconds)

    def release_lease(self, run_id: str, owner: str) -> None:
        lease = self._leases.get(run_id)
        if lease is not None and lease.owner == owner:
            del self._leases[run_id]

    async def lease_of(self, run_id: str) -> Lease | None:
        return self._leases.get(run_id)

    async def get_run(self, run_id: str) -> RunSummary:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        return _summary(run)

    async def list_runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        """Newest first."""
        runs = [r for r in self._newest_first() if graph_id is None or r.summary.graph_id == graph_id]
        return [_summary(r) for r in runs[:limit]]

    async def load_events(self, run_id: str, after_seq: int = -1) -> list[ev.Event]:
        run = self._runs.get(run_id)
        return [ev.event_from_json(body) for body in run.log[after_seq + 1:]] if run else []

    async def node_outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        run = self._runs.get(run_id)
        return {node: json.loads(output) for node, output in run.outputs.items()} if run else {}

    async def unfinished_runs(self) -> list[RunSummary]:
        """Runs with no end event, oldest first."""
        runs = [r for r in reversed(self._newest_first()) if r.summary.status == "running"]
        return [_summary(r) for r in runs]

    async def runs_for_stats(self, graph_id: str, limit: int = 1000) -> list[Sequence[ev.Event]]:
        """Event logs of the graph's finished runs, newest first."""
        runs = [r for r in self._newest_first() if r.summary.graph_id == graph_id
                and r.summary.status not in ("running", "waiting")]
        return [[ev.event_from_json(body) for body in r.log] for r in runs[:limit]]

    def _newest_first(self) -> list[_Run]:
        runs = list(self._runs.values())[::-1]  # newest inserted first among equal start times
        runs.sort(key=lambda r: r.summary.started_at, reverse=True)
        return runs

    # KeyValueStore

    async def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None:
        self._kv[namespace, key] = (json.dumps(value, separators=(",", ":")), expires_at)

    async def get(self, namespace: str, key: str, now: float | None = None) -> Any | None:
        """None when missing or expired at ``now`` (the store's clock by default)."""
        entry = self._kv.get((namespace, key))
        if entry is None or _expired(entry[1], self._now(now)):
            return None
        return json.loads(entry[0])

    async def items(self, namespace: str, now: float | None = None) -> dict[str, Any]:
        cutoff = self._now(now)
        found = {k: json.loads(v) for (ns, k), (v, exp) in self._kv.items()
                 if ns == namespace and not _expired(exp, cutoff)}
        return dict(sorted(found.items()))

    async def delete(self, namespace: str, key: str) -> bool:
        return self._kv.pop((namespace, key), None) is not None

    async def purge_expired(self, now: float | None = None) -> int:
        cutoff = self._now(now)
        expired = [k for k, (_, exp) in self._kv.items() if _expired(exp, cutoff)]
        for k in expired:
            del self._kv[k]
        return len(expired)

    def _now(self, now: float | None) -> float:
        return self._clock.time() if now is None else now


def _expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and expires_at <= now


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(to_json(value))


def _summary(run: _Run) -> RunSummary:
    s = run.summary
    return replace(s, inputs=_copy(s.inputs), outputs=_copy(s.outputs))
