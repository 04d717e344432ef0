"""Page-wide behaviour of the editor: Ctrl+S (Cmd+S) anywhere on the page, in a settings field
too, saves instead of opening the browser's "save page"; leaving the page (a link, reload,
closing the tab) asks first while there are unsaved edits.

The browser keeps one flag, ``window.gfDirty``, which the editor sets; the key handler runs in
the capture phase, so the canvas' own Ctrl+S never fires as well (one save per key press).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

SAVE_EVENT = "gf_save"
SCRIPT = """<script>
window.gfDirty = %s;
window.addEventListener("beforeunload", (event) => {
  if (!window.gfDirty) return;
  event.preventDefault();
  event.returnValue = "";
});
window.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "s") return;
  event.preventDefault();
  event.stopImmediatePropagation();
  emitEvent("%s", {});
}, true);
</script>"""


class PageKeys:
    """Installs the script once per page; ``dirty`` is sent only when it changes."""

    def __init__(self, on_save: Callable[[], Awaitable[Any]], *, dirty: bool) -> None:
        self._dirty = dirty
        ui.add_head_html(SCRIPT % ("true" if dirty else "false", SAVE_EVENT))
        ui.on(SAVE_EVENT, lambda: on_save())

    @property
    def dirty(self) -> bool:
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        if value != self._dirty:
            self._dirty = value
            ui.run_javascript(f"window.gfDirty = {'true' if value else 'false'}")
