"""Protocols the outside world implements to observe or persist runs.

The engine depends only on these; ``storage/`` implements them with SQLite and
``graphflow.memory`` in memory. One conformance suite (tests/storage) runs against both.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

from graphflow.errors import NotFound
from graphflow.events import Event, NodeText
from graphflow.model import GraphSpec
from graphflow.waits import WaitRow, Wake

__all__ = ["CredentialInfo", "CredentialStore", "Draft", "DraftStore", "DurableSink", "EventSink", "GraphStore",
           "GraphSummary", "GraphVersion", "KeyValueStore", "Lease", "LeaseStore", "LiveSink", "NotFound",
           "ReplaySink", "ReviewItem", "ReviewStore", "RunStore", "RunSummary", "SecretSource", "Store"]


def sinks_of(sinks: Sequence[EventSink], port: type) -> list[Any]:
    """The sinks that implement ``port`` (a protocol of methods), judged once per class: an
    ``isinstance`` against a runtime protocol looks up every method each time (some 6 us),
    and a runner asks it per sink for every run."""
    return [sink for sink in sinks if _implements(type(sink), port)]


@functools.cache
def _implements(cls: type, port: type) -> bool:
    return issubclass(cls, port)


@runtime_checkable
class EventSink(Protocol):
    """Receives every event of a run, in order. Awaited before the run moves on."""

    async def publish(self, event: Event) -> None: ...


@runtime_checkable
class DurableSink(EventSink, Protocol):
    """A sink that keeps events durably. The runner awaits ``flush`` once a run's start is
    published, so a run exists in the store before any of its nodes runs."""

    async def flush(self) -> None:
        """Return once everything published so far is durable."""
        ...


@runtime_checkable
class LiveSink(Protocol):
    """A sink that also shows what is not stored: a streaming node's text so far."""

    def show(self, note: NodeText) -> None: ...


@runtime_checkable
class ReplaySink(EventSink, Protocol):
    """A sink told a resumed run's stored events apart from its new ones (``graphflow.EventLog``):
    a ``run_waiting`` among them is history, not where the run stops."""

    async def replay(self, events: Sequence[Event]) -> None: ...


@runtime_checkable
class SecretSource(Protocol):
    """Where nodes get named credentials (API keys, tokens). Graphs hold only the name; the
    value is never put in events, outputs, exports or error messages."""

    def get(self, name: str) -> str:
        """The secret's value; raises ``graphflow.errors.SecretNotFound`` if there is none."""
        ...


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What may be shown of a stored credential: never its value."""

    name: str
    created_at: float
    updated_at: float


@runtime_checkable
class CredentialStore(Protocol):
    """Named credentials kept encrypted by a store (``graphflow.storage``); values go in and come
    out only as a ``SecretSource`` for runs."""

    async def set_credential(self, name: str, value: str) -> CredentialInfo:
        """Create or replace; ``ValueError`` for a bad name or an empty value."""
        ...

    async def credentials(self) -> list[CredentialInfo]: ...

    async def delete_credential(self, name: str) -> bool:
        """False when there was none."""
        ...

    async def secret_source(self, fallback: SecretSource) -> SecretSource:
        """The stored credentials (decrypted on use), else ``fallback``'s."""
        ...


class SessionStore(Protocol):
    """An agent's conversation memory: messages kept per session id, across runs."""

    async def session_messages(self, session_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """The session's newest ``limit`` messages (``{"role", "content", "run_id"}``), oldest first."""
        ...

    async def add_session_messages(self, session_id: str, run_id: str, node_id: str,
                                   messages: list[dict[str, Any]]) -> None:
        """Append a turn's messages; a second call for the same run and node changes nothing
        (a resumed or retried agent stores its turn once)."""
        ...

    async def run_sessions(self, run_id: str) -> list[str]:
        """The sessions a run stored turns in (usually one), in the order first stored."""
        ...


@dataclass(frozen=True, slots=True)
class GraphVersion:
    graph_id: str
    version: int
    """1, 2, 3, ...: every save is a new version; old versions are kept."""
    spec: GraphSpec
    saved_at: float


@dataclass(frozen=True, slots=True)
class GraphSummary:
    graph_id: str
    name: str
    latest_version: int
    updated_at: float
    runs: int


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    graph_id: str
    graph_version: int | None
    status: str
    """running, succeeded, failed or cancelled."""
    started_at: float
    finished_at: float | None
    duration: float | None
    cost: float
    failed_node: str | None
    error: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    last_seq: int


class GraphStore(Protocol):
    async def save_graph(self, spec: GraphSpec) -> GraphVersion: ...

    async def get_graph(self, graph_id: str, version: int | None = None) -> GraphVersion:
        """The given version, or the latest; raises ``NotFound``."""
        ...

    async def list_graphs(self) -> list[GraphSummary]: ...

    async def list_versions(self, graph_id: str) -> list[int]: ...

    async def delete_graph(self, graph_id: str) -> None:
        """Removes the graph, its versions and its runs; raises ``NotFound``."""
        ...


@dataclass(frozen=True, slots=True)
class Draft:
    """A graph as it is being edited, kept apart from its versions: it may not validate."""

    graph_id: str
    base_version: int
    """The version the edits started from (a newer one may have been saved since)."""
    graph: dict[str, Any]
    """A GraphSpec JSON dict, positions included; not validated."""
    saved_at: float


class DraftStore(Protocol):
    """One draft per graph (the editor's autosave); never a version, never run."""

    async def save_draft(self, graph_id: str, base_version: int, graph: dict[str, Any]) -> Draft:
        """Create or replace the graph's draft; ``NotFound`` for a graph the store does not have,
        ``ValueError`` for a draft that is not JSON data or is larger than ``graphflow.drafts.MAX_DRAFT_BYTES``."""
        ...

    async def get_draft(self, graph_id: str) -> Draft | None: ...

    async def delete_draft(self, graph_id: str) -> bool:
        """False when there was none. Deleting a graph deletes its draft."""
        ...


class RunStore(DurableSink, Protocol):
    """The append-only event log, keyed by (run id, seq), and what is derived from it.

    ``publish(RunStarted)`` creates the run; ``NodeSucceeded`` events are the
    checkpoints (their outputs are kept per node); ``RunFinished``/``RunCancelled``
    close the run, its status and outputs saved in the same transaction as the event.
    A seq that is not the run's next one is refused with ``ValueError``.
    """

    async def get_run(self, run_id: str) -> RunSummary: ...

    async def list_runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        """Newest first."""
        ...

    async def load_events(self, run_id: str, after_seq: int = -1) -> list[Event]: ...

    async def node_outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The stored output of every node that succeeded in the run."""
        ...

    async def unfinished_runs(self) -> list[RunSummary]: ...

    async def runs_for_stats(self, graph_id: str, limit: int = 1000) -> list[Sequence[Event]]:
        """Event logs of the graph's finished runs, newest first, for latency and cost stats."""
        ...


class KeyValueStore(Protocol):
    """Small JSON documents by namespace and key: breaker states, cache entries."""

    async def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None: ...

    async def get(self, namespace: str, key: str, now: float | None = None) -> Any | None:
        """None when missing or expired at ``now``."""
        ...

    async def items(self, namespace: str) -> dict[str, Any]: ...

    async def delete(self, namespace: str, key: str) -> bool:
        """True when there was such an entry."""
        ...


@dataclass(frozen=True, slots=True)
class Lease:
    run_id: str
    owner: str
    expires_at: float
    """Wall-clock Unix seconds."""


class LeaseStore(Protocol):
    """Who executes a run: the owner's lease, renewed while it runs (``graphflow.service``)."""

    def claim_new_run(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """The lease of a run about to start (may be queued; a failure shows at the next flush)."""
        ...

    async def take_over(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """``LeaseHeld`` while another owner's lease is live, ``ValueError`` for a finished run."""
        ...

    async def renew_lease(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """``LeaseLost`` when the lease is no longer ours."""
        ...

    def release_lease(self, run_id: str, owner: str) -> None: ...

    async def lease_of(self, run_id: str) -> Lease | None: ...


class WaitStore(Protocol):
    """Waiting nodes (``graphflow.waits``): a row per waiting node, derived by the store from
    ``NodeWaiting`` in the event's transaction and gone when the node settles or the run ends.
    Waking is a claim on the row, decided in one transaction: of racing wakes, one wins."""

    async def list_waits(self, run_id: str | None = None) -> list[WaitRow]:
        """Oldest first."""
        ...

    async def claim_wake(self, run_id: str, node_id: str, wake: Wake) -> bool:
        """Store ``wake`` on the node's wait row unless one is claimed already (or the node no
        longer waits); True when this call won."""
        ...

    async def due_waits(self, now: float, limit: int = 100) -> list[WaitRow]:
        """Unclaimed waits whose time has come (timers, timeouts), soonest first."""
        ...

    async def next_due(self) -> float | None:
        """The soonest due time of an unclaimed wait."""
        ...

    async def woken_runs(self, limit: int = 100) -> list[str]:
        """Waiting runs with a wake claimed, to continue."""
        ...


class Store(GraphStore, DraftStore, RunStore, KeyValueStore, LeaseStore, WaitStore, Protocol):
    """Everything the application service (``graphflow.service``) needs from persistence:
    ``graphflow.storage.SqliteStore`` and ``graphflow.memory.MemoryStore`` are two."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """Work a run hands to a person (a review node's wait; ``graphflow.review``), and its decision."""

    id: str
    run_id: str
    node_id: str
    status: str
    """pending, then approved, edited, rejected, labelled, answered; timed_out when the timeout
    won; closed when the run ended without a decision."""
    payload: Any
    """What the reviewer sees: ``proposal``, ``context``, ``reason``, ``confidence``, ``variant``, ``labels``."""
    created_at: float
    decided_at: float | None = None
    decision: Any = None
    """The decision as given (``{"decision", "value", "reason", "label"}``)."""
    graph_id: str = ""
    reason: str = ""
    """Why it was queued: low_confidence, model_uncertainty, high_value, escalation, review, or the node's own."""
    confidence: float | None = None
    due_at: float | None = None
    """When the review times out (its node takes the timeout path); None: never."""
    decided_by: str = ""
    verdict: str = ""
    """The decision's kind: approve, edit, reject, label, answer (``timeout`` when the timer won)."""
    edited_value: Any = None
    """The edited value or the escalation's answer."""
    label: str | None = None
    """The correct label (a label review's decision, or the approved proposal's label)."""

    @property
    def detail(self) -> dict[str, Any]:
        """The payload as an object (empty for an item made by hand with another payload)."""
        payload: Any = self.payload
        return cast("dict[str, Any]", payload) if isinstance(payload, dict) else {}

    def _detail(self, name: str) -> Any:
        return self.detail.get(name)

    @property
    def variant(self) -> str:
        return str(self._detail("variant") or "review")

    @property
    def labels(self) -> list[str]:
        found = self._detail("labels")
        return [str(x) for x in cast("list[Any]", found)] if isinstance(found, list) else []


@runtime_checkable
class ReviewStore(Protocol):
    """Review items, made by the store from review nodes' waits; decided here."""

    async def review_items(self, *, status: str | None = "pending", graph_id: str | None = None,
                           reason: str | None = None, limit: int = 500) -> list[ReviewItem]:
        """Oldest first; None: any."""
        ...

    async def get_review_item(self, item_id: str) -> ReviewItem:
        """``NotFound`` when missing."""
        ...

    async def labelled_items(self, graph_id: str | None = None) -> list[ReviewItem]:
        """Decided items with a label, in the order they were decided."""
        ...

    async def decide_review(self, item_id: str, data: dict[str, Any], by: str) -> ReviewItem:
        """Decide a pending item and claim its node's wake, in one transaction: exactly one of a
        decision and its timeout takes effect. ``NotFound``; ``ValueError`` for a decision that does
        not fit the item; ``WakeRefused`` when it was decided (or timed out) already."""
        ...
