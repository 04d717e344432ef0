"""A router's routes table in chromium: a route added, a bad expression's error shown at its field,
fixed and applied; the new route's port connected shows its name on the edge, saved and reloaded."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import connect, notified, open_editor, save, select_node, stored

pytestmark = pytest.mark.browser
GRAPH = {
    "schema_version": 1, "id": "routes_test", "name": "Routes test",
    "nodes": [
        {"id": "ticket", "kind": "input", "config": {"name": "ticket", "type": "object"}, "position": {"x": 0, "y": 0}},
        {"id": "triage", "kind": "router", "position": {"x": 260, "y": 0},
         "config": {"routes": [{"port": "refund", "when": "intent == 'refund'"}], "default": "other"}},
        {"id": "refunds", "kind": "output", "config": {"name": "refunds"}, "position": {"x": 560, "y": 0}},
        {"id": "shipments", "kind": "output", "config": {"name": "shipments"}, "position": {"x": 560, "y": 200}},
    ],
    "edges": [{"id": "e1", "source": "ticket", "target": "triage"},
              {"id": "e2", "source": "triage", "source_port": "refund", "target": "refunds"}],
}


def last_field(page: Page, testid: str):
    """The last route's text box (Quasar puts the test id on the <input>) and its Quasar field."""
    box = page.get_by_test_id(testid).last
    return box, box.locator("xpath=ancestor::label[contains(@class, 'q-field')]")


def test_a_route_added_in_the_table_is_checked_applied_labelled_and_saved(page: Page, served) -> None:
    save(served.db, GRAPH)
    open_editor(page, served.url + "/graph/routes_test")
    expect(page.locator(".vue-flow__edge-text")).to_have_text(["refund"])
    select_node(page, "triage")
    page.get_by_test_id("add-route").click()
    expect(page.get_by_test_id("route-row")).to_have_count(2)
    (port, _), (when, field) = last_field(page, "route-port"), last_field(page, "route-when")
    port.fill("shipping")
    when.fill("intent ==")
    message = field.locator(".q-field__bottom")
    expect(message).to_contain_text("syntax error: invalid syntax at column 9")  # at the field, while typing
    expect(message).to_be_in_viewport()
    expect(field).to_have_class(re.compile("q-field--error"))
    when.fill("intent == 'shipping'")
    expect(field).not_to_have_class(re.compile("q-field--error"))
    page.get_by_test_id("apply-settings").click()

    connect(page, "triage", "shipments", source_port="shipping")  # the port the new route made
    expect(page.locator(".vue-flow__edge-text")).to_have_text(["refund", "shipping"])
    page.locator(".vue-flow__pane").click(position={"x": 300, "y": 450})
    page.keyboard.press("Control+s")
    notified(page, "saved version 2")
    spec = stored(served.db, "routes_test").spec
    assert spec.node("triage").config["routes"][-1] == {"port": "shipping", "when": "intent == 'shipping'"}
    assert [(e.source_port, e.target) for e in spec.edges if e.source == "triage"] == [
        ("refund", "refunds"), ("shipping", "shipments")]

    open_editor(page, served.url + "/graph/routes_test")
    expect(page.locator(".vue-flow__edge-text")).to_have_text(["refund", "shipping"])  # stored, drawn again
    select_node(page, "triage")
    expect(last_field(page, "route-when")[0]).to_have_value("intent == 'shipping'")
