"""Typed run events: the one record of what happened in a run.

Storage writes exactly these, the canvas draws from them and replay re-reads them, so
each carries enough to rebuild the run's state from the log alone (see ``RunState``).
``seq`` numbers a run's events 0, 1, 2, ... without gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class NodeStatus(StrEnum):
    """What a node is doing in a run, as every reader of events (CLI, canvas, replay) spells it."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    """An attempt failed; the next one waits for its backoff."""
    WAITING = "waiting"
    """Suspended until an event, a decision or a time (``graphflow.waits``)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


SETTLED = frozenset({NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED})


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    seq: int
    at: float
    """Wall-clock time (Unix seconds) from the run's clock."""


class RunStarted(_EventBase):
    kind: Literal["run_started"] = "run_started"
    graph_id: str
    graph_version: int | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    node_ids: list[str] = Field(default_factory=list)
    resumed_from: str | None = None
    """A new run that continues a failed one (or runs from a node) reuses that run's outputs."""
    from_node: str | None = None
    """A run from this node: it and its descendants ran again, every other node's output was
    reused from ``resumed_from`` (with that run's inputs)."""
    parent_run_id: str | None = None
    """Set on a run made by another run's node (an agent's graph tool; its run id is the call's
    idempotency key): the run it belongs to."""


class RunResumed(_EventBase):
    kind: Literal["run_resumed"] = "run_resumed"
    reason: str = ""
    """Why the run continues (e.g. recovery after the process stopped)."""


class RunWaiting(_EventBase):
    """Nothing more can run until a waiting node is woken: the run's loop ends here and the
    run holds nothing (no task, no lease) until then. Not an end: a ``RunResumed`` follows."""

    kind: Literal["run_waiting"] = "run_waiting"
    waits: list[dict[str, Any]] = Field(default_factory=list)
    """One per waiting node: ``node_id``, ``kind`` (event, decision, timer), ``key``, ``due_at``.
    A paused run adds one with node id ``""`` waiting for the event ``resume``."""
    paused: str = ""
    """Why an operator paused the run (its nodes in flight finished, nothing new started);
    empty when it waits only for its nodes."""


class RunFinished(_EventBase):
    kind: Literal["run_finished"] = "run_finished"
    status: Literal["succeeded", "failed"]
    outputs: dict[str, Any] = Field(default_factory=dict)
    failed_node: str | None = None
    error: str | None = None
    duration: float = 0.0
    cost: float = 0.0
    tokens: int = 0
    degraded: list[str] = Field(default_factory=list)
    """Nodes that failed but were optional, so their default output was used."""
    stopped_early: str | None = None
    """Why the run ended early (early termination), if it did."""


class RunCancelled(_EventBase):
    kind: Literal["run_cancelled"] = "run_cancelled"
    reason: str = ""
    duration: float = 0.0


class NodeStarted(_EventBase):
    """An attempt of a node began. Not recorded for an inline node (a built-in step such as an
    input, a condition or an output, or a non-blocking function): it runs within one step of
    the run's loop, so only its outcome is."""

    kind: Literal["node_started"] = "node_started"
    node_id: str
    attempt: int = 1


class NodeSucceeded(_EventBase):
    kind: Literal["node_succeeded"] = "node_succeeded"
    node_id: str
    attempt: int = 1
    duration: float = 0.0
    output: dict[str, Any] = Field(default_factory=dict)
    """Values by output port; a port missing here was not emitted (a branch not taken)."""
    edges_taken: list[str] = Field(default_factory=list)
    cost: float = 0.0
    tokens: int = 0
    cached: bool = False
    """The output came from the cache; the node was not called."""
    reused_from: str | None = None
    """The output was reused from this earlier run (resume from a failure)."""
    degraded: bool = False
    """The node failed and, being optional, went on with its default output."""
    error: str | None = None
    """For a degraded node: the failure behind it."""


class NodeFailed(_EventBase):
    kind: Literal["node_failed"] = "node_failed"
    node_id: str
    attempt: int = 1
    duration: float = 0.0
    error_type: str
    error_message: str
    handled: bool = False
    """True when a tolerant join absorbs the failure and the run goes on."""
    edges_taken: list[str] = Field(default_factory=list)
    """The error-port edges the failure was routed down (the rest of the node's edges were not taken)."""
    cost: float = 0.0
    tokens: int = 0
    traceback: str | None = None
    """The node's own frames of the error, trimmed to a few KB; None when they are all the engine's."""
    input_preview: str | None = None
    """The node's input as JSON, truncated to 2,000 characters."""
    partial: dict[str, Any] | None = None
    """What it got done before failing: a fail-fast map's results of the items that
    succeeded, by item index (also on the error edge's payload as ``partial``)."""


class NodeRetrying(_EventBase):
    kind: Literal["node_retrying"] = "node_retrying"
    node_id: str
    attempt: int
    """The attempt that failed; the next one is ``attempt + 1``."""
    delay: float
    """Seconds the runner waits before the next attempt."""
    error_type: str
    error_message: str
    duration: float = 0.0
    """How long the failed attempt took."""


class BreakerChanged(_EventBase):
    kind: Literal["breaker_changed"] = "breaker_changed"
    breaker: str
    from_state: Literal["closed", "open", "half_open"]
    to_state: Literal["closed", "open", "half_open"]
    reason: str = ""
    node_id: str | None = None


class MapProgress(_EventBase):
    kind: Literal["map_progress"] = "map_progress"
    node_id: str
    done: int
    failed: int
    total: int
    results: dict[str, Any] = Field(default_factory=dict)
    """Results of the items that succeeded since the previous report, by item index: the
    map's checkpoint, so a resumed run only runs the items not recorded here."""


class NodeWaiting(_EventBase):
    """The node suspended itself until it is woken (``graphflow.waits``); the store keeps a
    wait row (and, for a review, a review item) from this event."""

    kind: Literal["node_waiting"] = "node_waiting"
    node_id: str
    wait_kind: Literal["event", "decision", "timer"]
    key: str = ""
    """The event name, or the review item id."""
    due_at: float | None = None
    """Wall-clock time the timer fires (or the wait times out); None: never."""
    detail: dict[str, Any] = Field(default_factory=dict)
    woken: bool = False
    """The node had been woken (``ctx.wake``) and waits again: a new wait, the wake used up.
    Otherwise the same wait again (its run resumed for another node): a wake claimed for it
    meanwhile still stands."""


class NodeSkipped(_EventBase):
    kind: Literal["node_skipped"] = "node_skipped"
    node_id: str
    reason: str = ""


class NodeCancelled(_EventBase):
    kind: Literal["node_cancelled"] = "node_cancelled"
    node_id: str
    reason: str = ""


class AgentStep(_EventBase):
    """One model turn of an agent node: what the model said and which tools it asked for.
    Recorded durably before those tools run, so a resumed agent continues after it."""

    kind: Literal["agent_step"] = "agent_step"
    node_id: str
    step: int
    """1, 2, 3, ...: the model calls of the node, across its attempts and resumes."""
    attempt: int = 1
    model: str = ""
    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    """``{"id", "name", "arguments"}`` per call asked for (``arguments``: the model's JSON text)."""
    duration: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


class ToolCalled(_EventBase):
    """One tool call of an agent's step, finished: its result or its error is what the model
    gets back. A recorded call is never made again (a resumed agent reuses the result)."""

    kind: Literal["tool_call"] = "tool_call"
    node_id: str
    step: int
    index: int
    """The call's position in its step (0, 1, ...)."""
    call_id: str = ""
    """The model's id for the call."""
    name: str
    arguments: Any = None
    """The parsed arguments (the raw text when they were not JSON)."""
    result: Any = None
    error: str | None = None
    """Set when the call failed (bad arguments, the tool raised, timed out): what the model was told."""
    fatal: bool = False
    """The error failed the node (``tool_errors: fail``): the model never saw it, and a retry
    of the node calls the tool again."""
    duration: float = 0.0
    tokens: int = 0
    cost: float = 0.0
    key: str = ""
    """The call's idempotency key: run + node + step + call index."""


class NodeText(BaseModel):
    """The text so far of a node's reply while it streams. Not an ``Event``: never numbered,
    never stored, only shown to live watchers (``LiveSink``); the node's ``node_succeeded``
    output keeps the final text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["node_text"] = "node_text"
    run_id: str
    node_id: str
    text: str
    at: float


Event = Annotated[
    RunStarted
    | RunResumed
    | RunWaiting
    | RunFinished
    | RunCancelled
    | NodeStarted
    | NodeSucceeded
    | NodeFailed
    | NodeSkipped
    | NodeCancelled
    | NodeRetrying
    | NodeWaiting
    | BreakerChanged
    | MapProgress
    | AgentStep
    | ToolCalled,
    Field(discriminator="kind"),
]
NodeEvent = (NodeStarted | NodeSucceeded | NodeFailed | NodeSkipped | NodeCancelled | NodeRetrying | NodeWaiting
             | MapProgress | AgentStep | ToolCalled)
NESTED_KINDS = frozenset({"agent_step", "tool_call"})
"""Events inside a running node (an agent's steps and tool calls): its durable journal."""
RUN_END_KINDS = frozenset({"run_finished", "run_cancelled"})
LOOP_END_KINDS = RUN_END_KINDS | {"run_waiting"}
"""Where a run's loop in this process ends: its end, or its suspension (it goes on later, from the store)."""

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(data: str | bytes) -> Event:
    return event_adapter.validate_json(data)


def event_to_json(event: Event) -> str:
    return event.model_dump_json()


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to build one event class without validating: computed once per class."""

    template: dict[str, Any]
    factories: tuple[tuple[str, Any], ...]
    names: frozenset[str]
    required: frozenset[str]
    own_names: frozenset[str]
    """The names but the stamp (run id, seq, time), which the run loop adds."""
    own_required: frozenset[str]


_LAYOUT: dict[type[BaseModel], _Layout] = {}
_STAMP = frozenset({"run_id", "seq", "at"})
_set = object.__setattr__


def _layout(cls: type[_EventBase]) -> _Layout:
    layout = _LAYOUT.get(cls)
    if layout is None:
        fields = cls.model_fields
        template = {n: None if f.is_required() or f.default_factory else f.default for n, f in fields.items()}
        factories = tuple((n, f.default_factory) for n, f in fields.items() if f.default_factory)
        names = frozenset(fields)
        required = frozenset(n for n, f in fields.items() if f.is_required())
        layout = _LAYOUT[cls] = _Layout(template, factories, names, required, names - _STAMP, required - _STAMP)
    return layout


def make_event(cls: type[_EventBase], **fields: Any) -> Any:
    """Build an event the runner already knows to be valid, without re-validating it.

    ``model_construct`` costs ~17 us here, most of it resolving defaults; the scheduler
    emits two events per node, so the layout is computed once per class. Default
    factories still run per event, so no two events share a mutable default. Field names
    are checked (a misspelt or missing one raises ``TypeError``); values are not.
    """
    layout = _layout(cls)
    _check_names(cls, fields.keys(), layout.names, layout.required)
    return _build(cls, layout, layout.template.copy(), fields, set(fields))


def stamp_event(cls: type[_EventBase], run_id: str, seq: int, at: float, fields: dict[str, Any]) -> Any:
    """``make_event`` for the run loop: the event's own fields as a dict (no keyword packing
    on the hot path), numbered and timed by the loop. Names are checked the same way."""
    layout = _LAYOUT.get(cls) or _layout(cls)
    _check_names(cls, fields.keys(), layout.own_names, layout.own_required)
    data = layout.template.copy()
    data["run_id"], data["seq"], data["at"] = run_id, seq, at
    fields_set = set(fields)
    fields_set |= _STAMP
    return _build(cls, layout, data, fields, fields_set)


class RunEvents(Sequence["Event"]):
    """A run's events, in order. The run loop adds events it published (``add``) and, when
    nothing is subscribed to the run, drafts (``draft``: class, seq, time, fields), which are
    built into events only when first read: a run in memory whose events nobody reads does
    not pay for building them (two per node, most of a small node's cost). A draft's names
    are checked when it is built, as ``stamp_event`` checks them (``TypeError``)."""

    __slots__ = ("_built", "_count", "_items", "_later", "_run_id")

    def __init__(self, run_id: str, events: Iterable[Event] = (),
                 later: Callable[..., list[tuple[type[_EventBase], dict[str, Any]]]] | None = None) -> None:
        self._run_id = run_id
        self._items: list[Any] = list(events)
        self._built = len(self._items)
        """How many of ``_items`` from the start are events (the rest may be drafts)."""
        self._count = len(self._items)
        """Events and drafts (a batch of drafts is one item)."""
        self._later = later
        """What makes the classes and fields of a batch of drafts (``draft_batch``) from its arguments."""

    def add(self, event: Event) -> None:
        self._items.append(event)
        self._count += 1
        if self._built == len(self._items) - 1:
            self._built += 1

    def draft(self, cls: type[_EventBase], seq: int, at: float, fields: dict[str, Any]) -> None:
        self._items.append((cls, seq, at, fields))
        self._count += 1

    def draft_batch(self, seq: int, at: float, count: int, args: tuple[Any, ...]) -> None:
        """``count`` drafts numbered from ``seq``, timed ``at``, whose classes and fields are
        ``later(*args)``, worked out only if they are read (the arguments must not change
        meanwhile): one item for a batch of a run's transitions."""
        self._items.append([seq, at, count, args])  # a list: a batch (a tuple is one draft)
        self._count += count

    def _events(self) -> list[Event]:
        items = self._items
        if self._built < len(items):
            run_id, built = self._run_id, items[:self._built]
            for item in items[self._built:]:
                if type(item) is tuple:
                    cls, seq, at, fields = item
                    built.append(stamp_event(cls, run_id, seq, at, fields))
                elif type(item) is list:
                    assert self._later is not None
                    first, at, _, args = item
                    built.extend(stamp_event(cls, run_id, first + i, at, fields)
                                 for i, (cls, fields) in enumerate(self._later(*args)))
                else:
                    built.append(item)
            self._items = items = built
            self._built = len(items)
        return items

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return self._events()[index]

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunEvents):
            other = other._events()
        return isinstance(other, list) and self._events() == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return repr(self._events())


def _check_names(cls: type[_EventBase], given: Any, names: frozenset[str], required: frozenset[str]) -> None:
    if not (given <= names and required <= given):
        raise TypeError(f"{cls.__name__}: unknown fields {sorted(given - names)}, missing {sorted(required - given)}")


def _build(cls: type[_EventBase], layout: _Layout, data: dict[str, Any], fields: dict[str, Any],
           fields_set: set[str]) -> Any:
    data.update(fields)  # ``data`` is the template's copy: keeps the field order, so JSON dumps read as validated
    for name, factory in layout.factories:
        if name not in fields:
            data[name] = factory()  # typed as maybe taking the data; these take none
    event = object.__new__(cls)
    _set(event, "__dict__", data)
    _set(event, "__pydantic_fields_set__", fields_set)
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event
