"""The run loop's hand-offs: a mailbox that reads without yielding, and reused workers
whose cancel reaches exactly the item it names."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from graphflow.mailbox import Mailbox, Workers, cancel_scope

pytestmark = pytest.mark.anyio


async def test_mailbox_wakes_a_waiting_reader_and_keeps_order() -> None:
    box = Mailbox()
    got: list[int] = []

    async def reader() -> None:
        while len(got) < 3:
            await box.wait()
            while (item := box.get_nowait()) is not None:
                got.append(item)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        box.send_nowait(1)
        box.send_nowait(2)
        await anyio.wait_all_tasks_blocked()
        box.send_nowait(3)
    assert got == [1, 2, 3]


class Harness:
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.finished: list[str] = []
        self.cancelled: list[str] = []
        self.gates: dict[str, anyio.Event] = {}

    async def work(self, name: str) -> None:
        self.ran.append(name)
        if name in self.gates:
            await self.gates[name].wait()
        self.finished.append(name)

    def on_cancelled(self, name: str) -> None:
        self.cancelled.append(name)


async def test_a_cancel_before_the_worker_starts_drops_the_item() -> None:
    h = Harness()
    async with anyio.create_task_group() as tg:
        workers = Workers(tg, h.work, h.on_cancelled)
        workers.submit("a", ("a",))
        workers.cancel("a")  # the worker task has not run yet
        await anyio.wait_all_tasks_blocked()
        workers.close()
    assert h.ran == [] and h.cancelled == ["a"]


async def test_cancel_ends_the_running_item_and_others_go_on() -> None:
    h = Harness()
    h.gates = {"slow": anyio.Event(), "other": anyio.Event()}
    async with anyio.create_task_group() as tg:
        workers = Workers(tg, h.work, h.on_cancelled)
        workers.submit("slow", ("slow",))
        workers.submit("other", ("other",))
        await anyio.wait_all_tasks_blocked()
        workers.cancel("slow")
        await anyio.wait_all_tasks_blocked()
        h.gates["other"].set()
        await anyio.wait_all_tasks_blocked()
        workers.close()
    assert h.cancelled == ["slow"] and h.finished == ["other"]


async def test_a_late_cancel_never_hits_the_next_item_of_the_same_worker() -> None:
    h = Harness()
    h.gates = {"second": anyio.Event()}
    async with anyio.create_task_group() as tg:
        workers = Workers(tg, h.work, h.on_cancelled)
        workers.submit("first", ("first",))
        await anyio.wait_all_tasks_blocked()  # first is done; its worker is idle
        workers.submit("second", ("second",))  # reuses that worker
        await anyio.wait_all_tasks_blocked()
        workers.cancel("first")  # e.g. a stop node decided after first's result was queued
        h.gates["second"].set()
        await anyio.wait_all_tasks_blocked()
        workers.close()
    assert h.finished == ["first", "second"] and h.cancelled == []


async def test_an_item_that_swallows_its_cancel_is_reported_once() -> None:
    reports: list[str] = []

    async def stubborn(name: str) -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            pass  # bad manners: the item ends normally and reports its own result
        reports.append(f"{name} done")

    async with anyio.create_task_group() as tg:
        workers = Workers(tg, stubborn, lambda name: reports.append(f"{name} cancelled"))
        workers.submit("x", ("x",))
        await anyio.wait_all_tasks_blocked()
        workers.cancel("x")
        await anyio.wait_all_tasks_blocked()
        workers.close()
    assert reports == ["x done"]


# -- the loop's own cancel scope (asyncio) ----------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_task_scope_cancelled_from_another_task_ends_only_its_block() -> None:
    scope = cancel_scope()
    reached: list[str] = []

    async def body() -> None:
        with scope:
            reached.append("in")
            await anyio.sleep(10)
            reached.append("never")
        await anyio.lowlevel.checkpoint()  # no cancellation left pending on the task
        reached.append("after")

    async with anyio.create_task_group() as tg:
        tg.start_soon(body)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
    assert reached == ["in", "after"] and scope.cancelled_caught


async def test_an_outer_cancel_passes_through_a_task_scope() -> None:
    inner = cancel_scope()
    with anyio.move_on_after(0.01) as outer:
        with inner:
            await anyio.sleep(10)
    assert outer.cancelled_caught and not inner.cancelled_caught


async def test_an_outer_cancel_passes_through_a_task_scope_cancelled_too() -> None:
    inner = cancel_scope()
    reached: list[str] = []
    async with anyio.create_task_group() as tg:
        async def body() -> None:
            with inner:
                await anyio.sleep(10)
            await anyio.lowlevel.checkpoint()  # the group's cancel is not lost: it lands at the next checkpoint
            reached.append("after the inner block")

        tg.start_soon(body)
        await anyio.wait_all_tasks_blocked()
        inner.cancel()
        tg.cancel_scope.cancel()
    assert reached == []


async def test_a_task_scope_cancelled_from_inside_runs_to_its_end() -> None:
    scope = cancel_scope()
    with scope:
        scope.cancel()
        await anyio.lowlevel.checkpoint()
    await anyio.lowlevel.checkpoint()  # nothing pending
    assert not scope.cancelled_caught
