"""``SqliteStore``: GraphStore, RunStore and KeyValueStore in one object, and ``open_store``.

    async with open_store() as store:              # default_db_path()
        await graphflow.run(graph, inputs, sinks=[store])

``open_store`` runs the writer task in its own task group for as long as the block
lasts; leaving the block (or ``await store.close()``) writes what is queued, stops the
writer and closes both connections, also when the block is cancelled.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from graphflow.clock import Clock, RealClock

from .credentials import CredentialRepository
from .db import Database, connect, default_db_path
from .drafts import DraftRepository
from .graphs import GraphRepository
from .kv import KeyValueRepository
from .leases import LeaseRepository
from .reviews import ReviewRepository
from .runs import RunRepository, describe, heavy, run_of, write_events
from .sessions import SessionRepository
from .waits import WaitRepository
from .writer import Writer


class SqliteStore(GraphRepository, DraftRepository, RunRepository, KeyValueRepository, ReviewRepository,
                  LeaseRepository, CredentialRepository, SessionRepository,
                  WaitRepository):
    """Built by ``open_store``; one repository per aggregate, sharing one ``Database``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def writer(self) -> Writer:
        return self._db.writer

    async def pragmas(self) -> dict[str, Any]:
        """The settings the writer's connection runs with (journal mode, synchronous, ...)."""
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version", "application_id")

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

        return await self._db.write(read)

    async def close(self) -> None:
        """Write what is queued, then close; idempotent."""
        await self._db.close()


@asynccontextmanager
async def open_store(path: str | Path | None = None, *, clock: Clock | None = None) -> AsyncIterator[SqliteStore]:
    """Open (creating and migrating if needed) the database at ``path`` or ``default_db_path()``.

    Raises ``StorageError`` for a file that is not a graphflow database, without changing it.
    """
    db_path = await anyio.to_thread.run_sync(_resolve, path)
    write, read = await connect(db_path)
    quiet: set[str] = set()  # see write_events
    writer = Writer(write, db_path, functools.partial(write_events, quiet=quiet), describe, run_of, heavy)
    store = SqliteStore(Database(db_path, read, writer, quiet_runs=quiet), clock or RealClock())
    error: Exception | None = None
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(store.writer.run)
            try:
                yield store
            except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                error = exc
            finally:
                try:
                    await store.close()
                except Exception as exc:  # a write that failed and was never flushed
                    error = error or exc
    finally:
        await store.close()  # the writer never started, or the block was cancelled
    if error is not None:
        raise error


def _resolve(path: str | Path | None) -> Path:
    return Path(path).expanduser() if path is not None else default_db_path()
