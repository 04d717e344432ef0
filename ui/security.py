"""What every request must pass before the app sees it: a known Host, a known Origin, a bounded
upload; and the headers every response carries (no framing, a Content-Security-Policy).

The Host check stops DNS rebinding: a page on ``evil.example`` whose name the attacker points at
127.0.0.1 reaches the server with ``Host: evil.example``, so only the names the server is meant
to be reached by are served (loopback by default; ``--host`` and ``--allowed-host`` add names).
The Origin check stops other sites' pages from talking to the server from a visitor's browser
(socket.io included: it is mounted inside the app). Both refuse with 400 / 403 and a plain line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "[::]", "")
UPLOAD_PATH = re.compile(r"^/_nicegui/client/[^/]+/upload/[^/]+$")
UPLOAD_OVERHEAD = 64 * 1024
"""Room for the multipart envelope (boundaries, headers) around a file of the allowed size."""

# NiceGUI's pages need inline scripts (the page's element tree, the import map), eval (Vue
# compiles the elements' templates in the browser) and inline styles. Checked in chromium:
# tests/ui/app/test_security_browser.py fails on any CSP violation on the pages.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
))
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(host: str) -> str:
    """How a bound address appears in a Host header (IPv6 in brackets)."""
    try:
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            return f"[{host.strip('[]')}]"
    except ValueError:
        pass
    return host.lower()


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host values served: the loopback names and the bound host with the port, plus ``extra``
    (``name`` for any port, or ``name:port``)."""
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if host not in WILDCARDS:
        names.add(f"{host_name(host)}:{port}")
    names.update(name.strip().lower().rstrip(".") for name in extra if name.strip())
    return frozenset(names)


def split_host(value: str) -> tuple[str, str | None]:
    """``name[:port]`` -> (name, port); IPv6 stays in brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[:end + 1], value[end + 1:]
        return name, rest[1:] if rest.startswith(":") else None
    name, _, port = value.partition(":")
    return name.rstrip("."), port or None


def host_allowed(value: str, allowed: frozenset[str], default_port: int) -> bool:
    name, port = split_host(value)
    if not name:
        return False
    return name in allowed or f"{name}:{port or default_port}" in allowed


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class TooLarge(Exception):
    pass


class SecurityGuard:
    """Pure ASGI middleware in front of everything (pages, static files, socket.io, uploads)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str], upload_limit: int) -> None:
        self.app, self.allowed, self.upload_limit = app, allowed, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.refusal(scope)
        if problem is not None:
            status, text = problem
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await PlainTextResponse(text + "\n", status_code=status, headers=dict_headers())(scope, receive, send)
            return
        if scope["type"] == "http" and UPLOAD_PATH.match(scope["path"]):
            await self.bounded_upload(scope, receive, send)
            return
        await self.app(scope, receive, with_headers(send))

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        host = header(scope, b"host")
        default_port = 443 if scope.get("scheme") in ("https", "wss") else 80
        if host is None or not host_allowed(host, self.allowed, default_port):
            shown = (host or "")[:100].encode("ascii", "backslashreplace").decode()
            return 400, (f"unknown host {shown!r}: this server answers only to its configured names "
                         "(graphflow serve --allowed-host NAME adds one)")
        origin = header(scope, b"origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not host_allowed(
                    parts.netloc, self.allowed, 443 if parts.scheme == "https" else 80):
                return 403, "cross-origin request refused"
        return None

    async def bounded_upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at the declared length, or while reading once the body passes the limit."""
        limit = self.upload_limit + UPLOAD_OVERHEAD
        message = (f"upload refused: a graph file may have at most {self.upload_limit:,} bytes")
        length = header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await PlainTextResponse(message + "\n", status_code=413, headers=dict_headers())(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return received

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = True
            await with_headers(send)(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge:
            if not started:
                await PlainTextResponse(message + "\n", status_code=413, headers=dict_headers())(
                    scope, receive, send)


def dict_headers() -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in HEADERS}


def with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", ())}
            message = {**message, "headers": [*message.get("headers", ()),
                                              *((k, v) for k, v in HEADERS if k not in names)]}
        await send(message)
    return wrapped
