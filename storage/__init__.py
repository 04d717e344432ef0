"""Persistence for graphflow: the engine's storage ports implemented with SQLite (aiosqlite).

    from graphflow.storage import open_store

    async with open_store() as store:      # GraphStore + RunStore + KeyValueStore
        ...

Imports ``graphflow``; the engine never imports this package.
"""

from __future__ import annotations

from .db import default_db_path
from .errors import StorageError
from .reviews import ReviewItem
from .store import SqliteStore, open_store

__all__ = ["ReviewItem", "SqliteStore", "StorageError", "default_db_path", "open_store"]
