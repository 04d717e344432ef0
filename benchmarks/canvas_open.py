"""Canvas benchmark: open a generated 1,000-node graph in chromium, then flood it with status updates.

Run ``python benchmarks/canvas_open.py`` (needs /usr/bin/chromium; ``--nodes``, ``--updates``,
``--batch``, ``--lazy``). Not a test: it prints figures and asserts nothing about time.

It serves one NiceGUI page from a thread of this process (as tests/ui/conftest.py does) and
drives Debian's chromium with Playwright. Reported:
- open: navigation start (page load included) -> the graph fitted on screen, -> every node card in
  the DOM measured, -> painted. Above 200 nodes the canvas renders only what is in view (``--lazy``);
- interactive: a click on a node -> the node shows as selected; a wheel zoom and a 600 px pan -> painted;
- editing: a node dragged -> Python holds the new graph; Ctrl+Z -> the node is back;
- layout: the toolbar's Layout button -> Python holds the laid-out graph -> painted; and dagre alone
  (js/layout.js ``layeredLayout`` on the same nodes and edges, in the page);
- statuses: N updates pushed from Python with ``set_statuses`` in batches -> the last one visible
  in the DOM, as updates per second (the browser applies them at most once per animation frame).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import socket
import sys
import threading
import time
from typing import Any

STATUSES = ("pending", "running", "succeeded", "failed", "retrying", "skipped")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


FITTED = "() => document.querySelector('.gf-canvas-root[data-ready=true]') && document.querySelector(" \
    "'.vue-flow__transformationpane')?.style.transform !== 'translate(0px, 0px) scale(1)'"
MEASURED = '.vue-flow__node[style*="visible"]'
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
CENTRE_NODE = """() => {
  const pane = document.querySelector('.vue-flow__pane').getBoundingClientRect();
  const cx = pane.left + pane.width / 2, cy = pane.top + pane.height / 2;
  let best = null, distance = Infinity;
  for (const el of document.querySelectorAll('.gf-node')) {
    const r = el.getBoundingClientRect();
    const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy);
    if (d < distance) { distance = d; best = el.dataset.nodeId; }
  }
  return best;
}"""
# From the button's pointerdown to the frame after the cards moved (a MutationObserver on node transforms).
LAYOUT_PAINTED = """() => {
  window.__layoutPainted = null;
  const button = document.querySelector('[data-testid=layout]');
  button.addEventListener('pointerdown', () => {
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__layoutPainted = performance.now() - t0; }));
    });
    observer.observe(document.querySelector('.vue-flow__nodes'), { attributes: true, subtree: true,
                                                                    attributeFilter: ['style'] });
  }, { once: true });
}"""
LAYOUT_ALONE = """async (graph) => {
  const { layeredLayout } = await import("graphflow-canvas/layout.js");
  const nodes = graph.nodes.map((n) => ({ id: n.id, width: 150, height: 90 }));
  const times = [];
  for (let i = 0; i < 2; i += 1) {
    const t0 = performance.now();
    layeredLayout(nodes, graph.edges);
    times.push(performance.now() - t0);
  }
  return { first: times[0], again: times[1] };
}"""
FRAMES_IN_ONE_SECOND = """() => new Promise(resolve => {
  let frames = 0; const t0 = performance.now();
  function tick(t) { frames += 1; if (t - t0 < 1000) requestAnimationFrame(tick); else resolve(frames); }
  requestAnimationFrame(tick);
})"""


def report(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def generated_graph(n: int, columns: int = 25) -> dict[str, Any]:
    """Rows of function nodes chained left to right, each row fed by the row above (~2n edges)."""
    nodes = [{"id": f"n{i}", "kind": "function", "label": f"step {i}", "config": {"function": "bench.noop"},
              "position": {"x": (i % columns) * 240, "y": (i // columns) * 140}} for i in range(n)]
    edges = []
    for i in range(1, n):
        if i % columns:
            edges.append({"id": f"r{i}", "source": f"n{i - 1}", "target": f"n{i}"})
    for i in range(columns, n, 3):
        edges.append({"id": f"c{i}", "source": f"n{i - columns}", "source_port": "out", "target": f"n{i}",
                      "target_port": "in"})
    # a function input takes one edge: keep the first edge into each node
    seen: set[str] = set()
    kept = []
    for edge in edges:
        if edge["target"] not in seen:
            seen.add(edge["target"])
            kept.append(edge)
    return {"schema_version": 1, "id": "bench", "name": "Benchmark", "nodes": nodes, "edges": kept}


def serve(graph: dict[str, Any], lazy: bool | None) -> tuple[str, dict[str, Any]]:
    from nicegui import ui

    import graphflow
    from graphflow.ui.canvas import GraphCanvas

    registry = graphflow.default_registry(installed=False)
    kinds = [kind.describe() for kind in registry.kinds.values()]
    holder: dict[str, Any] = {"changes": [], "reasons": []}

    @ui.page("/")
    def page() -> None:
        canvas = GraphCanvas(kinds, graph, registry=registry, lazy=lazy).style("height: 760px")
        canvas.on_change(lambda e: holder["changes"].append(len(json.dumps(e.graph))))
        canvas.on_change(lambda e: holder["reasons"].append(e.reason))
        holder["canvas"] = canvas

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kwargs = {"host": "127.0.0.1", "port": port, "show": False, "reload": False, "uvicorn_logging_level": "warning"}
    threading.Thread(target=ui.run, kwargs=kwargs, daemon=True).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}/", holder
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("NiceGUI did not start")


def on_loop(fn: Any) -> Any:
    from nicegui import core

    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    core.loop.call_soon_threadsafe(lambda: future.set_result(fn()))
    return future.result(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--lazy", choices=("auto", "on", "off"), default="auto",
                        help="render only the nodes in view (auto: above 200 nodes)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    graph = generated_graph(args.nodes)
    url, holder = serve(graph, {"auto": None, "on": True, "off": False}[args.lazy])
    n = args.nodes
    report(f"graph: {n} nodes, {len(graph['edges'])} edges, lazy={args.lazy}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)  # a first load warms the HTTP cache, as a returning user's browser would be
        page.wait_for_selector(".gf-canvas-root[data-ready=true]", timeout=60_000)
        page.goto(url, wait_until="commit")
        page.wait_for_function(FITTED, timeout=60_000, polling="raf")
        fitted = page.evaluate("performance.now()")
        in_dom = page.locator(".gf-node").count()
        page.wait_for_function(f"() => document.querySelectorAll('{MEASURED}').length >= {in_dom}", timeout=60_000,
                               polling="raf")
        measured = page.evaluate("performance.now()")
        page.evaluate(TWO_FRAMES)
        painted = page.evaluate("performance.now()")
        report(f"open (from navigation start, page load included): graph fitted {fitted / 1000:.2f} s, "
              f"{in_dom} node cards rendered and measured {measured / 1000:.2f} s, painted {painted / 1000:.2f} s")

        centre = page.evaluate(CENTRE_NODE)
        t0 = time.perf_counter()
        page.locator(f'[data-node-id="{centre}"] .gf-kind').click()
        page.wait_for_selector(f'.vue-flow__node.selected [data-node-id="{centre}"]', timeout=10_000)
        click = time.perf_counter() - t0
        box = page.locator(".vue-flow__pane").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        t0 = time.perf_counter()
        page.mouse.wheel(0, -300)
        page.evaluate(TWO_FRAMES)
        wheel = time.perf_counter() - t0
        t0 = time.perf_counter()
        page.mouse.move(x + 150, y + 20)  # the pane, between nodes: a pan
        page.mouse.down()
        page.mouse.move(x - 450, y - 280, steps=4)
        page.mouse.up()
        page.evaluate(TWO_FRAMES)
        pan = time.perf_counter() - t0
        report(f"interactive: click -> selected {click * 1000:.0f} ms, wheel zoom -> painted {wheel * 1000:.0f} ms, "
              f"pan 600 px -> painted {pan * 1000:.0f} ms ({page.locator('.gf-node').count()} node cards now)")

        moved = page.evaluate(CENTRE_NODE)
        wrapper = page.locator(f'.vue-flow__node:has([data-node-id="{moved}"])')
        before = wrapper.evaluate("el => el.style.transform")
        changes = len(holder["changes"])
        t0 = time.perf_counter()
        page.locator(f'[data-node-id="{moved}"] .gf-kind').hover()
        page.mouse.down()
        page.mouse.move(x + 40, y + 60, steps=3)
        page.mouse.up()
        while len(holder["changes"]) == changes:
            time.sleep(0.005)
        drag = time.perf_counter() - t0
        t0 = time.perf_counter()
        page.keyboard.press("Control+z")
        page.wait_for_function("([el, t]) => el.style.transform === t", arg=[wrapper.element_handle(), before],
                               polling="raf")
        undo = time.perf_counter() - t0
        report(f"editing: drag a node -> whole graph received by Python {drag * 1000:.0f} ms "
              f"({holder['changes'][-1]} bytes of JSON), Ctrl+Z -> node back {undo * 1000:.0f} ms")

        button = page.get_by_test_id("layout")
        button.hover()  # Playwright's actionability checks are not part of the figure
        page.evaluate(LAYOUT_PAINTED)
        t0 = time.perf_counter()
        button.click()
        while "layout" not in holder["reasons"]:
            time.sleep(0.005)
        received = time.perf_counter() - t0
        painted = page.wait_for_function("() => window.__layoutPainted", timeout=30_000).json_value()
        alone = page.evaluate(LAYOUT_ALONE, graph)
        report(f"layout: button press -> laid out and painted {painted:.0f} ms (in the page), laid-out graph "
               f"received by Python {received * 1000:.0f} ms; dagre alone {alone['first']:.0f} ms, "
               f"again {alone['again']:.0f} ms")

        page.mouse.move(x, y)
        page.mouse.wheel(0, 300)
        page.evaluate(TWO_FRAMES)
        canvas = holder["canvas"]
        shown = page.evaluate(CENTRE_NODE)  # the last update targets a node in view: it must reach the DOM
        batches = []
        for start in range(0, args.updates, args.batch):
            batch = {}
            for k in range(start, min(start + args.batch, args.updates)):
                batch[f"n{k % n}"] = {"status": STATUSES[k % len(STATUSES)], "attempts": 1 + k // n}
            batches.append(batch)
        final = {"status": "failed", "attempts": 99, "error": "RuntimeError: last update"}
        batches[-1].pop(shown, None)
        batches[-1][shown] = final
        t0 = time.perf_counter()
        for batch in batches:
            on_loop(lambda batch=batch: canvas.set_statuses(batch))
        sent = time.perf_counter() - t0
        page.wait_for_function(
            "id => document.querySelector(`[data-node-id=\"${id}\"]`)?.dataset.attempts === '99'",
            arg=shown, timeout=120_000, polling="raf")
        elapsed = time.perf_counter() - t0
        report(f"statuses: {args.updates:,} updates in {len(batches)} set_statuses calls of {args.batch} "
              f"(sent in {sent:.2f} s), last one in the DOM after {elapsed:.2f} s = {args.updates / elapsed:,.0f} "
              "updates/s")
        frames = page.evaluate(FRAMES_IN_ONE_SECOND)
        report(f"idle frame rate afterwards: {frames} frames in 1 s")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
