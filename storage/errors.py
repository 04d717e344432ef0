"""Errors of the storage layer.

    GraphflowError
    ├── StorageError        the database cannot be opened or written (names the path)
    ├── LeaseHeld           another live process executes the run (names it and when its lease expires)
    └── LeaseLost           this process lost the lease of a run it was executing and stopped it

(``LeaseHeld`` and ``LeaseLost`` are the application service's, defined in ``graphflow.errors``.)

A missing graph, version, run or review item is ``graphflow.ports.NotFound``; a seq that
is not the run's next one is ``ValueError``: both are the ports' contract, shared with
``graphflow.memory.MemoryStore``.
"""

from __future__ import annotations

from pathlib import Path

from graphflow.errors import LeaseHeld, LeaseLost, StoreError

__all__ = ["LeaseHeld", "LeaseLost", "StorageError"]


class StorageError(StoreError):
    """The database at ``path`` cannot be used: not ours, too new, unreadable or failing."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)
        self.message = message
