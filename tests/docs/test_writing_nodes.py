"""Every example of docs/writing-nodes.md runs: each python block marked ``<!-- example: NAME -->``
is loaded as a plugin file and the graph marked ``NAME-graph`` runs with it; the packaging example
is installed as an entry point, and the testing example's tests are run."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import graphflow
from graphflow.api import validate_graph
from graphflow.errors import GraphValidationError
from graphflow.registry import Registry, default_registry

pytestmark = pytest.mark.anyio

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-nodes.md"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)```", flags=re.S)


def examples() -> dict[str, str]:
    return {name: text for name, _, text in EXAMPLE.findall(GUIDE.read_text())}


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder for the examples' files; the modules they import are forgotten afterwards."""
    before = set(sys.modules)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def load(plugin_dir: Path, name: str) -> Registry:
    """The example as a plugin file of a unique module name."""
    path = plugin_dir / f"guide_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}.py"
    path.write_text(examples()[name])
    return default_registry([str(path)], installed=False)


def graph_of(name: str) -> dict[str, Any]:
    return json.loads(examples()[f"{name}-graph"])


def test_every_example_is_run_by_a_test_here() -> None:
    source = Path(__file__).read_text()
    for name in examples():
        assert f'"{name.removesuffix("-graph")}"' in source, f"the guide's example {name!r} is not tested"


async def test_a_function_node_in_ten_lines(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "shout")
    compiled = validate_graph(graph_of("shout"), registry)
    result = await graphflow.run(compiled, {})
    assert result.outputs == {"loud": "HELLO?"} and result.tokens == len("hello")
    assert (await graphflow.run(compiled, {"text": "hi"})).outputs == {"loud": "HI?"}



async def test_a_quick_pure_kind_runs_inline(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "clamp")
    compiled = validate_graph(graph_of("clamp"), registry)
    assert compiled.nodes["clamp"].inline
    assert "clamp" not in compiled.node_sets.own_context  # reads_node_context = False: the run's shared one
    result = await graphflow.run(compiled, {"x": 42})
    assert result.outputs == {"y": 10}
    assert [e.kind for e in result.events if getattr(e, "node_id", None) == "clamp"] == ["node_succeeded"]
    assert (await graphflow.run(compiled, {"x": -3})).outputs == {"y": 0}
    spec = graph_of("clamp")
    spec["nodes"][1]["retry"] = {"max_attempts": 2}  # a policy: an ordinary task, recorded as such
    retried = validate_graph(spec, registry)
    assert not retried.nodes["clamp"].inline
    result = await graphflow.run(retried, {"x": 5})
    assert result.outputs == {"y": 5}
    assert [e.kind for e in result.events if getattr(e, "node_id", None) == "clamp"] == [
        "node_started", "node_succeeded"]

async def test_typed_ports_and_several_inputs(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "price")
    spec = graph_of("price")
    compiled = validate_graph(spec, registry)
    price = compiled.nodes["price"]
    assert [(p.name, p.type) for p in price.inputs] == [("order", "object"), ("rate", "number")]
    assert price.inputs[0].json_schema is not None and price.inputs[0].json_schema["title"] == "Order"
    assert (await graphflow.run(compiled, {"order": {"id": "A1", "total": 10}})).outputs == {"total": 9.0}
    failed = await graphflow.run(compiled, {"order": {"id": "A1"}})
    assert "input 'order' does not fit Order: total: Field required" in str(failed.error)
    spec["nodes"][1]["config"]["type"] = "string"
    with pytest.raises(GraphValidationError, match="rate.out is string but price.rate expects number"):
        validate_graph(spec, registry)


async def test_sync_async_and_blocking(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "modes")
    entries = registry.functions
    assert entries["guide.read_file"].blocking and not entries["guide.read_file"].is_async
    assert entries["guide.fetch"].is_async
    assert not entries["guide.word_count"].blocking and not entries["guide.word_count"].is_async
    compiled = validate_graph(graph_of("modes"), registry)
    assert compiled.nodes["count"].inline and not compiled.nodes["read"].inline
    result = await graphflow.run(compiled, {"path": "notes.txt"})
    assert result.outputs == {"words": 4}  # "contents of notes.txt (fetched)"


async def test_the_node_context(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "context")
    module = sys.modules[registry.functions["guide.send_all"].fn.__module__]
    result = await graphflow.run(graph_of("context"), {"emails": ["a", "b", "c"]}, registry=registry,
                                 run_id="r1")
    assert result.ok and result.outputs == {"sent": {"sent": 3, "attempt": 1}, "answer": "no answer"}
    assert sorted(module.SENT) == ["r1:send:0", "r1:send:1", "r1:send:2"]
    progress = [(e.done, e.total) for e in result.events if e.kind == "map_progress" and e.node_id == "send"]
    assert progress[-1] == (3, 3)
    assert result.cost == pytest.approx(0.003)
    assert result.degraded == ["slow"] and module.CLOSED == ["slow"]  # cancelled at its await, finally ran


async def test_a_node_kind_of_your_own(plugin_dir: Path) -> None:
    registry = load(plugin_dir, "kind")
    described = registry.kinds["guide.repeat"].describe()
    assert described["category"] == "text"
    assert described["config_schema"]["properties"]["times"]["description"] == "How many copies of the text."
    assert [(p["name"], p["type"]) for p in described["outputs"]] == [("out", "string"), ("copies", "integer")]
    spec = graph_of("kind")
    result = await graphflow.run(spec, {"text": "ab"}, registry=registry)
    assert result.outputs == {"text": "ab-ab-ab", "copies": 3}
    spec["nodes"][1]["config"]["times"] = 0
    with pytest.raises(GraphValidationError, match="config.times: Input should be greater than or equal to 1"):
        validate_graph(spec, registry)


def test_packaging_a_plugin_with_the_entry_point(plugin_dir: Path) -> None:
    project = tomllib.loads(examples()["pyproject"])
    [(name, target)] = project["project"]["entry-points"]["graphflow.plugins"].items()
    package = plugin_dir / target
    package.mkdir()
    (package / "__init__.py").write_text(examples()["price"])
    # what pip install writes: the package, and its dist-info with the entry point
    info = plugin_dir / f"{project['project']['name'].replace('-', '_')}-{project['project']['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['project']['name']}\n"
                                   f"Version: {project['project']['version']}\n")
    (info / "entry_points.txt").write_text(f"[graphflow.plugins]\n{name} = {target}\n")
    sys.path.insert(0, str(plugin_dir))
    registry = default_registry()
    assert "guide.price" in registry.functions and target in registry.plugins


def test_testing_a_node(plugin_dir: Path) -> None:
    (plugin_dir / "my_nodes.py").write_text(examples()["price"])
    path = plugin_dir / "test_my_nodes.py"
    path.write_text(examples()["test"])
    spec = importlib.util.spec_from_file_location("test_my_nodes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test()
