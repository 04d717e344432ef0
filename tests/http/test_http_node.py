"""The HTTP request node against a real HTTP server on 127.0.0.1 (allowed by name in GRAPHFLOW_HTTP_ALLOW)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import graphflow
from graphflow.events import event_to_json
from graphflow.nodes.http import HttpConfig, HttpRequestNode

pytestmark = pytest.mark.anyio
SECRET = "tok-planted-7f3a9c"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1")
    monkeypatch.setenv("GRAPHFLOW_SECRET_API", SECRET)


def http_graph(config: dict[str, Any], inputs: tuple[str, ...] = (), *, node: dict[str, Any] | None = None,
               metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    nodes = [{"id": n, "kind": "input", "config": {"name": n, "type": "any"}} for n in inputs]
    nodes.append({"id": "call", "kind": "http_request", "config": config, **(node or {})})
    nodes += [{"id": p, "kind": "output", "config": {"name": p}} for p in ("status", "body")]
    edges = [{"id": f"e_{n}", "source": n, "target": "call", "target_port": n} for n in inputs]
    edges += [{"id": f"o_{p}", "source": "call", "source_port": p, "target": p} for p in ("status", "body")]
    return {"schema_version": 1, "id": "h", "nodes": nodes, "edges": edges, "metadata": metadata or {}}


def dump(result: Any) -> str:
    return "".join(event_to_json(e) for e in result.events) + json.dumps(result.outputs) + str(result.error)


def failure(result: Any) -> Any:
    return next(e for e in result.events if e.kind == "node_failed")


async def test_template_ports_query_headers_and_json_body(http_server):
    config = {"method": "POST", "url": http_server.url + "/echo?fixed=1", "headers": {"X-Who": "{who}"},
              "query": {"q": "{term}"}, "json_body": {"item": "{item}", "note": "for {who}"},
              "variable_types": {"item": "object"}}
    assert [p.name for p in HttpRequestNode().input_ports(HttpConfig.model_validate(config))] == [
        "who", "term", "item"]
    result = await graphflow.run(http_graph(config, ("who", "term", "item")),
                                 {"who": "ana", "term": "a b&c", "item": {"n": 2}})
    assert result.ok, result.error
    assert result.outputs["status"] == 200
    echoed = result.outputs["body"]
    assert echoed["method"] == "POST" and echoed["query"] == {"fixed": "1", "q": "a b&c"}
    assert echoed["headers"]["x-who"] == "ana" and echoed["headers"]["host"] == f"127.0.0.1:{http_server.port}"
    assert json.loads(echoed["body"]) == {"item": {"n": 2}, "note": "for ana"}


async def test_url_variables_are_percent_encoded_and_form_bodies_sent(http_server):
    config = {"method": "PUT", "url": http_server.url + "/echo/{name}", "form_body": {"a": "{name}"}}
    result = await graphflow.run(http_graph(config, ("name",)), {"name": "x/../y?z"})
    assert result.ok, result.error
    assert http_server.requests[0]["path"] == "/echo/x%2F..%2Fy%3Fz"
    assert http_server.requests[0]["body"] == "a=x%2F..%2Fy%3Fz"


async def test_text_response_and_a_whole_url_from_a_port(http_server):
    result = await graphflow.run(http_graph({"url": "{url}"}, ("url",)), {"url": http_server.url + "/text"})
    assert result.outputs == {"status": 200, "body": "plain words"}


async def test_credential_header_reaches_the_server_but_never_the_events_or_errors(http_server):
    config = {"url": http_server.url + "/status/401", "credential_headers": {"Authorization": "Bearer {api}"}}
    result = await graphflow.run(http_graph(config))
    assert http_server.requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    failed = failure(result)
    assert failed.error_type == "HttpRejected" and "HTTP 401" in failed.error_message
    assert "***" in failed.error_message  # the server echoed the header; the message has it scrubbed
    assert SECRET not in dump(result)

    ok = await graphflow.run(http_graph({**config, "url": http_server.url + "/echo"}))
    assert ok.ok and ok.outputs["body"]["headers"]["authorization"] == "Bearer ***"
    assert SECRET not in dump(ok)


async def test_credentials_do_not_follow_a_redirect_to_another_origin(http_server, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1,localhost")
    target = f"http://localhost:{http_server.port}/echo"
    config = {"url": http_server.url + "/redirect?to=" + target, "credential_headers": {"X-Key": "{api}"},
              "headers": {"Authorization": "Basic abc"}}
    result = await graphflow.run(http_graph(config))
    assert result.ok, result.error
    assert "x-key" not in result.outputs["body"]["headers"] and "authorization" not in result.outputs["body"]["headers"]


async def test_5xx_is_retried_after_retry_after_and_4xx_is_not(http_server):
    node = {"retry": {"max_attempts": 2, "base_delay": 0}}
    result = await graphflow.run(http_graph({"url": http_server.url + "/status/503?retry_after=0.2"}, node=node))
    retry = next(e for e in result.events if e.kind == "node_retrying")
    assert retry.error_type == "HttpUnavailable" and retry.delay == pytest.approx(0.2)
    result = await graphflow.run(http_graph({"url": http_server.url + "/status/404"}, node=node))
    assert not [e for e in result.events if e.kind == "node_retrying"]
    quiet = await graphflow.run(http_graph({"url": http_server.url + "/status/404", "fail_on_status": False}))
    assert quiet.ok and quiet.outputs["status"] == 404


async def test_response_over_the_cap_stops_with_a_clear_error(http_server):
    result = await graphflow.run(http_graph({"url": http_server.url + "/big?n=5000000", "max_bytes": 100_000}))
    failed = failure(result)
    assert failed.error_type == "HttpResponseTooLarge" and "max_bytes of 100,000" in failed.error_message
    assert "stopped reading" in failed.error_message
    declared = await graphflow.run(http_graph({"url": http_server.url + "/declared?n=2000", "max_bytes": 1000}))
    assert "2,000 bytes" in failure(declared).error_message
    fits = await graphflow.run(http_graph({"url": http_server.url + "/big?n=1000", "max_bytes": 1000}))
    assert fits.ok and len(fits.outputs["body"]) == 1000


async def test_timeout_fails_the_node_clearly(http_server):
    result = await graphflow.run(http_graph({"url": http_server.url + "/hang", "timeout": 0.3}))
    failed = failure(result)
    assert failed.error_type == "HttpTimeout" and "within 0.3s" in failed.error_message


async def test_json_expected_but_text_sent_fails(http_server):
    result = await graphflow.run(http_graph({"url": http_server.url + "/text", "response": "json"}))
    assert "not JSON" in failure(result).error_message


def test_bad_configs_are_validation_problems():
    with pytest.raises(graphflow.GraphValidationError) as bad:
        graphflow.validate_graph(http_graph({"url": "ftp://x/", "json_body": {}, "form_body": {},
                                             "credential_headers": {"X": "plain"}}))
    text = str(bad.value)
    assert "not an http(s) URL" in text and "not both" in text and "name a credential" in text
