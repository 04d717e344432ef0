"""``python -m graphflow``: the same command as ``graphflow``."""

from graphflow.ui.cli import main

main()
