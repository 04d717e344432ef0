"""The editor's run panel in chromium ends with the run's status: a run that waits says
'waiting' (it said 'not run'), and follows the run when it is decided in another tab (the
Inbox), to 'succeeded' with the outputs."""

from __future__ import annotations

import subprocess

import pytest
from app_support import graphflow_command, serve_env
from playwright.sync_api import Page, expect
from test_app_browser import notified, open_editor, save

pytestmark = pytest.mark.browser
LABELLED = {"schema_version": 1, "id": "panel_waits", "name": "Panel waits", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "object", "example": {"label": "spam"}},
     "position": {"x": 0, "y": 0}},
    {"id": "r", "kind": "review", "config": {"variant": "label", "labels": ["spam", "ham"], "proposal_field": "label"},
     "position": {"x": 250, "y": 0}},
    {"id": "y", "kind": "output", "config": {"name": "y"}, "position": {"x": 500, "y": 0}}], "edges": [
    {"id": "e1", "source": "in", "target": "r"}, {"id": "e2", "source": "r", "target": "y"}]}


def test_a_waiting_run_says_waiting_and_goes_on_when_decided_elsewhere(page: Page, served):
    save(served.db, LABELLED)
    open_editor(page, served.url + "/graph/panel_waits")
    page.get_by_test_id("run").click()
    page.get_by_test_id("start-run").click()
    notified(page, "running version 1")
    status = page.get_by_test_id("run-status")
    expect(status).to_have_text("waiting", timeout=15_000)
    run_id = page.get_by_test_id("run-id").inner_text().split()[1]

    inbox = page.context.new_page()
    try:
        inbox.goto(served.url + "/inbox")
        card = inbox.locator(f"[data-testid=review-item][data-run='{run_id}']")
        card.get_by_test_id("review-age").click()
        expect(card).to_have_attribute("data-selected", "true")
        inbox.keyboard.press("l")
        inbox.locator("[data-testid=label-choice][data-label=ham]").click()
    finally:
        inbox.close()
    expect(status).to_have_text("succeeded", timeout=15_000)
    expect(page.get_by_test_id("run-outputs")).to_contain_text('"y": "ham"')
    expect(page.locator('[data-node-id="y"]')).to_have_attribute("data-status", "succeeded")


def test_the_panel_shows_the_whole_output(page: Page, served):
    """The run panel's outputs are not clamped like a card's output preview (three lines), and its
    event log wraps long lines instead of scrolling sideways."""
    value = {f"field_{i}": i for i in range(8)}
    save(served.db, {"schema_version": 1, "id": "panel_outputs", "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": value}, "position": {"x": 0, "y": 0}},
        {"id": "out", "kind": "output", "config": {"name": "o"}, "position": {"x": 300, "y": 0}}],
        "edges": [{"id": "e", "source": "c", "target": "out"}]})
    open_editor(page, served.url + "/graph/panel_outputs")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15_000)
    outputs = page.get_by_test_id("run-outputs")
    expect(outputs).to_contain_text('"field_7": 7')
    shown = outputs.evaluate("(el) => ({scroll: el.scrollHeight, client: el.clientHeight})")
    assert shown["client"] >= shown["scroll"] > 100, shown  # eleven lines, all of them in view
    log = page.locator("[data-testid=event-log] .q-scrollarea__container")
    expect(page.get_by_test_id("event-log")).to_contain_text("run_finished")
    wide = log.evaluate("(el) => ({scroll: el.scrollWidth, client: el.clientWidth})")
    assert wide["scroll"] <= wide["client"], wide


def test_a_run_woken_while_it_still_runs_is_followed_to_its_end(page: Page, served):
    """An event sent from the command line while the run's other branch still runs: the run goes on
    in that process (the server's live run ends waiting); the panel follows it from the store to the
    end, outputs included."""
    save(served.db, {"schema_version": 1, "id": "panel_woken", "nodes": [
        {"id": "w", "kind": "wait_event", "config": {"event": "go"}, "position": {"x": 0, "y": 0}},
        {"id": "d", "kind": "delay", "config": {"seconds": 3}, "position": {"x": 0, "y": 200}},
        {"id": "o1", "kind": "output", "config": {"name": "woken"}, "position": {"x": 300, "y": 0}},
        {"id": "o2", "kind": "output", "config": {"name": "slept"}, "position": {"x": 300, "y": 200}}],
        "edges": [{"id": "e1", "source": "w", "target": "o1"}, {"id": "e2", "source": "d", "target": "o2"}]})
    open_editor(page, served.url + "/graph/panel_woken")
    page.get_by_test_id("run").click()
    expect(page.locator('[data-node-id="w"]')).to_have_attribute("data-status", "waiting", timeout=15_000)
    run_id = page.get_by_test_id("run-id").inner_text().split()[1]
    sent = subprocess.run(graphflow_command("send", run_id, "go", "--db", str(served.db)), env=serve_env(served.db),
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=20_000)
    expect(page.locator('[data-node-id="o1"]')).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-outputs")).to_contain_text('"woken"')
