"""Run leases: the process executing a run holds a lease on it (owner id, expiry on the wall
clock) and renews it while the run executes; another process may take the run over only
once the lease has expired, and never a finished run.

A fresh run's lease is queued (not awaited) ahead of its ``run_started``, so it lands in the
same or an earlier transaction and costs no extra round trip; releasing is queued too (the
run's final flush waits for it). Taking over (resume) is awaited and decided inside one write
transaction, so two processes racing for one expired lease cannot both win.
"""

from __future__ import annotations

import sqlite3

from graphflow.errors import LeaseHeld, LeaseLost
from graphflow.leases import DEFAULT_LEASE_SECONDS, lease_seconds, new_owner
from graphflow.ports import Lease

from .db import Database

__all__ = ["DEFAULT_LEASE_SECONDS", "Lease", "LeaseRepository", "lease_seconds", "new_owner"]

class LeaseRepository:
    """Leases over the ``run_leases`` table."""

    _db: Database

    def claim_new_run(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """The lease of a run about to start (queued ahead of its first event; a failure is
        reported by the next flush)."""
        def claim(conn: sqlite3.Connection) -> None:
            _upsert(conn, run_id, owner, now + seconds)

        self._db.writer.submit(claim)

    async def take_over(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """Take an unfinished run's lease: ``LeaseHeld`` while another owner's lease is live,
        ``ValueError`` for a finished run (never changed)."""
        def take(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT owner, expires_at FROM run_leases WHERE run_id = ?", (run_id,)).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                raise LeaseHeld(run_id, row[0], row[1], now)
            status = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if status is not None and status[0] not in ("running", "waiting"):
                raise ValueError(f"run {run_id} already {status[0]}; a finished run is never changed "
                                 "(use 'resume from failure' to start a new run from it)")
            _upsert(conn, run_id, owner, now + seconds)

        await self._db.write(take)
        # we own it now: its log goes on from what was committed
        self._db.writer.resume_stream(run_id)
        self._db.next_seq.pop(run_id, None)
        self._db.quiet_runs.discard(run_id)  # it may have waited in another process

    async def renew_lease(self, run_id: str, owner: str, seconds: float, now: float) -> None:
        """Extend our lease; ``LeaseLost`` when it is no longer ours (another process took it)."""
        def renew(conn: sqlite3.Connection) -> int:
            return conn.execute("UPDATE run_leases SET expires_at = ? WHERE run_id = ? AND owner = ?",
                                (now + seconds, run_id, owner)).rowcount

        if not await self._db.write(renew):
            raise LeaseLost(run_id, "another process took the run over")

    def release_lease(self, run_id: str, owner: str) -> None:
        """Give the lease up (queued; a later flush waits for it). Only our own lease."""
        def release(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM run_leases WHERE run_id = ? AND owner = ?", (run_id, owner))

        self._db.writer.submit(release)

    async def lease_of(self, run_id: str) -> Lease | None:
        await self._db.writer.sync()
        rows = await self._db.fetchall("SELECT owner, expires_at FROM run_leases WHERE run_id = ?", (run_id,))
        return Lease(run_id, rows[0][0], rows[0][1]) if rows else None


def _upsert(conn: sqlite3.Connection, run_id: str, owner: str, expires_at: float) -> None:
    conn.execute("INSERT INTO run_leases (run_id, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (run_id) "
                 "DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at", (run_id, owner, expires_at))
