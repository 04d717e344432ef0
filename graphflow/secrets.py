"""The default secret source: environment variables.

``ctx.secret("openai")`` reads ``GRAPHFLOW_SECRET_OPENAI``. A store-backed source (encrypted in
the database) replaces this where a workspace runs graphs; scripts and ``--no-store`` runs use
the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from graphflow.errors import SecretNotFound

__all__ = ["EnvSecrets", "check_credential_name", "env_name"]


def env_name(name: str) -> str:
    """The environment variable that holds the secret ``name``."""
    return "GRAPHFLOW_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class EnvSecrets:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def get(self, name: str) -> str:
        value = self.environ.get(env_name(name))
        if not value:
            raise SecretNotFound(name, f"set {env_name(name)} or store it as a credential")
        return value


NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def check_credential_name(name: str) -> str:
    """``name`` if it can name a credential, else ``ValueError`` saying what a name may be."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"credential name {name[:80]!r}: use a letter or _ then letters, digits, _ or - "
                         "(at most 64)")
    return name
