"""Node kinds and Python functions a graph may name.

A graph file only ever names things that code registered; it never causes a module to
be imported. Modules are loaded because the user chose them: ``--plugin`` on the CLI,
the ``GRAPHFLOW_PLUGINS`` environment variable (comma separated), or an installed
package's ``graphflow.plugins`` entry point. A plugin module exposes
``register(registry)``.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from graphflow.errors import RegistryError
from graphflow.nodes.base import NodeKind

ENTRY_POINT_GROUP = "graphflow.plugins"
PLUGINS_ENV = "GRAPHFLOW_PLUGINS"


@dataclass(frozen=True, slots=True)
class FunctionEntry:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    wants_ctx: bool
    blocking: bool
    """Sync code, run in a worker thread so it cannot block the event loop: every sync
    function unless registered ``non_blocking=True`` (then it runs inline, in the loop)."""
    description: str = ""


class Registry:
    def __init__(self) -> None:
        self.kinds: dict[str, NodeKind] = {}
        self.functions: dict[str, FunctionEntry] = {}
        self.graphs: dict[str, Any] = {}
        """Graphs an agent may call as tools, by id (``GraphSpec``s: a plugin's, or saved ones
        a workspace loaded)."""
        self.plugins: list[str] = []

    def register_kind(self, kind: type[NodeKind] | NodeKind, *, replace: bool = False) -> NodeKind:
        instance = kind() if isinstance(kind, type) else kind
        name = getattr(instance, "kind", None)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{instance!r} has no 'kind' name")
        if name in self.kinds and not replace:
            raise RegistryError(f"node kind {name!r} is already registered")
        self.kinds[name] = instance
        return instance

    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        blocking: bool = False,
        non_blocking: bool = False,
        description: str = "",
        replace: bool = False,
    ) -> FunctionEntry:
        """A sync function runs in a worker thread (``blocking`` is the default and is kept
        for old callers); ``non_blocking=True`` promises it is quick and pure enough to run
        in the event loop itself, which is much cheaper for tiny functions."""
        if name in self.functions and not replace:
            raise RegistryError(f"function {name!r} is already registered")
        if blocking and non_blocking:
            raise RegistryError(f"function {name!r}: blocking and non_blocking contradict each other")
        params = inspect.signature(fn).parameters
        is_async = inspect.iscoroutinefunction(fn)
        entry = FunctionEntry(
            name=name,
            fn=fn,
            is_async=is_async,
            wants_ctx="ctx" in params,
            blocking=not is_async and not non_blocking,
            description=description or (inspect.getdoc(fn) or "").split("\n")[0],
        )
        self.functions[name] = entry
        return entry

    def register_graph(self, spec: Any, *, replace: bool = False) -> None:
        """Make a graph (a ``GraphSpec``) callable as an agent's tool by its id."""
        if spec.id in self.graphs and not replace:
            raise RegistryError(f"graph {spec.id!r} is already registered")
        self.graphs[spec.id] = spec

    def function(self, name: str, *, blocking: bool = False,
                 non_blocking: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of ``register_function``."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register_function(name, fn, blocking=blocking, non_blocking=non_blocking)
            return fn

        return decorate

    def kind(self, name: str) -> NodeKind:
        try:
            return self.kinds[name]
        except KeyError:
            raise RegistryError(f"unknown node kind {name!r}") from None

    def load_plugin(self, module_name: str) -> None:
        if module_name in self.plugins:
            return
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise RegistryError(f"cannot import plugin module {module_name!r}: {exc}") from exc
        register = getattr(module, "register", None)
        if not callable(register):
            raise RegistryError(f"plugin module {module_name!r} has no register(registry) function")
        register(self)
        self.plugins.append(module_name)

    def load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            self.load_plugin(ep.value.split(":")[0])


def default_registry(plugins: Iterable[str] = (), *, installed: bool = True) -> Registry:
    """Built-in kinds, plus installed entry-point plugins, ``GRAPHFLOW_PLUGINS`` and ``plugins``."""
    from graphflow.nodes import BUILTIN_KINDS

    registry = Registry()
    for kind in BUILTIN_KINDS:
        registry.register_kind(kind)
    if installed:
        registry.load_entry_points()
    env = os.environ.get(PLUGINS_ENV, "")
    for name in [*env.split(","), *plugins]:
        if name.strip():
            registry.load_plugin(name.strip())
    return registry
