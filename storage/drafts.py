"""The editor's autosaved drafts: the ``DraftStore`` port over ``graph_drafts``."""

from __future__ import annotations

import sqlite3
from typing import Any

from graphflow.clock import Clock
from graphflow.drafts import decode_draft, encode_draft
from graphflow.ports import Draft, NotFound

from .db import Database


class DraftRepository:
    """``DraftStore`` (``graphflow.ports``)."""

    _db: Database
    _clock: Clock

    async def save_draft(self, graph_id: str, base_version: int, graph: dict[str, Any]) -> Draft:
        text = encode_draft(graph)  # refused before anything is written
        now = self._clock.time()

        def save(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM graphs WHERE graph_id = ?", (graph_id,)).fetchone() is None:
                raise NotFound(f"no graph {graph_id!r}")
            conn.execute(
                "INSERT INTO graph_drafts (graph_id, base_version, graph_json, saved_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (graph_id) DO UPDATE SET base_version = excluded.base_version,"
                " graph_json = excluded.graph_json, saved_at = excluded.saved_at",
                (graph_id, base_version, text, now))

        await self._db.write(save)
        return Draft(graph_id, base_version, decode_draft(text), now)

    async def get_draft(self, graph_id: str) -> Draft | None:
        rows = await self._db.fetchall(
            "SELECT base_version, graph_json, saved_at FROM graph_drafts WHERE graph_id = ?", (graph_id,))
        if not rows:
            return None
        base_version, text, saved_at = rows[0]
        return Draft(graph_id, base_version, decode_draft(text), saved_at)

    async def delete_draft(self, graph_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM graph_drafts WHERE graph_id = ?", (graph_id,)).rowcount > 0

        return await self._db.write(delete)
