"""The SSRF guard of outgoing HTTP requests: which addresses a graph may reach.

A graph's HTTP request names a URL; without a guard it could read the cloud's metadata
service (instance credentials), the database on localhost or anything on the private
network behind the server. So every host is resolved here, every resolved address is
checked, and the request then connects to that checked address (pinned), so a DNS answer
that changes between the check and the connect (rebinding) cannot swap it. Redirects come
back through ``check`` hop by hop (``http_call.py`` follows them itself).

Refused: loopback, private, link-local, multicast, unspecified, reserved and any other
address that is not globally routable (shared 100.64/10, documentation ranges, ...), and
the cloud metadata endpoints by address and by name. Named hosts may be allowed (the graph's
``metadata.http_allow_hosts``, the server's ``GRAPHFLOW_HTTP_ALLOW=host1,*.corp.example``):
an allowed host may resolve to a non-public address, but never to a metadata endpoint.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from graphflow.errors import HttpRefused

__all__ = ["ALLOW_ENV", "HostPolicy", "Resolver", "Target", "classify", "system_resolver"]

ALLOW_ENV = "GRAPHFLOW_HTTP_ALLOW"
GRAPH_ALLOW_KEY = "http_allow_hosts"
"""The graph's own allow-list: ``{"metadata": {"http_allow_hosts": ["api.internal"]}}``."""

METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                                ipaddress.ip_address("169.254.170.2"), ipaddress.ip_address("100.100.100.200")})
"""AWS/GCP/Azure (169.254.169.254), AWS over IPv6, AWS ECS task credentials, Alibaba Cloud."""
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""host, port -> the addresses it resolves to (the node's hook: tests plug in their own DNS)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def system_resolver(host: str, port: int) -> list[str]:
    import anyio

    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def classify(address: IPAddress) -> str | None:
    """Why ``address`` is refused ("loopback", "private", ...), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    for reason, hit in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                        ("reserved", address.is_reserved), ("private", address.is_private)):
        if hit:
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


def _normal(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class Target:
    """A checked host and the address the request must connect to."""

    host: str
    address: str


@dataclass(frozen=True, slots=True)
class HostPolicy:
    allowed: frozenset[str] = frozenset()
    """Host names (or ``*.suffix``) that may resolve to non-public addresses."""

    @classmethod
    def from_settings(cls, graph_hosts: Iterable[str] = (), environ: dict[str, str] | None = None) -> HostPolicy:
        env = (os.environ if environ is None else environ).get(ALLOW_ENV, "")
        names = [*env.split(","), *graph_hosts]
        return cls(frozenset(_normal(n) for n in names if n.strip()))

    def allows(self, host: str) -> bool:
        host = _normal(host)
        return host in self.allowed or any(
            entry.startswith("*.") and host.endswith(entry[1:]) for entry in self.allowed)

    async def check(self, host: str, port: int, resolver: Resolver) -> Target:
        """Resolve ``host`` and pick the address to connect to; ``HttpRefused`` naming the host,
        the address and the class it is in when any answer is refused."""
        name = _normal(host)
        if not name:
            raise HttpRefused("the URL has no host")
        if name in METADATA_NAMES:
            raise HttpRefused(f"host {name!r} is a cloud metadata endpoint: refused")
        allowed = self.allows(name)
        try:
            literal: IPAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = await resolver(name, port)
            except OSError as exc:
                raise HttpRefused(f"host {name!r} does not resolve ({exc.strerror or exc})",
                                  retryable=True) from None
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in answers]
            if not addresses:
                raise HttpRefused(f"host {name!r} does not resolve", retryable=True)
        # every answer is checked, not just the first: a resolver may hand out any of them
        for address in addresses:
            reason = classify(address)
            if reason == "cloud metadata" or (reason is not None and not allowed):
                via = "" if literal is not None else f" resolves to {address}, which"
                hint = "" if reason == "cloud metadata" else (
                    f"; allow the host in {ALLOW_ENV} or the graph's metadata.{GRAPH_ALLOW_KEY}")
                raise HttpRefused(f"host {name!r}{via} is a {reason} address: refused{hint}")
        return Target(name, str(addresses[0]))
