"""Serve the app for the browser tests of history, replay and stats, in a process of its own.

``python serve_pages.py DB PORT CALLS``: the app as ``graphflow serve`` wires it
(``graphflow.ui.app.Server``) on ``DB``, with the history graph's functions registered, each
call appended as a line to the file ``CALLS`` (so a test sees that replay called nothing).
A separate process keeps NiceGUI's globals away from the tests that use NiceGUI's simulated user.
"""

from __future__ import annotations

import sys
from pathlib import Path

from history_support import registry_with
from nicegui import app, ui

from graphflow.ui.app import Server


def main(db: Path, port: int, calls: Path) -> None:
    def record(name: str) -> None:
        with calls.open("a", encoding="utf-8") as file:
            file.write(name + "\n")

    server = Server(db, registry_with(record), token=None)
    app.on_startup(server.main)
    app.on_shutdown(server.shutdown)
    ui.run(host="127.0.0.1", port=port, show=False, reload=False, tailwind=False, show_welcome_message=False,
           uvicorn_logging_level="warning")


if __name__ in {"__main__", "__mp_main__"}:
    main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
