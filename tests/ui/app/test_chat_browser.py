"""The chat panel in chromium: two messages to the support agent sample in one session, its tool
calls and answers in the panel, then the session page and a replay reached from it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_conversation_in_the_chat_panel(page: Page, served):
    page.goto(served.url + "/graph/support_agent")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.get_by_test_id("chat-tab").click()
    box = page.get_by_test_id("chat-input")
    box.fill("Can I get a refund for order A-100?")
    page.get_by_test_id("chat-send").click()
    answers = page.locator('[data-testid=chat-message][data-role=assistant]')
    expect(answers.first).to_contain_text("qualifies for a refund", timeout=30_000)  # the first call imports openai
    expect(answers.first.get_by_test_id("chat-tool-call")).to_have_count(4)
    expect(answers.first.get_by_test_id("chat-tool-call").filter(has_text='lookup_order("order_id": "A-100")')) \
        .to_have_count(1)  # the calls of a step run at once: they finish in any order
    expect(page.locator('[data-node-id="agent"]')).to_have_attribute("data-status", "succeeded")  # on the canvas too

    box.fill("And order A-102?")
    box.press("Control+Enter")
    expect(answers.nth(1)).to_contain_text("Desk lamp", timeout=15_000)
    expect(page.locator('[data-testid=chat-message][data-role=user]')).to_have_count(2)

    page.get_by_test_id("chat-session-link").click()
    expect(page).to_have_url(re.compile(r"/session/chat-"))
    expect(page.get_by_test_id("session-summary")).to_have_text("2 runs, 4 messages")
    expect(page.get_by_test_id("session-message").nth(2)).to_have_text("And order A-102?")
    page.get_by_test_id("session-run-link").nth(1).click()
    expect(page).to_have_url(re.compile(r"/run/"))
    expect(page.get_by_test_id("session-link")).to_be_visible()
