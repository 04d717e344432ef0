"""Port types read from a registered function's annotations, for listing what it takes and
returns (``graphflow functions``). Unannotated parameters are ``any``."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from graphflow.model import PortType

_SCALARS: dict[Any, PortType] = {str: "string", int: "integer", float: "number", bool: "boolean",
                                 list: "array", tuple: "array", set: "array", dict: "object"}


def port_type(annotation: Any) -> PortType:
    """``str`` -> string, ``int`` -> integer, ``float`` -> number, ``bool`` -> boolean, ``list[...]``
    -> array, ``dict[...]``, pydantic models and TypedDicts -> object; ``X | None`` is X's type; a
    union of different types, ``Any`` and no annotation are ``any``."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        kinds: set[PortType] = {port_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "any"
    if origin is typing.Annotated:
        return port_type(typing.get_args(annotation)[0])
    target = origin or annotation
    if target in _SCALARS:
        return _SCALARS[target]
    if isinstance(target, type) and (issubclass(target, BaseModel) or typing.is_typeddict(target)):
        return "object"
    return "any"


def hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations; ``{}`` when a name in them cannot be resolved."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a forward reference to something not importable: show them as any
        return {}


def ports_of(fn: Callable[..., Any]) -> tuple[list[tuple[str, PortType]], PortType]:
    """(parameter name, port type) for each value parameter (not ``ctx``, not ``*args``), and the
    return type."""
    found = hints(fn)
    params: list[tuple[str, PortType]] = [(name, port_type(found.get(name, inspect.Parameter.empty)))
              for name, p in inspect.signature(fn).parameters.items()
              if name != "ctx" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return params, port_type(found.get("return", inspect.Parameter.empty))


def signature_text(fn: Callable[..., Any]) -> str:
    """``(text: string, times: integer) -> string``."""
    params, returns = ports_of(fn)
    return "(" + ", ".join(f"{n}: {t}" for n, t in params) + f") -> {returns}"
