"""One guarded HTTP request through httpx: pinned addresses, redirects followed here, a size cap.

httpx never resolves a name itself: each hop's host is checked by ``netguard`` and the
request connects to the checked address (the URL carries the address; ``Host`` and TLS SNI
and certificate checks keep the name), so DNS cannot answer differently between check and
connect. Redirects are followed here (at most ``max_redirects``), each one checked again;
credentials do not follow a redirect to another origin. The environment's proxies are not
used (``trust_env=False``): a proxy would connect by name, past the guard. The body is
read in chunks and the request stops at ``max_bytes``. Every message that leaves this
module has the request's credential values scrubbed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphflow.errors import HttpRefused, HttpRequestFailed, HttpResponseTooLarge, HttpTimeout, HttpUnavailable
from graphflow.netguard import HostPolicy, Resolver

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpRequest", "HttpResponse", "NO_BODY", "scrub", "send"]

NO_BODY: Any = object()
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Dropped (with every credential header of the node) when a redirect leaves the origin."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict[str, str])
    secret_headers: dict[str, str] = field(default_factory=dict[str, str])
    """Header values made from credentials: sent to the first origin only, scrubbed everywhere."""
    query: dict[str, str] = field(default_factory=dict[str, str])
    json_body: Any = NO_BODY
    form: dict[str, str] | None = None
    timeout: float = 30.0
    """Seconds for the whole exchange: every hop, connect to the last byte."""
    max_bytes: int = 1 << 20
    follow_redirects: bool = True
    max_redirects: int = 5

    credentials: tuple[str, ...] = ()
    """The credential values inside ``secret_headers``: scrubbed out of every message and output."""

    def secrets(self) -> list[str]:
        return sorted(set(self.credentials), key=len, reverse=True)  # the header values hold only these


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    """Where the last hop went (after redirects), without credentials in it."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def shown(url: httpx.URL) -> str:
    """The URL for messages: no user info, no query (either may carry a token)."""
    port = f":{url.port}" if url.port is not None else ""
    host = url.raw_host.decode("ascii")
    host = f"[{host}]" if ":" in host else host
    return f"{url.scheme}://{host}{port}{url.raw_path.decode('ascii').partition('?')[0]}"


def _origin(url: httpx.URL) -> tuple[str, bytes, int | None]:
    return url.scheme, url.raw_host, url.port


async def send(request: HttpRequest, policy: HostPolicy, resolver: Resolver) -> HttpResponse:
    """Make the request; an ``HttpRequestFailed`` (scrubbed) for every way it can fail."""
    import anyio
    import httpx

    secrets = request.secrets()
    try:
        url = httpx.URL(request.url)
        if request.query:
            url = url.copy_merge_params(request.query)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise HttpRefused(scrub(f"not a URL: {request.url!r} ({exc})", secrets)) from None
    where = shown(url)
    try:
        with anyio.fail_after(request.timeout):
            return await _hops(request, url, policy, resolver)
    except HttpRequestFailed as exc:
        exc.args = (scrub(str(exc), secrets),)
        raise
    except TimeoutError:
        raise HttpTimeout(f"{request.method} {where}: no complete response within {request.timeout:g}s") from None
    except httpx.TimeoutException:
        raise HttpTimeout(f"{request.method} {where}: no complete response within {request.timeout:g}s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
        raise HttpRefused(scrub(f"{request.method} {where}: {type(exc).__name__}: {exc}", secrets)) from None
    except (httpx.HTTPError, OSError) as exc:
        raise HttpUnavailable(scrub(f"{request.method} {where}: cannot reach it: {type(exc).__name__}: {exc}",
                                    secrets)) from None


async def _hops(request: HttpRequest, url: httpx.URL, policy: HostPolicy, resolver: Resolver) -> HttpResponse:
    import httpx

    first = _origin(url)
    method = request.method.upper()
    json_body, form = request.json_body, request.form
    for hop in range(request.max_redirects + 1):
        if url.scheme not in ("http", "https"):
            raise HttpRefused(f"{shown(url)}: only http and https URLs are requested")
        port = url.port or (443 if url.scheme == "https" else 80)
        target = await policy.check(url.raw_host.decode("ascii"), port, resolver)
        headers = dict(request.headers)
        if _origin(url) == first:
            headers.update(request.secret_headers)
        else:  # a redirect to another origin gets no credentials
            headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
        headers = {k: v for k, v in headers.items() if k.lower() != "host"}  # the name the guard checked
        headers["Host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
        pinned = url.copy_with(host=target.address)
        body: dict[str, Any] = {}
        if json_body is not NO_BODY:
            body["json"] = json_body
        elif form is not None:
            body["data"] = form
        # a client per hop: a pooled connection was checked for another host name
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=request.timeout) as client:
            outgoing = client.build_request(method, pinned, headers=headers, extensions=extensions, **body)
            response = await client.send(outgoing, stream=True)
            try:
                location = response.headers.get("location")
                if request.follow_redirects and response.status_code in REDIRECTS and location:
                    if hop == request.max_redirects:
                        raise HttpRefused(f"{method} {shown(url)}: more than {request.max_redirects} redirects")
                    status = response.status_code
                    url = url.join(location)
                    if status == 303 and method != "HEAD" or status in (301, 302) and method == "POST":
                        method, json_body, form = "GET", NO_BODY, None
                    continue
                data = await _read_capped(response, request.max_bytes, f"{method} {shown(url)}")
                return HttpResponse(response.status_code, dict(response.headers), data, shown(url))
            finally:
                await response.aclose()
    raise AssertionError("unreachable: the loop returns or raises")


async def _read_capped(response: httpx.Response, limit: int, where: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HttpResponseTooLarge(f"{where}: the response is {int(declared):,} bytes, over the node's "
                                   f"max_bytes of {limit:,}", status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decoded: a compressed bomb stops at the cap too
        size += len(chunk)
        if size > limit:
            raise HttpResponseTooLarge(f"{where}: the response passed the node's max_bytes of {limit:,} "
                                       "(stopped reading)", status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)
