"""Small JSON documents by namespace and key: breaker states, cache entries.

Values go through ``json.dumps`` (a value that is not JSON data is a ``TypeError`` at the
caller, as in ``MemoryStore``). An entry may expire: it is then treated as missing, and
``purge_expired`` deletes such entries for good. "Now" is the store's clock unless given.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from graphflow.clock import Clock

from .db import Database


class KeyValueRepository:
    """``KeyValueStore`` (``graphflow.ports``) over the ``kv`` table."""

    _db: Database
    _clock: Clock

    async def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None:
        value_json = json.dumps(value, separators=(",", ":"))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO kv (namespace, key, value_json, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value_json = excluded.value_json, "
                "expires_at = excluded.expires_at", (namespace, key, value_json, expires_at))

        await self._db.write(put)

    async def get(self, namespace: str, key: str, now: float | None = None) -> Any | None:
        """None when missing or expired at ``now``."""
        rows = await self._db.fetchall(
            "SELECT value_json FROM kv WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (namespace, key, self._now(now)))
        return json.loads(rows[0][0]) if rows else None

    async def items(self, namespace: str, now: float | None = None) -> dict[str, Any]:
        """Every entry of the namespace not expired at ``now``, by key."""
        rows = await self._db.fetchall(
            "SELECT key, value_json FROM kv WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY key", (namespace, self._now(now)))
        return {row[0]: json.loads(row[1]) for row in rows}

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove an entry; False when there was none."""

        def delete(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            return cursor.rowcount > 0

        return bool(await self._db.write(delete))

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete every entry expired at ``now``; how many were deleted."""
        cutoff = self._now(now)

        def purge(conn: sqlite3.Connection) -> int:
            cursor = conn.execute("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?", (cutoff,))
            return cursor.rowcount

        return int(await self._db.write(purge))

    def _now(self, now: float | None) -> float:
        return self._clock.time() if now is None else now
