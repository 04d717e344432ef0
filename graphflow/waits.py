"""Waiting runs: a node that suspends its run until an event, a decision or a time.

A node kind's ``run`` returns a ``Wait`` instead of its output. The planner marks the node
``waiting``; once nothing else can run, the runner ends the run's loop with ``RunWaiting``
(the run's status becomes ``waiting``) and nothing of the run stays in memory: no task, no
thread, no lease. The store derives a wait row per waiting node from ``NodeWaiting`` (and,
for a review, its review item), in the same transaction as the event.

Something then *wakes* the node: an event sent to the run, a reviewer's decision, a timer
falling due. Waking is a claim on the wait row, decided in one store transaction, so of two
racing wakes (a decision and its timeout) exactly one wins; the winner's ``Wake`` is stored
on the row. Whoever then holds the run's lease resumes it from its log, and the woken node
runs again with ``ctx.wake`` set: it returns its output from the wake (deterministically: a
crash before it settles resumes it with the same wake). A wait row goes when its run ends
or its node is no longer waiting.

Semantics a node kind can rely on:

* ``ctx.started_at`` is the wall-clock time of the node's first start in the run, the same
  after any number of resumes: a due time computed from it does not move (a durable timer).
* A waiting node that is run again without a wake (another node of its run was woken)
  returns the same ``Wait`` again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PAUSED = ""
"""The node id of a paused run's wait (a run-level wait: no node has this id)."""
RESUME = "resume"
"""The event that resumes a paused run."""

WaitKind = Literal["event", "decision", "timer"]
WAIT_KINDS: tuple[WaitKind, ...] = ("event", "decision", "timer")


@dataclass(frozen=True, slots=True)
class Wait:
    """What a node waits for (returned by its ``run`` instead of an output)."""

    kind: WaitKind
    key: str = ""
    """The event's name (``event``); the review item's id (``decision``); empty for a timer."""
    due_at: float | None = None
    """Wall-clock Unix seconds: a timer's time, or when a wait for an event or a decision
    times out (the node is woken with a ``timer`` wake). None: no timeout."""
    detail: dict[str, Any] = field(default_factory=dict)
    """JSON data about the wait (a review's proposal, context, reason, confidence)."""

    def __post_init__(self) -> None:
        if self.kind not in WAIT_KINDS:
            raise ValueError(f"wait kind must be one of {', '.join(WAIT_KINDS)}, not {self.kind!r}")
        if self.kind == "timer" and self.due_at is None:
            raise ValueError("a timer wait needs a due time")

    def as_json(self, node_id: str) -> dict[str, Any]:
        return {"node_id": node_id, "kind": self.kind, "key": self.key, "due_at": self.due_at}


@dataclass(frozen=True, slots=True)
class Wake:
    """What woke a waiting node; stored on its wait row, handed to it as ``ctx.wake``."""

    kind: WaitKind
    """``timer`` for a timer or a timeout, else how the node was waiting."""
    at: float
    data: Any = None
    """The event's data, or the decision (``{"decision": "approve", "value": ..., ...}``)."""
    by: str = ""
    """Who: a person's name, ``timer``, ``cli``..."""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "data": self.data, "by": self.by}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Wake:
        return cls(kind=data["kind"], at=float(data["at"]), data=data.get("data"), by=str(data.get("by") or ""))


def review_item_id(run_id: str, node_id: str) -> str:
    """A review node's item id: one item per waiting node of a run, the same across resumes."""
    return f"{run_id}.{node_id}"


@dataclass(frozen=True, slots=True)
class WaitRow:
    """A waiting node as the store keeps it (``WaitStore``): what it waits for, and the wake
    claimed for it, if any (the run has not used it yet)."""

    run_id: str
    node_id: str
    kind: WaitKind
    key: str
    due_at: float | None
    detail: dict[str, Any]
    since: float
    wake: Wake | None = None

    def waits_for(self) -> str:
        """What the node waits for, as every listing and refusal words it: ``event 'a' or 'b'``,
        ``a decision on ITEM``, ``a timer``; a paused run's wait names its reason."""
        if self.node_id == PAUSED:
            return f"event {RESUME!r} (paused: {self.detail.get('paused') or 'no reason given'})"
        if self.kind == "decision":
            return f"a decision on {self.key}"
        if self.kind == "timer":
            return "a timer"
        return "event " + (" or ".join(repr(name) for name in self.accepts()) or "(none valid now)")

    def accepts(self) -> list[str]:
        """The event names this node takes: its key, or (key empty) ``detail["accepts"]``."""
        if self.kind != "event":
            return []
        if self.key:
            return [self.key]
        names: Any = self.detail.get("accepts", [])
        return [str(name) for name in names] if isinstance(names, list) else []


def refusal(row: WaitRow, event: str, data: Any) -> str | None:
    """Why ``event`` (with ``data``) cannot wake this waiting node, or None when it can. Pure:
    checked before a wake is claimed, so a refused event changes nothing."""
    if row.kind != "event":
        return f"node {row.node_id!r} waits for a {row.kind}, not an event"
    if "guards" in row.detail:  # a state machine: transitions and their guards decide
        from graphflow.machine import refusal as machine_refusal

        why = machine_refusal(row.detail, event, data)
        return None if why is None else f"node {row.node_id!r}: {why}"
    accepted = row.accepts()
    if event not in accepted:
        return (f"node {row.node_id!r} does not take event {event!r} now; it takes: "
                f"{', '.join(repr(name) for name in accepted) or 'nothing'}")
    return None
