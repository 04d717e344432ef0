"""Forms and predictable actions in Debian's chromium (issue 12 items 1, 4 and 5, the parts the
simulated user alone showed): a template placeholder checked against its input's type, a draft
with problems kept and RUN offering only the saved version, RUN asking to save first, a conflict that
opens the newer version, a bad JSON value's error at its
field and in view, edits not applied kept when another node is selected, the graph's name and
description, and the same header links and titles on every page of a graph."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import notified, open_editor, save, select_node, stored
from test_editor_work_browser import draft_of, wait_for_draft

pytestmark = pytest.mark.browser


def greeting(graph_id: str, template: str) -> dict:
    return {"schema_version": 1, "id": graph_id, "name": f"Greeting {graph_id}",
            "nodes": [{"id": "who", "kind": "input", "config": {"name": "who", "type": "string", "example": "Ana"},
                       "position": {"x": 0, "y": 0}},
                      {"id": "greet", "kind": "template", "config": {"template": template},
                       "position": {"x": 300, "y": 0}},
                      {"id": "answer", "kind": "output", "config": {"name": "answer"}, "position": {"x": 600, "y": 0}}],
            "edges": [{"id": "e1", "source": "who", "target": "greet"},
                      {"id": "e2", "source": "greet", "target": "answer"}]}


def card_problems(page: Page, node_id: str):
    return page.locator(f'[data-node-id="{node_id}"]').get_by_test_id("problems")


def set_template(page: Page, text: str) -> None:
    select_node(page, "greet")
    page.get_by_test_id("cfg-template").fill(text)
    page.get_by_test_id("apply-settings").click()


def test_a_placeholder_the_input_cannot_fill_is_a_problem_on_the_card(page: Page, served):
    save(served.db, greeting("placeholders", "Hi {value}"))
    open_editor(page, served.url + "/graph/placeholders")
    expect(card_problems(page, "greet")).to_have_count(0)
    set_template(page, "Hi {who} ({inputs.lang})")
    expect(card_problems(page, "greet")).to_contain_text("bad_template")
    page.get_by_test_id("problems-tab").click()
    problems = page.get_by_test_id("problem")
    expect(problems.filter(has_text="placeholder {who}: the input (out of type string) is a string")).to_have_count(1)
    expect(problems.filter(has_text="placeholder {inputs.lang}: the graph has no input 'lang' (has: who)")) \
        .to_have_count(1)
    page.get_by_role("tab", name="Settings").click()
    set_template(page, "Hi {value} ({inputs.who})")
    expect(card_problems(page, "greet")).to_have_count(0)
    page.keyboard.press("Control+s")
    notified(page, "saved version 2")
    assert stored(served.db, "placeholders").spec.node("greet").config == {"template": "Hi {value} ({inputs.who})"}


def test_a_draft_with_problems_is_kept_and_run_offers_only_the_saved_version(page: Page, served):
    save(served.db, greeting("half_built", "Hi {value}"))
    open_editor(page, served.url + "/graph/half_built")
    set_template(page, "Hi {name}")
    page.get_by_test_id("save").click()
    notified(page, "kept as a draft, not saved as a version: 1 problem")
    assert wait_for_draft(served.db, "half_built").graph["nodes"][1]["config"] == {"template": "Hi {name}"}
    assert stored(served.db, "half_built").version == 1
    page.get_by_test_id("run").click()
    expect(page.get_by_text("so they cannot be saved as a version yet")).to_be_visible()
    expect(page.get_by_test_id("run-choice-save")).to_have_count(0)
    page.get_by_test_id("run-choice-saved").click()
    page.get_by_test_id("start-run").click()
    notified(page, "running version 1")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15000)
    expect(page.get_by_test_id("version")).to_contain_text("unsaved changes")  # the draft is still there
    assert draft_of(served.db, "half_built") is not None


def test_a_bad_json_value_is_refused_at_its_field_in_view(page: Page, served):
    save(served.db, {"schema_version": 1, "id": "json_field", "name": "JSON field",
                     "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}, "position": {"x": 0, "y": 0}},
                               {"id": "out", "kind": "output", "config": {"name": "o"},
                                "position": {"x": 300, "y": 0}}],
                     "edges": [{"id": "e", "source": "c", "target": "out"}]})
    open_editor(page, served.url + "/graph/json_field")
    select_node(page, "c")
    page.get_by_test_id("cfg-value").fill("{oops")
    page.get_by_test_id("apply-settings").click()
    message = page.locator('.q-field:has([data-testid="cfg-value"]) .q-field__messages')
    expect(message).to_contain_text("not JSON")
    expect(message).to_be_in_viewport()
    expect(page.get_by_test_id("version")).not_to_contain_text("unsaved changes")


def test_edits_not_applied_are_applied_when_another_node_is_selected(page: Page, served):
    save(served.db, greeting("unapplied", "Hi {value}"))
    open_editor(page, served.url + "/graph/unapplied")
    select_node(page, "greet")
    page.get_by_test_id("opt-label").fill("Typed, not applied")
    select_node(page, "answer")
    notified(page, "applied your edits to greet")
    expect(page.locator('[data-node-id="greet"]')).to_contain_text("Typed, not applied")


def test_the_graphs_name_and_description_are_edited_in_the_editor(page: Page, served):
    save(served.db, greeting("details", "Hi {value}"))
    open_editor(page, served.url + "/graph/details")
    page.locator(".vue-flow__pane").click(position={"x": 300, "y": 400})
    page.get_by_test_id("graph-name").fill("Welcome message")
    page.get_by_test_id("graph-description").fill("Greets a new user by name")
    page.get_by_test_id("apply-details").click()
    expect(page.get_by_test_id("version")).to_contain_text("unsaved changes")
    page.keyboard.press("Control+s")
    notified(page, "saved version 2")
    spec = stored(served.db, "details").spec
    assert (spec.name, spec.description) == ("Welcome message", "Greets a new user by name")
    expect(page.get_by_test_id("page-title")).to_have_text("Welcome message")
    expect(page).to_have_title("Welcome message · graphflow")


def test_every_page_of_a_graph_has_the_same_links_in_the_same_place_and_its_name(page: Page, served):
    save(served.db, greeting("navigated", "Hi {value}"))
    boxes = {}
    for here, path in (("editor", ""), ("versions", "/versions"), ("runs", "/runs"), ("stats", "/stats")):
        page.goto(f"{served.url}/graph/navigated{path}")
        expect(page.get_by_test_id(f"nav-{here}")).to_have_class("gf-nav gf-nav-here")
        expect(page.get_by_test_id("page-title")).to_contain_text("Greeting navigated")
        assert "Greeting navigated" in page.title()
        for link in ("editor", "versions", "runs", "stats", "graphs", "credentials"):
            box = page.get_by_test_id(f"nav-{link}").bounding_box()
            assert box is not None, (path, link)
            boxes.setdefault(link, []).append((box["x"], box["y"]))
    for link, places in boxes.items():  # the current page's link is bold: under a px of x may differ
        assert max(x for x, _ in places) - min(x for x, _ in places) < 2, (link, places)
        assert len({round(y) for _, y in places}) == 1, (link, places)


def test_run_with_unsaved_edits_asks_and_save_and_run_runs_the_new_version(page: Page, served):
    save(served.db, greeting("save_first", "Hi {value}"))
    open_editor(page, served.url + "/graph/save_first")
    set_template(page, "Hello {input}")
    page.get_by_test_id("run").click()
    expect(page.get_by_text("Run runs a saved version, and these edits are not saved yet.")).to_be_visible()
    page.get_by_test_id("run-choice-save").click()
    notified(page, "saved version 2")
    page.get_by_test_id("start-run").click()
    notified(page, "running version 2")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15000)
    expect(page.get_by_test_id("run-id")).to_contain_text("version 2")
    assert stored(served.db, "save_first").spec.node("greet").config == {"template": "Hello {input}"}


def test_a_conflict_can_open_the_newer_version_instead(page: Page, served):
    save(served.db, greeting("newer", "Hi {value}"))
    open_editor(page, served.url + "/graph/newer")
    newer = greeting("newer", "Hi {value}")
    newer["description"] = "saved by another tab"
    save(served.db, newer)  # version 2
    set_template(page, "Stale: {value}")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("conflict")).to_contain_text("Version 2 of this graph was saved after version 1")
    page.get_by_test_id("conflict-open").click()
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    expect(page.get_by_test_id("graph-description")).to_have_value("saved by another tab")
    expect(page.locator('[data-node-id="greet"]')).to_be_visible()
    assert stored(served.db, "newer").version == 2
