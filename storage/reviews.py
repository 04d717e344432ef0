"""Review items: work a run hands to a person (human in the loop), and their decisions.

An item is ``pending`` until decided; deciding stores the new status (``approved``,
``rejected``, ...) and a JSON decision. Items belong to a run and go when it goes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from graphflow.clock import Clock
from graphflow.ports import NotFound

from .db import Database

PENDING = "pending"
_COLUMNS = "id, run_id, node_id, status, payload_json, created_at, decided_at, decision_json"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    run_id: str
    node_id: str
    status: str
    payload: Any
    created_at: float
    decided_at: float | None = None
    decision: Any = None


def _item(row: Any) -> ReviewItem:
    decision = row["decision_json"]
    return ReviewItem(id=row["id"], run_id=row["run_id"], node_id=row["node_id"], status=row["status"],
                      payload=json.loads(row["payload_json"]), created_at=row["created_at"],
                      decided_at=row["decided_at"], decision=None if decision is None else json.loads(decision))


class ReviewRepository:
    """The ``review_items`` table."""

    _db: Database
    _clock: Clock

    async def add_review_item(self, run_id: str, node_id: str, payload: Any, *,
                              item_id: str | None = None) -> ReviewItem:
        """A new pending item; its run must be stored (published) already."""
        item = ReviewItem(id=item_id or uuid.uuid4().hex, run_id=run_id, node_id=node_id, status=PENDING,
                          payload=payload, created_at=self._clock.time())
        payload_json = json.dumps(payload)

        def add(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO review_items (id, run_id, node_id, status, payload_json, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (item.id, run_id, node_id, PENDING, payload_json, item.created_at))

        await self._db.write(add)
        return item

    async def get_review_item(self, item_id: str) -> ReviewItem:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM review_items WHERE id = ?", (item_id,))
        if not rows:
            raise NotFound(f"no review item {item_id!r}")
        return _item(rows[0])

    async def list_review_items(self, status: str | None = PENDING) -> list[ReviewItem]:
        """Items with ``status`` (all items when None), oldest first."""
        where, params = ("WHERE status = ?", (status,)) if status is not None else ("", ())
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM review_items {where} ORDER BY created_at, rowid", params)
        return [_item(row) for row in rows]

    async def decide_review_item(self, item_id: str, status: str, decision: Any = None) -> ReviewItem:
        """Decide a pending item; ``NotFound`` if missing, ``ValueError`` if already decided."""
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
