"""A database file as an older graphflow left it, for migration tests."""

from __future__ import annotations

import sqlite3

from graphflow.storage.schema import MIGRATIONS, statements


def create_schema(conn: sqlite3.Connection, version: int) -> None:
    """The tables of schema ``version`` (its first ``version`` migrations); sets no user_version."""
    for script in MIGRATIONS[:version]:
        for statement in statements(script):
            conn.execute(statement)
