"""What a test needs from the machine (a browser, IPv6 loopback, root for a tmpfs).

Where it is missing a test is skipped on a developer's machine, but fails in CI (``CI`` set, as
``.ci/run`` does): CI installs and provides all of it, so a skip there would hide a broken step
and prove nothing.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must provide it")
    pytest.skip(message)
