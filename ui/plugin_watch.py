"""``graphflow serve --reload-plugins``: the plugin files are watched (their modification times,
polled once a second) and, when one changes, every plugin is imported again
(``Registry.reload_plugins``) without restarting the server. Runs in flight finish on the code
they were compiled with; runs started after, and pages opened after, get the new code. A plugin
that no longer imports (a syntax error just saved) is reported in the log, in one line, and the
previous code stays in use. The graph list then has a Reload plugins button doing the same."""

from __future__ import annotations

import logging
import os

import anyio

from graphflow.errors import RegistryError
from graphflow.registry import Registry

log = logging.getLogger("graphflow.ui")
INTERVAL = 1.0


def reload_now(registry: Registry) -> tuple[bool, str]:
    """Reload every plugin (the watcher's, and the graph list's Reload plugins button); whether it
    worked and what to tell the user, logged too."""
    try:
        names = registry.reload_plugins()
    except RegistryError as exc:
        log.error("plugins not reloaded (still running the previous code): %s", exc)
        return False, str(exc)
    log.warning("plugins reloaded: %s", ", ".join(names))
    return True, f"reloaded {len(names)} plugin(s): {', '.join(names)}"


class PluginWatcher:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.seen = self.stamps()

    def stamps(self) -> dict[str, tuple[int, int] | None]:
        """Each plugin file's modification time and size (None: gone)."""
        found: dict[str, tuple[int, int] | None] = {}
        for key, path in self.registry.plugin_files.items():
            try:
                stat = os.stat(path)
                found[key] = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                found[key] = None
        return found

    def poll(self) -> str | None:
        """Reload when a file changed since the last poll; what happened, or None."""
        now = self.stamps()
        if now == self.seen:
            return None
        self.seen = now
        ok, message = reload_now(self.registry)
        self.seen = self.stamps()
        return "reloaded" if ok else f"failed: {message}"

    async def run(self, interval: float = INTERVAL) -> None:
        while True:
            await anyio.sleep(interval)
            self.poll()
