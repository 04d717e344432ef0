"""The run log: events appended by ``publish`` and the rows derived from them.

``publish`` checks the seq at once (so a gap or a duplicate is the publisher's
``ValueError``), serializes the event and queues it; the writer stores queued events in
batches with ``write_events``: the event rows, the run row on ``RunStarted``, cost, the
run's end on ``RunFinished``/``RunCancelled`` and ``last_seq``, all in the batch's one
transaction. A node's ``node_succeeded`` event is its checkpoint (``node_outputs`` reads it).

Reads first wait for what this store has queued, so a reader sees every event published
before it asked.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from pydantic_core import to_json

from graphflow import events as ev
from graphflow.ports import NotFound, RunSummary

from .blobs import REF_FIELDS, Blob, may_hold_refs, put_back, refs, stored_body
from .db import Database
from .errors import StorageError
from .reviews import close_reviews, record_review
from .waits import record_run_end, record_run_waiting, record_waiting

_RUN_COLUMNS = ("run_id, graph_id, graph_version, status, started_at, finished_at, duration, cost, "
                "failed_node, error, inputs_json, outputs_json, last_seq")


class EventRecord(NamedTuple):  # a tuple: built per event, on the event loop's thread
    event: ev.Event
    body: str
    """The event's JSON as stored: large output values are references (``blobs.py``)."""
    values: dict[str, Any] | None = None
    """A node's output or a run's outputs as stored, for the derived rows."""
    blobs: tuple[Blob, ...] = ()


def record_of(event: ev.Event) -> EventRecord:
    body, values, blobs = stored_body(event)
    return _record(EventRecord, (event, body, values, tuple(blobs) if blobs else ()))


_record = tuple.__new__  # the named tuple's own __new__ is a Python function: a call more per event


def describe(record: EventRecord) -> str:
    return f"event {record.event.seq} ({record.event.kind}) of run {record.event.run_id!r}"


def run_of(record: EventRecord) -> str:
    return record.event.run_id


def heavy(record: EventRecord) -> bool:
    """Holds a large value (written in the writer's thread, not on the event loop's)."""
    return bool(record.blobs)


def _json(value: Any) -> str:
    return to_json(value).decode()


_PLAIN, _START, _NODE_END, _WAIT, _END = "plain", "start", "node end", "wait", "end"
_ROLES: dict[type, str] = {}
"""What an event's class adds to the derived rows besides its own row, by class (filled as met)."""


def _role(cls: type) -> str:
    if issubclass(cls, ev.RunStarted):
        role = _START
    elif issubclass(cls, ev.NodeSucceeded | ev.NodeFailed):
        role = _NODE_END
    elif issubclass(cls, ev.NodeWaiting | ev.RunWaiting | ev.RunResumed):
        role = _WAIT
    elif issubclass(cls, ev.RunFinished | ev.RunCancelled):
        role = _END
    else:
        role = _PLAIN
    _ROLES[cls] = role
    return role


def write_events(conn: sqlite3.Connection, records: Sequence[EventRecord], quiet: set[str] | None = None) -> None:
    """Store a batch of events and what derives from them (runs inside the writer's transaction).

    ``quiet``: runs started by this writer that have not waited since (kept across batches):
    at their end there are no waits or review items to close, so those statements are skipped."""
    quiet = set() if quiet is None else quiet
    graphs, runs, rows, ends, loud_ends = [], [], [], [], []
    waits: list[ev.NodeWaiting | ev.RunWaiting | ev.RunResumed] = []
    blobs: list[tuple[str, str, str]] = []
    cost: dict[str, float] = {}
    last_seq: dict[str, int] = {}
    """Runs whose last seq in this batch the run row's insert or end update does not write."""
    for record in records:
        e = record.event
        d = e.__dict__  # a pydantic model's attributes go through its __getattr__ hook; its dict does not
        run_id, seq = d["run_id"], d["seq"]
        rows.append((run_id, seq, d["kind"], d.get("node_id"), d["at"], record.body))
        if record.blobs:
            blobs.extend((run_id, digest, text) for digest, text in record.blobs)
        last_seq[run_id] = seq
        role = _ROLES.get(type(e)) or _role(type(e))
        if role is _PLAIN:
            continue
        if role is _START:
            graphs.append((d["graph_id"], d["at"], d["at"]))
            runs.append((run_id, d["graph_id"], d["graph_version"], d["at"], _json(d["inputs"]), seq))
            quiet.add(run_id)
            del last_seq[run_id]
        elif role is _NODE_END:
            if d["cost"]:
                cost[run_id] = cost.get(run_id, 0.0) + d["cost"]
        elif role is _WAIT:
            waits.append(cast(ev.NodeWaiting | ev.RunWaiting | ev.RunResumed, e))
            quiet.discard(run_id)
        else:
            ends.append(_end_row(cast(ev.RunFinished | ev.RunCancelled, e), record.values))
            del last_seq[run_id]
            if run_id not in quiet:
                loud_ends.append((d["at"], run_id))
            quiet.discard(run_id)
    if graphs:
        conn.executemany(
            "INSERT OR IGNORE INTO graphs (graph_id, name, created_at, updated_at) VALUES (?, '', ?, ?)", graphs)
        conn.executemany(
            "INSERT INTO runs (run_id, graph_id, graph_version, status, started_at, inputs_json, last_seq) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?)", runs)
    if blobs:
        conn.executemany("INSERT OR IGNORE INTO blobs (run_id, hash, body_json) VALUES (?, ?, ?)", blobs)
    conn.executemany(
        "INSERT INTO events (run_id, seq, kind, node_id, at, body_json) VALUES (?, ?, ?, ?, ?, ?)", rows)
    if cost:
        conn.executemany("UPDATE runs SET cost = cost + ? WHERE run_id = ?",
                               [(amount, run_id) for run_id, amount in cost.items()])
    for e in waits:  # in log order, after the event rows (a wait's run row exists)
        if isinstance(e, ev.NodeWaiting):
            record_waiting(conn, e)
            if e.wait_kind == "decision":
                record_review(conn, e)
        elif isinstance(e, ev.RunWaiting):
            record_run_waiting(conn, e)
            conn.execute("UPDATE runs SET status = 'waiting' WHERE run_id = ?", (e.run_id,))
        else:
            conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ? AND status = 'waiting'", (e.run_id,))
    if loud_ends:
        record_run_end(conn, [run_id for _, run_id in loud_ends])
        close_reviews(conn, loud_ends)
    if ends:
        # RunFinished carries the run's cost when the runner totals it; otherwise the nodes' sum stands.
        conn.executemany(
            "UPDATE runs SET status = ?, finished_at = ?, duration = ?, "
            "cost = CASE WHEN ? != 0 THEN ? ELSE cost END, failed_node = ?, error = ?, outputs_json = ?, "
            "last_seq = max(last_seq, ?) WHERE run_id = ?", ends)
    if last_seq:
        conn.executemany("UPDATE runs SET last_seq = ? WHERE run_id = ? AND last_seq < ?",
                         [(seq, run_id, seq) for run_id, seq in last_seq.items()])


def _end_row(e: ev.RunFinished | ev.RunCancelled, values: dict[str, Any] | None) -> tuple[Any, ...]:
    if isinstance(e, ev.RunCancelled):
        return ("cancelled", e.at, e.duration, 0.0, 0.0, None, e.reason, "{}", e.seq, e.run_id)
    return (e.status, e.at, e.duration, e.cost, e.cost, e.failed_node, e.error, _json(values), e.seq, e.run_id)


def _summary(row: Any) -> RunSummary:
    return RunSummary(
        run_id=row["run_id"], graph_id=row["graph_id"], graph_version=row["graph_version"], status=row["status"],
        started_at=row["started_at"], finished_at=row["finished_at"], duration=row["duration"], cost=row["cost"],
        failed_node=row["failed_node"], error=row["error"], inputs=json.loads(row["inputs_json"]),
        outputs=json.loads(row["outputs_json"]), last_seq=row["last_seq"],
    )


class RunRepository:
    """``RunStore`` (``graphflow.ports``) over the ``runs`` and ``events`` tables."""

    _db: Database

    async def publish(self, event: ev.Event) -> None:
        """Queue ``event``; refuses, with ``ValueError``, a seq that is not the run's next one, and with
        ``StorageError`` an event of a run whose log stopped at a write that failed (no gap, ever)."""
        d = event.__dict__  # read as ``write_events`` reads it: not through the model's __getattr__ hook
        run_id, seq = d["run_id"], d["seq"]
        writer = self._db.writer
        if writer.stopped and run_id in writer.stopped:
            raise StorageError(self._db.path, f"run {run_id} stopped: {writer.stopped[run_id].message}; "
                                              "it can be resumed once the database can be written again")
        seqs = self._db.next_seq
        expected = seqs.get(run_id)
        if expected is None and seq == 0 and isinstance(event, ev.RunStarted):
            # A new run needs no read: if the id was taken by another process, inserting the
            # run row fails in the writer and the runner's flush after run_started raises.
            expected = seqs.setdefault(run_id, 0)
        elif expected is None:
            await writer.sync()  # a run that ended or waited here: its last seq may still be queued
            rows = await self._db.fetchall("SELECT last_seq FROM runs WHERE run_id = ?", (run_id,))
            expected = seqs.setdefault(run_id, rows[0][0] + 1 if rows else 0)
        if seq != expected:
            raise ValueError(f"event seq {seq} of run {run_id!r} is not the next one ({expected}): "
                             "the log would have a gap or a duplicate")
        if expected == 0 and not isinstance(event, ev.RunStarted):
            raise ValueError(f"run {run_id!r} must start with run_started, not {event.kind}")
        writer.enqueue(record_of(event))
        if d["kind"] in ev.LOOP_END_KINDS:  # nothing more of it here: a long-lived process keeps no entry per run
            seqs.pop(run_id, None)
        else:
            seqs[run_id] = expected + 1

    async def flush(self) -> None:
        """Return once everything published so far is committed; raises a write that failed."""
        await self._db.writer.flush()

    async def get_run(self, run_id: str) -> RunSummary:
        await self._db.writer.sync()
        rows = await self._db.fetchall(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise NotFound(f"no run {run_id!r}")
        return await self._with_values(_summary(rows[0]))

    async def list_runs(self, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
        """Newest first."""
        await self._db.writer.sync()
        where, params = ("WHERE graph_id = ?", (graph_id,)) if graph_id is not None else ("", ())
        rows = await self._db.fetchall(
            f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (*params, limit))
        return [await self._with_values(_summary(row)) for row in rows]

    async def load_events(self, run_id: str, after_seq: int = -1) -> list[ev.Event]:
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            "SELECT body_json FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after_seq))
        return await self._events(run_id, [row[0] for row in rows])

    async def node_outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The stored output of every node that succeeded in the run (its checkpoints)."""
        await self._db.writer.sync()
        rows = await self._db.fetchall(  # in log order: a node that succeeded twice (a loop) keeps its last output
            "SELECT node_id, json_extract(body_json, '$.output') FROM events "
            "WHERE run_id = ? AND kind = 'node_succeeded' ORDER BY seq", (run_id,))
        outputs = {row[0]: json.loads(row[1]) for row in rows}
        wanted = {digest for values in outputs.values() for digest in refs(values)}
        if not wanted:
            return outputs
        found = await self._blobs(run_id, wanted)
        return {node_id: put_back(run_id, values, found) for node_id, values in outputs.items()}

    async def unfinished_runs(self) -> list[RunSummary]:
        """Runs with no end event (a crash or a kill stopped them), oldest first."""
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY started_at, rowid")
        return [await self._with_values(_summary(row)) for row in rows]

    async def runs_for_stats(self, graph_id: str, limit: int = 1000) -> list[Sequence[ev.Event]]:
        """Event logs of the graph's finished runs, newest first."""
        await self._db.writer.sync()
        rows = await self._db.fetchall(
            "SELECT e.run_id, e.body_json FROM events AS e JOIN ("
            "  SELECT run_id, started_at, rowid AS n FROM runs"
            "  WHERE graph_id = ? AND status NOT IN ('running', 'waiting') ORDER BY started_at DESC, rowid DESC LIMIT ?"
            ") AS r ON e.run_id = r.run_id ORDER BY r.started_at DESC, r.n DESC, e.seq", (graph_id, limit))
        bodies: dict[str, list[str]] = {}
        for run_id, body in rows:
            bodies.setdefault(run_id, []).append(body)
        return [await self._events(run_id, texts) for run_id, texts in bodies.items()]

    async def _events(self, run_id: str, bodies: list[str]) -> list[ev.Event]:
        """Stored event JSON back to events, large values put back."""
        if not any(may_hold_refs(body) for body in bodies):
            return [ev.event_from_json(body) for body in bodies]
        parsed = [json.loads(body) if may_hold_refs(body) else body for body in bodies]
        wanted = {h for data in parsed if isinstance(data, dict)
                  for field in REF_FIELDS if isinstance(data.get(field), dict) for h in refs(data[field])}
        found = await self._blobs(run_id, wanted)
        events: list[ev.Event] = []
        for data in parsed:
            if isinstance(data, str):
                events.append(ev.event_from_json(data))
                continue
            for field in REF_FIELDS:
                if isinstance(data.get(field), dict):
                    data[field] = put_back(run_id, data[field], found)
            events.append(ev.event_adapter.validate_python(data))
        return events

    async def _blobs(self, run_id: str, hashes: set[str]) -> dict[str, str]:
        if not hashes:
            return {}
        marks = ", ".join("?" * len(hashes))
        rows = await self._db.fetchall(f"SELECT hash, body_json FROM blobs WHERE run_id = ? AND hash IN ({marks})",
                                       (run_id, *hashes))
        return {row[0]: row[1] for row in rows}

    async def _with_values(self, summary: RunSummary) -> RunSummary:
        wanted = refs(summary.outputs)
        if not wanted:
            return summary
        found = await self._blobs(summary.run_id, wanted)
        return dataclasses.replace(summary, outputs=put_back(summary.run_id, summary.outputs, found))
