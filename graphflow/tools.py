"""Registered Python functions as an agent's tools: a JSON schema from the signature, calls
checked against it.

A tool is a function registered like any other (``Registry.register_function``) whose
parameters are named and typed: ``def lookup_order(order_id: str) -> dict``. Its schema
comes from the type hints (through pydantic, so ``Literal``, ``list[int]``, models and
defaults all work) and its descriptions from the docstring: the first paragraph describes
the tool, an ``Args:`` section (or ``:param name:`` lines) each parameter. The same model
that makes the schema checks the model's arguments, so a bad call is a clear error the
agent hands back to the model, never a ``TypeError`` from deep inside the function.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

if TYPE_CHECKING:
    from graphflow.registry import FunctionEntry

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What chat-completions servers accept as a function name."""


class ToolDefinitionError(ValueError):
    """A function cannot be a tool (``*args``, a bad name); the message says which and why."""


class ToolArgumentsInvalid(ValueError):
    """The model's arguments are not JSON, or do not fit the tool's parameters."""


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    """The name the model calls it by."""
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""
    arguments: type[BaseModel]
    entry: FunctionEntry

    def definition(self) -> dict[str, Any]:
        """The ``tools`` entry of a chat-completions request."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def parse(self, raw: str) -> dict[str, Any]:
        """The model's argument text as keyword arguments; ``ToolArgumentsInvalid`` saying why not."""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolArgumentsInvalid(f"the arguments are not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ToolArgumentsInvalid(f"the arguments must be a JSON object, not {type(data).__name__}")
        try:
            model = self.arguments.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                                 for e in exc.errors(include_url=False))
            raise ToolArgumentsInvalid(f"invalid arguments: {problems}") from None
        return {name: getattr(model, name) for name in type(model).model_fields}


def param_docs(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a Google-style ``Args:`` section or
    Sphinx ``:param name:`` lines; the description is the text before any section."""
    head: list[str] = []
    params: dict[str, str] = {}
    section, current, indent = "head", None, None
    for line in inspect.cleandoc(doc).splitlines() if doc else []:
        text = line.strip()
        if sphinx := re.match(r":param\s+(?:\S+\s+)?(\w+):\s*(.*)", text):
            section, current = "params", sphinx.group(1)
            params[current] = sphinx.group(2)
        elif re.fullmatch(r"(Args|Arguments|Parameters):", text):
            section, current, indent = "args", None, None
        elif re.fullmatch(r"[A-Z][A-Za-z ]*:", text) or text.startswith(":"):
            section, current = "other", None  # Returns:, Raises:, :returns:
        elif section == "head":
            head.append(text)
        elif section == "args" and (arg := re.match(r"(\w+)\s*(?:\([^)]*\))?:\s*(.*)", text)) and (
                indent is None or len(line) - len(line.lstrip()) == indent):
            indent = len(line) - len(line.lstrip())
            current = arg.group(1)
            params[current] = arg.group(2)
        elif section in ("args", "params") and current is not None and text:
            params[current] += " " + text
    return " ".join(" ".join(head).split()), params


def tool_from_function(entry: FunctionEntry, name: str = "", description: str = "") -> Tool:
    """A tool calling ``entry``'s function with the model's arguments as keywords."""
    name = name or entry.name.rsplit(".", 1)[-1]
    if not TOOL_NAME.match(name):
        raise ToolDefinitionError(f"tool name {name!r} must be 1-64 letters, digits, '_' or '-' (give it a name)")
    fn = entry.fn
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # an annotation that does not resolve
        raise ToolDefinitionError(f"function {entry.name!r}: its type hints do not resolve ({exc})") from None
    doc, docs = param_docs(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.name == "ctx":
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ToolDefinitionError(f"function {entry.name!r}: parameter {param.name!r} is {param.kind.description};"
                                      " a tool's parameters must be named")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), Field(default, description=docs.get(param.name)))
    try:
        model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
    except Exception as exc:  # a type pydantic cannot describe
        raise ToolDefinitionError(f"function {entry.name!r}: no JSON schema for its parameters ({exc})") from None
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return Tool(name, description or doc or entry.description or name, schema, model, entry)


__all__ = ["Tool", "ToolArgumentsInvalid", "ToolDefinitionError", "param_docs", "tool_from_function"]
