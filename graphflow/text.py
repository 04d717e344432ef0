"""Stored text made safe for a terminal: every CLI printer passes user text through ``printable``.

Graph names, labels, error messages and reasons come from graph files, models and the web. A
terminal acts on control characters: ESC sequences recolour or clear the screen, set the
window title, write hyperlinks or, on some terminals, answer back into the input; a carriage
return overwrites what the line said; bidi overrides reorder what is shown. So C0 controls
(except tab and newline), DEL, C1 controls and the bidi overrides are printed as visible escapes
(``\\x1b``, ``\\u202e``), never sent raw. Escaping rather than stripping shows that they were there.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_ONE_LINE = re.compile(f"[{_CONTROLS}\t\n\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return repr(char)[1:-1] if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: object, *, one_line: bool = False) -> str:
    """``text`` as a string with its control characters escaped; ``one_line`` also escapes
    newlines and tabs (a table cell)."""
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, str(text))
