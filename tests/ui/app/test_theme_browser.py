"""Light and dark themes for the whole app in chromium: the header's toggle darkens every page
(Quasar's dark mode, the app's own colours and the canvas), the choice is kept across pages and
reloads, T on the canvas switches the whole page back, and text stays readable in both (WCAG
contrast of the texts against the colour actually behind them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import open_editor, save

pytestmark = pytest.mark.browser
GRAPH = {"schema_version": 1, "id": "themed", "name": "Themed", "description": "in both themes",
         "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}, "position": {"x": 0, "y": 0}},
                   {"id": "out", "kind": "output", "config": {"name": "o"}, "position": {"x": 300, "y": 0}}],
         "edges": [{"id": "e", "source": "c", "target": "out"}]}
# the lowest contrast ratio of each text shown against the colour behind it (alpha ignored, as
# Quasar's and the app's texts are opaque)
CONTRAST = """(selectors) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const behind = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = {};
  for (const selector of selectors) {
    const els = [...document.querySelectorAll(selector)]
      .filter((el) => el.offsetParent && (el.value || el.textContent).trim());
    if (!els.length) { found[selector] = null; continue; }
    found[selector] = Math.min(...els.map((el) => {
      const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(behind(el))];
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }));
  }
  return found;
}"""
EDITOR_TEXTS = ["[data-testid=page-title]", "[data-testid=version]", ".q-tab__label", "[data-testid=settings] label",
                "[data-testid=settings] input", ".gf-muted", ".gf-palette-item", ".gf-node .gf-kind",
                ".gf-node .gf-port"]
# Until no colour transition runs: one cancelled by a later style change rejects its ``finished``
# (AbortError) and its successor is waited for in the next pass.
SETTLED = """async () => {
  for (let pass = 0; pass < 20; pass++) {
    const running = document.getAnimations().filter((a) => a instanceof CSSTransition && a.playState !== "finished");
    if (!running.length) return;
    await Promise.all(running.map((a) => a.finished.catch(() => null)));
  }
}"""


def theme(page: Page) -> str:
    return page.evaluate("document.documentElement.dataset.gfTheme")


def readable(page: Page, selectors: list[str], minimum: float = 4.5) -> None:
    page.evaluate(SETTLED)  # colours fade in: measure where they end
    ratios = page.evaluate(CONTRAST, selectors)
    missing = [s for s in selectors if ratios[s] is None]
    assert not missing, missing
    low = {s: round(r, 2) for s, r in ratios.items() if r < minimum}
    assert not low, (theme(page), low)


def test_the_theme_is_the_whole_apps_kept_and_readable(page: Page, served):
    save(served.db, GRAPH)
    page.goto(served.url + "/")
    expect(page.locator("body")).to_have_class("desktop no-touch body--light")
    assert theme(page) == "light"

    page.get_by_test_id("app-theme-toggle").click()
    expect(page.locator("body")).to_contain_class("body--dark")
    assert theme(page) == "dark"
    readable(page, ["[data-testid=page-title]", ".gf-row-cell", ".gf-muted", "[data-testid=graph-actions] .q-btn"])

    open_editor(page, served.url + "/graph/themed")  # a new page: the choice came along
    expect(page.locator("body")).to_contain_class("body--dark")
    expect(page.locator(".gf-canvas-root")).to_have_attribute("data-theme", "dark")
    readable(page, EDITOR_TEXTS)

    page.locator(".vue-flow__pane").click(position={"x": 20, "y": 20})
    page.keyboard.press("t")  # the canvas' key switches the whole page
    expect(page.locator("body")).to_contain_class("body--light")
    expect(page.locator(".gf-canvas-root")).to_have_attribute("data-theme", "light")
    assert theme(page) == "light"
    readable(page, EDITOR_TEXTS)

    page.get_by_test_id("app-theme-toggle").click()
    expect(page.locator(".gf-canvas-root")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_have_attribute("data-theme", "dark")
    expect(page.locator("body")).to_contain_class("body--dark")
    page.get_by_test_id("app-theme-toggle").click()  # leave the shared browser context light
    expect(page.locator("body")).to_contain_class("body--light")
