"""Drafts (``ports.DraftStore``): the one encoding both stores use, so they refuse the same drafts."""

from __future__ import annotations

import json
from typing import Any

MAX_DRAFT_BYTES = 8 * 1024 * 1024
"""A draft's JSON text at most. Larger than the import limit (``validate.MAX_BYTES``): a draft is
kept even when it could not be saved as a version."""


def encode_draft(graph: object) -> str:
    """The draft's JSON text; ``ValueError`` naming what is wrong (not an object, not JSON data, too large)."""
    if not isinstance(graph, dict):
        raise ValueError(f"a draft is a graph object, not {type(graph).__name__}")
    try:
        text = json.dumps(graph, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # a set, an object, NaN: never stored half-written
        raise ValueError(f"a draft must be JSON data: {exc}") from None
    size = len(text.encode())
    if size > MAX_DRAFT_BYTES:
        raise ValueError(f"the draft is {size:,} bytes; the limit is {MAX_DRAFT_BYTES:,}")
    return text


def decode_draft(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
