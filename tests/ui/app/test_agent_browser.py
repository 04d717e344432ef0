"""An agent's steps on the canvas: live while the support agent sample runs, and in replay."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_the_agent_card_shows_its_steps_live_and_in_replay(page: Page, served):
    page.goto(served.url + "/graph/support_agent")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.get_by_test_id("run").click()
    page.get_by_test_id("start-run").click()  # the inputs are prefilled from the sample's examples
    agent = page.locator('[data-node-id="agent"]')
    expect(agent).to_have_attribute("data-status", "succeeded", timeout=30_000)  # the first model call imports openai
    lines = agent.get_by_test_id("step-line")
    expect(lines).to_have_count(7)  # three turns, four calls
    expect(lines.nth(0)).to_contain_text("step 1: calls lookup_order, refund_eligibility")
    expect(lines.nth(2)).to_contain_text('#1 refund_eligibility("order_id": "A-100") -> {"eligibility"')
    expect(lines.nth(6)).to_contain_text("step 3: answers: Your Headphones")
    expect(page.get_by_test_id("event-log")).to_contain_text("agent step 2: calls check_refund_policy, open_ticket")

    page.goto(served.url + "/graph/support_agent/runs")
    page.locator("a[href^='/run/']").first.click()
    expect(page).to_have_url(re.compile(r"/run/"))
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    replayed = page.locator('[data-node-id="agent"]').get_by_test_id("step-line")
    page.get_by_test_id("to-end").click()
    expect(replayed).to_have_count(7)
    page.get_by_test_id("to-start").click()
    expect(replayed).to_have_count(0)
    for seq in range(20):  # step event by event until the agent's first step is drawn
        page.get_by_test_id("step").click()
        expect(page.get_by_test_id("current-event")).to_contain_text(f"#{seq} ")
        if "agent_step" in (page.get_by_test_id("current-event").text_content() or ""):
            break
    expect(replayed).to_have_count(3)  # the turn and its two calls, still running at this point
    expect(replayed.nth(1)).to_contain_text("lookup_order(\"order_id\": \"A-100\") ... running")
    page.get_by_test_id("step").click()
    expect(replayed.filter(has_text="... running")).to_have_count(1)  # one call's result arrived
