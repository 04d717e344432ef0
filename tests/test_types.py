"""The engine and storage type-check under pyright ([tool.pyright] in pyproject.toml: standard
everywhere, strict on the modules listed there), with no unneeded ``# type: ignore``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pyright_finds_no_errors() -> None:
    done = subprocess.run([sys.executable, "-m", "pyright", "--pythonpath", sys.executable], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert done.stdout.strip().startswith("0 errors"), done.stdout
