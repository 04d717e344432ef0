"""The schema, as migrations applied in order by ``PRAGMA user_version``.

``MIGRATIONS[0]`` takes a fresh file to version 1, ``MIGRATIONS[1]`` (later) to version 2,
and so on. A migration is never edited once released: change the schema by appending one.
Timestamps are Unix seconds (REAL); payloads are JSON text, never pickles.

Deleting a graph cascades to its versions, its draft and its runs, and from runs to their events,
blobs and review items.
"""

from __future__ import annotations

import functools
import sqlite3

APPLICATION_ID = 0x4746_4C57
"""``PRAGMA application_id`` of a graphflow database ("GFLW"), set by the first migration."""

_V1 = f"""
PRAGMA application_id = {APPLICATION_ID};

CREATE TABLE graphs (
    graph_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE graph_versions (
    graph_id  TEXT NOT NULL REFERENCES graphs (graph_id) ON DELETE CASCADE,
    version   INTEGER NOT NULL,
    spec_json TEXT NOT NULL,
    saved_at  REAL NOT NULL,
    PRIMARY KEY (graph_id, version)
);

CREATE TABLE runs (
    run_id        TEXT PRIMARY KEY,
    graph_id      TEXT NOT NULL REFERENCES graphs (graph_id) ON DELETE CASCADE,
    graph_version INTEGER,
    status        TEXT NOT NULL,
    started_at    REAL NOT NULL,
    finished_at   REAL,
    duration      REAL,
    cost          REAL NOT NULL DEFAULT 0,
    failed_node   TEXT,
    error         TEXT,
    inputs_json   TEXT NOT NULL DEFAULT '{{}}',
    outputs_json  TEXT NOT NULL DEFAULT '{{}}',
    last_seq      INTEGER NOT NULL
);
CREATE INDEX runs_by_graph ON runs (graph_id, started_at);
CREATE INDEX runs_by_start ON runs (started_at);
CREATE INDEX runs_unfinished ON runs (started_at) WHERE status = 'running';

CREATE TABLE events (
    run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    node_id   TEXT,
    at        REAL NOT NULL,
    body_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE node_outputs (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    output_json TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    PRIMARY KEY (run_id, node_id)
);

CREATE TABLE kv (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value_json TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE review_items (
    id            TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    node_id       TEXT NOT NULL,
    status        TEXT NOT NULL,
    payload_json  TEXT NOT NULL,
    created_at    REAL NOT NULL,
    decided_at    REAL,
    decision_json TEXT
);
CREATE INDEX review_items_by_status ON review_items (status, created_at);
CREATE INDEX review_items_by_run ON review_items (run_id);
"""

_V2 = """
CREATE TABLE run_leases (
    run_id     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""
"""Which process executes a run, until when (wall clock); see ``storage/leases.py``. No foreign
key: a fresh run's lease is taken in the transaction that creates the run row, just before it."""

_DROP_OUTPUT_REF = """
UPDATE events SET body_json = json_remove(body_json, '$.output_ref') WHERE kind = 'node_succeeded';
"""
"""``NodeSucceeded.output_ref`` was never set (always null) and is gone from the event model,
which refuses unknown fields: stored events drop it so they still read back."""

_BLOBS = """
CREATE TABLE blobs (
    run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    hash      TEXT NOT NULL,
    body_json TEXT NOT NULL,
    PRIMARY KEY (run_id, hash)
);
"""
"""Large values (outputs of 16 KiB of JSON or more) stored once per run; see ``storage/blobs.py``."""

_CREDENTIALS = """
CREATE TABLE credentials (
    name       TEXT PRIMARY KEY,
    token      BLOB NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""
"""Named credentials, each a Fernet token (``storage/credentials.py``); the key is never in this file."""

_SESSIONS = """
CREATE TABLE session_messages (
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    run_id     TEXT NOT NULL,
    node_id    TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    at         REAL NOT NULL,
    PRIMARY KEY (session_id, seq),
    UNIQUE (run_id, node_id, idx)
);
"""
"""Agents' conversation memory (``storage/sessions.py``). No foreign key to runs: deleting a
graph's runs does not make a session forget. (run, node, idx) is unique, so a resumed agent
stores its turn once."""

_DRAFTS = """
CREATE TABLE graph_drafts (
    graph_id     TEXT PRIMARY KEY REFERENCES graphs (graph_id) ON DELETE CASCADE,
    base_version INTEGER NOT NULL,
    graph_json   TEXT NOT NULL,
    saved_at     REAL NOT NULL
);
"""
"""The editor's autosaved draft, one per graph (``storage/drafts.py``): not a version, and it may
not validate, so it is kept as the JSON the editor sent. Deleted with its graph."""

_WAITS = """
CREATE TABLE waits (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    node_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL DEFAULT '',
    due_at      REAL,
    detail_json TEXT NOT NULL DEFAULT '{}',
    since       REAL NOT NULL,
    wake_json   TEXT,
    PRIMARY KEY (run_id, node_id)
);
CREATE INDEX waits_due ON waits (due_at) WHERE wake_json IS NULL AND due_at IS NOT NULL;
CREATE INDEX waits_woken ON waits (run_id) WHERE wake_json IS NOT NULL;
CREATE INDEX runs_waiting ON runs (started_at) WHERE status = 'waiting';
"""
"""Waiting nodes and the wake claimed for each (``storage/waits.py``)."""

_REVIEWS = """
ALTER TABLE review_items ADD COLUMN graph_id TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN confidence REAL;
ALTER TABLE review_items ADD COLUMN due_at REAL;
ALTER TABLE review_items ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN decision TEXT NOT NULL DEFAULT '';
ALTER TABLE review_items ADD COLUMN edited_value_json TEXT;
ALTER TABLE review_items ADD COLUMN label TEXT;
CREATE INDEX review_items_by_graph ON review_items (graph_id, status, created_at);
CREATE INDEX review_items_labelled ON review_items (decided_at) WHERE label IS NOT NULL;
"""
"""Review items of review nodes (``storage/reviews.py``): what the inbox filters on (graph, reason),
the confidence and due time, and each decision's kind, who made it, the edited value or answer
and the label (active learning; exported as JSONL). ``decision_json`` keeps the decision as given."""

_LEASES_BY_KEY = """
CREATE TABLE run_leases_by_key (
    run_id     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
INSERT INTO run_leases_by_key (run_id, owner, expires_at) SELECT run_id, owner, expires_at FROM run_leases;
DROP TABLE run_leases;
ALTER TABLE run_leases_by_key RENAME TO run_leases;
"""
"""Leases keyed by run id alone (``WITHOUT ROWID``): taking a run's lease and giving it up each
write one b-tree page instead of two (the rows and their key's index): 2 of some 23 WAL frames
(4 of some 46 writes to the file) per recorded run."""

_DROP_NODE_OUTPUTS = """
DROP TABLE node_outputs;
"""
"""A node's checkpoint is its ``node_succeeded`` event (``RunRepository.node_outputs`` reads it
there): a second copy of each output in ``node_outputs`` cost an insert per node and was read
by nothing but that method."""

MIGRATIONS: list[str] = [_V1, _V2, _DROP_OUTPUT_REF, _BLOBS, _CREDENTIALS, _SESSIONS, _DRAFTS, _WAITS, _REVIEWS,
                         _LEASES_BY_KEY, _DROP_NODE_OUTPUTS]
LATEST_VERSION = len(MIGRATIONS)
GRAPHFLOW_TABLES = frozenset({"graphs", "graph_versions", "runs", "events", "kv", "review_items"})


@functools.cache
def schema_objects() -> frozenset[tuple[str, str]]:
    """(type, name) of every table, index, view and trigger some migration creates."""
    conn = sqlite3.connect(":memory:")
    try:
        found: set[tuple[str, str]] = set()
        for script in MIGRATIONS:
            for statement in statements(script):
                conn.execute(statement)
            found |= {(kind, name) for kind, name in conn.execute("SELECT type, name FROM sqlite_schema")
                      if not name.startswith("sqlite_")}
        return frozenset(found)
    finally:
        conn.close()


def statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    out: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n;"):
        raise ValueError(f"incomplete statement in migration: {buffer.strip()!r}")
    return out
