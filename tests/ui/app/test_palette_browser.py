"""Palette search: words filter the node kinds by name, title, description and category; Enter adds
the first match at the centre of the canvas; Escape clears."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import open_editor, save

pytestmark = pytest.mark.browser


def test_search_filters_kinds_and_enter_adds_the_first(page: Page, served):
    save(served.db, {"schema_version": 1, "id": "blank", "name": "Blank",
                     "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}}], "edges": []})
    open_editor(page, served.url + "/graph/blank")
    search = page.get_by_test_id("palette-search")
    items = page.locator(".gf-palette-item")
    total = items.count()
    search.fill("model")
    expect(page.locator('[data-palette-kind="llm"]')).to_be_visible()
    expect(page.locator('[data-palette-kind="classify"]')).to_be_visible()
    expect(page.locator('[data-palette-kind="router"]')).to_have_count(0)
    assert 0 < items.count() < total
    search.fill("named expressions")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-palette-kind", "transform")
    search.press("Enter")
    expect(page.locator('.vue-flow__node [data-kind="transform"]')).to_have_count(1)
    expect(search).to_have_value("")
    expect(items).to_have_count(total)
    search.fill("no such kind at all")
    expect(page.get_by_test_id("palette-none")).to_have_text('No kind matches "no such kind at all"')
    search.press("Escape")
    expect(items).to_have_count(total)
