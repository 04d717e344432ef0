"""The stats page's table and canvas overlay carry tokens and a cascade's answers and saving."""

from __future__ import annotations

from graphflow.stats import NodeStats
from graphflow.ui.pages.stats import heat_map, table_rows


def stats(node_id: str, **extra) -> NodeStats:
    return NodeStats(node_id=node_id, runs=3, p50=0.2, p95=0.4, success_rate=1.0, retries=0, cost_per_1k_runs=2.5,
                     **extra)


def test_tokens_and_cascade_answers_reach_the_table_and_the_overlay():
    nodes = [stats("ask", tokens_per_run=120.0, answered_by={"small": 2, "large": 1}, saved=1.7), stats("plain")]
    rows = {row["id"]: row for row in table_rows(nodes, None)}
    assert rows["ask"]["cascade"] == "large 1, small 2; saved 1.7000"
    assert rows["plain"]["cascade"] == "" and rows["ask"]["tokens"] == "120"
    heat = heat_map(nodes)
    assert heat["ask"]["tokens_per_run"] == 120.0 and heat["plain"]["tokens_per_run"] == 0.0
