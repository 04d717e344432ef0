"""Waiting nodes (``graphflow.waits``) over the ``waits`` table.

The writer derives the rows from the run's events, in the events' transaction:
``NodeWaiting`` adds or refreshes a node's row, ``RunWaiting`` drops the rows of nodes no
longer waiting, the run's end drops them all. A refreshed row keeps a wake claimed for it
meanwhile, unless the node had been woken and waits anew (``NodeWaiting.woken``): that wake
is used up. Claiming a wake is one ``UPDATE ... WHERE wake_json IS NULL``, so of two racing
wakes (a decision and its timeout, two processes) exactly one wins.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from graphflow import events as ev
from graphflow.waits import PAUSED, RESUME, WAIT_KINDS, WaitKind, WaitRow, Wake

from .db import Database
from .reviews import timed_out

_COLUMNS = "run_id, node_id, kind, key, due_at, detail_json, since, wake_json"


_REFRESH = ("INSERT INTO waits (run_id, node_id, kind, key, due_at, detail_json, since) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, node_id) DO UPDATE SET kind = excluded.kind, key = excluded.key, "
            "due_at = excluded.due_at, detail_json = excluded.detail_json")
_RENEW = _REFRESH + ", since = excluded.since, wake_json = NULL"


def record_waiting(conn: sqlite3.Connection, event: ev.NodeWaiting) -> None:
    """A node began (or went on) waiting: its row, in the event's transaction."""
    conn.execute(_RENEW if event.woken else _REFRESH,
                 (event.run_id, event.node_id, event.wait_kind, event.key, event.due_at, json.dumps(event.detail),
                  event.at))


def record_run_waiting(conn: sqlite3.Connection, event: ev.RunWaiting) -> None:
    """The run's loop ended waiting: only the nodes it names still wait."""
    waiting = [str(w.get("node_id")) for w in event.waits]
    marks = ", ".join("?" * len(waiting))
    conn.execute(f"DELETE FROM waits WHERE run_id = ? AND node_id NOT IN ({marks})", (event.run_id, *waiting))
    if event.paused:  # a new pause: waits for the resume event, whatever woke an earlier one
        conn.execute(_RENEW, (event.run_id, PAUSED, "event", RESUME, None, json.dumps({"paused": event.paused}),
                              event.at))


def record_run_end(conn: sqlite3.Connection, run_ids: list[str]) -> None:
    conn.executemany("DELETE FROM waits WHERE run_id = ?", [(run_id,) for run_id in run_ids])


def claim(conn: sqlite3.Connection, run_id: str, node_id: str, wake: Wake) -> bool:
    """Inside a write transaction: store ``wake`` unless one is claimed already; True if won.
    For a caller that changes more in the same transaction (a review's decision)."""
    return conn.execute(
        "UPDATE waits SET wake_json = ? WHERE run_id = ? AND node_id = ? AND wake_json IS NULL",
        (json.dumps(wake.to_json()), run_id, node_id)).rowcount == 1


def claim_and_time_out(conn: sqlite3.Connection, run_id: str, node_id: str, wake: Wake) -> bool:
    """``claim``; a timer that wins also times out the node's review item, in the same transaction."""
    won = claim(conn, run_id, node_id, wake)
    if won and wake.kind == "timer":
        timed_out(conn, run_id, node_id, wake.at)
    return won


def _row(row: Any) -> WaitRow:
    wake = row["wake_json"]
    kind = row["kind"]
    return WaitRow(run_id=row["run_id"], node_id=row["node_id"],
                   kind=cast(WaitKind, kind) if kind in WAIT_KINDS else "event", key=row["key"],
                   due_at=row["due_at"], detail=json.loads(row["detail_json"]), since=row["since"],
                   wake=None if wake is None else Wake.from_json(json.loads(wake)))


class WaitRepository:
    """``WaitStore`` (``graphflow.ports``)."""

    _db: Database

    async def list_waits(self, run_id: str | None = None) -> list[WaitRow]:
        await self._db.writer.sync()
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM waits {where} ORDER BY since, rowid", params)
        return [_row(row) for row in rows]

    async def claim_wake(self, run_id: str, node_id: str, wake: Wake) -> bool:
        await self._db.writer.sync()
        return await self._db.write(lambda conn: claim_and_time_out(conn, run_id, node_id, wake))

    async def due_waits(self, now: float, limit: int = 100) -> list[WaitRow]:
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM waits WHERE wake_json IS NULL AND due_at IS NOT NULL AND due_at <= ? "
            "ORDER BY due_at LIMIT ?", (now, limit))
        return [_row(row) for row in rows]

    async def next_due(self) -> float | None:
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            "SELECT min(due_at) FROM waits WHERE wake_json IS NULL AND due_at IS NOT NULL")
        return rows[0][0] if rows else None

    async def woken_runs(self, limit: int = 100) -> list[str]:
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            "SELECT DISTINCT w.run_id FROM waits AS w JOIN runs AS r ON r.run_id = w.run_id "
            "WHERE w.wake_json IS NOT NULL AND r.status = 'waiting' LIMIT ?", (limit,))
        return [row[0] for row in rows]
