"""Opening the database: refusing foreign files, pragmas, migrations; the shared handle.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``. In WAL mode a
process crash (kill -9, an exception, Ctrl-C) loses nothing that was committed: the WAL
is on disk before the commit returns. A power loss or OS crash can lose the last few
commits (the WAL is not fsynced on every commit, only at checkpoints) but never corrupts
the database. That trade buys commits that cost microseconds instead of an fsync each.
``synchronous=FULL`` would close the power-loss window; it is a one-line change here.

Two connections: the writer's, a plain ``sqlite3`` connection owned by
``storage.writer.Writer`` (the only one that writes; it runs each batch as one function
in a worker thread), and an aiosqlite read connection with ``query_only`` on; WAL lets
reads run beside writes.
``busy_timeout`` lets another process's writer wait its turn instead of failing with
"database is locked".

Before anything is written the file is inspected, and refused with ``StorageError``,
untouched, when it is not a SQLite database, is some other program's database, or has a
schema newer than this code knows.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import anyio
import anyio.to_thread

from graphflow.model import GraphSpec

from .errors import StorageError
from .schema import APPLICATION_ID, GRAPHFLOW_TABLES, LATEST_VERSION, MIGRATIONS, schema_objects, statements
from .writer import Writer

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
SQLITE_HEADER = b"SQLite format 3\x00"
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_size_limit = 67108864",
)


def default_db_path() -> Path:
    """``$GRAPHFLOW_DB`` if set, else ``$XDG_DATA_HOME/graphflow/graphflow.db``
    (``~/.local/share/graphflow/graphflow.db``); the folder is created."""
    env = os.environ.get("GRAPHFLOW_DB")
    if env:
        path = Path(env).expanduser()
    else:
        data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        path = Path(data_home) / "graphflow" / "graphflow.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


SPECS_KEPT = 64


class SpecCache:
    """Parsed graph specs by (graph, version), each with the JSON it was parsed from: a version
    read again (every canvas run reads its graph) is parsed again only if its stored text
    changed (the graph was deleted and made again). A spec is frozen, so sharing it is safe."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, int], tuple[str, GraphSpec]] = OrderedDict()

    def get(self, key: tuple[str, int], spec_json: str) -> GraphSpec | None:
        kept = self._kept.get(key)
        if kept is None or kept[0] != spec_json:
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def keep(self, key: tuple[str, int], spec_json: str, spec: GraphSpec) -> None:
        self._kept[key] = (spec_json, spec)
        self._kept.move_to_end(key)
        while len(self._kept) > SPECS_KEPT:
            self._kept.popitem(last=False)


@dataclass(eq=False)
class Database:
    """What the repositories share: the read connection, the writer and per-run seqs."""

    path: Path
    read: aiosqlite.Connection
    writer: Writer
    next_seq: dict[str, int] = field(default_factory=dict)
    """The seq each run seen by this process expects next (published, maybe not committed)."""
    specs: SpecCache = field(default_factory=SpecCache)
    quiet_runs: set[str] = field(default_factory=set[str])
    """Runs started here that have not waited (``runs.write_events``); one taken over may have."""

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(await self.read.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StorageError(self.path, f"read failed: {exc}") from exc

    async def write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` (blocking, in the writer's thread) inside the writer's next transaction;
        its result once committed."""
        return await self.writer.call(op)

    async def close(self) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await self.writer.close()
        finally:
            with anyio.CancelScope(shield=True):
                await self.read.close()


async def connect(path: Path) -> tuple[sqlite3.Connection, aiosqlite.Connection]:
    """Open, check and migrate the database: (the writer's connection, the read connection)."""
    write = await anyio.to_thread.run_sync(open_for_writing, path)
    try:
        read = await aiosqlite.connect(path, isolation_level=None)
    except BaseException:
        write.close()
        raise
    try:
        read.row_factory = sqlite3.Row
        for pragma in (*PRAGMAS, "PRAGMA query_only = ON"):
            await read.execute(pragma)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await read.close()
        write.close()
        raise
    return write, read


def open_for_writing(path: Path) -> sqlite3.Connection:
    """The writer's connection, after refusing a foreign file, in WAL mode and migrated (blocking)."""
    _check_header(path)
    _check_writable(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(path, f"cannot open the database: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(pragma)
        _refuse_foreign(conn, path)
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise StorageError(path, f"cannot use WAL mode here (journal_mode stays {mode!r})")
        _migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StorageError(path, f"cannot open the database: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check_header(path: Path) -> None:
    if not path.exists() or path.is_dir():
        return
    with path.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise StorageError(path, "is not a SQLite database; refusing to open it (the file was not changed)")


def _check_writable(path: Path) -> None:
    """Refuse a database we could only read now, before SQLite creates ``-wal``/``-shm`` beside it
    (else it opens read-only and the first write fails, deep inside a run)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        raise StorageError(path, "is read-only; graphflow needs to write to it (the file was not changed)")
    if folder.is_dir() and not os.access(folder, os.W_OK):
        raise StorageError(path, f"is in a read-only folder ({folder}); graphflow needs to create its -wal and "
                                 "-shm files beside it (the file was not changed)")


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    rows = conn.execute("SELECT type, name FROM sqlite_schema").fetchall()
    objects = {(row[0], row[1]) for row in rows if not row[1].startswith("sqlite_")}
    tables = {name for kind, name in objects if kind == "table"}
    if version == 0:
        if objects:
            found = ", ".join(f"{kind} {name}" for kind, name in sorted(objects)[:5])
            raise StorageError(path, f"is a SQLite database of another program ({found}) and not a "
                                     "graphflow database; refusing to open it (the file was not changed)")
        return
    if app_id != APPLICATION_ID:
        raise StorageError(path, f"is a SQLite database of another program (application_id {app_id}, "
                                 f"user_version {version}); refusing to open it (the file was not changed)")
    if version > LATEST_VERSION:
        raise StorageError(path, f"has graphflow schema version {version}, newer than this graphflow knows "
                                 f"({LATEST_VERSION}); upgrade graphflow to open it (the file was not changed)")
    if not tables >= GRAPHFLOW_TABLES:
        missing = ", ".join(sorted(GRAPHFLOW_TABLES - tables))
        raise StorageError(path, f"is a damaged graphflow database (missing tables: {missing}); "
                                 "refusing to open it (the file was not changed)")
    foreign = sorted(objects - schema_objects())
    if foreign:
        found = ", ".join(f"{kind} {name}" for kind, name in foreign[:5])
        raise StorageError(path, f"holds objects graphflow did not create ({found}); refusing to open it "
                                 "(the file was not changed)")


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == LATEST_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()  # another process may have won
        for number in range(version + 1, LATEST_VERSION + 1):
            for statement in statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
