"""Events as one line of text: the one describer behind every event log (CLI progress,
the live run panel, replay).

``describe(event, t0=run_start)`` writes the time as an offset into the run ("+123 ms");
without ``t0`` it is the wall-clock time of day ("14:03:07.123").
"""

from __future__ import annotations

import json
from typing import Any

from graphflow import events as ev
from graphflow.formatting import clock, cost, duration, moment, offset
from graphflow.state import NodeRecord

SHORT = 80
"""Characters of a value shown in one line of a step (arguments, results, answers)."""


def short(value: Any, limit: int = SHORT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def step_text(event: ev.AgentStep) -> str:
    names = [str(c.get("name", "")) for c in event.tool_calls]
    said = f"calls {', '.join(names)}" if names else f"answers: {short(event.text)}"
    spent = f" [{event.tokens_in + event.tokens_out} tokens, ${cost(event.cost)}]" if (
        event.tokens_in or event.tokens_out or event.cost) else ""
    return f"{event.node_id} step {event.step}: {said}{spent} in {duration(event.duration)}"


def call_text(name: str, arguments: Any, result: Any, error: str | None) -> str:
    outcome = f"error: {short(error)}" if error is not None else short(result)
    return f"{name}({args_text(arguments)}) -> {outcome}"


def args_text(arguments: Any) -> str:
    """``order_id": "A1"`` style: an object's braces dropped."""
    if isinstance(arguments, dict):
        inner = ", ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False, default=str)}"
                          for k, v in arguments.items())
        return short(inner, 60)
    return short(arguments, 60)


def steps_lines(record: NodeRecord) -> list[str]:
    """An agent node's steps, one line per model turn and per tool call (``graphflow show``)."""
    lines: list[str] = []
    for step in record.steps:
        names = ", ".join(c.name for c in step.calls)
        said = f"calls {names}" if step.calls else f"answers: {short(step.text)}"
        lines.append(f"step {step.step}: {said} [{step.tokens} tokens, ${cost(step.cost)}, "
                     f"{duration(step.duration)}]")
        for call in step.calls:
            if call.status == "running":
                lines.append(f"  #{call.index} {call.name}({args_text(call.arguments)}) ... running")
            else:
                lines.append(f"  #{call.index} {call_text(call.name, call.arguments, call.result, call.error)} "
                             f"[{duration(call.duration)}]")
    return lines


def success_notes(event: ev.NodeSucceeded) -> list[str]:
    """What a success adds: degraded (with the failure), cached, reused."""
    notes = [f"degraded: {event.error}" if event.error else "degraded"] if event.degraded else []
    if event.cached:
        notes.append("cached")
    if event.reused_from:
        notes.append(f"reused from {event.reused_from}")
    return notes


def reuse_text(event: ev.RunStarted) -> str:
    """``run from node 'd', reusing run R`` / ``resumed from R``; empty for a plain run."""
    if event.from_node:
        return f"run from node {event.from_node!r}, reusing run {event.resumed_from}"
    return f"resumed from {event.resumed_from}" if event.resumed_from else ""


def usage_note(event: ev.NodeSucceeded | ev.NodeFailed) -> str:
    """``" (120 tokens, $0.0012)"`` when the node spent any; tokens in/out from a model node's usage."""
    if not event.tokens and not event.cost:
        return ""
    usage = event.output.get("usage") if isinstance(event, ev.NodeSucceeded) and not event.cached else None
    split = ""
    if isinstance(usage, dict) and isinstance(usage.get("tokens_in"), int):
        split = f" ({usage['tokens_in']} in, {usage.get('tokens_out', 0)} out)"
    return f" [{event.tokens} tokens{split}, ${cost(event.cost)}]"


def wait_text(wait: dict[str, Any], at: float) -> str:
    """``decision 'r1.review' (due 14:03:07.123)``: what a node waits for, as people read it, seen
    at ``at`` (the due time has its date when it is not that day)."""
    key = f" {wait['key']!r}" if wait.get("key") else ""
    due = f" (due {moment(wait['due_at'], at)})" if wait.get("due_at") is not None else ""
    node = f"{wait['node_id']}: " if wait.get("node_id") else ""
    return f"{node}{wait.get('kind')}{key}{due}"


def detail(event: ev.Event) -> str:
    """What the event says beyond its kind: the node, then what happened to it."""
    if isinstance(event, ev.RunStarted):
        return f"graph {event.graph_id}" + (f" v{event.graph_version}" if event.graph_version else "") + (
            reuse_text(event) and f", {reuse_text(event)}")
    if isinstance(event, ev.RunFinished):
        text = event.status + (f" at {event.failed_node}" if event.failed_node else "")
        text += f": {event.error}" if event.error else ""
        text += f" (degraded: {', '.join(event.degraded)})" if event.degraded else ""
        text += f" (stopped early: {event.stopped_early})" if event.stopped_early else ""
        text += f" [{event.tokens} tokens, ${cost(event.cost)}]" if event.tokens or event.cost else ""
        return text + f" in {duration(event.duration)}"
    if isinstance(event, ev.RunCancelled):
        return (event.reason or "cancelled") + f" after {duration(event.duration)}"
    if isinstance(event, ev.RunResumed):
        return event.reason
    if isinstance(event, ev.BreakerChanged):
        return f"{event.breaker}: {event.from_state} -> {event.to_state}" + (
            f" ({event.reason})" if event.reason else "")
    if isinstance(event, ev.NodeStarted):
        return event.node_id + (f" (attempt {event.attempt})" if event.attempt > 1 else "")
    if isinstance(event, ev.NodeSucceeded):
        notes = success_notes(event)
        attempt = f", attempt {event.attempt}" if event.attempt > 1 else ""
        return (f"{event.node_id} in {duration(event.duration)}{attempt}" + (f" ({'; '.join(notes)})" if notes else "")
                + usage_note(event))
    if isinstance(event, ev.NodeFailed):
        text = f"{event.node_id} (attempt {event.attempt}) in {duration(event.duration)}: " \
               f"{event.error_type}: {event.error_message}" + usage_note(event)
        if event.edges_taken:
            return text + f" -> error edge {', '.join(event.edges_taken)}"
        return text + (" (handled by a join)" if event.handled else "")
    if isinstance(event, ev.NodeRetrying):
        return (f"{event.node_id} (attempt {event.attempt}): {event.error_type}: {event.error_message}, "
                f"retry in {duration(event.delay)}")
    if isinstance(event, ev.AgentStep):
        return step_text(event)
    if isinstance(event, ev.ToolCalled):
        return (f"{event.node_id} step {event.step} #{event.index} "
                f"{call_text(event.name, event.arguments, event.result, event.error)} in {duration(event.duration)}"
                + (" (fails the node)" if event.fatal else ""))
    if isinstance(event, ev.RunWaiting):
        return "waiting for " + "; ".join(wait_text(w, event.at) for w in event.waits)
    if isinstance(event, ev.NodeWaiting):
        return f"{event.node_id}: " + wait_text({"kind": event.wait_kind, "key": event.key, "due_at": event.due_at},
                                                    event.at)
    if isinstance(event, ev.MapProgress):
        return f"{event.node_id} {event.done}/{event.total}" + (f" ({event.failed} failed)" if event.failed else "")
    return event.node_id + (f": {event.reason}" if event.reason else "")  # skipped, cancelled


def describe(event: ev.Event, t0: float | None = None) -> str:
    """``<time>  <kind>  <detail>``; the time is an offset from ``t0``, or wall clock without it."""
    at = offset(event.at - t0) if t0 is not None else clock(event.at)
    return f"{at}  {event.kind}  {detail(event)}".rstrip()
