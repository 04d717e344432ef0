"""The one writer: a background task that owns the write connection and batches.

Everything that writes goes through one queue, in order:

* records (run events) are queued by ``enqueue`` and not awaited, so a durable run only
  pays for a queue append per event;
* operations (save a graph, put a key, ...) are queued by ``call``, which returns the
  operation's result once its transaction has committed.

The task takes everything queued (up to ``MAX_BATCH`` items) and writes it in one
``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction. Records and submitted operations nobody
awaits wait up to ``GATHER_SECONDS`` for more; anything awaited (a flush, an operation)
ends the batch at once. So a short run's start (lease, ``run_started``, the flush before
its first node) is one transaction and its nodes and end another, instead of the first
record of each going alone. A crash can lose only what was not committed, as before:
at most ``GATHER_SECONDS`` of a run's latest events more (those nodes run again, with
the same idempotency keys). The transaction is run as one plain function in
a worker thread: one thread hop per batch, not one per statement, and no other code can
interleave with an open transaction. The records between two awaited operations go
through ``apply_records`` together (a few ``executemany``); operations are plain functions
of the connection.

When a batch fails it is rolled back and written again without the culprit: an operation
that raised (``NotFound``, a constraint) is dropped and its caller gets the error; when
records or the commit failed, the items are retried one per transaction. A record that
cannot be stored (a full disk, an I/O error) stops its stream (``stream(record)``: a run):
no later record of that stream is written, so its log ends at the last committed record,
never with a gap; ``stopped`` says why, and the next ``flush()`` raises it. ``resume_stream``
lets a stream go on (once it is taken over and continued from what was committed).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskStatus

from graphflow.mailbox import event_factory

from .checkpoints import Checkpointer, copy
from .errors import StorageError

MAX_BATCH = 5000
GATHER_SECONDS = 0.005
"""How long a batch that nobody awaits may wait for more items."""
HERE_MAX = 500
"""The largest batch committed on the event loop's thread."""
CHECKPOINT_EVERY = 1000
"""Items (and transactions) written between two WAL checkpoint requests (about SQLite's own 1,000 pages)."""
BUSY_RETRIES = 5
Operation = Callable[[sqlite3.Connection], Any]
ApplyRecords = Callable[[sqlite3.Connection, Sequence[Any]], None]


@dataclass(eq=False)
class _Call:
    op: Operation
    done: Any = field(default_factory=anyio.Event)
    """A one-shot wake-up (``graphflow.mailbox.event_factory``)."""
    result: Any = None
    error: BaseException | None = None
    awaited: bool = True
    """False for ``submit``: nobody waits, so a failure is reported by the next ``flush()``."""
    small: bool = False
    """Bookkeeping (a submitted operation, a flush): may be committed on the loop's thread."""


def _nothing(conn: sqlite3.Connection) -> None:
    return None


def _awaited(items: list[Any]) -> bool:
    for item in items:  # a plain loop: a generator per batch cost more than the test per item
        if type(item) is _Call and item.awaited:
            return True
    return False


class Writer:
    def __init__(self, conn: sqlite3.Connection, path: Path, apply_records: ApplyRecords,
                 describe: Callable[[Any], str] = repr, stream: Callable[[Any], str] = repr,
                 heavy: Callable[[Any], bool] = lambda record: False) -> None:
        self.conn = conn
        """A connection opened with ``check_same_thread=False`` and ``isolation_level=None``."""
        self.heavy = heavy
        """Records too large to write on the loop's thread."""
        self._busy_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout = 0")  # the loop's thread never waits for the lock; the worker sets it
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run beside the writer (checkpoints.py)
        self.checkpoints = Checkpointer(path)
        self._unchecked = 0
        self.path = path
        self.apply_records = apply_records
        self.describe = describe
        self.stream = stream
        self.stopped: dict[str, StorageError] = {}
        """Streams with a record that could not be stored, and why; their later records are dropped."""
        self._queue: deque[Any] = deque()
        self._wakeup: Any = None
        """Set while the task waits: for any item when idle, for an awaited one when gathering."""
        self._gathering = False
        self._new_event = event_factory()
        self._started = False
        self._stopped = anyio.Event()
        self._closed = False
        self._failure: StorageError | None = None
        self._culprit: _Call | None = None
        self._thread = anyio.CapacityLimiter(1)  # its own worker token: busy node threads never delay it
        self.batches = 0
        """Transactions committed so far (for tests and benchmarks)."""
        self.loop_seconds = 0.0
        """Time spent in transactions on the event loop's thread, committed or not (for benchmarks)."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The writer task; ends once ``close()`` was called and the queue is drained."""
        try:
            self._started = True
            task_status.started()
            while self._queue or not self._closed:
                if not self._queue:
                    await self._wait(gathering=False)
                    continue
                with anyio.CancelScope(shield=True):  # a started batch always finishes
                    batch = await self._gather()
                    if not self._commit_here(batch):
                        await anyio.to_thread.run_sync(self._commit, batch, limiter=self._thread)
                    self._wake(batch)
                    self._unchecked += len(batch) + 1
                    if self._unchecked >= CHECKPOINT_EVERY:
                        self._unchecked = 0
                        self.checkpoints.request()  # the bulk in its own thread: the next batch need not wait
                    elif self.checkpoints.tail_due():  # the WAL starts over only once copied whole
                        await anyio.to_thread.run_sync(copy, self.conn, limiter=self._thread)
        finally:
            self._stopped.set()

    def enqueue(self, record: Any) -> None:
        """Queue a record without waiting for it to be written. Wakes the task only when it is
        idle or the item is awaited: records gathered into a batch cost no task switch each."""
        if self._closed:
            raise StorageError(self.path, "the store is closed")
        self._queue.append(record)
        if self._wakeup is not None and (not self._gathering or (type(record) is _Call and record.awaited)):
            self._wakeup.set()
            self._wakeup = None

    def submit(self, op: Operation) -> None:
        """Queue ``op(conn)`` for the next transaction without waiting for it (like a record);
        a small statement or two (it may run on the loop's thread). It must not read what
        records write: it may run before records queued ahead of it in the same transaction
        (so many runs' events, between their leases' claims and releases, are one insert)."""
        self.enqueue(_Call(op, self._new_event(), awaited=False, small=True))

    async def call(self, op: Operation, *, small: bool = False) -> Any:
        """Run ``op(conn)`` in the next transaction; its result once committed. In the writer's
        thread unless ``small`` (a statement or two, so it may run on the loop's thread)."""
        call = _Call(op, self._new_event(), small=small)
        self.enqueue(call)
        await call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    async def sync(self) -> None:
        """Wait until everything queued so far is committed (or failed)."""
        call = _Call(_nothing, self._new_event(), small=True)
        self.enqueue(call)
        await call.done.wait()

    async def flush(self) -> None:
        """``sync()``, then raise the first record write that failed since the last flush."""
        await self.sync()
        self._raise_failure()

    async def close(self) -> None:
        """Write what is queued, stop the task, close the connection; raises a failure no flush reported."""
        if self._closed:
            return
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.set()
        with anyio.CancelScope(shield=True):
            if self._started:
                await self._stopped.wait()
            leftover = self._take(math.inf)  # the task was cancelled before it drained
            if leftover:
                await anyio.to_thread.run_sync(self._commit, leftover, limiter=self._thread)
                self._wake(leftover)
            await anyio.to_thread.run_sync(self.checkpoints.close, limiter=self._thread)
            await anyio.to_thread.run_sync(self.conn.close, limiter=self._thread)
        self._raise_failure()

    def resume_stream(self, stream: str) -> None:
        """Write the stream's records again (its failure is known to whoever continues it)."""
        failure = self.stopped.pop(stream, None)
        if failure is not None and self._failure is failure:
            self._failure = None

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    async def _gather(self) -> list[Any]:
        """The next batch: what is queued and, while nobody awaits any of it, what comes
        within ``GATHER_SECONDS``, until someone awaits (a flush, an operation), the batch
        is full, or the writer is closing."""
        batch = self._take(MAX_BATCH)
        if _awaited(batch):
            return batch
        with anyio.move_on_after(GATHER_SECONDS):
            while len(batch) < MAX_BATCH and not self._closed:
                await self._wait(gathering=True)
                more = self._take(MAX_BATCH - len(batch))
                batch.extend(more)
                if _awaited(more):
                    break
        batch.extend(self._take(MAX_BATCH - len(batch)))  # what came in the window's last moments
        return batch

    async def _wait(self, *, gathering: bool) -> None:
        self._gathering = gathering
        self._wakeup = self._new_event()
        try:
            await self._wakeup.wait()
        finally:
            self._wakeup = None

    def _take(self, limit: float) -> list[Any]:
        queue = self._queue
        if len(queue) <= limit:
            items = list(queue)
            queue.clear()
            return items
        return [queue.popleft() for _ in range(int(limit))]

    @staticmethod
    def _wake(batch: list[Any]) -> None:
        for item in batch:
            if type(item) is _Call:
                item.done.set()

    def _commit_here(self, batch: list[Any]) -> bool:
        """Commit a small batch on the loop's thread if the write lock is free at once; False
        (nothing written) when it is not, or when the batch is large or failed: the worker
        thread then writes it (and finds the culprit of a failure)."""
        if len(batch) > HERE_MAX or not self._light(batch):
            return False
        began = time.perf_counter()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return False
        try:
            self._body(batch)
        except Exception:  # rolled back by _body: written again, item by item, in the thread
            return False
        finally:
            self.loop_seconds += time.perf_counter() - began
        self.batches += 1
        return True

    def _light(self, batch: list[Any]) -> bool:
        heavy = self.heavy
        for item in batch:
            if not item.small if type(item) is _Call else heavy(item):
                return False
        return True

    # in the worker thread

    def _commit(self, batch: list[Any]) -> None:
        while batch:
            self._culprit = None
            try:
                self._transaction(batch)
            except Exception as exc:
                if self._culprit is not None:  # an operation raised: fail it, write the rest together
                    self._fail(self._culprit, exc)
                    batch = [item for item in batch if item is not self._culprit]
                elif len(batch) == 1:
                    self._fail(batch[0], exc)
                    return
                else:  # records or the commit failed: find the culprit, write everything else
                    for item in batch:
                        self._commit([item])
                    return
            else:
                self.batches += 1
                return

    def _fail(self, item: Any, exc: Exception) -> None:
        if isinstance(item, _Call) and not item.awaited and self._failure is None:
            self._failure = StorageError(self.path, f"write failed: {exc}")
            self._failure.__cause__ = exc
        if isinstance(item, _Call):
            if isinstance(exc, sqlite3.Error):
                error = StorageError(self.path, f"write failed: {exc}")
                error.__cause__ = exc
                item.result, item.error = None, error
            else:
                item.result, item.error = None, exc
        else:
            failure = StorageError(self.path, f"could not store {self.describe(item)}: {exc}")
            failure.__cause__ = exc
            self.stopped.setdefault(self.stream(item), failure)
            self._failure = self._failure or failure

    def _transaction(self, batch: list[Any]) -> None:
        """In the worker thread, with the busy timeout on: here waiting for the lock is fine."""
        self.conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        try:
            self._begin()
            self._body(batch)
        finally:
            self.conn.execute("PRAGMA busy_timeout = 0")

    def _body(self, batch: list[Any]) -> None:
        """The batch's statements and ``COMMIT``, in a transaction already begun (rolled back on failure)."""
        conn = self.conn
        try:
            records: list[Any] = []
            for item in batch:
                if type(item) is not _Call:
                    if not self.stopped or self.stream(item) not in self.stopped:
                        records.append(item)
                    continue
                if item.op is _nothing:  # a flush's marker: the records around it are written together
                    continue
                if records and item.awaited:  # a submitted op reads nothing records write: they stay together
                    self.apply_records(conn, records)
                    records = []
                self._culprit = item
                item.result, item.error = item.op(conn), None
                self._culprit = None
            if records:
                self.apply_records(conn, records)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: take the write lock now (waiting up to ``busy_timeout``, then retrying)."""
        for attempt in range(BUSY_RETRIES):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == BUSY_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
