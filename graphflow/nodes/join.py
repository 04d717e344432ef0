"""The join node waits for parallel branches and combines them by a strategy.

The join's behaviour is scheduling (cancel siblings, finish early at a quorum, hold
back a fallback until the one before it fails), so the planner (``plan.py``) carries
it out; this module holds its config and ports.

Strategies:
- ``all``: every live branch must succeed; the first failure fails the join and
  cancels the branches still running (fail fast). Output: ``{branch: value}``.
- ``best_effort``: waits for every branch; output ``{"results", "errors", "partial"}``.
  Fails only when a branch listed in ``required`` fails, or when every branch failed.
- ``quorum``: succeeds as soon as ``quorum`` branches succeeded, fails as soon as that
  becomes impossible; either way the branches still running are cancelled.
- ``first_success``: a fallback chain. ``mode="sequential"`` tries the branches in
  ``order`` one after another; ``mode="race"`` runs them all and takes the first
  success. Output: ``{"source": branch, "value": value}``.

A branch is named by the id of the node whose edge enters the join.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from graphflow.nodes.base import NodeConfig, NodeKind, port

JoinStrategy = Literal["all", "best_effort", "quorum", "first_success"]
TOLERANT_STRATEGIES = frozenset({"best_effort", "quorum", "first_success"})


class JoinConfig(NodeConfig):
    strategy: JoinStrategy = "all"
    quorum: int | None = Field(default=None, ge=1)
    """For ``quorum``: how many branches must succeed."""
    required: list[str] = Field(default_factory=list)
    """For ``best_effort``: branches whose failure fails the join."""
    order: list[str] = Field(default_factory=list)
    """For ``first_success``: branch order to try (default: edge order)."""
    mode: Literal["sequential", "race"] = "sequential"
    """For ``first_success``: one after another, or all at once."""

    @model_validator(mode="after")
    def _quorum_given(self) -> JoinConfig:
        if self.strategy == "quorum" and self.quorum is None:
            raise ValueError("strategy 'quorum' needs 'quorum': the number of branches that must succeed")
        return self


class JoinNode(NodeKind):
    kind = "join"
    title = "Join"
    description = "Combines parallel branches: all, best effort, quorum or first success."
    category = "routing"
    Config = JoinConfig
    inputs = (port("in", multi=True),)
    outputs = (port("out", "object"),)
