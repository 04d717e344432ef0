"""The state machine node's config: states, on-enter actions, transitions (``graphflow/machine.py``
has the rules)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, model_validator

from graphflow.machine import MAX_AFTER, MAX_STATES, MAX_TRANSITIONS, NAME_PATTERN, TIMEOUT_EVENT
from graphflow.nodes.base import NodeConfig


class ActionSpec(NodeConfig):
    """What entering a state does: one of a node kind, a registered function or a saved graph."""

    kind: str = ""
    """A node kind (``http_request``, ``template``...); its ``in`` port gets the context object
    ``{state, from, event, data, input}``, other ports the context's field of their name."""
    config: dict[str, Any] = Field(default_factory=dict)
    """That kind's config."""
    function: str = ""
    """Or a registered function, called with the context object."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for the function."""
    graph: str = ""
    """Or a saved (or registered) graph's id, run as a nested run."""
    inputs: dict[str, str] = Field(default_factory=dict)
    """For a graph: its input name -> safe expression over the context; by default each input
    is taken by name from ``data``, then ``input``."""

    @model_validator(mode="after")
    def _one(self) -> ActionSpec:
        given = [k for k in ("kind", "function", "graph") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an on_enter action names one of 'kind', 'function' or 'graph'" + (
                f", not {' and '.join(given)}" if given else ""))
        return self

    def describe(self) -> str:
        return f"{'kind' if self.kind else 'function' if self.function else 'graph'} " \
               f"{self.kind or self.function or self.graph}"


class StateSpec(NodeConfig):
    name: str = Field(pattern=NAME_PATTERN)
    """The state's name (letters, digits, _ and -)."""
    on_enter: ActionSpec | None = None
    """Run each time the state is entered."""
    terminal: bool = False
    """Entering it ends the machine: the node outputs ``{state, history}``."""
    description: str = ""


class TransitionSpec(NodeConfig):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, validate_by_name=True,
                              validate_by_alias=True, serialize_by_alias=True)

    source: str = Field(alias="from")
    """The state it leaves."""
    event: str = ""
    """The event that takes it (``graphflow send RUN EVENT``); for a timeout, its name in the
    history (default ``timeout``)."""
    to: str
    """The state it enters."""
    guard: str | None = None
    """Safe expression over ``data``, ``state`` and ``input``; the transition is taken only
    when it holds (the next one with the same event is tried otherwise)."""
    after: float | None = Field(default=None, gt=0, le=MAX_AFTER)
    """A timeout: taken this many seconds after the state was entered, if still in it."""

    @property
    def name(self) -> str:
        return self.event or TIMEOUT_EVENT


def _default_states() -> list[StateSpec]:
    return [StateSpec(name="open"), StateSpec(name="done", terminal=True)]


def _default_transitions() -> list[TransitionSpec]:
    return [TransitionSpec.model_validate({"from": "open", "event": "finish", "to": "done"})]


class MachineConfig(NodeConfig):
    states: list[StateSpec] = Field(default_factory=_default_states, min_length=1, max_length=MAX_STATES)
    """Every state, with its optional on-enter action."""
    initial: str = "open"
    """The state the machine starts in."""
    transitions: list[TransitionSpec] = Field(default_factory=_default_transitions, max_length=MAX_TRANSITIONS)
    """Named transitions between states (a state may loop back to an earlier one)."""
    error_state: str = ""
    """Where a failing on-enter action goes (empty: the node fails)."""
    max_steps: int = Field(default=1000, ge=1, le=100_000)
    """Transitions at most; one more fails the node (a machine that loops for ever stops)."""

    def state(self, name: str) -> StateSpec | None:
        return next((s for s in self.states if s.name == name), None)

    def leaving(self, state: str) -> list[tuple[int, TransitionSpec]]:
        return [(i, t) for i, t in enumerate(self.transitions) if t.source == state]
