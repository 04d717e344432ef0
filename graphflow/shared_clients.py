"""Clients the nodes of one run share (one connection pool per model server), closed when it ends.

A client made per call pays a new connection pool and TLS context every time: against a local
server that was about 28 ms of blocking CPU per call, 14x a shared client. A run (and the map
items and sub-graphs inside it) shares one client per key; the outermost run closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
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


@asynccontextmanager
async def shared_clients() -> AsyncIterator[None]:
    """Scope of a run. Nested runs (map items, sub-graphs) use the enclosing run's clients."""
    if _current.get() is not None:
        yield
        return
    scope = SharedClients()
    token = _current.set(scope)
    try:
        yield
    finally:
        _current.reset(token)
        with anyio.CancelScope(shield=True):
            await scope.aclose()
