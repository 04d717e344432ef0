"""The access token: who may bind beyond loopback, and the guard in front of every request.

A token must hold at least 16 random bytes (``new_token()`` makes one). With a token
configured, a request passes when it carries a valid session cookie. A request with
``?token=<token>`` gets that cookie (HttpOnly, SameSite=Strict, an expiry; Secure over https)
and a page that moves on to the same URL without the token, so it does not stay in the
address bar or the history. (A page rather than a redirect: after a link from another site,
a Strict cookie set by a redirect is not sent on the redirected request.) Every other request
gets a plain "access token required" page (or, for a websocket, a close). Wrong tokens are
rate-limited per client address: after ``MAX_FAILURES`` in a minute, 429 until the minute ends.

The cookie holds its issue time and an HMAC of it keyed by the token, never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import secrets
import time
from collections import deque
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "graphflow_session"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN_CHARS = 22
"""16 random bytes in URL-safe base64 (32 in hex)."""
MAX_FAILURES = 10
WINDOW = 60.0
MAX_CLIENTS = 10_000
REQUIRED_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>graphflow</title></head>"
                 "<body><p>access token required</p></body></html>")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


class BindRefused(ValueError):
    """Serving beyond loopback without an access token, or with a weak one, was asked for."""


def check_token(token: str) -> None:
    """Refuse a token that is too short or too uniform to hold 16 random bytes."""
    if len(token) < MIN_TOKEN_CHARS or len(set(token)) < 10:
        raise BindRefused(f"the access token is too weak: use at least 16 random bytes ({MIN_TOKEN_CHARS}+ "
                          f"characters), for example {new_token()} (graphflow serve --generate-token prints a new one)")


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without an access token, and any weak token."""
    if token is not None:
        check_token(token)
    elif not is_loopback(host):
        raise BindRefused(f"binding to {host} needs an access token: pass --token or set GRAPHFLOW_TOKEN "
                          f"(for example --token {new_token()})")


def sign(token: str, issued: int) -> str:
    mac = hmac.new(token.encode(), f"graphflow session {issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


class Failures:
    """Wrong-token attempts per client address in a sliding window (bounded memory)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.seen: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        times = self.seen.get(client, deque())
        while times and times[0] <= self.clock() - WINDOW:
            times.popleft()
        return times

    def limited(self, client: str) -> bool:
        return len(self._recent(client)) >= MAX_FAILURES

    def add(self, client: str) -> None:
        times = self._recent(client)
        times.append(self.clock())
        self.seen.pop(client, None)
        self.seen[client] = times  # newest last: the oldest clients are dropped first
        while len(self.seen) > MAX_CLIENTS:
            del self.seen[next(iter(self.seen))]


class TokenGuard:
    """Pure ASGI middleware (so websockets are covered too)."""

    def __init__(self, app: ASGIApp, token: str, clock: Callable[[], float] = time.time) -> None:
        self.app, self.token, self.clock = app, token, clock
        self.failures = Failures(time.monotonic if clock is time.time else clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._has_session(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((value for key, value in query if key == "token"), None)
        client = (scope.get("client") or ("?", 0))[0]
        if given is not None and self.failures.limited(client):
            response: HTMLResponse | PlainTextResponse = PlainTextResponse(
                "too many wrong tokens: wait a minute\n", status_code=429, headers={"Retry-After": str(int(WINDOW))})
        elif given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = html.escape(scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else ""))
            response = HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'>"
                                    f"<meta http-equiv='refresh' content='0;url={location}'><title>graphflow</title>"
                                    f"</head><body><a href='{location}'>continue</a></body></html>")
            response.set_cookie(COOKIE, sign(self.token, int(self.clock())), max_age=SESSION_SECONDS, httponly=True,
                                samesite="strict", secure=scope.get("scheme") == "https", path="/")
        else:
            if given is not None:
                self.failures.add(client)
            response = HTMLResponse(REQUIRED_PAGE, status_code=401)
        await response(scope, receive, send)

    def _has_session(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies: SimpleCookie = SimpleCookie()
                try:
                    cookies.load(value.decode("latin-1"))
                except CookieError:  # a malformed cookie header is no session
                    return False
                morsel = cookies.get(COOKIE)
                if morsel is not None and self._valid(morsel.value):
                    return True
        return False

    def _valid(self, value: str) -> bool:
        issued, _, _ = value.partition(".")
        if not issued.isdigit() or not 0 <= self.clock() - int(issued) < SESSION_SECONDS:
            return False
        return hmac.compare_digest(value.encode(), sign(self.token, int(issued)).encode())
