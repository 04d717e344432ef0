"""Sync functions in worker threads that a timeout or a cancelled run can walk away from.

A thread cannot be stopped from outside, so a timed-out call's thread is abandoned: the
attempt fails on schedule and the run goes on while the thread finishes (or not) on its
own. The threads are daemons, so a stuck one never keeps the process from exiting, and
at most ``MAX_ABANDONED_THREADS`` may be left running at once: past that, new calls fail
at once with a clear error instead of piling up threads until the server is exhausted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from graphflow.errors import NodeError

MAX_ABANDONED_THREADS = 16

_lock = threading.Lock()
_abandoned = 0


class TooManyAbandonedThreads(NodeError):
    pass


def abandoned_threads() -> int:
    """Threads left running by timed-out or cancelled calls, still not finished."""
    return _abandoned


async def run_in_thread(fn: Callable[[], Any], on_abandon: Callable[[int], None] | None = None) -> Any:
    """``fn()`` in a daemon thread. If the caller is cancelled first, the thread is abandoned
    (``on_abandon`` gets the number now abandoned) and the cancellation goes on."""
    global _abandoned
    if _abandoned >= MAX_ABANDONED_THREADS:
        raise TooManyAbandonedThreads(
            f"{_abandoned} worker threads abandoned by timeouts are still running (the limit is "
            f"{MAX_ABANDONED_THREADS}); not starting another until some finish")
    done = anyio.Event()
    token = anyio.lowlevel.current_token()
    state: dict[str, Any] = {"abandoned": False}

    def work() -> None:
        global _abandoned
        try:
            state["result"] = fn()
        except BaseException as exc:  # handed back to the awaiting task, or dropped if abandoned
            state["error"] = exc
        with _lock:
            state["finished"] = True
            if state["abandoned"]:
                _abandoned -= 1
                return
        try:
            anyio.from_thread.run_sync(done.set, token=token)
        except Exception:  # the loop is gone (it stopped while this ran): nobody waits
            pass

    threading.Thread(target=work, name="graphflow worker", daemon=True).start()
    try:
        await done.wait()
    except BaseException:
        count = 0
        with _lock:
            if not state.get("finished"):
                state["abandoned"] = True
                _abandoned += 1
                count = _abandoned
        if state["abandoned"] and on_abandon is not None:
            on_abandon(count)
        raise
    if "error" in state:
        raise state["error"]
    return state["result"]
