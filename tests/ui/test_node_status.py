"""The canvas spells the engine's node statuses, no more and no fewer."""

import re
from pathlib import Path

import graphflow.ui.canvas as canvas
from graphflow.events import NodeStatus


def test_canvas_status_texts_are_the_engine_statuses() -> None:
    source = (Path(canvas.__file__).parent / "js" / "cards.js").read_text(encoding="utf-8")
    table = re.search(r"const STATUS_TEXT = \{(.*?)\};", source, re.S)
    assert table is not None
    keys = set(re.findall(r"(\w+):", table.group(1)))
    assert keys == {s.value for s in NodeStatus} | {"degraded"}
