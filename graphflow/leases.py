"""Run leases, the engine side: how long one lasts and who holds it. A process executing a run
holds its lease and renews it (``graphflow.service``); a store keeps leases (``ports.LeaseStore``;
``storage/leases.py`` in SQLite) so that another process takes a run over only once it expired.
"""

from __future__ import annotations

import os
import socket
import uuid

DEFAULT_LEASE_SECONDS = 30.0


def lease_seconds() -> float:
    """``$GRAPHFLOW_LEASE_SECONDS`` if set (tests make it short), else 30 s."""
    value = os.environ.get("GRAPHFLOW_LEASE_SECONDS")
    seconds = float(value) if value else DEFAULT_LEASE_SECONDS
    if not seconds > 0:
        raise ValueError(f"GRAPHFLOW_LEASE_SECONDS must be a positive number of seconds, not {value!r}")
    return seconds


def new_owner() -> str:
    """Names this process for people (host, pid) and uniquely (a nonce: pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
