"""The SSRF guard: each refused address class, names that resolve to one, redirects to one, pinning.

Refused requests never leave the process (the guard refuses before connecting), so these
tests reach nothing; the ones that connect go to the 127.0.0.1 test server only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from needs import unavailable
from test_http_node import failure, http_graph

import graphflow
from graphflow.netguard import HostPolicy, classify
from graphflow.nodes.http import HttpRequestNode

pytestmark = pytest.mark.anyio


class FakeDNS:
    """The node's resolver hook: a name -> addresses table, every lookup recorded."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(-2, "Name or service not known")
        return self.table[host]


def registry_with(dns: FakeDNS) -> graphflow.Registry:
    registry = graphflow.default_registry(installed=False)
    registry.register_kind(HttpRequestNode(resolver=dns), replace=True)
    return registry


async def run(url: str, *, dns: FakeDNS | None = None, metadata: dict[str, Any] | None = None) -> Any:
    registry = registry_with(dns) if dns is not None else None
    return await graphflow.run(http_graph({"url": url}, metadata=metadata), registry=registry)


REFUSED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.8.9.10/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://169.254.10.20/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://100.64.0.1/", "not globally routable"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_each_refused_class(url, reason, monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_HTTP_ALLOW", raising=False)
    failed = failure(await run(url))
    assert failed.error_type == "HttpRefused"
    assert f"is a {reason} address: refused" in failed.error_message


async def test_metadata_names_are_refused_before_resolving():
    dns = FakeDNS({"metadata.google.internal": ["8.8.8.8"]})
    failed = failure(await run("http://Metadata.Google.Internal./computeMetadata/v1/", dns=dns))
    assert "cloud metadata endpoint" in failed.error_message and dns.lookups == []


async def test_a_name_that_resolves_to_a_refused_address(monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_HTTP_ALLOW", raising=False)
    failed = failure(await run("http://localhost:9/"))  # the system's own resolver
    assert "'localhost' resolves to" in failed.error_message and "loopback address" in failed.error_message
    dns = FakeDNS({"intranet.example": ["93.184.216.34", "10.0.0.7"]})  # one bad answer is enough
    failed = failure(await run("http://intranet.example/", dns=dns))
    assert "resolves to 10.0.0.7, which is a private address" in failed.error_message


async def test_allowed_names_reach_private_addresses_but_never_metadata(http_server, monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_HTTP_ALLOW", raising=False)
    dns = FakeDNS({"api.internal": ["127.0.0.1"], "sneaky.internal": ["169.254.169.254"]})
    url = f"http://api.internal:{http_server.port}/echo"
    assert "refused" in failure(await run(url, dns=dns)).error_message
    # the graph's own allow-list; the connection goes to the address the hook gave (pinned:
    # the system resolver has never heard of api.internal)
    result = await run(url, dns=dns, metadata={"http_allow_hosts": ["api.internal"]})
    assert result.ok, result.error
    assert http_server.requests[-1]["headers"]["host"] == f"api.internal:{http_server.port}"
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "*.internal")  # the server's allow-list
    assert (await run(url, dns=dns)).ok
    failed = failure(await run("http://sneaky.internal/", dns=dns))
    assert "cloud metadata address" in failed.error_message


async def test_a_redirect_to_a_refused_address_is_refused(http_server, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1")
    for target in ("http://169.254.169.254/latest/", "http://10.0.0.1/", "http://localhost/"):
        result = await run(f"{http_server.url}/redirect?to={target}")
        failed = failure(result)
        assert failed.error_type == "HttpRefused" and "refused" in failed.error_message, target
    assert all(r["path"] == "/redirect" for r in http_server.requests)


async def test_redirects_are_followed_and_checked_at_most_five_times(http_server, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1")
    hop = f"{http_server.url}/echo"
    for _ in range(5):
        hop = f"{http_server.url}/redirect?code=307&to={_quote(hop)}"
    result = await run(hop)
    assert result.ok and result.outputs["body"]["path"] == "/echo"
    failed = failure(await run(f"{http_server.url}/redirect?to={_quote(hop)}"))
    assert "more than 5 redirects" in failed.error_message


async def test_a_rebinding_name_is_checked_on_every_hop(http_server, monkeypatch):
    """Each hop resolves again and connects to what it checked: a name that answered 127.0.0.1
    (allowed) and then answers the metadata address is refused on the second hop."""

    class Rebinding(FakeDNS):
        async def __call__(self, host: str, port: int) -> list[str]:
            self.lookups.append(host)
            return ["127.0.0.1"] if len(self.lookups) == 1 else ["169.254.169.254"]

    dns = Rebinding({})
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "flip.example")
    failed = failure(await run(f"http://flip.example:{http_server.port}/redirect?to=/echo", dns=dns))
    assert "resolves to 169.254.169.254, which is a cloud metadata address" in failed.error_message
    assert dns.lookups == ["flip.example", "flip.example"]
    assert [r["path"] for r in http_server.requests] == ["/redirect"]


def test_classify_public_and_refused():
    assert classify(ipaddress.ip_address("93.184.216.34")) is None
    assert classify(ipaddress.ip_address("2606:4700::1111")) is None
    assert classify(ipaddress.ip_address("::ffff:10.0.0.1")) == "private"
    policy = HostPolicy.from_settings(["A.Example."], {"GRAPHFLOW_HTTP_ALLOW": " b.example , *.corp"})
    assert policy.allows("a.example") and policy.allows("B.EXAMPLE") and policy.allows("x.y.corp")
    assert not policy.allows("corp") and not policy.allows("evilcorp")


def _quote(url: str) -> str:
    from urllib.parse import quote

    return quote(url, safe="")


async def test_an_allowed_ipv6_literal_and_a_name_pinned_to_ipv6(monkeypatch):
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = self.headers.get("Host", "").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = Server6(("::1", 0), Handler)
    except OSError:
        unavailable("no IPv6 loopback here")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "::1,v6.internal")
        result = await run(f"http://[::1]:{port}/")
        assert result.ok, result.error
        assert result.outputs["body"] == f"[::1]:{port}"
        dns = FakeDNS({"v6.internal": ["::1"]})
        config = {"url": f"http://v6.internal:{port}/", "headers": {"host": "spoofed.example"}}
        result = await graphflow.run(http_graph(config), registry=registry_with(dns))
        assert result.ok, result.error
        assert result.outputs["body"] == f"v6.internal:{port}"  # the checked name, not the config's Host
    finally:
        server.shutdown()
        server.server_close()
