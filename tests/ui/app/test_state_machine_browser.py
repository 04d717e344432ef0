"""The loan sample's state machine on the canvas: its states on the card with the current one
highlighted, a button per event valid now that moves the run, and the same states in replay."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_the_machine_card_moves_with_its_buttons_live_and_shows_its_state_in_replay(page: Page, served):
    page.goto(served.url + "/graph/loan_application")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    loan = page.locator('[data-node-id="loan"]')
    expect(loan.get_by_test_id("machine-state")).to_have_count(7)
    expect(loan.get_by_test_id("machine-transition").first).to_contain_text("submitted —review→ under_review")
    page.get_by_test_id("run").click()
    page.get_by_test_id("start-run").click()
    expect(loan).to_have_attribute("data-status", "waiting", timeout=15_000)
    current = loan.locator('[data-testid="machine-state"][data-current="true"]')
    expect(current).to_have_text("submitted")
    buttons = loan.get_by_test_id("machine-send")
    expect(buttons).to_have_text(["review"])
    for event, state in (("review", "under_review"), ("approve", "approved"), ("fund", "funding_failed")):
        loan.locator(f'[data-testid="machine-send"][data-event="{event}"]').click()
        expect(current).to_have_text(state, timeout=15_000)
    expect(buttons).to_have_text(["retry"])
    loan.locator('[data-testid="machine-send"][data-event="retry"]').click()
    expect(loan).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(current).to_have_text("funded")
    expect(buttons).to_have_count(0)
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")

    page.goto(served.url + "/graph/loan_application/runs")
    page.locator("a[href^='/run/']").first.click()
    expect(page).to_have_url(re.compile(r"/run/"))
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    replayed = page.locator('[data-node-id="loan"]')
    shown = replayed.locator('[data-testid="machine-state"][data-current="true"]')
    page.get_by_test_id("to-end").click()
    expect(shown).to_have_text("funded")
    expect(replayed.get_by_test_id("machine-send")).to_have_count(0)  # replay shows the past: no buttons
    page.get_by_test_id("to-start").click()
    expect(shown).to_have_count(0)
    for _ in range(12):  # step until the first wait: the machine is in its initial state
        page.get_by_test_id("step").click()
        if shown.count():
            break
    expect(shown).to_have_text("submitted")
