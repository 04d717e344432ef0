"""graphflow: build, validate and run AI-agent workflow graphs.

The names below are the public API; everything else may change. They are imported on
first use (PEP 562), so ``import graphflow`` alone, and a command such as ``graphflow
--help`` that needs none of them, does not pay for pydantic models, networkx or anyio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.api import load_graph, run, run_sync, validate_graph
    from graphflow.clock import FakeClock, RealClock
    from graphflow.compile import CompiledGraph
    from graphflow.errors import (
        GraphflowError,
        GraphValidationError,
        NodeError,
        Problem,
        RegistryError,
        RunInputError,
    )
    from graphflow.events import Event
    from graphflow.model import EdgeSpec, GraphSpec, NodeSpec, PortSpec
    from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind
    from graphflow.registry import Registry, default_registry
    from graphflow.runner import RunControl, RunResult
    from graphflow.state import RunState
    from graphflow.subscribe import EventLog

_WHERE = {
    "graphflow.api": ("load_graph", "run", "run_sync", "validate_graph"),
    "graphflow.clock": ("FakeClock", "RealClock"),
    "graphflow.compile": ("CompiledGraph",),
    "graphflow.errors": ("GraphflowError", "GraphValidationError", "NodeError", "Problem", "RegistryError",
                         "RunInputError"),
    "graphflow.events": ("Event",),
    "graphflow.model": ("EdgeSpec", "GraphSpec", "NodeSpec", "PortSpec"),
    "graphflow.nodes.base": ("NodeConfig", "NodeContext", "NodeKind"),
    "graphflow.registry": ("Registry", "default_registry"),
    "graphflow.runner": ("RunControl", "RunResult"),
    "graphflow.state": ("RunState",),
    "graphflow.subscribe": ("EventLog",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "CompiledGraph", "EdgeSpec", "Event", "EventLog", "FakeClock", "GraphSpec", "GraphValidationError",
    "GraphflowError", "NodeConfig", "NodeContext", "NodeError", "NodeKind", "NodeSpec", "PortSpec", "Problem",
    "RealClock", "Registry", "RegistryError", "RunControl", "RunInputError", "RunResult", "RunState",
    "default_registry", "load_graph", "run", "run_sync", "validate_graph",
]


def __getattr__(name: str) -> Any:
    """A public name from its module; else a submodule (``graphflow.events``), as an eager
    package would have it after importing it."""
    module = _MODULE_OF.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    else:
        try:
            value = importlib.import_module(f"graphflow.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"graphflow.{name}":
                raise
            raise AttributeError(f"module 'graphflow' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
