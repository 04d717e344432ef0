"""Review items: work a run hands to a person (human in the loop), and their decisions.

A review node's wait (``NodeWaiting`` of kind ``decision``) becomes a pending item in the
writer's transaction that stores the event (``record_reviews``), so a waiting run always has
its item and a crash cannot leave one without the other. Deciding it (``decide_in``) updates the
item and claims its node's wake in one transaction: of a decision and the review's timeout,
exactly one takes effect, and a second decision is refused. When the run ends, an item still
pending is closed. Items belong to a run and go when it goes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphflow import events as ev
from graphflow.clock import Clock
from graphflow.errors import WakeRefused
from graphflow.ports import NotFound, ReviewItem
from graphflow.review import PENDING, STATUS_OF, check_decision, decided_label, not_decidable, too_late
from graphflow.waits import Wake

from .db import Database

_COLUMNS = ("id, run_id, node_id, status, payload_json, created_at, decided_at, decision_json, graph_id, reason, "
            "confidence, due_at, decided_by, decision, edited_value_json, label")
Claim = Callable[[sqlite3.Connection, str, str, Wake], bool]
"""Claims a waiting node's wake in the caller's transaction (``storage.waits.claim_wake``)."""

__all__ = ["PENDING", "ReviewItem", "ReviewRepository", "close_reviews", "decide_in", "record_review", "timed_out"]


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _item(row: Any) -> ReviewItem:
    return ReviewItem(id=row["id"], run_id=row["run_id"], node_id=row["node_id"], status=row["status"],
                      payload=json.loads(row["payload_json"]), created_at=row["created_at"],
                      decided_at=row["decided_at"], decision=_loads(row["decision_json"]), graph_id=row["graph_id"],
                      reason=row["reason"], confidence=row["confidence"], due_at=row["due_at"],
                      decided_by=row["decided_by"], verdict=row["decision"],
                      edited_value=_loads(row["edited_value_json"]), label=row["label"])


def record_review(conn: sqlite3.Connection, event: ev.NodeWaiting) -> None:
    """A review node waits for a decision: its pending item (inside the writer's transaction, after
    the event's run row). A node waiting again after a resume keeps its item, and its age."""
    if not event.key:
        return
    detail = event.detail
    confidence = detail.get("confidence")
    conn.execute(
        "INSERT OR IGNORE INTO review_items (id, run_id, node_id, status, payload_json, created_at, reason, "
        f"confidence, due_at, graph_id) SELECT ?, ?, ?, '{PENDING}', ?, ?, ?, ?, ?, graph_id FROM runs "
        "WHERE run_id = ?",
        (event.key, event.run_id, event.node_id, json.dumps(detail), event.at, str(detail.get("reason") or ""),
         confidence if isinstance(confidence, int | float) else None, event.due_at, event.run_id))


def close_reviews(conn: sqlite3.Connection, ended: list[tuple[float, str]]) -> None:
    """Runs ended ((at, run id)): their items still pending are closed."""
    conn.executemany(f"UPDATE review_items SET status = 'closed', decided_at = ? WHERE run_id = ? "
                     f"AND status = '{PENDING}'", ended)


def timed_out(conn: sqlite3.Connection, run_id: str, node_id: str, at: float) -> None:
    """A timer wake was claimed for a node: its review item, if pending, timed out (same transaction)."""
    conn.execute(f"UPDATE review_items SET status = 'timed_out', decision = 'timeout', decided_by = 'timer', "
                 f"decided_at = ? WHERE run_id = ? AND node_id = ? AND status = '{PENDING}'", (at, run_id, node_id))


def decide_in(conn: sqlite3.Connection, claim: Claim, item_id: str, data: Any, by: str, now: float) -> str | None:
    """Decide a pending item and claim its node's wake, in the caller's transaction. Returns None
    when it took effect, else why not (the item is then marked timed out if its timer won).
    ``NotFound`` for no such item; ``ValueError`` for a decision that does not fit it."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM review_items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no review item {item_id!r}")
    item = _item(row)
    if item.status != PENDING:
        return not_decidable(item.status, item.id, item.decided_by)
    decision = check_decision(item.detail, data)
    kind = decision["decision"]
    if not claim(conn, item.run_id, item.node_id, Wake("decision", now, decision, by=by)):
        timed_out(conn, item.run_id, item.node_id, now)
        return too_late(item_id)
    label = decided_label(item.variant, decision, item.detail.get("proposal"))
    edited = json.dumps(decision["value"]) if "value" in decision else None
    conn.execute(
        "UPDATE review_items SET status = ?, decided_at = ?, decision_json = ?, decided_by = ?, decision = ?, "
        "edited_value_json = ?, label = ? WHERE id = ?",
        (STATUS_OF[kind], now, json.dumps(decision), by, kind, edited, label, item_id))
    return None


class ReviewRepository:
    """The ``review_items`` table."""

    _db: Database
    _clock: Clock

    async def add_review_item(self, run_id: str, node_id: str, payload: Any, *,
                              item_id: str | None = None) -> ReviewItem:
        """A new pending item made by hand; its run must be stored (published) already."""
        item = ReviewItem(id=item_id or uuid.uuid4().hex, run_id=run_id, node_id=node_id, status=PENDING,
                          payload=payload, created_at=self._clock.time())
        payload_json = json.dumps(payload)

        def add(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO review_items (id, run_id, node_id, status, payload_json, created_at, graph_id) "
                "SELECT ?, ?, ?, ?, ?, ?, graph_id FROM runs WHERE run_id = ?",
                (item.id, run_id, node_id, PENDING, payload_json, item.created_at, run_id))

        await self._db.write(add)
        return await self.get_review_item(item.id)

    async def get_review_item(self, item_id: str) -> ReviewItem:
        await self._db.writer.sync()  # an item made by an event this store queued is visible
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM review_items WHERE id = ?", (item_id,))
        if not rows:
            raise NotFound(f"no review item {item_id!r}")
        return _item(rows[0])

    async def list_review_items(self, status: str | None = PENDING) -> list[ReviewItem]:
        """Items with ``status`` (all items when None), oldest first."""
        return await self.review_items(status=status)

    async def review_items(self, *, status: str | None = PENDING, graph_id: str | None = None,
                           reason: str | None = None, limit: int = 500) -> list[ReviewItem]:
        """Items by status, graph and reason (None: any), oldest first."""
        where, params = _filters(status=status, graph_id=graph_id, reason=reason)
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM review_items {where} ORDER BY created_at, rowid LIMIT ?", (*params, limit))
        return [_item(row) for row in rows]

    async def labelled_items(self, graph_id: str | None = None) -> list[ReviewItem]:
        """Decided items that carry a label (active learning), in the order they were decided."""
        where, params = _filters(graph_id=graph_id)
        where = f"{where} AND label IS NOT NULL" if where else "WHERE label IS NOT NULL"
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM review_items {where} ORDER BY decided_at, rowid", params)
        return [_item(row) for row in rows]

    async def decide_review_item(self, item_id: str, status: str, decision: Any = None) -> ReviewItem:
        """Set a pending item's status by hand (no run is woken); ``NotFound`` if missing,
        ``ValueError`` if already decided."""
        if status == PENDING:
            raise ValueError("a decision cannot set the status back to pending")
        decision_json = json.dumps(decision)
        now = self._clock.time()

        def decide(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE review_items SET status = ?, decided_at = ?, decision_json = ? WHERE id = ? AND status = ?",
                (status, now, decision_json, item_id, PENDING))
            if cursor.rowcount == 0:
                found = conn.execute("SELECT status FROM review_items WHERE id = ?", (item_id,)).fetchone()
                if found is None:
                    raise NotFound(f"no review item {item_id!r}")
                raise ValueError(f"review item {item_id!r} was already decided ({found[0]})")

        await self._db.write(decide)
        return await self.get_review_item(item_id)

    async def decide_review(self, item_id: str, data: dict[str, Any], by: str) -> ReviewItem:
        """Decide a pending item and claim its node's wake in one transaction (``ReviewStore``)."""
        from .waits import claim

        return await self.decide_with(claim, item_id, data, by)

    async def decide_with(self, claim: Claim, item_id: str, data: Any, by: str) -> ReviewItem:
        """``decide_in`` in one writer transaction; ``WakeRefused`` when it did not take effect."""
        now = self._clock.time()
        refused = await self._db.write(lambda conn: decide_in(conn, claim, item_id, data, by, now))
        if refused is not None:
            raise WakeRefused(refused)
        return await self.get_review_item(item_id)


def _filters(**given: str | None) -> tuple[str, tuple[Any, ...]]:
    parts = [(f"{name} = ?", value) for name, value in given.items() if value is not None]
    return ("WHERE " + " AND ".join(p for p, _ in parts) if parts else ""), tuple(v for _, v in parts)


def iter_jsonl(items: Sequence[ReviewItem]) -> Iterator[str]:
    """One JSON line per labelled item: the input, the model's proposal, the correct label, who, when."""
    for item in items:
        payload = item.detail
        yield json.dumps({"id": item.id, "graph_id": item.graph_id, "run_id": item.run_id, "node_id": item.node_id,
                          "input": payload.get("context"), "proposal": payload.get("proposal"),
                          "confidence": item.confidence, "label": item.label, "by": item.decided_by,
                          "at": item.decided_at}, sort_keys=True)
