"""Requests as an attacker sends them, against a real ``graphflow serve`` on 127.0.0.1: a
rebinding page's Host, another site's Origin (pages, socket.io, its websocket), framing, an
oversized or endless upload, weak and guessed tokens. Each is refused, with a plain line."""

from __future__ import annotations

import re
import select
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from serve_support import Server, serve

from graphflow.validate import MAX_BYTES

pytestmark = pytest.mark.slow
TOKEN = "Zq8v3LrT1xWmK0pN5sYbHc2EoJu7AgDf"
SOCKET_IO = "/_nicegui_ws/socket.io/?EIO=4&transport=polling"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = serve(tmp_path_factory.mktemp("hostile_requests"), "--allowed-host", "graphs.example.org")
    yield served
    served.stop()


def get(server: Server, path: str = "/", **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=10)


def test_a_rebinding_host_is_refused_on_pages_and_socket_io(server: Server):
    for path in ("/", "/graph/resilience_demo", SOCKET_IO):
        refused = get(server, path, host=f"evil.example:{server.port}")
        assert refused.status_code == 400, path
        assert "unknown host 'evil.example" in refused.text and "resilience" not in refused.text
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}",
                 f"LOCALHOST.:{server.port}", "graphs.example.org", "graphs.example.org:443"):
        assert get(server, host=host).status_code == 200, host
    for host in ("localhost:1", "127.0.0.1", "evil.example", "graphs.example.org.evil.example", "", "[::1"):
        assert get(server, host=host).status_code == 400, host


def test_another_sites_origin_is_refused(server: Server):
    assert get(server, SOCKET_IO, origin=server.url).status_code == 200
    for origin in ("http://evil.example", f"http://evil.example:{server.port}", "null", "file://"):
        refused = get(server, SOCKET_IO, origin=origin)
        assert refused.status_code == 403 and "cross-origin request refused" in refused.text
    assert "access-control-allow-origin" not in get(server, SOCKET_IO, origin=server.url).headers


def websocket_status(server: Server, origin: str, host: str = "") -> str:
    """The status line the server answers a socket.io websocket upgrade with."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((f"GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: {host or f'127.0.0.1:{server.port}'}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: {origin}\r\n\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n")[0]


def test_a_websocket_from_another_origin_is_refused(server: Server):
    assert " 101 " in websocket_status(server, server.url)
    assert " 403 " in websocket_status(server, "http://evil.example")
    assert " 403 " in websocket_status(server, f"http://evil.example:{server.port}", f"evil.example:{server.port}")


def test_every_response_forbids_framing_and_carries_a_csp(server: Server):
    for response in (get(server), get(server, host="evil.example"), get(server, "/nothing-here")):
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        for directive in ("frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'"):
            assert directive in csp


def upload_url(server: Server) -> str:
    page = get(server)
    found = re.search(r"/_nicegui/client/[^\"\\/]+/upload/\d+", page.text)
    assert found, "the graph list has an upload element"
    return server.url + found.group(0)


def test_an_oversized_upload_is_refused_from_its_declared_length(server: Server):
    url = upload_url(server)
    body = b"x" * (MAX_BYTES + 100 * 1024)
    refused = httpx.post(url, files={"file": ("big.json", body, "application/json")}, timeout=30)
    assert refused.status_code == 413
    assert f"a graph file may have at most {MAX_BYTES:,} bytes" in refused.text
    small = httpx.post(upload_url(server), files={"file": ("small.json", b"{}", "application/json")}, timeout=30)
    assert small.status_code == 200


def test_an_endless_chunked_upload_is_cut_off_while_reading(server: Server):
    """No Content-Length: the server counts while reading and answers before 400 MB arrive."""
    url = httpx.URL(upload_url(server))
    head = (f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n\r\n'
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        answer = b""
        while sent < 400 * 1024 * 1024:
            if select.select([sock], [], [], 0)[0]:
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                answer = sock.recv(4096)
                break
            sent += len(chunk)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024  # the limit plus what the sockets' buffers held


def test_a_weak_token_is_refused_with_a_suggestion(tmp_path):
    for weak in ("s3cret", "a" * 40, "0123456789abcdef"):
        done = subprocess.run([sys.executable, "-m", "graphflow.ui.cli", "serve", "--token", weak, "--port", "1",
                               "--db", str(tmp_path / "gf.db")], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert "the access token is too weak: use at least 16 random bytes" in done.stderr
        assert not (tmp_path / "gf.db").exists()
    generated = subprocess.run([sys.executable, "-m", "graphflow.ui.cli", "serve", "--generate-token"],
                               capture_output=True, text=True, timeout=60)
    assert generated.returncode == 0 and re.fullmatch(r"[A-Za-z0-9_-]{43}\n", generated.stdout)


def test_token_mode_cookie_and_rate_limit(tmp_path):
    served = serve(tmp_path, "--token", TOKEN)
    try:
        with httpx.Client(base_url=served.url) as client:
            entered = client.get("/graph/resilience_demo?token=" + TOKEN + "&run=1")
            assert entered.status_code == 200 and "url=/graph/resilience_demo?run=1" in entered.text
            cookie = entered.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=43200" in cookie
            assert TOKEN.lower() not in cookie
            assert client.get("/graph/resilience_demo").status_code == 200
        guesses = [httpx.get(f"{served.url}/?token=guess{n:020d}").status_code for n in range(12)]
        assert guesses[:10] == [401] * 10 and guesses[10:] == [429, 429]
        assert httpx.get(f"{served.url}/?token={TOKEN}").status_code == 429  # locked out for the minute
        assert httpx.get(served.url + "/", headers={"host": "evil.example"}).status_code == 400
    finally:
        served.stop()


CSP_LISTENER = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                "(e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));")


@pytest.mark.browser
def test_the_pages_work_under_the_csp_without_a_violation(page, server: Server):
    """The editor loads, runs and shows the run under the CSP; the list, runs and replay pages too."""
    from playwright.sync_api import expect

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(CSP_LISTENER)
    page.goto(server.url + "/graph/resilience_demo")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator('[data-node-id="primary"]')).to_be_visible()
    page.get_by_test_id("run").click()
    page.get_by_test_id("input-query").fill("refund window")
    page.get_by_test_id("start-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    run_id = page.get_by_test_id("run-id").inner_text().split()[1]  # "run ID · version N"
    violations = page.evaluate("window.__csp")
    for path in ("/", "/graph/resilience_demo/runs", f"/run/{run_id}"):
        page.goto(server.url + path)
        expect(page.get_by_test_id("page-title")).to_be_visible()
        page.wait_for_timeout(300)
        violations += page.evaluate("window.__csp")
    expect(page.locator('[data-node-id="primary"]')).to_be_visible()  # the replay's canvas rendered
    assert violations == []
    assert [line for line in console if "Content Security Policy" in line or "Refused to" in line] == []


@pytest.mark.browser
def test_another_site_can_neither_frame_nor_rebind_to_the_server(browser_type, browser_type_launch_args,
                                                                  server: Server):
    """A real browser resolving evil.example to 127.0.0.1 (as after DNS rebinding): the page is refused;
    and the app in an iframe of another origin stays empty."""
    args = [*browser_type_launch_args.get("args", ()), "--host-resolver-rules=MAP evil.example 127.0.0.1"]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    try:
        page = browser.new_page()
        rebound = page.goto(f"http://evil.example:{server.port}/")
        assert rebound is not None and rebound.status == 400
        assert "unknown host" in page.content() and page.locator(".gf-header").count() == 0
        deleted = page.evaluate(f"""async () => (await fetch('http://evil.example:{server.port}/graph/x',
                                                           {{method: 'POST'}})).status""")
        assert deleted == 400
        framing = browser.new_page()  # another origin's page (about:blank: no CSP of ours)
        framing.set_content(f"<iframe id=f src='{server.url}/' width=800 height=600></iframe>")
        framing.wait_for_timeout(1500)
        assert framing.frame_locator("#f").locator(".gf-header").count() == 0
        assert all("gf-header" not in f.content() for f in framing.frames[1:] if not f.is_detached())
    finally:
        browser.close()


@pytest.mark.browser
def test_the_browser_says_why_a_file_is_refused(page, server: Server, tmp_path):
    from playwright.sync_api import expect

    text, big = tmp_path / "notes.txt", tmp_path / "big.json"
    text.write_text("{}")
    big.write_bytes(b" " * (MAX_BYTES + 1))
    page.goto(server.url + "/")
    uploader = page.locator(".q-uploader input[type=file]")
    uploader.set_input_files(text)
    expect(page.locator(".q-notification").filter(
        has_text="not imported: notes.txt: only .json graph files can be imported")).to_be_visible()
    uploader.set_input_files(big)
    expect(page.locator(".q-notification").filter(
        has_text=f"not imported: big.json: the limit is {MAX_BYTES:,} bytes")).to_be_visible()
