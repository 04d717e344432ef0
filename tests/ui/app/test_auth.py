"""The access token: binding rules, and the guard in front of every request."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from graphflow.ui.app import check_bind
from graphflow.ui.auth import COOKIE, MAX_FAILURES, SESSION_SECONDS, BindRefused, TokenGuard, new_token, sign

pytestmark = pytest.mark.anyio
TOKEN = "Zq8v3LrT1xWmK0pN5sYbHc2EoJu7AgDf"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_loopback_needs_no_token():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("0.0.0.0", new_token())


@pytest.mark.parametrize("token", ["secret", "s3cret-still-short", "a" * 64, "0123456789abcdefghij0"])
def test_a_weak_token_is_refused_with_a_strong_one_suggested(token):
    with pytest.raises(BindRefused, match=r"the access token is too weak: use at least 16 random bytes .*for example "
                                       r"[A-Za-z0-9_-]{43} \(graphflow serve --generate-token"):
        check_bind("127.0.0.1", token)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", ""])
def test_beyond_loopback_without_a_token_is_refused(host):
    with pytest.raises(BindRefused, match=f"binding to {host} needs an access token: pass --token or set "
                                       "GRAPHFLOW_TOKEN"):
        check_bind(host, None)


def guarded(clock: FakeClock | None = None) -> httpx.AsyncClient:
    inner = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse(f"page {request.url.path}"))])
    guard = TokenGuard(inner, token=TOKEN, clock=clock or FakeClock())
    return httpx.AsyncClient(transport=httpx.ASGITransport(guard), base_url="http://t")


async def test_without_the_token_only_a_plain_refusal():
    async with guarded() as client:
        for url in ("/", "/graph/x", "/_nicegui/3.18.0/static/quasar.js", "/?token=wrong", f"/?token={TOKEN[:-1]}"):
            response = await client.get(url)
            assert response.status_code == 401
            assert "access token required" in response.text and "<script" not in response.text
        client.cookies.set(COOKIE, "forged")
        assert (await client.get("/")).status_code == 401


async def test_the_token_in_the_url_sets_a_cookie_and_is_dropped_from_the_url():
    async with guarded() as client:
        response = await client.get(f"/graph/x?token={TOKEN}&run=7&q=%3Cb%3E")
        assert response.status_code == 200
        assert "content='0;url=/graph/x?run=7&amp;q=%3Cb%3E'" in response.text
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and f"max-age={SESSION_SECONDS}" in cookie
        assert TOKEN.lower() not in cookie and "secure" not in cookie  # plain http here
        followed = await client.get("/graph/x?run=7")
        assert followed.status_code == 200 and followed.text == "page /graph/x"


async def test_the_session_expires():
    clock = FakeClock()
    async with guarded(clock) as client:
        await client.get(f"/?token={TOKEN}")
        clock.now += SESSION_SECONDS - 1
        assert (await client.get("/")).status_code == 200
        clock.now += 2
        assert (await client.get("/")).status_code == 401
        client.cookies.set(COOKIE, sign(TOKEN, int(clock.now) + 3600))  # issued in the future: forged
        assert (await client.get("/")).status_code == 401
        client.cookies.set(COOKIE, sign("another token entirely!!", int(clock.now)))
        assert (await client.get("/")).status_code == 401


async def test_wrong_tokens_are_rate_limited_per_client():
    clock = FakeClock()
    async with guarded(clock) as client:
        answers = [(await client.get(f"/?token=guess{n}")).status_code for n in range(MAX_FAILURES + 2)]
        assert answers == [401] * MAX_FAILURES + [429, 429]
        limited = await client.get(f"/?token={TOKEN}")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
        assert (await client.get("/")).status_code == 401  # no token given: the plain page, not counted
        clock.now += 61
        assert (await client.get(f"/?token={TOKEN}")).status_code == 200
