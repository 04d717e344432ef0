"""What reaches the run loop's mailbox: a closed set, matched exhaustively in the runner.

Node tasks send the attempt reports defined beside the code that sends them
(``attempts.py``); a ``RunControl`` sends ``Cancel``.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphflow.attempts import AttemptStarted, BreakerChanges, Done, Nested, Progress, Retrying, TextSoFar


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str


Message = Done | Retrying | AttemptStarted | BreakerChanges | Progress | TextSoFar | Nested | Cancel

__all__ = ["AttemptStarted", "BreakerChanges", "Cancel", "Done", "Message", "Nested", "Progress", "Retrying",
           "TextSoFar"]
