"""Named credentials, encrypted at rest with Fernet (``cryptography``) under a key kept outside
the database (``secret_key.py``).

Each row holds one Fernet token of ``{"name": ..., "value": ...}``: the name inside the token
means a token copied to another row does not decrypt as that row's credential. Values are
decrypted only when a node asks for one during a run (``StoredSecrets.get``); nothing here
returns a value to a caller other than that.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from graphflow.clock import Clock
from graphflow.errors import SecretNotFound
from graphflow.ports import CredentialInfo, SecretSource
from graphflow.secrets import check_credential_name

from .db import Database
from .errors import StorageError
from .secret_key import KEY_ENV, key_file_path, load_key

MAX_VALUE = 64 * 1024
"""A credential is a key or a token, not a file: 64 KiB at most."""


class StoredSecrets:
    """``SecretSource`` over the stored credentials, then the environment. A name is read from
    the database when a node first asks for it in the run (a run that asks for none reads
    nothing), and the key is loaded only then, so a run that uses none never fails over it."""

    def __init__(self, path: Path, fallback: SecretSource) -> None:
        self._path = path
        self._fallback = fallback
        self._tokens: dict[str, bytes | None] = {}

    def get(self, name: str) -> str:
        if name not in self._tokens:
            self._tokens[name] = self._read(name)
        token = self._tokens[name]
        if token is None:
            return self._fallback.get(name)
        try:
            key = load_key(create=False)
        except StorageError as exc:
            raise SecretNotFound(name, f"stored encrypted, but the key cannot be used: {exc}") from None
        return _decrypt(key, name, token)

    def _read(self, name: str) -> bytes | None:
        """One row, on a connection of its own: a node may ask from any thread, and a small read
        in WAL mode waits for no writer."""
        try:
            conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT token FROM credentials WHERE name = ?", (name,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise SecretNotFound(name, f"the stored credentials cannot be read from {self._path}: {exc}") from None
        return None if row is None else bytes(row[0])


def _decrypt(key: bytes | None, name: str, token: bytes) -> str:
    from cryptography.fernet import Fernet, InvalidToken

    if key is None:
        raise SecretNotFound(name, f"stored encrypted, but the key is missing (set ${KEY_ENV} or restore "
                                   f"{key_file_path()})")
    try:
        data: Any = json.loads(Fernet(key).decrypt(token))
    except (InvalidToken, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("name") != name or not isinstance(data.get("value"), str):
        raise SecretNotFound(name, "stored, but it does not decrypt with this key (was the key file or "
                                   f"${KEY_ENV} changed?); set it again")
    return str(data["value"])


class CredentialRepository:
    """``CredentialStore`` (``graphflow.ports``) over the ``credentials`` table."""

    _db: Database
    _clock: Clock

    async def set_credential(self, name: str, value: str) -> CredentialInfo:
        from cryptography.fernet import Fernet

        check_credential_name(name)
        if not value:
            raise ValueError(f"credential {name!r}: the value is empty")
        if len(value.encode()) > MAX_VALUE:
            raise ValueError(f"credential {name!r}: the value is over {MAX_VALUE // 1024} KiB")
        key = load_key()
        assert key is not None
        token = Fernet(key).encrypt(json.dumps({"name": name, "value": value}).encode())
        now = self._clock.time()

        def put(conn: sqlite3.Connection) -> CredentialInfo:
            conn.execute("INSERT INTO credentials (name, token, created_at, updated_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
                         (name, token, now, now))
            row = conn.execute("SELECT created_at FROM credentials WHERE name = ?", (name,)).fetchone()
            return CredentialInfo(name, float(row[0]), now)

        return await self._db.write(put)

    async def credentials(self) -> list[CredentialInfo]:
        rows = await self._db.fetchall("SELECT name, created_at, updated_at FROM credentials ORDER BY name")
        return [CredentialInfo(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    async def delete_credential(self, name: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM credentials WHERE name = ?", (name,)).rowcount > 0

        return bool(await self._db.write(delete))

    async def secret_source(self, fallback: SecretSource) -> SecretSource:
        return StoredSecrets(self._db.path, fallback)
