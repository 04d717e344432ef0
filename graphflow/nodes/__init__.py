"""Built-in node kinds.

Each kind's module is imported the first time a registry looks the kind up
(``graphflow.registry.Kinds``), so validating or running a graph pays only for the kinds
it names: the agent, model and state-machine kinds alone took about half of
``from graphflow import run``.
"""

from __future__ import annotations

import importlib
from typing import Any

from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port

BUILTIN: dict[str, str] = {
    "input": "graphflow.nodes.io:InputNode",
    "output": "graphflow.nodes.io:OutputNode",
    "constant": "graphflow.nodes.constant:ConstantNode",
    "template": "graphflow.nodes.constant:TemplateNode",
    "condition": "graphflow.nodes.routing:ConditionNode",
    "router": "graphflow.nodes.routing:RouterNode",
    "join": "graphflow.nodes.join:JoinNode",
    "function": "graphflow.nodes.function:FunctionNode",
    "delay": "graphflow.nodes.delay:DelayNode",
    "stop": "graphflow.nodes.stop:StopNode",
    "map": "graphflow.nodes.map:MapNode",
    "llm": "graphflow.nodes.llm:LLMNode",
    "classify": "graphflow.nodes.classify:ClassifyNode",
    "transform": "graphflow.nodes.transform:TransformNode",
    "http_request": "graphflow.nodes.http:HttpRequestNode",
    "agent": "graphflow.nodes.agent:AgentNode",
    "review": "graphflow.nodes.review:ReviewNode",
    "state_machine": "graphflow.nodes.state_machine:StateMachineNode",
    "wait_event": "graphflow.nodes.wait_event:WaitEventNode",
}
"""Each built-in kind's name and where its class is (``module:Class``), in palette order."""

_CLASSES = {where.split(":")[1]: where for where in BUILTIN.values()}


def load_class(where: str) -> type[NodeKind]:
    module, name = where.split(":")
    kind: type[NodeKind] = getattr(importlib.import_module(module), name)
    return kind


def __getattr__(name: str) -> Any:
    """A built-in kind's class by its name (``from graphflow.nodes import MapNode``), imported now."""
    where = _CLASSES.get(name)
    if where is None:
        raise AttributeError(f"module 'graphflow.nodes' has no attribute {name!r}")
    return load_class(where)


__all__ = ["BUILTIN", "NodeConfig", "NodeContext", "NodeKind", "load_class", "port"]
