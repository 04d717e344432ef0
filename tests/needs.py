"""What a test needs from the machine (a browser, IPv6 loopback, root for a tmpfs).

Where it is missing the test fails, naming what to provide: a skipped test proves nothing, and
the README's install-and-test step (and ``.ci/run``) provides all of it.
"""

from __future__ import annotations

from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    pytest.fail(f"{message}: the test suite needs it (see the README's install-and-test step)")
