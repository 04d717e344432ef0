"""Clients the nodes of one run share (one connection pool per model server), closed when it ends.

A client made per call pays a new connection pool and TLS context every time: against a local
server that was about 28 ms of blocking CPU per call, 14x a shared client. A run (and the map
items and sub-graphs inside it) shares one client per key; the outermost run closes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

import anyio

__all__ = ["SharedClients", "current", "shared_clients"]

T = TypeVar("T")


class SharedClients:
    def __init__(self) -> None:
        self._clients: dict[Hashable, tuple[Any, Callable[[Any], Awaitable[Any]]]] = {}

    def get(self, key: Hashable, make: Callable[[], T], close: Callable[[T], Awaitable[Any]]) -> T:
        """The client for ``key``, made on first use (synchronously, so concurrent callers share it)."""
        found = self._clients.get(key)
        if found is None:
            client = make()
            self._clients[key] = (client, close)
            return client
        return found[0]

    @property
    def has_clients(self) -> bool:
        return bool(self._clients)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client, close in clients:
            try:
                await close(client)
            except Exception:  # noqa: BLE001, S110 - a client that fails to close must not fail the run
                pass


_current: ContextVar[SharedClients | None] = ContextVar("graphflow_shared_clients", default=None)


def current() -> SharedClients | None:
    """The running run's clients; None outside a run (then callers make their own)."""
    return _current.get()


class shared_clients:  # noqa: N801 - used as ``async with shared_clients():``, like the function it replaced
    """Scope of a run. Nested runs (map items, sub-graphs) use the enclosing run's clients.
    A class, not a generator context manager: every run enters one, and a run that made no
    client closes nothing (no shielded scope)."""

    __slots__ = ("_scope", "_token")

    def __init__(self) -> None:
        self._scope: SharedClients | None = None
        self._token: Token[SharedClients | None] | None = None

    async def __aenter__(self) -> None:
        if _current.get() is None:
            self._scope = SharedClients()
            self._token = _current.set(self._scope)

    async def __aexit__(self, *exc: object) -> None:
        if self._scope is None or self._token is None:
            return
        _current.reset(self._token)
        if self._scope.has_clients:
            with anyio.CancelScope(shield=True):
                await self._scope.aclose()
