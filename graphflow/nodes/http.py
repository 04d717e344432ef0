"""The HTTP request node: one guarded request (``http_call.py``), the response as data.

``{variables}`` in the URL, header values, query values and body strings are the node's
input ports (as in the llm node); in the URL they are percent-encoded, so a value cannot
change the host or the path's shape (a URL that is only ``{url}`` takes the value as is).
A body string that is only ``{name}`` takes the port's value with its type. Credential
headers name credentials (``{"Authorization": "Bearer {my_api}"}``: ``my_api`` is read with
``ctx.secret``); their values never reach the output, events or errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import Field

from graphflow.errors import HttpRejected, HttpRequestFailed, HttpUnavailable
from graphflow.model import PortSpec, PortType
from graphflow.netguard import GRAPH_ALLOW_KEY, HostPolicy, Resolver, system_resolver
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.llm import render, variables

if TYPE_CHECKING:
    from graphflow.http_call import HttpRequest
    from graphflow.model import GraphSpec
    from graphflow.registry import Registry

MAX_BYTES = 4 << 20
"""The most a node may read: a node's output is capped at 4 MiB of JSON anyway."""
_WHOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)\}")


class HttpConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = "https://example.org/{path}"
    """The URL; each ``{variable}`` becomes an input port (its value percent-encoded)."""
    variable_types: dict[str, PortType] = Field(default_factory=dict)
    """Port type per variable; default ``string`` (``object`` for ``{x.field}``)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Header name -> value; ``{variables}`` are input ports."""
    credential_headers: dict[str, str] = Field(default_factory=dict)
    """Header name -> value whose ``{names}`` are credentials (``Bearer {my_api}``), never shown."""
    query: dict[str, str] = Field(default_factory=dict)
    """Query parameters; ``{variables}`` are input ports."""
    json_body: Any = None
    """A JSON body; its strings may hold ``{variables}`` (only ``{x}``: the value itself)."""
    form_body: dict[str, str] | None = None
    """A form body (``application/x-www-form-urlencoded``), instead of a JSON one."""
    timeout: float = Field(default=30.0, gt=0, le=3600)
    """Seconds for the whole exchange, redirects included."""
    max_bytes: int = Field(default=1 << 20, ge=1, le=MAX_BYTES)
    """The largest response body read; a bigger one fails the node (HttpResponseTooLarge)."""
    response: Literal["auto", "json", "text"] = "auto"
    """``auto``: JSON when the server says so, else text."""
    fail_on_status: bool = True
    """A status of 400 or more fails the node (429 and 5xx retryable, after Retry-After)."""
    follow_redirects: bool = True
    """Follow up to 5 redirects, each checked like the first URL."""


def _render_url(template: str, values: Mapping[str, Any]) -> str:
    if _WHOLE.fullmatch(template.strip()):
        return render(template.strip(), values)

    def encoded(match: re.Match[str]) -> str:
        return quote(render(match.group(0), values), safe="")

    return _WHOLE.sub(encoded, template)


def _render_body(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.fullmatch(value)
        if whole and not whole.group(2):
            return values.get(whole.group(1))
        return render(value, values)
    if isinstance(value, list):
        return [_render_body(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _render_body(v, values) for k, v in value.items()}
    return value


def _body_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _body_strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _body_strings(v)]
    return []


def _scrub_data(value: Any, secrets: list[str]) -> Any:
    from graphflow.http_call import scrub

    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_scrub_data(v, secrets) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _scrub_data(v, secrets)
                for k, v in value.items()}
    return value


class Prepared:
    """The config with the graph's allow-list, as ``run`` receives it."""

    def __init__(self, config: HttpConfig, graph_hosts: tuple[str, ...]) -> None:
        self.config = config
        self.graph_hosts = graph_hosts


class HttpRequestNode(NodeKind):
    kind = "http_request"
    title = "HTTP request"
    description = "Calls an HTTP API (refusing private and metadata addresses); URL {variables} are input ports."
    category = "integration"
    Config = HttpConfig
    inputs = ()
    outputs = (port("status", "integer"), port("body", "any"), port("headers", "object"))

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver: Resolver = resolver or system_resolver
        """How host names are resolved: tests give their own DNS here (no mocks of httpx)."""

    def templates(self, config: HttpConfig) -> list[str]:
        return [config.url, *config.headers.values(), *config.query.values(),
                *_body_strings(config.json_body), *(config.form_body or {}).values()]

    def input_ports(self, config: HttpConfig) -> tuple[PortSpec, ...]:
        found: dict[str, bool] = {}
        for template in self.templates(config):
            for name, dotted in variables(template).items():
                found[name] = found.get(name, False) or dotted
        return tuple(port(name, config.variable_types.get(name, "object" if dotted else "string"))
                     for name, dotted in found.items())

    def check(self, config: HttpConfig, registry: Registry) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if config.json_body is not None and config.form_body is not None:
            problems.append(("invalid_config", "config: give json_body or form_body, not both"))
        if not re.match(r"(?i)(https?://|\{)", config.url.strip()):
            problems.append(("invalid_config", f"config.url: {config.url!r} is not an http(s) URL"))
        for header, template in config.credential_headers.items():
            if not variables(template):
                problems.append(("invalid_config", f"config.credential_headers.{header}: name a credential "
                                                   "as {name} (e.g. 'Bearer {my_api}')"))
        return problems

    def prepare_in(self, config: HttpConfig, registry: Registry, graph: GraphSpec) -> Prepared:
        hosts = graph.metadata.get(GRAPH_ALLOW_KEY) or ()
        return Prepared(config, tuple(str(h) for h in hosts) if isinstance(hosts, list | tuple) else ())

    def request(self, config: HttpConfig, inputs: Mapping[str, Any], ctx: NodeContext) -> HttpRequest:
        from graphflow.http_call import NO_BODY, HttpRequest

        secret_headers: dict[str, str] = {}
        credentials: list[str] = []

        def credential(match: re.Match[str]) -> str:
            credentials.append(ctx.secret(match.group(1)))
            return credentials[-1]

        for header, template in config.credential_headers.items():
            secret_headers[header] = _WHOLE.sub(credential, template)
        return HttpRequest(
            method=config.method, url=_render_url(config.url, inputs),
            headers={k: render(v, inputs) for k, v in config.headers.items()}, secret_headers=secret_headers,
            credentials=tuple(credentials),
            query={k: render(v, inputs) for k, v in config.query.items()},
            json_body=NO_BODY if config.json_body is None else _render_body(config.json_body, inputs),
            form=None if config.form_body is None else {k: render(v, inputs) for k, v in config.form_body.items()},
            timeout=config.timeout, max_bytes=config.max_bytes, follow_redirects=config.follow_redirects)

    async def run(self, prepared: Prepared, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        from graphflow.http_call import scrub, send

        config = prepared.config
        request = self.request(config, inputs, ctx)
        secrets = request.secrets()
        policy = HostPolicy.from_settings(prepared.graph_hosts)
        response = await send(request, policy, self.resolver)
        text = response.body.decode("utf-8", errors="replace")
        if config.fail_on_status and response.status >= 400:
            raise _status_error(config.method, response.url, response.status, scrub(text, secrets)[:300],
                                response.headers)
        headers = _scrub_data(response.headers, secrets)
        if config.response == "text" or (config.response == "auto" and "json" not in response.content_type):
            return {"status": response.status, "body": scrub(text, secrets), "headers": headers}
        try:
            data = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise HttpRequestFailed(f"{config.method} {response.url}: the response is not JSON ({exc.msg} at line "
                                    f"{exc.lineno} column {exc.colno})", status=response.status,
                                    retryable=False) from None
        return {"status": response.status, "body": _scrub_data(data, secrets), "headers": headers}


def _status_error(method: str, url: str, status: int, excerpt: str,
                  headers: Mapping[str, str]) -> HttpRequestFailed:
    from graphflow.llm_call import retry_after

    message = f"{method} {url}: HTTP {status}" + (f": {excerpt}" if excerpt.strip() else "")
    if status == 429 or status >= 500 or status in (408, 409):
        return HttpUnavailable(message, status=status, retry_after=retry_after(headers))
    return HttpRejected(message, status=status)
