"""Bounds on what a node may return: JSON without NaN or Infinity, at most
``MAX_OUTPUT_BYTES`` of it (``GRAPHFLOW_MAX_OUTPUT_BYTES`` to change; default 4 MiB).

One rule everywhere: a non-finite number in an output fails the node (``NonFiniteOutput``)
rather than being written as NaN in one place and null in another. Small outputs of
plain scalars are checked without serializing them, since every node's output passes here.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from graphflow.errors import NodeOutputError

MAX_OUTPUT_BYTES = int(os.environ.get("GRAPHFLOW_MAX_OUTPUT_BYTES") or 4 * 1024 * 1024)
_FAST_STR = 64 * 1024
_INT_BOUND = 1 << 64
_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":"), check_circular=False).encode


class NonFiniteOutput(NodeOutputError):
    pass


class OutputTooLarge(NodeOutputError):
    pass


def check_output(data: dict[str, Any]) -> None:
    """Raise unless ``data`` (already JSON-compatible) is finite and within the size cap."""
    total = 0
    for value in data.values():
        kind = type(value)
        if kind is str:
            total += len(value)
            if total < _FAST_STR and total * 6 < MAX_OUTPUT_BYTES:  # JSON escapes make at most 6 of 1
                continue
        elif kind is bool or value is None:
            continue
        elif kind is int:
            if -_INT_BOUND < value < _INT_BOUND:
                continue
        elif kind is float:
            if math.isfinite(value):
                continue
            raise NonFiniteOutput(f"output is {value}: NaN and Infinity are not JSON (return null or a string)")
        _check_serialized(data)
        return


def _check_serialized(data: dict[str, Any]) -> None:
    try:
        text = _encode(data)
    except ValueError as exc:
        if "out of range float" in str(exc).lower():
            raise NonFiniteOutput("output contains NaN or Infinity, which are not JSON "
                                  "(return null or a string)") from None
        raise NodeOutputError(f"output is not JSON data: {str(exc).split(';')[0]}") from None
    except RecursionError:  # to_jsonable_python already refused cycles
        raise NodeOutputError("output is nested too deeply to store as JSON") from None
    if len(text) > MAX_OUTPUT_BYTES:  # ASCII (ensure_ascii): characters are bytes
        raise OutputTooLarge(f"output is {len(text):,} bytes of JSON; the limit is {MAX_OUTPUT_BYTES:,} "
                             "(GRAPHFLOW_MAX_OUTPUT_BYTES)")
