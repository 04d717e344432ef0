"""The settings form in chromium: defaults and help text from the models' JSON schemas, a
multi-line template, no retry for inputs, and an edit applied, saved and stored."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import open_editor, save, select_node, stored

from graphflow.policies import RetryPolicy

pytestmark = pytest.mark.browser
GRAPH = {
    "schema_version": 1, "id": "form_test", "name": "Form test",
    "nodes": [{"id": "who", "kind": "input", "config": {"name": "who", "type": "string"}, "position": {"x": 0, "y": 0}},
              {"id": "greet", "kind": "template", "config": {"template": "Hi {value}"}, "position": {"x": 260, "y": 0}},
              {"id": "answer", "kind": "output", "config": {"name": "answer"}, "position": {"x": 520, "y": 0}}],
    "edges": [{"id": "e1", "source": "who", "target": "greet"}, {"id": "e2", "source": "greet", "target": "answer"}],
}


def test_the_form_shows_schema_defaults_and_help_and_applies_an_edit(page: Page, served) -> None:
    save(served.db, GRAPH)
    open_editor(page, served.url + "/graph/form_test")
    select_node(page, "greet")
    template = page.get_by_test_id("cfg-template")
    expect(template).to_have_value("Hi {value}")
    assert template.evaluate("e => e.tagName") == "TEXTAREA"  # multi-line, marked so in the schema
    expect(page.get_by_test_id("help-cfg-template")).to_contain_text("{value} (the whole input)")
    page.get_by_text("Retry", exact=True).click()
    max_attempts = page.get_by_test_id("retry-max_attempts")
    expect(max_attempts).to_have_value(str(RetryPolicy().max_attempts))
    expect(page.get_by_test_id("help-retry-max_attempts")).to_be_visible()
    expect(page.get_by_test_id("help-retry-max_attempts")).to_have_text(
        "Attempts in total, the first one included: 1 means no retry.")

    template.fill("Hi {value},\nwelcome.")
    page.get_by_test_id("opt-retry").click()
    max_attempts.fill("4")
    page.get_by_test_id("apply-settings").click()
    page.locator(".vue-flow__pane").click(position={"x": 300, "y": 400})
    page.keyboard.press("Control+s")
    expect(page.locator(".q-notification").filter(has_text="saved version 2").first).to_be_visible()
    node = stored(served.db, "form_test").spec.node("greet")
    assert node.config == {"template": "Hi {value},\nwelcome."}
    assert node.retry is not None and node.retry.max_attempts == 4
    assert node.retry.model_dump(exclude_defaults=True) == {"max_attempts": 4}  # only what was changed

    select_node(page, "who")
    expect(page.get_by_test_id("cfg-name")).to_be_visible()
    for section in ("retry", "breaker", "cache"):
        expect(page.get_by_test_id(f"section-{section}")).to_have_count(0)
