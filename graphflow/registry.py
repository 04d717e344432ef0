"""Node kinds and Python functions a graph may name.

A graph file only ever names things that code registered; it never causes a module to
be imported. Modules are loaded because the user chose them: ``--plugin`` on the CLI (a
module name or a ``.py`` file), the ``GRAPHFLOW_PLUGINS`` environment variable (comma
separated), or an installed package's ``graphflow.plugins`` entry point. A plugin module
exposes ``register(registry)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
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


class Kinds(MutableMapping[str, NodeKind]):
    """Node kinds by name. A kind may be given as where its class is (``module:Class``): the
    module is imported, and the kind made, the first time the kind is looked up (iterating
    names imports nothing; ``values()`` and ``items()`` import every kind)."""

    def __init__(self, lazy: Mapping[str, str] | None = None) -> None:
        self._entries: dict[str, NodeKind | str] = dict(lazy or {})
        self._lock = threading.Lock()  # a compile in a worker thread may look a kind up too

    def __getitem__(self, name: str) -> NodeKind:
        entry = self._entries[name]
        if not isinstance(entry, str):
            return entry
        with self._lock:
            entry = self._entries[name]
            if isinstance(entry, str):
                entry = self._entries[name] = self._load(name, entry)
            return entry

    @staticmethod
    def _load(name: str, where: str) -> NodeKind:
        from graphflow.nodes import load_class

        kind = load_class(where)()
        if kind.kind != name:
            raise RegistryError(f"{where} makes node kind {kind.kind!r}, not {name!r}")
        return kind

    def __setitem__(self, name: str, kind: NodeKind) -> None:
        self._entries[name] = kind

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def without(self, names: set[str]) -> Kinds:
        """A copy without ``names``; what was not imported yet stays so."""
        kept = Kinds()
        kept._entries = {n: k for n, k in self._entries.items() if n not in names}
        return kept


class Registry:
    def __init__(self) -> None:
        self.kinds = Kinds()
        self.functions: dict[str, FunctionEntry] = {}
        self.graphs: dict[str, Any] = {}
        """Graphs an agent may call as tools, by id (``GraphSpec``s: a plugin's, or saved ones
        a workspace loaded)."""
        self.plugins: list[str] = []
        self.generation = 0
        """Counts ``reload_plugins``: what was compiled against an older generation may name old code."""
        self.plugin_files: dict[str, str] = {}
        """Each loaded plugin's source file, by its key in ``plugins`` (what a reload watches)."""
        self._from_plugins: set[tuple[str, str]] = set()
        """("kind" | "function" | "graph", name) of what the plugins registered: a reload
        replaces exactly these, keeping what code registered directly."""

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

    def load_plugin(self, name: str, *, fresh: bool = False) -> None:
        """Load a plugin by module name (``package.module``; the current folder is importable)
        or by file path (``path/to/file.py``), and call its ``register(registry)``. Every
        failure, the plugin's own code raising included, is one ``RegistryError`` line.
        ``fresh``: import the module again even if it was imported (a reload)."""
        key = str(Path(name).resolve()) if is_plugin_path(name) else name
        if key in self.plugins:
            return
        if is_plugin_path(name):
            module = import_plugin_file(name, fresh=fresh)
        else:
            module = import_plugin_module(name, fresh=fresh)
        register = getattr(module, "register", None)
        if not callable(register):
            raise RegistryError(f"plugin {name!r} has no register(registry) function")
        before = self._names()
        try:
            register(self)
        except RegistryError as exc:
            raise RegistryError(f"plugin {name!r}: {exc}") from None
        except Exception as exc:
            raise RegistryError(f"plugin {name!r}: register(registry) raised {one_line(exc)}") from None
        self._from_plugins |= self._names() - before
        self.plugins.append(key)
        source = getattr(module, "__file__", None)
        if isinstance(source, str):
            self.plugin_files[key] = source

    def _names(self) -> set[tuple[str, str]]:
        return ({("kind", n) for n in self.kinds} | {("function", n) for n in self.functions}
                | {("graph", n) for n in self.graphs})

    def reload_plugins(self) -> list[str]:
        """Import every loaded plugin again and replace what they registered, in one step: a
        plugin that fails now (a syntax error just saved) raises ``RegistryError`` and changes
        nothing. Graphs compiled before keep the function objects and kinds they were compiled
        with, so runs in flight finish on the old code; what compiles after gets the new. Only
        the plugin modules themselves are imported again, not the modules they import.
        Returns the plugins reloaded."""
        fresh = Registry()
        fresh.kinds = self.kinds.without({n for what, n in self._from_plugins if what == "kind"})
        fresh.functions = {n: f for n, f in self.functions.items() if ("function", n) not in self._from_plugins}
        fresh.graphs = {n: g for n, g in self.graphs.items() if ("graph", n) not in self._from_plugins}
        for key in self.plugins:
            fresh.load_plugin(key, fresh=True)
        # swap whole dicts: a compile running meanwhile sees the old registry or the new one
        self.kinds, self.functions, self.graphs = fresh.kinds, fresh.functions, fresh.graphs
        self._from_plugins, self.plugin_files = fresh._from_plugins, fresh.plugin_files
        self.generation += 1
        return list(self.plugins)

    def load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            self.load_plugin(ep.value.split(":")[0])


def is_plugin_path(name: str) -> bool:
    """``x.py``, ``./x``, ``dir/x.py`` are files; ``package.module`` is a module name."""
    return name.endswith(".py") or "/" in name or os.sep in name


def import_plugin_module(name: str, *, fresh: bool = False) -> ModuleType:
    if fresh and name in sys.modules:
        old = sys.modules.pop(name)
        try:
            return import_plugin_module(name)
        except RegistryError:
            sys.modules[name] = old  # the failed import leaves the working module in place
            raise
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        here = os.getcwd()
        # The plugin itself is missing (not one of its imports): it may be in the current folder,
        # which an installed console script does not put on sys.path.
        if exc.name != name.split(".")[0] or here in sys.path or "" in sys.path:
            raise RegistryError(f"cannot import plugin module {name!r}: {exc}") from None
        sys.path.append(here)
        return import_plugin_module(name)
    except Exception as exc:  # a syntax error or a raise in the plugin's own code
        raise RegistryError(f"cannot import plugin module {name!r}: {one_line(exc)}") from None


def import_plugin_file(name: str, *, fresh: bool = False) -> ModuleType:
    """Import a ``.py`` file as the module named by its stem (its folder goes on sys.path, so it
    can import the modules next to it). ``fresh``: run the file again as a new module."""
    path = Path(name).resolve()
    if not path.is_file():
        raise RegistryError(f"plugin file {name!r} not found" + ("" if path.suffix == ".py" else " (a .py file)"))
    stem = path.stem
    if not stem.isidentifier():
        raise RegistryError(f"plugin file {name!r}: {stem!r} is not a module name (use letters, digits, _)")
    loaded = sys.modules.get(stem)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            raise RegistryError(f"plugin file {name!r}: a module named {stem!r} is already imported; "
                                "rename the file")
        if not fresh:
            return loaded
    spec = importlib.util.spec_from_file_location(stem, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"plugin file {name!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module  # before it runs: pydantic and dataclasses look their module up
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if loaded is not None:
            sys.modules[stem] = loaded  # a failed reload leaves the working module in place
        else:
            del sys.modules[stem]
        raise RegistryError(f"cannot import plugin file {name!r}: {one_line(exc)}") from None
    return module


def one_line(exc: BaseException) -> str:
    """``SyntaxError: invalid syntax (plugin.py, line 3)``: the type and message, on one line."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def default_registry(plugins: Iterable[str] = (), *, installed: bool = True) -> Registry:
    """Built-in kinds, plus installed entry-point plugins, ``GRAPHFLOW_PLUGINS`` and ``plugins``."""
    from graphflow.nodes import BUILTIN

    registry = Registry()
    registry.kinds = Kinds(BUILTIN)
    if installed:
        registry.load_entry_points()
    env = os.environ.get(PLUGINS_ENV, "")
    for name in [*env.split(","), *plugins]:
        if name.strip():
            registry.load_plugin(name.strip())
    return registry
