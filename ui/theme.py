"""Light and dark themes for the whole app: one choice per browser, kept in its localStorage.

The choice lives in the browser, not the server: it is the viewer's, across pages, reloads and
tabs, with no account or cookie. ``HEAD`` (added by every page's ``frame()`` and by the canvas)
defines ``window.graphflowTheme`` (``get``, ``set``, ``toggle``), which sets Quasar's dark mode
(every Quasar component, NiceGUI's own elements) and ``data-gf-theme`` on ``<html>`` (the
app's own colours), and announces each change as a ``graphflow-theme`` window event, which the
canvas follows. A choice made before the themes were app-wide (the canvas' own, in its
``graphflow-canvas`` preferences) is taken over once.
"""

from __future__ import annotations

from nicegui import ui

HEAD = """
<script>
if (!window.graphflowTheme) (() => {
  const KEY = "graphflow-theme";
  const read = () => {
    try {
      const old = JSON.parse(localStorage.getItem("graphflow-canvas") || "{}") || {};
      return (localStorage.getItem(KEY) || old.theme) === "dark" ? "dark" : "light";
    } catch { return "light"; }
  };
  let theme = read();
  const apply = () => {
    document.documentElement.dataset.gfTheme = theme;
    window.Quasar?.Dark?.set(theme === "dark");
    window.dispatchEvent(new CustomEvent("graphflow-theme", { detail: theme }));
  };
  window.graphflowTheme = {
    get: () => theme,
    set(next) {
      theme = next === "dark" ? "dark" : "light";
      try { localStorage.setItem(KEY, theme); } catch { /* refused: this page only */ }
      apply();
    },
    toggle() { this.set(theme === "dark" ? "light" : "dark"); },
  };
  window.addEventListener("storage", (e) => { if (e.key === KEY) { theme = read(); apply(); } });
  document.documentElement.dataset.gfTheme = theme;  // before the first paint: no light flash
  document.addEventListener("DOMContentLoaded", apply);  // NiceGUI's app (and Quasar) is mounted by then
})();
</script>
<style>
html[data-gf-theme=dark], html[data-gf-theme=dark] body { background: #121212; color-scheme: dark; }
html[data-gf-theme=dark] .gf-muted { color: #9ca3af; }
html[data-gf-theme=dark] .gf-notice { color: #fcd34d; }
html[data-gf-theme=dark] .gf-problem { color: #fca5a5; }
html[data-gf-theme=dark] .gf-value { background: #1f2937; color: #e5e7eb; }
html[data-gf-theme=dark] a:not(.gf-nav):not(.gf-brand) { color: #93c5fd; }
/* Quasar's primary and negative read too dark as text on a dark page (flat and outlined buttons);
   its colour classes are !important in a cascade layer, so the variable they read is set instead */
html[data-gf-theme=dark] :is(.q-btn--flat, .q-btn--outline) { --q-primary: #90caf9; --q-negative: #fca5a5; }
html[data-gf-theme=light] .gf-when-dark, html[data-gf-theme=dark] .gf-when-light { display: none; }
</style>
"""


def add_theme() -> None:
    """The theme script and colours on this page (twice is harmless: the script runs once)."""
    ui.add_head_html(HEAD)


def theme_toggle() -> ui.button:
    """The header's button: switches the whole app (the canvas included) between light and dark."""
    button = ui.button().props("flat round dense color=white data-testid=app-theme-toggle")
    with button:
        ui.icon("dark_mode").classes("gf-when-light")
        ui.icon("light_mode").classes("gf-when-dark")
    button.tooltip("Light or dark theme (T on the canvas)")
    button.on("click", js_handler="() => window.graphflowTheme.toggle()")
    return button
