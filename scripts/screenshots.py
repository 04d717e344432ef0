"""README screenshots: the editor during a run of a sample graph, and a replay of that run mid-way.

    python scripts/screenshots.py                  # writes docs/screenshots/editor-run.png, replay.png, editor-dark.png
    python scripts/screenshots.py --out DIR --width 1600 --height 900 --scale 2

It starts ``graphflow serve`` in a subprocess on a free port with a fresh temporary
database (so the sample graphs are imported, as on a first start), and drives Debian's
chromium (``/usr/bin/chromium``) with Playwright:

1. the editor of ``resilience_demo``: Run, the inputs form, Start run; the screenshot is taken
   while the run goes on (the primary service has failed its three attempts and opened its
   circuit breaker, the backup is answering);
2. the run's replay page, opened from the graph's run history, with the cursor moved to the
   same moment (the event where the backup starts);
3. the editor again in the dark theme, once a second run has ended.

The sample's functions take microseconds, too fast to catch a run in the middle: this file is
also the plugin ``screenshots`` (``--plugin screenshots``, with this folder on PYTHONPATH),
whose ``register(registry)`` makes each of the demo's function calls take ``STEP`` seconds.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
GRAPH = "resilience_demo"
QUERY = "When will my order arrive?"
STEP = 0.8
"""Seconds each call of the demo's functions takes while the screenshots are taken."""
SLOWED = ("fetch_primary", "fetch_backup", "enrich", "combine")


def register(registry: Any) -> None:
    """Plugin entry point (inside the server): slow the resilience demo's functions down."""
    import anyio

    for name in SLOWED:
        entry = registry.functions[f"samples.resilient.{name}"]
        registry.register_function(entry.name, _slowed(entry.fn, anyio.sleep), replace=True)


def _slowed(fn: Any, sleep: Any) -> Any:
    @functools.wraps(fn)
    async def slow(*args: Any, **kwargs: Any) -> Any:
        await sleep(STEP)
        result = fn(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return slow


def report(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "graphflow", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--db", str(db), "--plugin", "screenshots"]
    return subprocess.Popen(command, env=env, cwd=db.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.stdout.read().decode(errors="replace") if server.stdout else ""
                raise SystemExit(f"graphflow serve did not start:\n{output}") from None
            time.sleep(0.2)


def take(base: str, out: Path, width: int, height: int, scale: float) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
        page.set_default_timeout(20_000)

        # 1. the editor while a run goes on
        page.goto(f"{base}/graph/{GRAPH}")
        expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
        page.get_by_test_id("run").click()
        page.get_by_test_id("input-query").fill(QUERY)
        page.get_by_test_id("start-run").click()
        expect(page.locator('.gf-node[data-node-id="backup"][data-status="running"]')).to_be_visible()
        page.wait_for_timeout(300)  # the badges of the last batch are painted
        page.screenshot(path=str(out / "editor-run.png"))
        report(f"wrote {out / 'editor-run.png'}")
        expect(page.locator('.gf-node[data-node-id="answer"][data-status="succeeded"]')).to_be_visible()

        # 2. the replay of that run, opened from the history, at the moment the backup starts
        page.goto(f"{base}/graph/{GRAPH}/runs")
        page.get_by_test_id("run-link").first.click()
        expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
        page.locator(".gf-log-line").filter(has_text=re.compile(r"node_started\s+backup")).click()
        expect(page.locator('.gf-node[data-node-id="backup"][data-status="running"]')).to_be_visible()
        page.mouse.move(0, 0)  # no tooltip over the controls
        page.wait_for_timeout(500)  # the log scrolled and the canvas painted
        page.screenshot(path=str(out / "replay.png"))
        report(f"wrote {out / 'replay.png'}")

        # 3. the editor in the dark theme, the run ended (the header's toggle; kept in the browser)
        page.goto(f"{base}/graph/{GRAPH}")
        expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
        page.get_by_test_id("app-theme-toggle").click()
        expect(page.locator(".gf-canvas-root")).to_have_attribute("data-theme", "dark")
        page.get_by_test_id("run").click()
        page.get_by_test_id("input-query").fill(QUERY)
        page.get_by_test_id("start-run").click()
        expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)  # the last badges painted, the notification gone
        page.screenshot(path=str(out / "editor-dark.png"))
        report(f"wrote {out / 'editor-dark.png'}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--scale", type=float, default=2.0, help="Device pixels per CSS pixel (2: sharp text).")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="graphflow-screenshots-") as folder:
        port = free_port()
        server = serve(Path(folder) / "graphflow.db", port)
        try:
            wait_for(f"http://127.0.0.1:{port}/", server)
            take(f"http://127.0.0.1:{port}", args.out, args.width, args.height, args.scale)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            if server.stdout:
                server.stdout.close()


if __name__ == "__main__":
    main()
