"""The public surface and the direction of imports: ui -> storage -> graphflow, never back."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import graphflow

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "graphflow": ("nicegui", "aiosqlite", "graphflow.ui", "graphflow.storage", "ui", "storage"),
    "storage": ("nicegui", "graphflow.ui", "ui"),
}
LAUNCHERS = {Path("graphflow/__main__.py")}
"""``python -m graphflow``: two lines that start the command, which lives in the composition
root (``ui/cli``); nothing imports the launcher, so the engine still depends on nothing above it."""


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for item in ast.walk(ast.parse(path.read_text())):
        if isinstance(item, ast.Import):
            names.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
            names.add(item.module)
    return names


def test_packages_only_import_downwards():
    offenders = []
    for folder, forbidden in FORBIDDEN.items():
        for path in (ROOT / folder).rglob("*.py"):
            if path.relative_to(ROOT) in LAUNCHERS:
                continue
            for name in imported_modules(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_pages_and_the_cli_go_through_the_workspace():
    """Only the application service (graphflow/service.py) reaches the store, or compiles for the
    pages (the CLI checks a graph file with the engine's ``validate_graph``, no database needed)."""
    offenders = []
    for path in [*(ROOT / "ui" / "pages").rglob("*.py"), *(ROOT / "ui" / "cli").rglob("*.py")]:
        for item in ast.walk(ast.parse(path.read_text())):
            if isinstance(item, ast.Attribute) and item.attr == "store":
                offenders.append(f"{path.relative_to(ROOT)}:{item.lineno} reaches .store")
            name = getattr(item, "id", None) or getattr(item, "name", None)
            if path.parent.name == "pages" and name in ("validate_graph", "compile_graph"):
                offenders.append(f"{path.relative_to(ROOT)}:{item.lineno} compiles itself")
    assert offenders == []


def test_exported_members():
    assert sorted(graphflow.__all__) == sorted(
        [
            "CompiledGraph", "EdgeSpec", "Event", "EventLog", "FakeClock", "GraphSpec", "GraphValidationError",
            "GraphflowError", "NodeConfig", "NodeContext", "NodeError", "NodeKind", "NodeSpec", "PortSpec",
            "Problem", "RealClock", "Registry", "RegistryError", "RunControl", "RunInputError", "RunResult",
            "RunState", "default_registry", "load_graph", "run", "run_sync", "validate_graph",
        ]
    )
    for name in graphflow.__all__:
        member = getattr(graphflow, name)
        if name != "Event":  # a typing alias: the union of event models
            assert member.__module__.startswith("graphflow"), name


def test_the_public_names_load_on_first_use():
    import graphflow as package

    assert set(package._MODULE_OF) == set(package.__all__)


HEAVY = ("nicegui", "aiosqlite", "graphflow.storage", "networkx", "rich", "anyio", "pydantic")


def modules_loaded(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``watched`` (packages or modules) running ``code`` in a fresh interpreter imports."""
    probe = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    return sorted({h for h in watched for m in loaded if m == h or m.startswith(h + ".")})


def command_line(*args: str) -> str:
    """Code that runs ``graphflow ARGS`` in the probe's process."""
    return ("from graphflow.ui.cli import app\n"
            f"try:\n    app({list(args)!r}, prog_name='graphflow')\nexcept SystemExit:\n    pass")


@pytest.mark.slow
def test_the_command_line_starts_without_the_engine_storage_or_canvas():
    """``graphflow --help`` stays fast: the command's modules import typer alone at start-up."""
    assert modules_loaded("import graphflow.ui.cli") == []


@pytest.mark.slow
def test_help_is_printed_without_rich():
    """``graphflow --help`` is plain text: typer's rich help alone imported rich (and its
    markdown parser), more than half the command's start-up."""
    assert modules_loaded(command_line("--help")) == []


def test_import_graphflow_loads_none_of_the_heavy_libraries():
    """Structural, not timed: the package's names load on first use."""
    assert modules_loaded("import graphflow") == []


RUN_THE_CHAIN = (f"import pathlib, graphflow\nr = graphflow.run_sync("
                 f"pathlib.Path({str(ROOT / 'sample_graphs' / 'sequential_chain.json')!r}), "
                 "{'message': 'sign me up: a@b.com'})\nassert r.ok, r.error")
"""Code that runs the sequential chain sample in memory (what a script does first)."""


@pytest.mark.slow
def test_running_a_graph_in_memory_needs_neither_networkx_nor_storage_nor_the_canvas():
    assert modules_loaded(RUN_THE_CHAIN) == ["anyio", "pydantic"]


@pytest.mark.slow
def test_a_graph_imports_only_the_node_kinds_it_names():
    """The sequential chain names input, function and output: the model, agent and state
    machine kinds (about half of ``from graphflow import run``) stay unimported."""
    kinds = tuple(f"graphflow.nodes.{m}" for m in ("agent", "llm", "classify", "state_machine", "map", "review",
                                                  "http", "function", "io"))
    assert modules_loaded(RUN_THE_CHAIN, kinds) == ["graphflow.nodes.function", "graphflow.nodes.io"]


@pytest.mark.slow
def test_validate_needs_neither_storage_nor_the_canvas(tmp_path):
    sample = ROOT / "sample_graphs" / "sequential_chain.json"
    loaded = modules_loaded(command_line("validate", str(sample)))
    assert "nicegui" not in loaded and "aiosqlite" not in loaded and "graphflow.storage" not in loaded
