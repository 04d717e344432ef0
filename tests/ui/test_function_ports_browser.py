"""On the canvas, two user functions' ports are typed from their annotations: a wire between
mismatched types (or models) is refused with the reason, a model port shows its JSON schema."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydantic import BaseModel

import graphflow
from tests.ui.test_canvas_browser import connect, graph, handle

pytestmark = pytest.mark.browser


class Order(BaseModel):
    id: str
    total: float


class Invoice(BaseModel):
    number: int


def count_words(text: str) -> int:
    return len(text.split())


def shout(text: str) -> str:
    return text.upper()


def make_invoice(text: str) -> Invoice:
    return Invoice(number=len(text))


def make_order(text: str) -> Order:
    return Order(id=text, total=1.0)


def take_order(order: Order, rate: float) -> float:
    return order.total * rate


REGISTRY = graphflow.default_registry(installed=False)
for _fn in (count_words, shout, make_invoice, make_order, take_order):
    REGISTRY.register_function(f"user.{_fn.__name__}", _fn)
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()]


def fn(node_id: str, function: str, x: float, y: float) -> dict[str, Any]:
    return {"id": node_id, "kind": "function", "config": {"function": f"user.{function}"},
            "position": {"x": x, "y": y}}


def test_connecting_two_user_functions_with_mismatched_types_is_refused(page: Page, canvas_app: Any) -> None:
    url, scene = canvas_app.add(KINDS, graph([
        fn("count", "count_words", 0, 0), fn("loud", "shout", 320, 0),
        fn("invoice", "make_invoice", 0, 200), fn("order", "make_order", 0, 400),
        fn("price", "take_order", 320, 300),
    ]), registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(handle(page, "count", "out", "out")).to_have_attribute("data-port-type", "integer")
    expect(handle(page, "loud", "in", "in")).to_have_attribute("data-port-type", "string")
    expect(handle(page, "price", "order", "in")).to_have_attribute("data-port-type", "object")
    expect(handle(page, "price", "rate", "in")).to_have_attribute("data-port-type", "number")
    # a model port's tooltip holds its JSON schema
    name = page.locator('[data-node-id="price"] .gf-port-in .gf-port-name').first
    expect(name).to_have_attribute("data-port-schema", "Order")
    tip = name.get_attribute("title") or ""
    assert tip.startswith("order: Order") and '"required": [' in tip and '"total"' in tip

    toast = page.get_by_test_id("connect-refused")
    connect(page, "count", "out", "loud", "in")
    expect(toast).to_contain_text("type mismatch: count.out gives integer, loud.in takes string")
    connect(page, "invoice", "out", "price", "order")
    expect(toast).to_contain_text("invoice.out gives Invoice, price.order takes Order: field 'id' is missing")
    expect(page.locator(".vue-flow__edge")).to_have_count(0)
    reasons = scene.wait_for(lambda: len(scene.received("connect_refused")) >= 2 and scene.received("connect_refused"))
    assert "field 'id' is missing" in reasons[1].reason
    # the same model fits, and an integer into a number
    connect(page, "order", "out", "price", "order")
    connect(page, "count", "out", "price", "rate")
    expect(page.locator(".vue-flow__edge")).to_have_count(2)
    change = scene.wait_for(lambda: [c for c in scene.received("change") if len(c.graph["edges"]) == 2])[-1]
    assert {(e["source"], e["target_port"]) for e in change.graph["edges"]} == {("order", "order"),
                                                                               ("count", "rate")}
