"""Expressions from hostile graphs cannot exhaust CPU or memory: every value they build is
bounded in total size (nested copies included), every evaluation has a step budget, and
validation refuses constant parts that would break a limit."""

from __future__ import annotations

from typing import Any

import pytest

import graphflow
from graphflow.errors import GraphValidationError
from graphflow.expression_limits import MAX_SIZE, MAX_STEPS
from graphflow.expressions import ExpressionEvalError, ExpressionSyntaxError, evaluate, parse_expression

BIG = list(range(400_000))  # data a node could well produce (about 3 MB of JSON)
TEXT = "x" * 900_000

# constant constructs: refused when parsed, so `graphflow validate` refuses them
CONSTANT = {
    "nested repetition": "[[[1] * 100000] * 100000] * 100000 == [1]",
    "nested repetition, two levels": "[[0] * 1000] * 1001",
    "string repetition nested": "['a' * 100000] * 11",
    "concatenation": "('a' * 100000) * 6 + ('a' * 100000) * 5",
    "str of a large value": "str([[0] * 1000] * 999) == ''",
    "sorted of a large value": "sorted([[0] * 1000] * 999)",
    "max of a large value": "max([[0] * 1000] * 999)",
    "min of a large value": "min([[0] * 1000] * 999)",
    "sum of a large value": "sum([[0] * 1000] * 999)",
    "literal of large values": "[[0] * 100000, [0] * 100000, [0] * 100000, [0] * 100000, [0] * 100000, "
                               "[0] * 100000, [0] * 100000, [0] * 100000, [0] * 100000, [0] * 100000, [0]]",
}

# constructs over data: refused when evaluated, the node (or edge) fails cleanly
ON_DATA = {
    "repetition of data": ("[big] * 3", "elements"),
    "nested repetition of data": ("[[text]] * 2", "elements"),
    "str of data": ("str(big)", "str()"),
    "sorted of data": ("sorted(big + big + big)", "elements"),
    "concatenation of data": ("big + big + big", "elements"),
    "slice of data": ("(big + big)[::1]", "elements"),
    "comparisons over data": ("big == big and big == big and big == big and big == big and big == big "
                              "and big == big and big == big", "budget"),
    "membership over data": ("-1 in big or -1 in big or -1 in big or -1 in big or -1 in big or -1 in big "
                             "or -1 in big or -1 in big or -1 in big or -1 in big or -1 in big or -1 in big "
                             "or -1 in big or -1 in big", "budget"),
    "max over data": ("max(big) + max(big) + max(big) + max(big) + max(big) + max(big) + max(big) + max(big) "
                      "+ max(big) + max(big) + max(big) + max(big) + max(big)", "budget"),
    "min over data": ("min(big) + min(big) + min(big) + min(big) + min(big) + min(big) + min(big) + min(big) "
                      "+ min(big) + min(big) + min(big) + min(big) + min(big)", "budget"),
    "sum over data": ("sum(big) + sum(big) + sum(big) + sum(big) + sum(big) + sum(big) + sum(big) + sum(big) "
                      "+ sum(big) + sum(big) + sum(big) + sum(big) + sum(big)", "budget"),
    "string work over data": ("contains(text, 'y') or contains(text, 'y') or contains(text, 'y') or "
                              "contains(text, 'y') or contains(text, 'y') or contains(text, 'y')", "budget"),
}


@pytest.mark.parametrize("name", CONSTANT)
def test_constant_construct_is_refused_at_parse(name: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="limit|elements"):
        parse_expression(CONSTANT[name])


@pytest.mark.parametrize("name", ON_DATA)
def test_construct_over_data_fails_cleanly(name: str) -> None:
    text, words = ON_DATA[name]
    parse_expression(text)  # valid: it reads data
    with pytest.raises(ExpressionEvalError, match=words):
        evaluate(text, {"big": BIG, "text": TEXT})


@pytest.mark.parametrize("text", ["[x for x in big]", "{x: 1 for x in big}", "(x for x in big)", "{x for x in big}"])
def test_comprehensions_are_not_supported(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="comprehension|generator"):
        parse_expression(text)


def test_ordinary_work_on_data_stays_allowed() -> None:
    data = {"big": BIG, "text": TEXT}
    assert evaluate("len(big) > 10 and max(big) == 399999 and sorted(big)[0] == 0", data)
    assert evaluate("[0] * 1000 == [0] * 1000", {}) and len(evaluate("'a' * 100000", {})) == 100_000
    assert MAX_SIZE == 1_000_000 and MAX_STEPS == 5_000_000


def test_validate_refuses_a_hostile_condition() -> None:
    spec: dict[str, Any] = {"schema_version": 1, "id": "g", "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": 1}},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e", "source": "c", "target": "o",
                   "condition": "[[[1] * 100000] * 100000] * 100000 == value"}]}
    with pytest.raises(GraphValidationError) as caught:
        graphflow.validate_graph(spec, graphflow.default_registry(installed=False))
    assert caught.value.problems[0].code == "bad_expression"


def test_a_hostile_condition_on_data_fails_the_node_not_the_server() -> None:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("big", lambda v: BIG, non_blocking=True)
    spec = {"schema_version": 1, "id": "g", "nodes": [
        {"id": "b", "kind": "function", "config": {"function": "big"}},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e", "source": "b", "target": "o", "condition": "str([value] * 2) != ''"}]}
    result = graphflow.run_sync(spec, registry=registry)
    assert result.status == "failed" and "elements" in (result.error or "")
