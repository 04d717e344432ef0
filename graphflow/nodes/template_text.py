"""The template node's text: filling its placeholders at run time, and checking them against
what is wired in before any run (a ``{question}`` fed a string fails every run)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from graphflow.model import PortSpec

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
_ROOTS = ("value", "input", "inputs")
_SCALARS = {"string": "a string", "number": "a number", "integer": "a number", "boolean": "a boolean",
            "array": "a list"}


def render_template(template: str, data: Any, run_inputs: Mapping[str, Any] | None = None) -> str:
    """Fill placeholders by key lookup only (never ``str.format``, which can reach attributes).
    A field of the input named ``value``, ``input`` or ``inputs`` wins over the root of that name,
    so templates written before the roots existed mean what they meant."""

    def lookup(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] in _ROOTS and not (isinstance(data, Mapping) and path[0] in data):
            value: Any = (run_inputs or {}) if path[0] == "inputs" else data
            keys = path[1:]
        elif isinstance(data, Mapping) or data is None:
            value, keys = data or {}, path
        else:
            raise KeyError(f"template placeholder {{{match.group(1)}}}: the input is {_kind(data)}, not an object; "
                           "use {value} for the whole input")
        for key in keys:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise KeyError(f"template placeholder {{{match.group(1)}}}: no key {key!r}")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return _PLACEHOLDER.sub(lookup, template)


def _kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list"}.get(
        type(value), type(value).__name__)


def template_problems(template: str, fed: PortSpec | None, run_inputs: frozenset[str]) -> list[str]:
    """Why placeholders would fail with input from ``fed`` (None: not connected), one message each.
    An ``any`` input, or an object without a known schema, may hold any field: not checked."""
    problems = []
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(template)):
        why = _placeholder_problem(placeholder.split("."), fed, run_inputs)
        if why:
            problems.append(f"config.template: placeholder {{{placeholder}}}: {why}")
    return problems


def _placeholder_problem(path: list[str], fed: PortSpec | None, run_inputs: frozenset[str]) -> str | None:
    fields = _known_fields(fed)
    rooted = False
    if path[0] in _ROOTS and not (fields is not None and path[0] in fields):
        if path[0] == "inputs":
            if len(path) > 1 and path[1] not in run_inputs:
                return f"the graph has no input {path[1]!r} (has: {', '.join(sorted(run_inputs)) or 'none'})"
            return None
        path, rooted = path[1:], True
        if not path:
            return None
    if fed is None:
        return "the template's input is not connected; use {inputs.NAME} for a run input"
    if fed.type == "array" and path[0].isdigit() and rooted:
        return None
    if fed.type in _SCALARS:
        return f"the input ({fed.name} of type {fed.type}) is {_SCALARS[fed.type]}, not an object; " \
            "use {value} for the whole input"
    if fields is not None and path[0] not in fields:
        return f"the input has no field {path[0]!r} (has: {', '.join(fields) or 'none'})"
    return None


def _known_fields(fed: PortSpec | None) -> list[str] | None:
    """The fields an object input is known to have (from its JSON schema), or None when any may come."""
    schema = fed.json_schema if fed is not None else None
    if not schema or "properties" not in schema or schema.get("additionalProperties", False) is not False:
        return None
    return list(schema["properties"])
