"""Errors of the storage layer.

    GraphflowError
    ├── StorageError        the database cannot be opened or written (names the path)
    ├── LeaseHeld           another live process executes the run (names it and when its lease expires)
    └── LeaseLost           this process lost the lease of a run it was executing and stopped it

A missing graph, version, run or review item is ``graphflow.ports.NotFound``; a seq that
is not the run's next one is ``ValueError``: both are the ports' contract, shared with
``graphflow.memory.MemoryStore``.
"""

from __future__ import annotations

import time
from pathlib import Path

from graphflow.errors import GraphflowError


class StorageError(GraphflowError):
    """The database at ``path`` cannot be used: not ours, too new, unreadable or failing."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)
        self.message = message


class LeaseHeld(GraphflowError):
    """Another live process executes the run: its lease has not expired."""

    def __init__(self, run_id: str, owner: str, expires_at: float, now: float) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(expires_at))
        super().__init__(f"run {run_id} is held by {owner} (executing it, or gone without releasing it); "
                         f"its lease expires at {when} (in {max(0.0, expires_at - now):.0f}s) unless renewed: "
                         "try again after that")
        self.run_id, self.owner, self.expires_at = run_id, owner, expires_at


class LeaseLost(GraphflowError):
    """This process stopped executing a run: its lease could not be renewed (it expired, or another
    process took the run over)."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"stopped executing run {run_id}: {reason}")
        self.run_id = run_id
