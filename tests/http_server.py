"""A real HTTP server on 127.0.0.1 for the HTTP request node's tests (fixture ``http_server``).

Routes: ``/echo`` (the request as JSON: method, path, query, headers, body), ``/text``,
``/status/CODE`` (that status; its body echoes the request headers, as some servers' errors
do), ``/redirect?to=URL[&code=302]``, ``/big?n=BYTES`` (chunked, no Content-Length),
``/declared?n=BYTES`` (Content-Length only), ``/hang`` (answers only when the test ends).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["HttpServer"]


class HttpServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(owner: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            record = {"method": self.command, "path": parts.path, "query": query,
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            owner.requests.append(record)
            if parts.path.startswith("/echo"):
                self._send(200, json.dumps(record).encode(), "application/json")
            elif parts.path == "/text":
                self._send(200, b"plain words", "text/plain; charset=utf-8")
            elif parts.path.startswith("/status/"):
                status = int(parts.path.rsplit("/", 1)[1])
                extra = {"Retry-After": query["retry_after"]} if "retry_after" in query else None
                self._send(status, json.dumps({"error": "failed", "you_sent": record["headers"]}).encode(),
                           "application/json", extra)
            elif parts.path == "/redirect":
                self.send_response(int(query.get("code", "302")))
                self.send_header("Location", query["to"])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/big":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                remaining = int(query["n"])
                try:
                    while remaining > 0:
                        piece = b"x" * min(remaining, 16384)
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        remaining -= len(piece)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client stopped reading at its cap
                    pass
            elif parts.path == "/declared":
                self._send(200, b"y" * int(query["n"]), "text/plain")
            elif parts.path == "/hang":
                owner.release.wait(30)
                self._send(200, b"late", "text/plain")
            else:
                self._send(404, b"no such route", "text/plain")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
