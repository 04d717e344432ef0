"""WAL checkpoints, mostly beside the writer, on a connection and thread of their own.

A checkpoint copies committed pages from the WAL into the database file and syncs it: a few
milliseconds on a disk. Done on the writer's connection it held up every commit behind it,
and so every run waiting for its flush (a tenth of a short recorded run). Here a ``PASSIVE``
checkpoint, which never blocks writers, copies the bulk in its own thread while the writer
goes on committing; the writer then copies the few pages committed meanwhile on its own
connection (``tail_due``), between two of its transactions, as it did the whole WAL before.
Only a WAL copied whole starts over at the next commit, and while commits go on that takes
a moment without one (a ``FULL`` checkpoint from here instead waits for the writer lock in
SQLite's millisecond sleeps, and makes the writer sleep so too). What a crash may lose does
not change: a commit is durable in the WAL before any checkpoint copies it, and a
checkpoint cut short is finished by the next one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class Checkpointer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._wanted = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._copied = False
        """A bulk copy ended since the writer last copied the tail."""
        self.done = 0
        """Bulk copies run so far (for tests)."""

    def request(self) -> None:
        """Ask for a bulk copy soon; returns at once (the thread starts on the first request)."""
        if self._closing:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"checkpoints {self.path.name}", daemon=True)
            self._thread.start()
        self._wanted.set()

    def tail_due(self) -> bool:
        """True once after each bulk copy: the writer should copy the rest now (``copy``)."""
        due, self._copied = self._copied, False
        return due

    def close(self) -> None:
        """Stop the thread once its copy (if any) is done (blocking)."""
        self._closing = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._closing:
                    return
                copy(conn)
                self.done += 1
                self._copied = True
        finally:
            conn.close()


def copy(conn: sqlite3.Connection) -> None:
    """A ``PASSIVE`` checkpoint on ``conn`` (blocking)."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass  # a later one catches up; SQLite checkpoints at the last close too
