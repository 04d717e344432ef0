"""What a ``node_failed`` event keeps so a failure can be diagnosed from the log alone:
the traceback, trimmed to the node's own frames, and the node's input, truncated.
Both are bounded, since a log is kept for as long as its runs."""

from __future__ import annotations

import json
import os
import traceback
from typing import Any

import anyio

MAX_TRACEBACK_CHARS = 4_000
MAX_TRACEBACK_FRAMES = 12
MAX_INPUT_CHARS = 2_000
_SKIPPED = (os.path.dirname(__file__) + os.sep, os.path.dirname(anyio.__file__) + os.sep)


def trimmed_traceback(exc: BaseException) -> str | None:
    """The last frames of ``exc`` outside graphflow and anyio (the node's own code), or None
    when every frame is the engine's (a timeout, an output graphflow refused)."""
    original = getattr(exc, "original", None)  # a BaseException the engine wrapped
    if isinstance(original, BaseException):
        exc = original
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_SKIPPED)]
    if not frames:
        return None
    lines = traceback.format_list(frames[-MAX_TRACEBACK_FRAMES:])
    text = "".join(lines) + "".join(traceback.format_exception_only(exc))
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "...\n" + text[-MAX_TRACEBACK_CHARS:]
    return text


def input_preview(inputs: dict[str, Any]) -> str | None:
    """The node's input as JSON, cut to ``MAX_INPUT_CHARS`` characters."""
    if not inputs:
        return None
    value = inputs.get("in") if list(inputs) == ["in"] else inputs
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError) as exc:
        text = f"<not JSON: {type(exc).__name__}>"
    if len(text) > MAX_INPUT_CHARS:
        text = f"{text[:MAX_INPUT_CHARS]}... ({len(text) - MAX_INPUT_CHARS:,} more characters)"
    return text
