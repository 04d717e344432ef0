"""A router's routes edited as a table (port, expression), each expression checked as it is typed."""

from __future__ import annotations

import pytest
from test_editor import canvas, select

from graphflow.ui.pages.routes_table import expression_problem, port_problem

pytestmark = pytest.mark.anyio


def in_order(user, marker: str) -> list:
    return sorted(user.find(marker=marker).elements, key=lambda element: element.id)


def test_expressions_and_ports_are_checked_without_evaluating():
    assert expression_problem("intent == 'refund'") is None
    assert "syntax error" in (expression_problem("intent ==") or "")
    assert expression_problem("  ") is not None
    assert expression_problem("__import__('os').system('x')") is not None  # not an expression the evaluator allows
    assert port_problem("refund", ["refund", "other"]) is None
    assert port_problem("refund", ["refund", "refund"]) == "port 'refund' is used twice"
    assert port_problem("2x", ["2x"]) is not None


async def test_the_router_form_is_a_table_checked_as_you_type_and_applied(user):
    await user.open("/graph/decision_tree")
    select(user, "route_intent")
    await user.should_see(marker="add-route")
    whens = in_order(user, "route-when")
    assert [w.value for w in whens] == ["intent == 'refund'", "intent == 'technical'", "intent == 'billing'"]
    user.find(marker="add-route").click()
    ports, whens = in_order(user, "route-port"), in_order(user, "route-when")
    ports[-1].value, whens[-1].value = "shipping", "intent =="
    assert "syntax error" in (whens[-1].error or "")
    ports[0].value = "shipping"
    assert ports[-1].error == "port 'shipping' is used twice"
    ports[0].value = "refund"
    whens[-1].value = "intent == 'shipping'"
    assert whens[-1].error is None
    user.find(marker="apply-settings").click()
    node = next(n for n in canvas(user).graph["nodes"] if n["id"] == "route_intent")
    assert node["config"]["routes"][-1] == {"port": "shipping", "when": "intent == 'shipping'"}
    assert node["config"]["default"] == "other"  # the router's other settings are kept
