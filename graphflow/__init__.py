"""graphflow: build, validate and run AI-agent workflow graphs.

The names below are the public API; everything else may change.
"""

from __future__ import annotations

from graphflow.api import load_graph, run, run_sync, validate_graph
from graphflow.clock import FakeClock, RealClock
from graphflow.compile import CompiledGraph
from graphflow.errors import GraphflowError, GraphValidationError, NodeError, Problem, RegistryError, RunInputError
from graphflow.events import Event
from graphflow.model import EdgeSpec, GraphSpec, NodeSpec, PortSpec
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind
from graphflow.registry import Registry, default_registry
from graphflow.runner import RunControl, RunResult
from graphflow.state import RunState
from graphflow.subscribe import EventLog

__all__ = [
    "CompiledGraph",
    "EdgeSpec",
    "Event",
    "EventLog",
    "FakeClock",
    "GraphSpec",
    "GraphValidationError",
    "GraphflowError",
    "NodeConfig",
    "NodeContext",
    "NodeError",
    "NodeKind",
    "NodeSpec",
    "PortSpec",
    "Problem",
    "RealClock",
    "Registry",
    "RegistryError",
    "RunControl",
    "RunInputError",
    "RunResult",
    "RunState",
    "default_registry",
    "load_graph",
    "run",
    "run_sync",
    "validate_graph",
]
