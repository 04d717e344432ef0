"""Model calls through graphflow against a local OpenAI-compatible server, beside the openai
client used by hand with one shared client, in paired rounds.

    python benchmarks/model_calls.py [--repeat 5] [--calls 200]

"graphflow" is a run of a map over ``--calls`` items whose sub-graph calls the ``llm`` node
(concurrency 1, so calls are timed one after another, not overlapped). "hand-written" is a loop
over ``AsyncOpenAI.chat.completions.create`` on one client. The server is tests/llm_server.py
(an echo), so the figures are client and engine cost, not a model's. Medians of the rounds;
the ratio is the median of per-round ratios. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import graphflow  # before tests/ is on the path: tests/graphflow would be taken for it

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

from llm_server import FakeLLM  # noqa: E402


def map_graph() -> dict:
    one = {"schema_version": 1, "id": "one", "nodes": [
        {"id": "item", "kind": "input", "config": {"name": "item", "type": "any"}},
        {"id": "ask", "kind": "llm", "config": {"provider": "bench", "prompt": "Item {item}", "stream": False,
                                                "variable_types": {"item": "any"}}},
        {"id": "out", "kind": "output", "config": {"name": "text"}}],
        "edges": [{"id": "a", "source": "item", "target": "ask", "target_port": "item"},
                  {"id": "b", "source": "ask", "source_port": "text", "target": "out"}]}
    return {"schema_version": 1, "id": "bench", "nodes": [
        {"id": "items", "kind": "input", "config": {"name": "items", "type": "array"}},
        {"id": "each", "kind": "map", "config": {"graph": one, "concurrency": 1, "fail_fast": True}},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e1", "source": "items", "target": "each"}, {"id": "e2", "source": "each", "target": "o"}]}


async def by_hand(url: str, calls: int) -> None:
    import openai

    async with openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0) as client:
        for i in range(calls):
            await client.chat.completions.create(model="small", messages=[{"role": "user", "content": f"Item {i}"}])


async def through_graphflow(compiled: graphflow.CompiledGraph, calls: int) -> None:
    result = await graphflow.run(compiled, {"items": list(range(calls))})
    assert result.ok, result.error


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with FakeLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        providers = Path(tmp) / "providers.json"
        providers.write_text(json.dumps({"providers": {"bench": {"base_url": llm.url, "default_model": "small"}}}))
        os.environ["GRAPHFLOW_PROVIDERS"] = str(providers)
        compiled = graphflow.validate_graph(map_graph())
        hand, flow = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            asyncio.run(by_hand(llm.url, args.calls))
            hand.append((time.perf_counter() - start) / args.calls * 1000)
            start = time.perf_counter()
            asyncio.run(through_graphflow(compiled, args.calls))
            flow.append((time.perf_counter() - start) / args.calls * 1000)
    ratio = statistics.median(f / h for f, h in zip(flow, hand, strict=True))
    print(f"{args.calls} calls one after another, {args.repeat} paired rounds, medians")  # noqa: T201
    print(f"  hand-written, one shared client : {statistics.median(hand):7.2f} ms/call")  # noqa: T201
    print(f"  graphflow llm node in a map     : {statistics.median(flow):7.2f} ms/call   ({ratio:.2f}x)")  # noqa: T201


if __name__ == "__main__":
    main()
