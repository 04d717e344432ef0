"""Shared by the model-node tests: a providers file pointing at the fake server, small graphs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def point_providers(llm_server: Any, *, prices: dict[str, Any] | None = None, limits: dict[str, Any] | None = None,
                    secret: str | None = "fake", name: str = "fake", extra: dict[str, Any] | None = None) -> Path:
    """Write the test's providers file (conftest points GRAPHFLOW_PROVIDERS at it)."""
    path = Path(os.environ["GRAPHFLOW_PROVIDERS"])
    providers = {name: {"base_url": llm_server.url, "secret": secret, "default_model": "small",
                        "prices": prices or {"small": {"input": 1.0, "output": 2.0},
                                             "large": {"input": 10.0, "output": 20.0}},
                        "limits": limits or {}}}
    providers.update(extra or {})
    path.write_text(json.dumps({"providers": providers}))
    return path


def llm_graph(config: dict[str, Any], *, inputs: tuple[str, ...] = ("question",), node: dict[str, Any] | None = None,
              out_port: str = "text") -> dict[str, Any]:
    nodes = [{"id": name, "kind": "input", "config": {"name": name, "type": "string"}} for name in inputs]
    nodes.append({"id": "llm", "kind": "llm", "config": {"provider": "fake", **config}, **(node or {})})
    nodes.append({"id": "answer", "kind": "output", "config": {"name": "answer"}})
    nodes.append({"id": "usage", "kind": "output", "config": {"name": "usage"}})
    edges = [{"id": f"e_{name}", "source": name, "target": "llm", "target_port": name} for name in inputs]
    edges.append({"id": "e_answer", "source": "llm", "source_port": out_port, "target": "answer"})
    edges.append({"id": "e_usage", "source": "llm", "source_port": "usage", "target": "usage"})
    return {"schema_version": 1, "id": "ask", "nodes": nodes, "edges": edges}
