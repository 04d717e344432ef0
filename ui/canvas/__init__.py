"""The graph canvas: a node-graph editor element for NiceGUI pages."""

from .element import GraphCanvas
from .events import (
    ConnectRefusedEvent,
    GraphChangeEvent,
    NodeHeat,
    NodeView,
    RunEvent,
    SaveEvent,
    SelectEvent,
    node_status,
)
from .ports import node_ports, ports_for

__all__ = [
    "ConnectRefusedEvent",
    "GraphCanvas",
    "GraphChangeEvent",
    "NodeHeat",
    "NodeView",
    "RunEvent",
    "SaveEvent",
    "SelectEvent",
    "node_ports",
    "node_status",
    "ports_for",
]
