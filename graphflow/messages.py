"""What reaches the run loop's mailbox: a closed set, matched exhaustively in the runner.

Node tasks send the attempt reports defined beside the code that sends them
(``attempts.py``); a ``RunControl`` sends ``Cancel`` and ``Pause``.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphflow.attempts import AttemptStarted, BreakerChanges, Done, Nested, Progress, Retrying, TextSoFar


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str


@dataclass(frozen=True, slots=True)
class Pause:
    reason: str


Message = Done | Retrying | AttemptStarted | BreakerChanges | Progress | TextSoFar | Nested | Cancel | Pause

__all__ = ["AttemptStarted", "BreakerChanges", "Cancel", "Done", "Message", "Nested", "Pause", "Progress", "Retrying",
           "TextSoFar"]
