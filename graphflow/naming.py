"""Graph ids made from names, unique among the ids taken."""

from __future__ import annotations

import re
from collections.abc import Iterable


def slug(text: str) -> str:
    """A graph id from a name: letters, digits, ``_ . -``, starting with a letter."""
    ident = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text.strip()).strip("_.-")[:100]
    return ident if ident and (ident[0].isalpha() or ident[0] == "_") else f"graph_{ident}".rstrip("_")


def unique_id(base: str, taken: Iterable[str]) -> str:
    """``base``, else ``base_2``, ``base_3``, ... whichever is first free."""
    taken = set(taken)
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"
