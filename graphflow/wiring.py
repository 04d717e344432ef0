"""Whether an output port may feed an input port: the rule the validator applies to every edge
and the canvas applies (in ``ui/canvas/js/ports.js``, the same rule) before it draws one.

Types: equal, either ``any``, or an integer into a number. Two object ports that both carry a
JSON schema (a function's pydantic model or TypedDict) are compared one level deep: every field
the input requires must be among the output's fields, and a field both declare must have
compatible types. A schema on one side only is not compared: the value is checked when the
node runs (``graphflow.nodes.function``).
"""

from __future__ import annotations

from typing import Any

from graphflow.model import PortSpec

_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array"})


def port_types_compatible(source: str, target: str) -> bool:
    return source == target or "any" in (source, target) or (source, target) == ("integer", "number")


def field_type(schema: Any) -> str:
    """A property's JSON type, ``any`` when it has none or several (``anyOf``, a ``$ref``)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind if isinstance(kind, str) and kind in _JSON_TYPES else "any"


def schema_mismatch(source: dict[str, Any], target: dict[str, Any]) -> str | None:
    """Why a value of the ``source`` schema cannot fit ``target``, or None when it can."""
    given: dict[str, Any] = source.get("properties") or {}
    wanted: dict[str, Any] = target.get("properties") or {}
    for name in target.get("required") or []:
        if name not in given:
            return f"field {name!r} is missing"
    for name, prop in wanted.items():
        if name in given and not port_types_compatible(field_type(given[name]), field_type(prop)):
            return f"field {name!r} is {field_type(given[name])}, not {field_type(prop)}"
    return None


def schema_name(port: PortSpec) -> str:
    title = (port.json_schema or {}).get("title")
    return title if isinstance(title, str) and title else port.type


def wiring_problem(source: str, out: PortSpec, target: str, inp: PortSpec) -> str | None:
    """The reason ``source.out -> target.inp`` is refused, or None."""
    if not port_types_compatible(out.type, inp.type):
        return f"{source}.{out.name} is {out.type} but {target}.{inp.name} expects {inp.type}"
    if out.json_schema and inp.json_schema:
        why = schema_mismatch(out.json_schema, inp.json_schema)
        if why is not None:
            return (f"{source}.{out.name} gives {schema_name(out)} but {target}.{inp.name} expects "
                    f"{schema_name(inp)}: {why}")
    return None
