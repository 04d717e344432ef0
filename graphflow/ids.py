"""Typed ids, so a node id cannot be passed where a run id is expected."""

from __future__ import annotations

from typing import NewType

NodeId = NewType("NodeId", str)
EdgeId = NewType("EdgeId", str)
RunId = NewType("RunId", str)
GraphId = NewType("GraphId", str)
