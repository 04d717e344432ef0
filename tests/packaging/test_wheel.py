"""A wheel silently drops subpackages and data files that packaging misses: build one,
install it away from the source tree, and use it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, cwd=out,
    )
    return next(out.glob("graphflow-*.whl"))


def test_wheel_contains_every_source_file(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, package in {"graphflow": "graphflow", "ui": "graphflow/ui", "storage": "graphflow/storage",
                            "sample_graphs": "graphflow/sample_graphs"}.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".json", ".js", ".css"}:
                expected.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    assert expected and expected - names == set()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "graphflow = graphflow.ui.cli:main" in text and "samples = graphflow.sample_graphs" in text


def test_installed_wheel_runs_a_sample(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    script = (
        "import graphflow, graphflow.ui, graphflow.storage, graphflow.sample_graphs as s\n"
        "from pathlib import Path\n"
        f"assert graphflow.__file__.startswith({str(target)!r}), graphflow.__file__\n"
        "graphs = sorted(Path(s.__file__).parent.glob('*.json'))\n"
        "assert graphs, 'no sample graphs in the wheel'\n"
        "registry = graphflow.default_registry()\n"
        "for g in graphs: graphflow.validate_graph(g, registry)\n"
        "print(len(graphs))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 3
