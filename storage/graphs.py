"""Graphs and their versions: every save is a new version, old versions are kept.

A graph also exists, with no version (``latest_version`` 0), once a run of it was
published without the graph having been saved (a run from the command line); its runs
are then listed under it and deleted with it.
"""

from __future__ import annotations

import sqlite3

from graphflow.clock import Clock
from graphflow.model import GraphSpec
from graphflow.ports import GraphSummary, GraphVersion, NotFound

from .db import Database


class GraphRepository:
    """``GraphStore`` (``graphflow.ports``) over the ``graphs`` and ``graph_versions`` tables."""

    _db: Database
    _clock: Clock

    async def save_graph(self, spec: GraphSpec) -> GraphVersion:
        """Store ``spec`` as the graph's next version (1 for a new graph)."""
        spec_json = spec.model_dump_json()
        now = self._clock.time()

        def save(conn: sqlite3.Connection) -> int:
            (latest,) = conn.execute(
                "SELECT coalesce(max(version), 0) FROM graph_versions WHERE graph_id = ?", (spec.id,)).fetchone()
            version = int(latest) + 1
            conn.execute(
                "INSERT INTO graphs (graph_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (graph_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                (spec.id, spec.name, now, now))
            conn.execute(
                "INSERT INTO graph_versions (graph_id, version, spec_json, saved_at) VALUES (?, ?, ?, ?)",
                (spec.id, version, spec_json, now))
            return version

        version = await self._db.write(save)
        self._db.specs.keep((spec.id, version), spec_json, spec)
        return GraphVersion(spec.id, version, spec, now)

    async def get_graph(self, graph_id: str, version: int | None = None) -> GraphVersion:
        """The given version, or the latest; raises ``NotFound``."""
        if version is None:
            rows = await self._db.fetchall(
                "SELECT version, spec_json, saved_at FROM graph_versions WHERE graph_id = ? "
                "ORDER BY version DESC LIMIT 1", (graph_id,))
        else:
            rows = await self._db.fetchall(
                "SELECT version, spec_json, saved_at FROM graph_versions WHERE graph_id = ? AND version = ?",
                (graph_id, version))
        if not rows:
            which = "any version" if version is None else f"version {version}"
            raise NotFound(f"graph {graph_id!r} has no {which}")
        number, spec_json, saved_at = rows[0]
        spec = self._db.specs.get((graph_id, number), spec_json)
        if spec is None:
            spec = GraphSpec.model_validate_json(spec_json)
            self._db.specs.keep((graph_id, number), spec_json, spec)
        return GraphVersion(graph_id, number, spec, saved_at)

    async def list_graphs(self) -> list[GraphSummary]:
        """Most recently updated first."""
        await self._db.writer.sync()  # graphs known only from queued runs
        rows = await self._db.fetchall(
            "SELECT g.graph_id, g.name, g.updated_at,"
            " (SELECT coalesce(max(version), 0) FROM graph_versions AS v WHERE v.graph_id = g.graph_id),"
            " (SELECT count(*) FROM runs AS r WHERE r.graph_id = g.graph_id)"
            " FROM graphs AS g ORDER BY g.updated_at DESC, g.graph_id")
        return [GraphSummary(graph_id=r[0], name=r[1], latest_version=r[3], updated_at=r[2], runs=r[4]) for r in rows]

    async def list_versions(self, graph_id: str) -> list[int]:
        """Oldest first; empty for an unknown graph."""
        rows = await self._db.fetchall(
            "SELECT version FROM graph_versions WHERE graph_id = ? ORDER BY version", (graph_id,))
        return [row[0] for row in rows]

    async def delete_graph(self, graph_id: str) -> None:
        """Removes the graph, its versions and its runs (with their events); raises ``NotFound``."""

        def delete(conn: sqlite3.Connection) -> list[str]:
            runs = [row[0] for row in conn.execute("SELECT run_id FROM runs WHERE graph_id = ?", (graph_id,))]
            cursor = conn.execute("DELETE FROM graphs WHERE graph_id = ?", (graph_id,))
            if cursor.rowcount == 0:
                raise NotFound(f"no graph {graph_id!r}")
            return runs

        for run_id in await self._db.write(delete):
            self._db.next_seq.pop(run_id, None)
