"""Run from here: a new run of a graph from one node. That node and everything downstream of it
run again; every other node's output is reused from an earlier run of the graph, with that run's
inputs (``resume.seed_from`` does the seeding, as for a resume from a failure).

An earlier run fits when every node to reuse succeeded in it (or was skipped, which the new run
decides again from the reused outputs) and none of them changed since its version: a stale
output is never reused silently. The verdicts here are pure: the workspace loads the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphflow import events as ev
from graphflow.compile import CompiledGraph
from graphflow.model import GraphSpec
from graphflow.ports import GraphVersion, RunSummary
from graphflow.resume import Seed, changed_nodes
from graphflow.state import RunState

REUSABLE = frozenset({ev.NodeStatus.SUCCEEDED, ev.NodeStatus.SKIPPED})


def rerun_set(compiled: CompiledGraph, node_id: str) -> list[str]:
    """The nodes a run from ``node_id`` runs again (it and its descendants), in run order;
    ``ValueError`` saying why no run can start there."""
    if node_id not in compiled.nodes:
        raise ValueError(f"graph {compiled.spec.id!r} has no node {node_id!r}")
    if compiled.nodes[node_id].spec.kind == "input":
        raise ValueError(f"{node_id!r} is an input node: it only passes the run's inputs on, so run the whole "
                         "graph instead (a run from here reuses the earlier run's inputs)")
    import networkx as nx  # late: only runs from a node need it

    again = {node_id} | nx.descendants(compiled.nx, node_id)
    return [n for n in compiled.order if n in again]


@dataclass(frozen=True)
class RunFrom:
    """A run from a node, ready to start (``Workspace.plan_from``)."""

    graph: GraphVersion
    """The version that runs."""
    node_id: str
    rerun: list[str]
    """The node and its descendants, in run order: they run again."""
    earlier: RunSummary
    """The run whose outputs (and inputs) are reused."""
    seed: Seed

    @property
    def reused(self) -> list[str]:
        return [n.id for n in self.graph.spec.nodes if n.id in self.seed.outputs]


@dataclass(frozen=True)
class Verdict:
    """Whether an earlier run's outputs can be reused for a run from a node."""

    run_id: str
    missing: list[str]
    """Nodes to reuse that did not succeed in that run, each with what happened (``'a' failed``)."""
    changed: list[str]
    """Nodes to reuse whose spec changed since that run's version."""

    @property
    def fits(self) -> bool:
        return not self.missing and not self.changed


def verdict(events: Sequence[ev.Event], old: GraphSpec, new: GraphSpec, rerun: Sequence[str]) -> Verdict:
    """``events``: the earlier run's log, ``old``: the version it ran, ``new``: the version to run."""
    state = RunState.from_events(events)
    again = set(rerun)
    missing = []
    for node in new.nodes:
        record = state.nodes.get(node.id)
        if node.id in again or (record is not None and record.status in REUSABLE and not record.degraded):
            continue
        what = "not in that run" if record is None else "degraded" if record.degraded else str(record.status)
        missing.append(f"{node.id!r} {what}")
    missing.sort(key=lambda text: not text.endswith((" failed", " degraded")))  # the causes first
    changed = [n for n in changed_nodes(old, new) if n not in again]
    return Verdict(state.run_id, missing, changed)


def no_fit(graph_id: str, node_id: str, verdicts: Sequence[Verdict], named: bool) -> str:
    """Why no run of ``verdicts`` (newest first; the one named with ``--after`` when ``named``) fits."""
    where = f"a run of {graph_id!r} from {node_id!r}"
    if not verdicts:
        return f"{where} reuses an earlier run's outputs, and the graph has no run yet: run it whole first"
    stale = next((v for v in verdicts if not v.missing), None)
    if stale is not None:
        nodes = ", ".join(repr(n) for n in stale.changed)
        return (f"{where} cannot reuse run {stale.run_id}: {nodes} changed since that run, so "
                f"{'its' if len(stale.changed) == 1 else 'their'} output there is stale (run from there "
                "instead, or run the whole graph)")
    latest = verdicts[0]
    shown = ", ".join(latest.missing[:5]) + (f" and {len(latest.missing) - 5} more" if len(latest.missing) > 5 else "")
    if named:
        return (f"{where} cannot reuse run {latest.run_id}: not every node outside its downstream succeeded "
                f"there ({shown})")
    return (f"{where} needs an earlier run in which every node outside its downstream succeeded; none of the latest "
            f"{len(verdicts)} run{'s' if len(verdicts) != 1 else ''} has that (latest, {latest.run_id}: {shown})")
