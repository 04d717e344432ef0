"""Large values stored once per run.

A node's output reaches the log several times: its ``node_succeeded`` event (its checkpoint),
the output node's event, ``run_finished`` and the run row. A value whose JSON is
at least ``BLOB_BYTES`` long is stored once, in ``blobs`` (keyed by run and content hash), and
each of those places holds ``{"$graphflow_blob": HASH}`` instead. Only the values of an event's
``output`` / ``outputs`` are replaced, and every object there with that single key is a
reference (a user's object shaped like one is itself stored as a blob), so reading back is
exact. Reads put the values back; nothing outside ``storage/`` sees a reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_json

from graphflow import events as ev

BLOB_BYTES = 16 * 1024
MARKER = "$graphflow_blob"
_MARKER_TEXT = f'"{MARKER}"'

Blob = tuple[str, str]
"""(content hash, the value's JSON)."""


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and MARKER in value


def split(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Blob]]:
    """``values`` with each large value (or one shaped like a reference) replaced by a reference."""
    out: dict[str, Any] = {}
    blobs: list[Blob] = []
    for name, value in values.items():
        text = to_json(value).decode()
        if len(text) >= BLOB_BYTES or _is_ref(value):
            digest = hashlib.sha256(text.encode()).hexdigest()
            blobs.append((digest, text))
            out[name] = {MARKER: digest}
        else:
            out[name] = value
    return out, blobs


def stored_body(event: ev.Event) -> tuple[str, dict[str, Any] | None, list[Blob]]:
    """The event's JSON as stored, the output mapping as stored (for the derived rows), its blobs."""
    cls = type(event)
    body = cls.__pydantic_serializer__.to_json(event).decode()  # model_dump_json, less its argument handling
    field = _VALUES[cls] if cls in _VALUES else _values_field(cls)
    if field is None:
        return body, None, []
    values: dict[str, Any] = event.__dict__[field]
    if len(body) < BLOB_BYTES and _MARKER_TEXT not in body:
        return body, values, []
    stored, blobs = split(values)
    if not blobs:
        return body, values, []
    return event.model_copy(update={field: stored}).model_dump_json(), stored, blobs


_VALUES: dict[type, str | None] = {}
"""The field of an event class that holds output values (``REF_FIELDS``), or None; filled as met."""


def _values_field(cls: type) -> str | None:
    field = "output" if issubclass(cls, ev.NodeSucceeded) else "outputs" if issubclass(cls, ev.RunFinished) else None
    _VALUES[cls] = field
    return field


def may_hold_refs(text: str) -> bool:
    return _MARKER_TEXT in text


def refs(values: Mapping[str, Any]) -> set[str]:
    """Content hashes referenced by ``values``."""
    return {value[MARKER] for value in values.values() if _is_ref(value)}


def put_back(run_id: str, values: Mapping[str, Any], found: Mapping[str, str]) -> dict[str, Any]:
    """``values`` with every reference replaced by its stored value (``found``: hash -> JSON)."""
    out = dict(values)
    for name, value in values.items():
        if _is_ref(value):
            text = found.get(value[MARKER])
            if text is None:
                raise LookupError(f"run {run_id!r}: the stored value of {name!r} is missing from the database")
            out[name] = json.loads(text)
    return out


REF_FIELDS = ("output", "outputs")
