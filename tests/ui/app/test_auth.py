"""The access token: binding rules, and the guard in front of every request."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from graphflow.cli import CliError
from graphflow.ui.app import check_bind
from graphflow.ui.auth import COOKIE, TokenGuard

pytestmark = pytest.mark.anyio


def test_loopback_needs_no_token():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    check_bind("0.0.0.0", "secret")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", ""])
def test_beyond_loopback_without_a_token_is_refused(host):
    with pytest.raises(CliError, match=f"binding to {host} needs an access token: pass --token or set "
                                       "GRAPHFLOW_TOKEN"):
        check_bind(host, None)


def guarded() -> httpx.AsyncClient:
    inner = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse(f"page {request.url.path}"))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(TokenGuard(inner, token="s3cret")), base_url="http://t")


async def test_without_the_token_only_a_plain_refusal():
    async with guarded() as client:
        for url in ("/", "/graph/x", "/_nicegui/3.18.0/static/quasar.js", "/?token=wrong"):
            response = await client.get(url)
            assert response.status_code == 401
            assert "access token required" in response.text and "<script" not in response.text
        client.cookies.set(COOKIE, "forged")
        assert (await client.get("/")).status_code == 401


async def test_the_token_in_the_url_sets_a_cookie_and_is_dropped_from_the_url():
    async with guarded() as client:
        response = await client.get("/graph/x?token=s3cret&run=7")
        assert response.status_code == 303 and response.headers["location"] == "/graph/x?run=7"
        cookie = response.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "s3cret" not in cookie
        followed = await client.get(response.headers["location"])
        assert followed.status_code == 200 and followed.text == "page /graph/x"
