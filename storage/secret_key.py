"""The key that encrypts stored credentials, kept outside the database.

``GRAPHFLOW_SECRET_KEY`` (a Fernet key: 32 url-safe base64-encoded bytes) wins; else the key
file (``GRAPHFLOW_SECRET_KEY_FILE``, else ``secret.key`` in graphflow's config folder,
``$XDG_CONFIG_HOME/graphflow`` or ``~/.config/graphflow``), created on first use with
owner-only permissions (0600, its folder 0700). A copy of the database alone decrypts nothing.
A key file others can read is refused rather than used: it would be a credential in the open.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import StorageError

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "key_file_path", "load_key"]

KEY_ENV = "GRAPHFLOW_SECRET_KEY"
KEY_FILE_ENV = "GRAPHFLOW_SECRET_KEY_FILE"


def key_file_path() -> Path:
    if named := os.environ.get(KEY_FILE_ENV):
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "graphflow" / "secret.key"


def _valid(key: bytes, where: str) -> bytes:
    from cryptography.fernet import Fernet

    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise StorageError(Path(where), "is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
                                        "python -c 'from cryptography.fernet import Fernet; "
                                        "print(Fernet.generate_key().decode())')") from None
    return key


def load_key(*, create: bool = True) -> bytes | None:
    """The key; created in the key file when there is none and ``create`` (else None)."""
    from cryptography.fernet import Fernet

    if env := os.environ.get(KEY_ENV, "").strip():
        return _valid(env.encode(), f"${KEY_ENV}")
    path = key_file_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Fernet.generate_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return load_key(create=False)
        with os.fdopen(fd, "wb") as out:
            out.write(key + b"\n")
            out.flush()
            os.fsync(out.fileno())
        return key
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StorageError(path, f"(the credentials key) can be read by others (mode {stat.filemode(mode)}); "
                                 f"run chmod 600 {path}")
    return _valid(path.read_bytes().strip(), str(path))
