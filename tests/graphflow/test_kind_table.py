"""Built-in node kinds load on first lookup (``graphflow.registry.Kinds``)."""

from __future__ import annotations

import pytest

from graphflow.errors import RegistryError
from graphflow.nodes import BUILTIN, load_class
from graphflow.registry import Kinds, default_registry


def test_every_builtin_entry_makes_the_kind_it_is_listed_as():
    registry = default_registry(installed=False)
    assert list(registry.kinds) == list(BUILTIN)
    assert [kind.kind for kind in registry.kinds.values()] == list(BUILTIN)


def test_a_kind_is_made_once_and_kept():
    kinds = Kinds({"stop": BUILTIN["stop"]})
    assert kinds["stop"] is kinds["stop"]
    assert kinds.get("nosuch") is None and "stop" in kinds and len(kinds) == 1


def test_an_entry_that_makes_another_kind_is_refused_on_lookup():
    kinds = Kinds({"join": BUILTIN["stop"]})
    with pytest.raises(RegistryError, match="makes node kind 'stop', not 'join'"):
        kinds["join"]


def test_without_keeps_what_was_not_loaded_unloaded():
    kinds = Kinds({"stop": BUILTIN["stop"], "delay": BUILTIN["delay"]})
    stop = kinds["stop"]
    kept = kinds.without({"delay"})
    assert list(kept) == ["stop"] and kept["stop"] is stop
    assert isinstance(kinds._entries["delay"], str)  # noqa: SLF001 - what "not loaded" means


def test_a_plugin_reload_keeps_the_builtins_and_replaces_a_kind_it_registered(tmp_path):
    plugin = tmp_path / "halt_plugin.py"
    plugin.write_text(
        "from graphflow.nodes import load_class, BUILTIN\n"
        "Stop = load_class(BUILTIN['stop'])\n"
        "class Halt(Stop):\n    kind = 'halt'\n"
        "def register(registry):\n    registry.register_kind(Halt)\n")
    registry = default_registry([str(plugin)], installed=False)
    halt = registry.kind("halt")
    registry.reload_plugins()
    assert list(registry.kinds) == [*BUILTIN, "halt"]
    assert registry.kind("halt") is not halt and registry.kind("halt").kind == "halt"


def test_a_builtin_class_can_be_imported_by_name():
    from graphflow.nodes import MapNode

    assert MapNode is load_class(BUILTIN["map"])
    with pytest.raises(ImportError):
        from graphflow.nodes import NoSuchNode  # noqa: F401
