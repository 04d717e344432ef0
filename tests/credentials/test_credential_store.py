"""Credentials stored encrypted in SQLite, the key outside the database (storage/credentials.py)."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from cryptography.fernet import Fernet

from graphflow.errors import SecretNotFound
from graphflow.secrets import EnvSecrets
from graphflow.storage import StorageError, open_store
from graphflow.storage.secret_key import key_file_path

pytestmark = pytest.mark.anyio
VALUE = "sk-stored-4c1d9e77"


async def test_stored_encrypted_and_the_key_file_made_owner_only_on_first_use(tmp_path):
    assert not key_file_path().exists()
    async with open_store(tmp_path / "gf.db") as store:
        assert not key_file_path().exists()  # opening a store makes no key; storing a credential does
        info = await store.set_credential("openai", VALUE)
        assert info.name == "openai" and info.created_at == info.updated_at
        source = await store.secret_source(EnvSecrets({}))
        assert source.get("openai") == VALUE
    mode = key_file_path().stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    rows = sqlite3.connect(tmp_path / "gf.db").execute("SELECT name, token FROM credentials").fetchall()
    assert rows[0][0] == "openai" and VALUE.encode() not in rows[0][1]
    assert VALUE.encode() in Fernet(key_file_path().read_bytes().strip()).decrypt(rows[0][1])


async def test_replace_list_delete_and_env_fallback(tmp_path):
    async with open_store(tmp_path / "gf.db") as store:
        await store.set_credential("b", "first-value")
        await store.set_credential("a", "other-value")
        replaced = await store.set_credential("b", "second-value")
        assert replaced.updated_at >= replaced.created_at
        assert [c.name for c in await store.credentials()] == ["a", "b"]
        source = await store.secret_source(EnvSecrets({"GRAPHFLOW_SECRET_ENVONLY": "from-env"}))
        assert source.get("b") == "second-value" and source.get("envonly") == "from-env"
        with pytest.raises(SecretNotFound, match="GRAPHFLOW_SECRET_NOPE"):
            source.get("nope")
        assert await store.delete_credential("b") and not await store.delete_credential("b")
        assert [c.name for c in await store.credentials()] == ["a"]


async def test_bad_names_and_empty_values_are_refused(tmp_path):
    async with open_store(tmp_path / "gf.db") as store:
        for name in ("", "has space", "1starts-with-digit", "x" * 65, "quo'te"):
            with pytest.raises(ValueError, match="credential name"):
                await store.set_credential(name, "v")
        with pytest.raises(ValueError, match="empty"):
            await store.set_credential("ok", "")
        assert await store.credentials() == []


async def test_env_key_wins_and_another_key_cannot_decrypt(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_KEY", Fernet.generate_key().decode())
    async with open_store(tmp_path / "gf.db") as store:
        await store.set_credential("api", VALUE)
        assert not key_file_path().exists()
        monkeypatch.setenv("GRAPHFLOW_SECRET_KEY", Fernet.generate_key().decode())
        source = await store.secret_source(EnvSecrets({}))
        with pytest.raises(SecretNotFound) as wrong:
            source.get("api")
        assert "does not decrypt with this key" in str(wrong.value) and VALUE not in str(wrong.value)
        monkeypatch.setenv("GRAPHFLOW_SECRET_KEY", "not-a-key")
        with pytest.raises(StorageError, match="not a Fernet key"):
            await store.set_credential("api", VALUE)


async def test_a_token_moved_to_another_name_does_not_decrypt_as_it(tmp_path):
    async with open_store(tmp_path / "gf.db") as store:
        await store.set_credential("prod", VALUE)
        await store.set_credential("dev", "harmless")

        def swap(conn: sqlite3.Connection) -> None:
            token = conn.execute("SELECT token FROM credentials WHERE name = 'prod'").fetchone()[0]
            conn.execute("UPDATE credentials SET token = ? WHERE name = 'dev'", (token,))

        await store._db.write(swap)
        with pytest.raises(SecretNotFound, match="does not decrypt"):
            (await store.secret_source(EnvSecrets({}))).get("dev")


async def test_a_key_file_others_can_read_is_refused(tmp_path):
    async with open_store(tmp_path / "gf.db") as store:
        await store.set_credential("api", VALUE)
        os.chmod(key_file_path(), 0o644)
        with pytest.raises(StorageError, match="can be read by others"):
            await store.set_credential("api", VALUE)
        source = await store.secret_source(EnvSecrets({"GRAPHFLOW_SECRET_OTHER": "x-env"}))
        assert source.get("other") == "x-env"  # a run that uses no stored credential is not stopped
        with pytest.raises(SecretNotFound, match="can be read by others"):
            source.get("api")
