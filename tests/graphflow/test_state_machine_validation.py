"""A state machine that makes no sense is refused at validate time, naming the node and the field."""

from __future__ import annotations

from typing import Any

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow import GraphValidationError

STATES = [{"name": "new"}, {"name": "open"}, {"name": "closed", "terminal": True}]
GOOD = {"states": STATES, "initial": "new",
        "transitions": [{"from": "new", "event": "open", "to": "open"},
                        {"from": "open", "event": "close", "to": "closed"}]}


def problems(**changes: Any) -> list[tuple[str, str | None, str]]:
    spec = graph(node("machine", "state_machine", **{**GOOD, **changes}), node("out", "output", name="r"),
                 edge("machine", "out"))
    registry = graphflow.default_registry(installed=False)
    registry.register_function("known.fn", lambda value: value)
    try:
        graphflow.validate_graph(spec, registry)
    except GraphValidationError as exc:
        return [(p.code, p.node_id, p.message) for p in exc.problems]
    return []


def only(**changes: Any) -> str:
    found = problems(**changes)
    assert len(found) == 1, found
    code, node_id, message = found[0]
    assert node_id == "machine"
    assert code in ("bad_state_machine", "bad_expression", "invalid_config")
    return message


def test_a_sound_machine_validates() -> None:
    assert problems() == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"transitions": [{"from": "new", "event": "open", "to": "opne"}]},
     "config.transitions[0].to: unknown state 'opne' (states: new, open, closed)"),
    ({"transitions": [{"from": "nope", "event": "open", "to": "open"}, *GOOD["transitions"]]},
     "config.transitions[0].from: unknown state 'nope'"),
    ({"initial": ""}, "config.initial: no initial state (name one of: new, open, closed)"),
    ({"initial": "start"}, "config.initial: unknown state 'start'"),
    ({"transitions": [{"from": "new", "event": "open", "to": "open"}]},
     "config.states[2]: terminal state 'closed' cannot be reached from 'new'"),
    ({"error_state": "oops"}, "config.error_state: unknown state 'oops'"),
    ({"states": [*STATES, {"name": "open"}]}, "config.states[3].name: state 'open' is declared twice"),
    ({"transitions": [*GOOD["transitions"], {"from": "closed", "event": "reopen", "to": "open"}]},
     "config.transitions[2].from: state 'closed' is terminal"),
    ({"transitions": [*GOOD["transitions"], {"from": "open", "to": "new"}]},
     "config.transitions[2].event: a transition needs an event name"),
    ({"transitions": [*GOOD["transitions"], {"from": "open", "after": 5, "to": "new", "guard": "data"}]},
     "config.transitions[2].guard: a timeout cannot have a guard"),
    ({"transitions": [*GOOD["transitions"], {"from": "open", "after": 5, "to": "new"},
                      {"from": "open", "after": 9, "to": "closed"}]},
     "config.transitions[3].after: state 'open' already has a timeout (config.transitions[2])"),
    ({"transitions": [*GOOD["transitions"], {"from": "open", "event": "x", "to": "new", "guard": "secret > 1"}]},
     "config.transitions[2].guard: unknown name 'secret' (a guard sees data, state and input)"),
    ({"transitions": [*GOOD["transitions"], {"from": "open", "event": "x", "to": "new", "guard": "data.("}]},
     "config.transitions[2].guard: syntax error"),
    ({"states": [{"name": "new", "on_enter": {"function": "no.such"}}, *STATES[1:]]},
     "config.states[0].on_enter ('new'): unknown function 'no.such'"),
    ({"states": [{"name": "new", "on_enter": {"kind": "nope"}}, *STATES[1:]]},
     "config.states[0].on_enter ('new'): unknown node kind 'nope'"),
    ({"states": [{"name": "new", "on_enter": {"kind": "transform", "config": {"fields": {"a": "1 +"}}}}, *STATES[1:]]},
     "config.states[0].on_enter ('new'): config.fields.a: syntax error"),
    ({"states": [{"name": "new", "on_enter": {"kind": "delay", "config": {"seconds": -1}}}, *STATES[1:]]},
     "config.states[0].on_enter ('new'): config.seconds: Input should be greater than or equal to 0"),
    ({"states": [{"name": "new", "on_enter": {"kind": "output", "config": {"name": "r"}}}, *STATES[1:]]},
     "a 'output' node cannot be an on-enter action"),
    ({"states": [{"name": "new", "on_enter": {"graph": "unsaved"}}, *STATES[1:]]},
     "config.states[0].on_enter ('new'): unknown graph 'unsaved'"),
    ({"states": [{"name": "new", "on_enter": {"function": "known.fn", "graph": "g"}}, *STATES[1:]]},
     "config.states.0.on_enter: an on_enter action names one of 'kind', 'function' or 'graph', not function and graph"),
    ({"states": [{"name": "has space"}, *STATES[1:]]}, "config.states.0.name: String should match pattern"),
])
def test_a_bad_definition_names_the_node_and_the_field(changes: dict[str, Any], expected: str) -> None:
    assert expected in only(**changes)


def test_a_graph_action_that_runs_its_own_graph_is_refused() -> None:
    spec = graph(node("machine", "state_machine", **{**GOOD, "states": [
        {"name": "new", "on_enter": {"graph": "g"}}, *STATES[1:]]}), graph_id="g")
    registry = graphflow.default_registry(installed=False)
    registry.register_graph(graphflow.load_graph(spec))
    with pytest.raises(GraphValidationError) as caught:
        graphflow.validate_graph(spec, registry)
    assert "graph 'g' runs itself" in str(caught.value.problems[0].message) or \
        "runs itself" in " ".join(p.message for p in caught.value.problems)
