"""A state machine's definition and its pure rules: which events are valid now, which
transition an event takes, what a timeout does, whether a definition makes sense.

The ``state_machine`` node kind (``graphflow/nodes/state_machine.py``) drives it: it runs
on-enter actions and waits (``graphflow.waits``) between events. Everything here is plain
data in, verdict out, so the refusal of an event (``refusal``) can be decided from a wait's
stored ``detail`` alone, before the wake is claimed: a refused event changes nothing.

Semantics:

* The machine starts in ``initial`` (history entry with event ``start``) and runs its
  on-enter action; each accepted event takes the first transition from the current state
  with that event whose guard holds (no guard: always), enters its target and runs that
  state's on-enter action. A terminal state ends the node with ``{state, history}``.
* Guards are safe expressions (``graphflow.expressions``) over ``data`` (the event's data),
  ``state`` (the current state) and ``input`` (the node's input); never eval.
* A transition with ``after`` (seconds) is the state's timeout: that long after the state
  was entered a timer wakes the node and the transition is taken (its ``event`` names it in
  the history, ``timeout`` unless given). It can be sent by name too.
* An on-enter action that fails moves the machine to ``error_state`` (event ``error``, the
  error as data), whose transitions (e.g. ``retry`` back) go on from there; without an
  ``error_state`` the node fails.

The definition's models are in ``graphflow/nodes/machine_config.py``; this module imports
nothing of the node kinds, so ``graphflow.waits.refusal`` can use it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphflow.expressions import ExpressionError, parse_expression

if TYPE_CHECKING:
    from graphflow.nodes.machine_config import MachineConfig, TransitionSpec

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
GUARD_NAMES = frozenset({"data", "state", "input"})
MAX_STATES = 200
MAX_TRANSITIONS = 1000
MAX_AFTER = 366 * 86_400.0
TIMEOUT_EVENT = "timeout"
ERROR_EVENT = "error"
START_EVENT = "start"


def accepts(config: MachineConfig, state: str) -> list[str]:
    """The events valid from ``state``, in the order they are declared."""
    return list(dict.fromkeys(t.name for _, t in config.leaving(state)))


def timeout_of(config: MachineConfig, state: str) -> TransitionSpec | None:
    return next((t for _, t in config.leaving(state) if t.after is not None), None)


def guards(config: MachineConfig, state: str) -> dict[str, list[str | None]]:
    """Per event valid now, the guard of each transition it may take (None: none): all a
    refusal needs to decide without the definition."""
    out: dict[str, list[str | None]] = {}
    for _, t in config.leaving(state):
        out.setdefault(t.name, []).append(t.guard)
    return out


def guard_scope(state: str, data: Any, value: Any) -> dict[str, Any]:
    return {"data": data, "state": state, "input": value}


def uses_input(config: MachineConfig) -> bool:
    return any(t.guard and "input" in parse_expression(t.guard).names for t in config.transitions)


def choose(config: MachineConfig, state: str, event: str, data: Any, value: Any) -> TransitionSpec | str:
    """The transition ``event`` takes from ``state``, or why it is refused."""
    found = [t for _, t in config.leaving(state) if t.name == event]
    why = pick(state, event, [t.guard for t in found], guard_scope(state, data, value), accepts(config, state))
    if isinstance(why, str):
        return why
    return found[why]


def pick(state: str, event: str, candidates: list[str | None], scope: Mapping[str, Any],
         valid: list[str]) -> int | str:
    """Index of the first candidate whose guard holds, or the refusal's text."""
    if not candidates:
        now = ", ".join(repr(e) for e in valid) or "none (it is not waiting for events)"
        return f"event {event!r} is not valid in state {state!r} (valid now: {now})"
    failures: list[str] = []
    for index, guard in enumerate(candidates):
        if guard is None:
            return index
        try:
            if parse_expression(guard).evaluate(scope):
                return index
            failures.append(f"guard {guard!r} does not hold")
        except ExpressionError as exc:
            failures.append(f"guard {guard!r} failed: {exc.message}")
    return f"event {event!r} refused in state {state!r}: " + "; ".join(failures)


def refusal(detail: Mapping[str, Any], event: str, data: Any) -> str | None:
    """Why a state machine's wait (its stored ``detail``) refuses ``event``, or None."""
    state = str(detail.get("state", ""))
    valid = [str(e) for e in detail.get("accepts") or []]
    table: Mapping[str, Any] = detail.get("guards") or {}
    candidates: list[str | None] = list(table.get(event) or []) if event in valid else []
    verdict = pick(state, event, candidates, guard_scope(state, data, detail.get("input")), valid)
    return verdict if isinstance(verdict, str) else None


# -- validation (run by the node kind's ``check``, so at validate time) -----------------

def problems(config: MachineConfig) -> list[str]:
    """What is wrong with a definition, each naming its field; empty when it makes sense."""
    names = [s.name for s in config.states]
    known = set(names)
    listing = ", ".join(names)
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            out.append(f"config.states[{i}].name: state {name!r} is declared twice")
        seen.add(name)
    if not config.initial:
        out.append(f"config.initial: no initial state (name one of: {listing})")
    elif config.initial not in known:
        out.append(f"config.initial: unknown state {config.initial!r} (states: {listing})")
    if config.error_state and config.error_state not in known:
        out.append(f"config.error_state: unknown state {config.error_state!r} (states: {listing})")
    timed: dict[str, int] = {}
    for i, t in enumerate(config.transitions):
        where = f"config.transitions[{i}]"
        for field, name in (("from", t.source), ("to", t.to)):
            if name not in known:
                out.append(f"{where}.{field}: unknown state {name!r} (states: {listing})")
        source = config.state(t.source)
        if source is not None and source.terminal:
            out.append(f"{where}.from: state {t.source!r} is terminal; nothing leaves it")
        if not t.event and t.after is None:
            out.append(f"{where}.event: a transition needs an event name (or 'after' seconds, a timeout)")
        if t.after is not None:
            if t.guard is not None:
                out.append(f"{where}.guard: a timeout cannot have a guard (a timer carries no data)")
            if t.source in timed:
                out.append(f"{where}.after: state {t.source!r} already has a timeout "
                           f"(config.transitions[{timed[t.source]}])")
            timed.setdefault(t.source, i)
        if t.guard is not None:
            try:
                unknown = sorted(parse_expression(t.guard).names - GUARD_NAMES)
            except ExpressionError:
                continue  # reported as bad_expression by the compiler
            if unknown:
                out.append(f"{where}.guard: unknown name {unknown[0]!r} (a guard sees data, state and input)")
    if not out:
        out.extend(_reachability(config))
    return out


def _reachability(config: MachineConfig) -> list[str]:
    reached = reachable(config)
    return [f"config.states[{i}]: terminal state {s.name!r} cannot be reached from {config.initial!r}"
            for i, s in enumerate(config.states) if s.terminal and s.name not in reached]


def reachable(config: MachineConfig) -> set[str]:
    """States reachable from the initial one, by transitions and by failing on-enter actions."""
    seen, queue = {config.initial}, deque([config.initial])
    while queue:
        name = queue.popleft()
        targets = [t.to for _, t in config.leaving(name)]
        state = config.state(name)
        if state is not None and state.on_enter is not None and config.error_state:
            targets.append(config.error_state)
        for target in targets:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen
