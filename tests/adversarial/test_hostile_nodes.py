"""Hostile node code: a node that raises SystemExit, KeyboardInterrupt, GeneratorExit or any other
BaseException fails like any other node; it never escapes the engine or the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import graphflow


class Custom(BaseException):
    pass


BASE_EXCEPTIONS = [SystemExit, KeyboardInterrupt, GeneratorExit, Custom]


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    extra = config.pop("_node", {})
    return {"id": node_id, "kind": kind, "config": config, **extra}


def edge(source: str, target: str, source_port: str = "out", **extra: Any) -> dict[str, Any]:
    return {"id": f"{source}.{source_port}-{target}", "source": source, "source_port": source_port,
            "target": target, "target_port": "in", **extra}


def graph(*items: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "id": "hostile", "nodes": [i for i in items if "kind" in i],
            "edges": [i for i in items if "source" in i]}


def raiser(exc: type[BaseException], flavour: str) -> Any:
    if flavour == "async":
        async def fn(value: Any) -> Any:
            raise exc("from the node")
    else:
        def fn(value: Any) -> Any:
            raise exc("from the node")
    return fn


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync", "non_blocking", "blocking"])
@pytest.mark.parametrize("exc", BASE_EXCEPTIONS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("policy", [{}, {"retry": {"max_attempts": 2, "base_delay": 0}}, {"timeout": 5}])
async def test_base_exception_fails_the_node(exc: type[BaseException], flavour: str, policy: dict[str, Any]) -> None:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("hostile", raiser(exc, flavour), blocking=flavour == "blocking",
                               non_blocking=flavour == "non_blocking")
    spec = graph(node("c", "constant", value=1), node("bad", "function", function="hostile", _node=policy),
                 node("o", "output", name="o"), edge("c", "bad"), edge("bad", "o"))
    result = await graphflow.run(spec, registry=registry)
    assert result.status == "failed" and result.failed_node == "bad"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.error_type == exc.__name__ and "from the node" in failed.error_message
    assert result.events[-1].kind == "run_finished"


@pytest.mark.anyio
async def test_base_exception_follows_the_error_edge() -> None:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("hostile", raiser(SystemExit, "async"))
    registry.register_function("rescue", lambda err: err["error_type"])
    spec = graph(node("c", "constant", value=1), node("bad", "function", function="hostile"),
                 node("fix", "function", function="rescue"), node("o", "output", name="o"),
                 edge("c", "bad"), edge("bad", "fix", "error"), edge("fix", "o"))
    result = await graphflow.run(spec, registry=registry)
    assert result.ok and result.outputs == {"o": "SystemExit"}


@pytest.mark.anyio
async def test_the_loop_survives_for_the_next_run() -> None:
    """The same event loop runs another graph after a hostile one (a server keeps serving)."""
    registry = graphflow.default_registry(installed=False)
    registry.register_function("hostile", raiser(KeyboardInterrupt, "async"))
    bad = graph(node("c", "constant", value=1), node("bad", "function", function="hostile"), edge("c", "bad"))
    good = graph(node("c", "constant", value=2), node("o", "output", name="o"), edge("c", "o"))
    first = await graphflow.run(bad, registry=registry)
    assert first.status == "failed"
    result = await graphflow.run(good, registry=registry)
    assert result.ok and result.outputs == {"o": 2}


PLUGIN = '''
def register(registry):
    def leave(value):
        raise SystemExit(0)

    def interrupt(value):
        raise KeyboardInterrupt

    registry.register_function("hostile.leave", leave)
    registry.register_function("hostile.interrupt", interrupt)
'''


@pytest.mark.slow
@pytest.mark.parametrize("function", ["hostile.leave", "hostile.interrupt"])
def test_cli_prints_a_message_and_exits_1(tmp_path: Path, function: str) -> None:
    (tmp_path / "hostile_plugin.py").write_text(PLUGIN)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph(node("c", "constant", value=1), node("bad", "function", function=function),
                                     node("o", "output", name="o"), edge("c", "bad"), edge("bad", "o"))))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "GRAPHFLOW_DB": str(tmp_path / "x.db")}
    env.pop("GRAPHFLOW_PLUGINS", None)
    command = [sys.executable, "-m", "graphflow", "run", str(path), "--no-store", "--plugin", "hostile_plugin"]
    proc = subprocess.run(command,
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    name = "SystemExit" if function == "hostile.leave" else "KeyboardInterrupt"
    assert name in proc.stderr and "bad" in proc.stderr
