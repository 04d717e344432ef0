"""Conversation memory per session id: the ``SessionStore`` port over ``session_messages``."""

from __future__ import annotations

import sqlite3
from typing import Any

from graphflow.clock import Clock

from .db import Database


class SessionRepository:
    """``SessionStore`` (``graphflow.ports``)."""

    _db: Database
    _clock: Clock

    async def session_messages(self, session_id: str, limit: int = 500) -> list[dict[str, Any]]:
        rows = await self._db.fetchall(
            "SELECT role, content, run_id FROM (SELECT * FROM session_messages WHERE session_id = ? "
            "ORDER BY seq DESC LIMIT ?) ORDER BY seq", (session_id, limit))
        return [{"role": r[0], "content": r[1], "run_id": r[2]} for r in rows]

    async def add_session_messages(self, session_id: str, run_id: str, node_id: str,
                                   messages: list[dict[str, Any]]) -> None:
        now = self._clock.time()

        def add(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM session_messages WHERE run_id = ? AND node_id = ? LIMIT 1",
                            (run_id, node_id)).fetchone():
                return  # this turn is stored already (a resumed run)
            (last,) = conn.execute("SELECT coalesce(max(seq), -1) FROM session_messages WHERE session_id = ?",
                                   (session_id,)).fetchone()
            conn.executemany(
                "INSERT INTO session_messages (session_id, seq, run_id, node_id, idx, role, content, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(session_id, last + 1 + i, run_id, node_id, i, str(m["role"]), str(m["content"]), now)
                 for i, m in enumerate(messages)])

        await self._db.write(add)

    async def run_sessions(self, run_id: str) -> list[str]:
        rows = await self._db.fetchall(  # (run_id, node_id, idx) is unique: its index answers this
            "SELECT session_id FROM session_messages WHERE run_id = ? GROUP BY session_id ORDER BY min(at), "
            "session_id", (run_id,))
        return [r[0] for r in rows]
