"""The ``graphflow`` command (also ``python -m graphflow``): the one command line.

It lives in ``ui/``, the composition root, because its commands wire the engine to storage
(and ``serve`` to the canvas). It stays fast to start: this package and ``commands`` import
only typer at module level; the engine, storage, rich and NiceGUI are imported inside the
commands that use them, so ``graphflow --help`` and ``graphflow validate`` pay for neither
the database nor the canvas; help is plain click text, since typer's rich help
imports rich and its markdown parser (more than half of ``--help``).

Exit codes: 0 ok, 1 invalid graph or failed run, 2 usage or input error, 130 cancelled
(Ctrl+C). Errors graphflow raises on purpose and ``OSError`` become one line on stderr
(``boundary.py``), never a traceback.
"""

from __future__ import annotations

from .commands import app
from .credentials import register
from .reviews import register as register_reviews

register()
register_reviews()


def main() -> None:
    app(prog_name="graphflow")


__all__ = ["app", "main"]
