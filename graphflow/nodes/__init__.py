"""Built-in node kinds."""

from __future__ import annotations

from graphflow.nodes.agent import AgentNode
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.classify import ClassifyNode
from graphflow.nodes.constant import ConstantNode, TemplateNode
from graphflow.nodes.delay import DelayNode
from graphflow.nodes.function import FunctionNode
from graphflow.nodes.http import HttpRequestNode
from graphflow.nodes.io import InputNode, OutputNode
from graphflow.nodes.join import JoinNode
from graphflow.nodes.llm import LLMNode
from graphflow.nodes.map import MapNode
from graphflow.nodes.review import ReviewNode
from graphflow.nodes.routing import ConditionNode, RouterNode
from graphflow.nodes.state_machine import StateMachineNode
from graphflow.nodes.stop import StopNode
from graphflow.nodes.transform import TransformNode
from graphflow.nodes.wait_event import WaitEventNode

BUILTIN_KINDS: tuple[type[NodeKind], ...] = (
    InputNode,
    OutputNode,
    ConstantNode,
    TemplateNode,
    ConditionNode,
    RouterNode,
    JoinNode,
    FunctionNode,
    DelayNode,
    StopNode,
    MapNode,
    LLMNode,
    ClassifyNode,
    TransformNode,
    HttpRequestNode,
    AgentNode,
    ReviewNode,
    StateMachineNode,
    WaitEventNode,
)

__all__ = ["BUILTIN_KINDS", "NodeConfig", "NodeContext", "NodeKind", "port"]
