"""Every python block of docs/writing-nodes.md is loaded as a plugin file and the guide's graph runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import graphflow
from graphflow.api import validate_graph
from graphflow.registry import default_registry

pytestmark = pytest.mark.anyio

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-nodes.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.S)


async def test_the_guide_examples_run(tmp_path: Path) -> None:
    [plugin] = blocks("python")
    path = tmp_path / "guide_nodes_plugin.py"
    path.write_text(plugin)
    registry = default_registry([str(path)], installed=False)
    [graph_text] = blocks("json")
    compiled = validate_graph(graph_text, registry)
    result = await graphflow.run(compiled, {})
    assert result.outputs == {"loud": "HELLO?"}
    result = await graphflow.run(compiled, {"text": "hi"})
    assert result.outputs == {"loud": "HI?"}
    assert json.loads(graph_text)["nodes"][1]["config"]["function"] == "guide.shout"
