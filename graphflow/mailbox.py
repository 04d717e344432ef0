"""The two hand-offs of a run: node tasks -> run loop (``Mailbox``), run loop -> node
tasks (``Workers``).

anyio's memory object streams yield to the event loop on every ``receive`` and build an
``Event`` per wait. A run passes two messages per node, so for small nodes those costs
were most of the scheduler's time. Here a read is free while messages are queued, and a
wake-up costs one ``Event`` only when the reader is actually waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import anyio
from anyio.abc import TaskGroup

T = TypeVar("T")


class _FutureEvent:
    """A one-shot wake-up on a bare asyncio future: what ``anyio.Event`` does for one
    waiter, without its backend look-up, waiter list and checkpoint (a tenth of a small
    node's cost). Cancelling the waiting task cancels the future, so cancel scopes work."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def is_set(self) -> bool:
        return self._future.done()

    def wait(self) -> asyncio.Future[None]:
        """What to await (the future itself: no coroutine per wait)."""
        return self._future


def event_factory() -> Callable[[], Any]:
    """What makes a one-shot wake-up here: a bare future on the running asyncio loop,
    ``anyio.Event`` on other backends (trio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return anyio.Event
    return functools.partial(_FutureEvent, loop)


class _TaskScope:
    """What ``anyio.CancelScope`` does for code one asyncio task awaits directly, at a tenth
    of its cost (entering and leaving an anyio scope was about 4 us, a fifth of a small
    node's): ``cancel`` cancels the task, and leaving the block swallows that cancellation
    only (as ``asyncio.timeout`` does), so outer scopes' cancellations pass through (one
    that raced ours lands at the task's next checkpoint, anyio delivering it again). A
    ``cancel`` from inside the task itself is not delivered: the block runs on to its end
    (a cancellation left pending would hit the task after the block)."""

    __slots__ = ("_cancelling", "_requested", "_task", "cancelled_caught")

    def __init__(self) -> None:
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self._requested = False
        self.cancelled_caught = False

    def __enter__(self) -> _TaskScope:
        task = asyncio.current_task()
        assert task is not None
        self._task, self._cancelling = task, task.cancelling()
        return self

    def cancel(self) -> None:
        task = self._task
        if task is None or self._requested or task is asyncio.current_task():
            return
        self._requested = True
        task.cancel()

    def __exit__(self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
                 exc_tb: TracebackType | None) -> bool:
        task, self._task = self._task, None
        if not self._requested:
            return False
        assert task is not None
        if task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            self.cancelled_caught = True
            return True
        return False


class Scope(Protocol):
    """What ``cancel_scope`` returns."""

    @property
    def cancelled_caught(self) -> bool: ...
    def cancel(self) -> None: ...
    def __enter__(self) -> Scope: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
                 exc_tb: TracebackType | None) -> bool: ...


def cancel_scope() -> Scope:
    """A cancel scope for the block the current task runs next: ``_TaskScope`` on asyncio,
    ``anyio.CancelScope`` elsewhere (trio). Either has ``cancel()`` and ``cancelled_caught``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.CancelScope()
    return _TaskScope()


class _AsyncioTasks:
    """asyncio's own task group behind anyio's ``start_soon``: a task started here costs a
    quarter of what ``anyio``'s ``start_soon`` costs (its wrapper coroutine and bookkeeping),
    which a run pays per worker. Children still end with the group, and cancel scopes
    entered inside them work as in anyio's tasks."""

    __slots__ = ("_group",)

    def __init__(self) -> None:
        self._group = asyncio.TaskGroup()

    async def __aenter__(self) -> _AsyncioTasks:
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        return await self._group.__aexit__(*exc)

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self._group.create_task(fn(*args))  # type: ignore[arg-type]  # a coroutine function's result


def task_group() -> Any:
    """Where a run's node tasks live: asyncio's task group on asyncio, anyio's elsewhere (trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.create_task_group()
    return _AsyncioTasks()


@contextlib.asynccontextmanager
async def task_after(delay: float, fn: Callable[[], Awaitable[Any]]) -> AsyncIterator[None]:
    """``fn()`` in a task beside the block, started only once the block has gone on for
    ``delay`` seconds (a timer on the asyncio loop): a block shorter than that, as most runs
    are beside their lease's heartbeat, costs no task, task group or cancel (they were a
    fifth of a short recorded run). Leaving the block cancels the task and waits for it; an
    error of the task is raised then. On other backends (trio) the task sleeps ``delay``."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_after, delay, fn)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
        return
    started: list[asyncio.Task[Any]] = []
    timer = loop.call_later(delay, lambda: started.append(loop.create_task(fn())))  # type: ignore[arg-type]
    try:
        yield
    finally:
        timer.cancel()
        if started:
            await _stopped(started[0])


async def _after(delay: float, fn: Callable[[], Awaitable[Any]]) -> None:
    await anyio.sleep(delay)
    await fn()


async def _stopped(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with anyio.CancelScope(shield=True):
        await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


class Mailbox(Generic[T]):
    """Many senders (node tasks, a cancel button), one reader (the run loop)."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._wakeup: Any = None
        self._new_event = event_factory()

    def send_nowait(self, item: T) -> None:
        self._items.append(item)
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    async def wait(self) -> None:
        """Return once a message is queued (at once if one already is)."""
        while not self._items:
            self._wakeup = self._new_event()
            await self._wakeup.wait()


class _Idle:
    __slots__ = ("event", "item")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.item: Any = None


class Workers:
    """Tasks reused across nodes: starting a task per node costs more than a small node.

    ``submit`` hands an item to an idle worker or starts a new one; the caller caps how
    many items are in flight, and so how many workers there are. Each worker lives in
    one cancel scope (entering a scope per node was a tenth of a small node's cost):
    ``cancel(key)`` ends the worker running that item, which then calls ``on_cancelled``
    with it instead of taking more work."""

    def __init__(self, tg: TaskGroup | _AsyncioTasks, work: Callable[..., Awaitable[None]],
                 on_cancelled: Callable[..., None]) -> None:
        self._tg = tg
        self._work = work
        self._on_cancelled = on_cancelled
        self._idle: list[_Idle] = []
        self._running: dict[str, Scope] = {}
        self._dropped: set[str] = set()
        """Cancelled after ``submit`` but before a worker took them up."""
        self._closed = False
        self._new_event = event_factory()

    def submit(self, key: str, item: tuple[Any, ...]) -> None:
        if self._idle:
            idle = self._idle.pop()
            idle.item = (key, item)
            idle.event.set()
        else:
            self._tg.start_soon(self._worker, key, item)

    def cancel(self, key: str) -> None:
        scope = self._running.get(key)
        if scope is not None:
            scope.cancel()
        else:
            self._dropped.add(key)

    def close(self) -> None:
        """Idle workers end; the busy ones end when their item is done."""
        self._closed = True
        idle, self._idle = self._idle, []
        for waiting in idle:
            waiting.event.set()

    async def _worker(self, key: str, item: tuple[Any, ...]) -> None:
        unfinished: tuple[Any, ...] | None = None
        """The item being worked on; reported as cancelled if the scope ends it."""
        with cancel_scope() as scope:
            while True:
                if key in self._dropped:
                    self._dropped.discard(key)
                    self._on_cancelled(*item)
                else:
                    self._running[key] = scope
                    unfinished = item
                    try:
                        await self._work(*item)
                    finally:
                        del self._running[key]
                    unfinished = None  # done (even if it swallowed the cancel): its result is reported
                if self._closed:
                    return
                idle = _Idle(self._new_event())
                self._idle.append(idle)
                await idle.event.wait()
                if idle.item is None:
                    return
                key, item = idle.item
        if scope.cancelled_caught and unfinished is not None:
            self._on_cancelled(*unfinished)
