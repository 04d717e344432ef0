"""An agent's finished steps, as recorded in its nested events, and the conversation they
make.

The agent node records every model turn (``agent_step``) and every finished tool call
(``tool_call``) durably before it goes on, and keeps them here. After a crash the journal
is rebuilt from the log (``from_events``), so the agent continues after its last finished
step: recorded model turns are not asked again, recorded tool calls are not made again, and
the calls of the last step that have no result yet run with their own idempotency keys.
A retry of the node in the same process keeps the journal, so it continues the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_RESULT_CHARS = 16_000
"""Characters of a tool's result the model is shown (the rest is cut, and it is told so)."""


def tool_content(result: Any, error: str | None) -> str:
    """What the model is told a call returned: its result as JSON (text as is), or its error."""
    if error is not None:
        text = json.dumps({"error": error}, ensure_ascii=False)
    elif isinstance(result, str):
        text = result
    else:
        text = json.dumps(result, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"... [cut: {len(text):,} characters, the first {MAX_RESULT_CHARS:,} shown]"
    return text


@dataclass
class Step:
    fields: dict[str, Any]
    """The ``agent_step`` event's fields."""
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The ``tool_call`` fields by call index, for calls whose result the model gets."""

    @property
    def number(self) -> int:
        return int(self.fields["step"])

    @property
    def calls(self) -> list[dict[str, Any]]:
        return list(self.fields.get("tool_calls") or [])

    def missing(self) -> list[int]:
        """Indices of the calls asked for that have no recorded result yet."""
        return [i for i in range(len(self.calls)) if i not in self.results]


@dataclass
class Journal:
    steps: list[Step] = field(default_factory=list)

    @classmethod
    def from_events(cls, events: Iterable[Any]) -> Journal:
        journal = cls()
        for event in events:
            if event.kind == "agent_step":
                journal.add_step(event.model_dump())
            elif event.kind == "tool_call":
                journal.add_result(event.model_dump())
        return journal

    @property
    def last(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def add_step(self, fields: dict[str, Any]) -> None:
        expected = len(self.steps) + 1
        if fields["step"] != expected:
            raise ValueError(f"agent step {fields['step']} recorded after step {expected - 1}")
        self.steps.append(Step(fields))

    def add_result(self, fields: dict[str, Any]) -> None:
        if fields.get("fatal"):
            return  # the node failed on it; the model never saw it, a retry calls the tool again
        step = fields["step"]
        if not 1 <= step <= len(self.steps):
            raise ValueError(f"a tool call of agent step {step}, which is not recorded")
        self.steps[step - 1].results[int(fields["index"])] = fields

    @property
    def tokens_in(self) -> int:
        return sum(int(s.fields.get("tokens_in", 0)) for s in self.steps)

    @property
    def tokens_out(self) -> int:
        return sum(int(s.fields.get("tokens_out", 0)) for s in self.steps)

    @property
    def cost(self) -> float:
        steps = sum(float(s.fields.get("cost", 0.0)) for s in self.steps)
        return steps + sum(float(r.get("cost", 0.0)) for s in self.steps for r in s.results.values())

    @property
    def tokens(self) -> int:
        calls = sum(int(r.get("tokens", 0)) for s in self.steps for r in s.results.values())
        return self.tokens_in + self.tokens_out + calls

    @property
    def tool_calls(self) -> int:
        return sum(len(s.calls) for s in self.steps)

    def messages(self) -> list[dict[str, Any]]:
        """The conversation after the opening messages: each turn, then its calls' results."""
        out: list[dict[str, Any]] = []
        for step in self.steps:
            turn: dict[str, Any] = {"role": "assistant", "content": step.fields.get("text") or None}
            if step.calls:
                turn["tool_calls"] = [{"id": c["id"], "type": "function",
                                       "function": {"name": c["name"], "arguments": c["arguments"]}}
                                      for c in step.calls]
            out.append(turn)
            for index, call in enumerate(step.calls):
                result = step.results.get(index)
                if result is not None:
                    out.append({"role": "tool", "tool_call_id": call["id"],
                                "content": tool_content(result.get("result"), result.get("error"))})
        return out
