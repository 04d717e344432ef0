"""The access token: who may bind beyond loopback, and the guard in front of every request.

With a token configured, a request passes when it carries the session cookie. A request
with ``?token=<token>`` gets that cookie (HttpOnly, SameSite=Lax) and is redirected to the
same URL without the token, so it does not stay in the address bar or the history. Every
other request gets a plain "access token required" page (or, for a websocket, a close).
The cookie holds an HMAC of the token, never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from graphflow.cli import CliError

COOKIE = "graphflow_session"
REQUIRED_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>graphflow</title></head>"
                 "<body><p>access token required</p></body></html>")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without an access token."""
    if not token and not is_loopback(host):
        raise CliError(f"binding to {host} needs an access token: pass --token or set GRAPHFLOW_TOKEN")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"graphflow session", hashlib.sha256).hexdigest()


class TokenGuard:
    """Pure ASGI middleware (so websockets are covered too)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._has_session(scope):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((value for key, value in query if key == "token"), None)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
            response = RedirectResponse(location, status_code=303)
            response.set_cookie(COOKIE, self.session, httponly=True, samesite="lax", path="/")
        else:
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
                if morsel is not None and hmac.compare_digest(morsel.value.encode(), self.session.encode()):
                    return True
        return False
