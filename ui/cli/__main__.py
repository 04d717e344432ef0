"""``python -m graphflow.ui.cli``: the same command as ``graphflow`` (and ``python -m graphflow``)."""

from graphflow.ui.cli import main

main()
