"""Latency, success and cost statistics from run event logs. Pure: no I/O, no clock.

Input is a sequence of runs, each the run's events in seq order (what
``RunStore.runs_for_stats`` returns). Percentiles use linear interpolation between
closest ranks (numpy's default, Hyndman & Fan type 7): for sorted values ``x`` of length
``n`` the p-th percentile is ``x[k] + (x[k+1] - x[k]) * f`` with ``k + f = p/100 * (n-1)``.
Statistics over nothing are ``None`` (percentiles, success rate) or 0 (counts, cost).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphflow import events as ev


@dataclass(frozen=True, slots=True)
class NodeStats:
    node_id: str
    runs: int
    """Runs in which the node ran (was started, or finished from the cache)."""
    p50: float | None
    """Median duration (seconds) of the node's success and failure events."""
    p95: float | None
    success_rate: float | None
    """Of the runs in which the node finished (succeeded or failed), the share that succeeded
    (a degraded success, an optional node's default output after a failure, counts as failed)."""
    retries: int
    """``node_retrying`` events over all runs."""
    cost_per_1k_runs: float
    """Cost of the node's attempts, per 1,000 runs it ran in."""
    tokens_per_run: float = 0.0
    """Tokens (in + out) its attempts spent, on average over the runs it ran in."""
    answered_by: dict[str, int] = field(default_factory=dict[str, int])
    """A cascaded model node: successes per model that gave the answer."""
    saved: float = 0.0
    """A cascaded model node: cost saved against always asking its larger model (all runs)."""


@dataclass(frozen=True, slots=True)
class GraphStats:
    runs: int
    p50: float | None
    """Median run duration (seconds), from ``run_finished`` events."""
    p95: float | None
    success_rate: float | None
    """Share of the runs that finished with status ``succeeded``."""
    cost_per_1k_runs: float
    tokens_per_run: float = 0.0


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100) by linear interpolation; None for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    data = sorted(values)
    if not data:
        return None
    rank = p / 100 * (len(data) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def run_cost(events: Iterable[ev.Event]) -> float:
    """A run's cost: ``run_finished.cost`` when the runner totalled it, else its nodes' costs."""
    total = 0.0
    for event in events:
        if isinstance(event, ev.NodeSucceeded | ev.NodeFailed):
            total += event.cost
        elif isinstance(event, ev.RunFinished) and event.cost:
            total = event.cost
    return total


def _per_1k(cost: float, runs: int) -> float:
    return cost / runs * 1000 if runs else 0.0


@dataclass
class _NodeTally:
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    retries: int = 0
    cost: float = 0.0
    tokens: int = 0
    durations: list[float] = field(default_factory=list)
    answered_by: dict[str, int] = field(default_factory=dict)
    saved: float = 0.0


def node_stats(runs: Sequence[Sequence[ev.Event]]) -> list[NodeStats]:
    """Per node, in the order nodes first appear (a run's ``node_ids`` first)."""
    tallies: dict[str, _NodeTally] = {}
    for events in runs:
        ran: set[str] = set()
        outcome: dict[str, bool] = {}
        for event in events:
            if isinstance(event, ev.RunStarted):
                for node_id in event.node_ids:
                    tallies.setdefault(node_id, _NodeTally())
                continue
            node_id = getattr(event, "node_id", None)
            if node_id is None:
                continue
            tally = tallies.setdefault(node_id, _NodeTally())
            if isinstance(event, ev.NodeStarted | ev.NodeSucceeded | ev.NodeFailed):
                ran.add(node_id)
            if isinstance(event, ev.NodeSucceeded | ev.NodeFailed):
                tally.durations.append(event.duration)
                tally.cost += event.cost
                tally.tokens += event.tokens
                if isinstance(event, ev.NodeSucceeded) and not event.cached:
                    _count_cascade(tally, event.output)
                # a degraded success is the node failing (its default output stood in)
                outcome[node_id] = isinstance(event, ev.NodeSucceeded) and not event.degraded
            elif isinstance(event, ev.NodeRetrying):
                tally.retries += 1
        for node_id in ran:
            tallies[node_id].runs += 1
        for node_id, ok in outcome.items():
            if ok:
                tallies[node_id].succeeded += 1
            else:
                tallies[node_id].failed += 1
    return [
        NodeStats(
            node_id=node_id, runs=t.runs, p50=percentile(t.durations, 50), p95=percentile(t.durations, 95),
            success_rate=t.succeeded / (t.succeeded + t.failed) if t.succeeded + t.failed else None,
            retries=t.retries, cost_per_1k_runs=_per_1k(t.cost, t.runs),
            tokens_per_run=t.tokens / t.runs if t.runs else 0.0, answered_by=t.answered_by, saved=t.saved,
        )
        for node_id, t in tallies.items()
    ]


def _count_cascade(tally: _NodeTally, output: dict[str, Any]) -> None:
    usage = output.get("usage")
    cascade = usage.get("cascade") if isinstance(usage, dict) else None
    if not isinstance(cascade, dict):
        return
    model = str(cascade.get("answered_by", "?"))
    tally.answered_by[model] = tally.answered_by.get(model, 0) + 1
    saved = cascade.get("saved")
    if isinstance(saved, int | float):
        tally.saved += float(saved)


def graph_stats(runs: Sequence[Sequence[ev.Event]]) -> GraphStats:
    """Over whole runs: how many, their duration percentiles, success rate and cost."""
    durations: list[float] = []
    succeeded = 0
    cost = 0.0
    tokens = 0
    for events in runs:
        for event in events:
            if isinstance(event, ev.RunFinished):
                durations.append(event.duration)
                succeeded += event.status == "succeeded"
            elif isinstance(event, ev.NodeSucceeded | ev.NodeFailed):
                tokens += event.tokens
        cost += run_cost(events)
    count = len(runs)
    return GraphStats(
        runs=count, p50=percentile(durations, 50), p95=percentile(durations, 95),
        success_rate=succeeded / count if count else None, cost_per_1k_runs=_per_1k(cost, count),
        tokens_per_run=tokens / count if count else 0.0,
    )
