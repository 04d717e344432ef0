"""Port types read from a registered function's annotations: what ``graphflow functions`` lists
and the ports of a function node (its parameters as inputs, its return annotation as ``out``).
Unannotated parameters are ``any``; a pydantic model or TypedDict gives its JSON schema, which
the wiring check compares and the function node validates values against."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NotRequired, Required

import typing_extensions
from pydantic import BaseModel, TypeAdapter

from graphflow.model import PortSpec, PortType

_SCALARS: dict[Any, PortType] = {str: "string", int: "integer", float: "number", bool: "boolean",
                                 list: "array", tuple: "array", set: "array", dict: "object"}


def port_type(annotation: Any) -> PortType:
    """``str`` -> string, ``int`` -> integer, ``float`` -> number, ``bool`` -> boolean, ``list[...]``
    -> array, ``dict[...]``, pydantic models and TypedDicts -> object; ``X | None`` is X's type, a
    ``Literal`` its values' type; a
    union of different types, ``Any`` and no annotation are ``any``."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        kinds: set[PortType] = {port_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "any"
    if origin is typing.Annotated:
        return port_type(typing.get_args(annotation)[0])
    if origin is typing.Literal:  # Literal["low", "high"] is a string
        values: set[PortType] = {port_type(type(a)) for a in typing.get_args(annotation)}
        return values.pop() if len(values) == 1 else "any"
    target = origin or annotation
    if target in _SCALARS:
        return _SCALARS[target]
    if isinstance(target, type) and (issubclass(target, BaseModel) or typing.is_typeddict(target)):
        return "object"
    return "any"


def hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations. When some name cannot be resolved (a type imported for type
    checking only, often ``NodeContext``), each annotation is resolved alone and the ones that
    fail are left out (their ports are ``any``)."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    found: dict[str, Any] = {}
    scope = getattr(inspect.unwrap(fn), "__globals__", {})
    for name, annotation in getattr(fn, "__annotations__", {}).items():
        holder = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=scope)
        try:
            found.update(typing.get_type_hints(holder, include_extras=True))
        except Exception:  # a forward reference to something not importable: any
            continue
    return found


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


# --- a function node's ports and how its inputs reach the function

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
SOLE_PORT = "in"


@dataclass(frozen=True, slots=True)
class InputParam:
    """One value parameter of a registered function, as an input port."""

    name: str
    annotation: Any
    type: PortType
    default: Any
    """``inspect.Parameter.empty`` when the parameter has none (then its port is required)."""
    positional_only: bool
    schema: dict[str, Any] | None
    """The JSON schema of a pydantic model or TypedDict annotation (``X | None`` too)."""
    adapter: TypeAdapter[Any] | None
    """Validates (and converts to the model) a value whose annotation holds a model or TypedDict."""


@dataclass(frozen=True, slots=True)
class FunctionSignature:
    params: tuple[InputParam, ...]
    """Positional value parameters, in order (``ctx`` and keyword-only ones left out);
    ``input_params`` picks which of them are ports."""
    var_positional: bool
    returns: PortType
    returns_schema: dict[str, Any] | None


def read_signature(fn: Callable[..., Any]) -> FunctionSignature:
    """The ports a function's signature gives, read once per function object (a reloaded
    plugin's functions are new objects, so they are read again)."""
    try:
        return _cached_signature(fn)
    except TypeError:  # an unhashable callable object
        return _signature(fn)


def _signature(fn: Callable[..., Any]) -> FunctionSignature:
    found = hints(fn)
    params: list[InputParam] = []
    var_positional = False
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind is p.VAR_POSITIONAL:
            var_positional = True
        if name == "ctx" or p.kind not in POSITIONAL:
            continue
        annotation = found.get(name, inspect.Parameter.empty)
        params.append(InputParam(name, annotation, port_type(annotation), p.default, p.kind is p.POSITIONAL_ONLY,
                                 model_schema(annotation), adapter_for(annotation)))
    returns = found.get("return", inspect.Parameter.empty)
    return FunctionSignature(tuple(params), var_positional, port_type(returns), model_schema(returns))


_cached_signature = functools.lru_cache(maxsize=4096)(_signature)


def input_params(signature: FunctionSignature, args: Iterable[str]) -> list[tuple[str, InputParam | None]]:
    """(port name, parameter) of each input port: the first positional parameter and every other
    one without a default. One with a default is a setting (the node's ``args``), as is any
    parameter ``args`` gives. The sole input is named ``in``; a function that takes only
    ``*args`` gets one ``in`` (parameter None: the value is passed positionally)."""
    given = set(args)
    params = [p for i, p in enumerate(signature.params)
              if p.name not in given and (i == 0 or p.default is inspect.Parameter.empty)]
    if not params:
        return [(SOLE_PORT, None)] if signature.var_positional and not signature.params else []
    if len(params) == 1:
        return [(SOLE_PORT, params[0])]
    return [(p.name, p) for p in params]


def function_ports(signature: FunctionSignature, args: Iterable[str]) -> tuple[tuple[PortSpec, ...],
                                                                                tuple[PortSpec, ...]]:
    """Input ports from the parameters, the output ``out`` from the return annotation. A sole
    input stays optional, as it always was (unwired, the function gets its default or None);
    several inputs are each required."""
    listed = input_params(signature, args)
    inputs = tuple(
        PortSpec(name=port, type="any" if p is None else p.type,
                 required=len(listed) > 1,
                 json_schema=None if p is None else p.schema)
        for port, p in listed
    )
    return inputs, (PortSpec(name="out", type=signature.returns, json_schema=signature.returns_schema),)


def _core(annotation: Any) -> Any:
    """``X`` of ``X | None`` and of ``Annotated[X, ...]``; anything else as it is."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _core(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _core(rest[0]) if len(rest) == 1 else annotation
    return annotation


def type_name(annotation: Any) -> str:
    """``Order`` for ``Order | None``; what an error calls the expected type."""
    core = _core(annotation)
    return getattr(core, "__name__", None) or str(core)


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and (issubclass(annotation, BaseModel) or typing.is_typeddict(annotation))


def holds_model(annotation: Any) -> bool:
    """A pydantic model or TypedDict anywhere in the annotation (``list[Order]``, ``Order | None``)."""
    return is_model(annotation) or any(holds_model(a) for a in typing.get_args(annotation))


def for_pydantic(annotation: Any) -> Any:
    """The annotation with each ``typing.TypedDict`` rebuilt as a ``typing_extensions`` one,
    which pydantic needs before Python 3.12 (the same keys, types and required keys)."""
    if typing.is_typeddict(annotation):
        required: frozenset[str] = getattr(annotation, "__required_keys__", frozenset())
        fields = {k: (Required if k in required else NotRequired)[for_pydantic(v)]
                  for k, v in typing.get_type_hints(annotation).items()}
        return typing_extensions.TypedDict(annotation.__name__, fields)  # type: ignore[operator]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.Union[tuple(for_pydantic(a) for a in args)]  # noqa: UP007 (built from a tuple)
    if origin in (list, dict, tuple, set) and args:
        generic: Any = origin
        return generic[tuple(for_pydantic(a) for a in args)]
    return annotation


def model_schema(annotation: Any) -> dict[str, Any] | None:
    core = _core(annotation)
    if not is_model(core):
        return None
    try:
        return TypeAdapter(for_pydantic(core)).json_schema()
    except Exception:  # a model pydantic cannot describe: no schema to show or compare
        return None


def adapter_for(annotation: Any) -> TypeAdapter[Any] | None:
    if annotation is inspect.Parameter.empty or not holds_model(annotation):
        return None
    try:
        return TypeAdapter(for_pydantic(annotation))
    except Exception:  # pydantic cannot validate it: the value is passed as it is
        return None
