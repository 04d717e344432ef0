"""The public surface and the direction of imports: ui -> storage -> graphflow, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import graphflow

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "graphflow": ("nicegui", "aiosqlite", "graphflow.ui", "graphflow.storage", "ui", "storage"),
    "storage": ("nicegui", "graphflow.ui", "ui"),
}


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
            for name in imported_modules(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
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
