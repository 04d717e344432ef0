"""One suite, every backend: MemoryStore and SqliteStore must behave the same."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest

import graphflow
from graphflow import events as ev
from graphflow.clock import FakeClock
from graphflow.drafts import MAX_DRAFT_BYTES
from graphflow.memory import MemoryStore
from graphflow.ports import DraftStore, EventSink, GraphStore, KeyValueStore, NotFound, RunStore
from graphflow.state import RunState
from graphflow.stats import graph_stats
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Any, clock: FakeClock) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryStore(clock=clock)
    else:
        async with open_store(tmp_path / "conformance.db", clock=clock) as sqlite_store:
            yield sqlite_store


def spec(graph_id: str = "g", name: str = "G", value: int = 1) -> graphflow.GraphSpec:
    return graphflow.load_graph({
        "schema_version": 1, "id": graph_id, "name": name,
        "nodes": [{"id": "c", "kind": "constant", "config": {"value": value}},
                  {"id": "out", "kind": "output", "config": {"name": "result"}}],
        "edges": [{"id": "e", "source": "c", "target": "out"}],
    })


def run_log(run_id: str, graph_id: str = "g", at: float = 100.0, end: str | None = "succeeded") -> list[ev.Event]:
    """A run's events as the runner would publish them: start, two nodes, a retry, then ``end``."""
    events: list[Any] = [
        ev.RunStarted(run_id=run_id, seq=0, at=at, graph_id=graph_id, graph_version=1, inputs={"x": [1, 2]},
                      node_ids=["a", "b"]),
        ev.NodeStarted(run_id=run_id, seq=1, at=at + 1, node_id="a"),
        ev.NodeSucceeded(run_id=run_id, seq=2, at=at + 2, node_id="a", duration=1.0, output={"out": {"k": "v"}},
                         edges_taken=["e1"], cost=0.5, tokens=10),
        ev.NodeStarted(run_id=run_id, seq=3, at=at + 3, node_id="b"),
        ev.NodeRetrying(run_id=run_id, seq=4, at=at + 4, node_id="b", attempt=1, delay=0.1, error_type="E",
                        error_message="flaky"),
        ev.NodeFailed(run_id=run_id, seq=5, at=at + 5, node_id="b", attempt=2, duration=2.0, error_type="E",
                      error_message="down", handled=True, cost=0.25),
    ]
    if end == "cancelled":
        events.append(ev.RunCancelled(run_id=run_id, seq=6, at=at + 6, reason="stop", duration=6.0))
    elif end is not None:
        events.append(ev.RunFinished(run_id=run_id, seq=6, at=at + 6, status=end, outputs={"result": "v"},
                                     duration=6.0, failed_node="b" if end == "failed" else None,
                                     error="E: down" if end == "failed" else None))
    return events


async def publish_all(store: Any, events: list[ev.Event]) -> None:
    for event in events:
        await store.publish(event)


@pytest.mark.parametrize("port", [GraphStore, DraftStore, RunStore, KeyValueStore])
async def test_implements_the_ports(store, port):
    assert isinstance(store, EventSink)
    for name, member in vars(port).items():
        if name.startswith("_") or not callable(member):
            continue
        wanted = inspect.signature(member).parameters
        have = inspect.signature(getattr(store, name)).parameters
        for param in list(wanted.values())[1:]:  # past self
            assert param.name in have and have[param.name].default == param.default, (name, param.name)
        assert inspect.iscoroutinefunction(getattr(store, name)), name


# graphs


async def test_versions_are_numbered_and_kept(store):
    saved = [await store.save_graph(spec(name=f"G{i}", value=i)) for i in (1, 2, 3)]
    assert [s.version for s in saved] == [1, 2, 3]
    for i in (1, 2, 3):
        got = await store.get_graph("g", i)
        assert (got.graph_id, got.version, got.spec) == ("g", i, spec(name=f"G{i}", value=i))
    latest = await store.get_graph("g")
    assert latest.version == 3 and latest.spec.name == "G3"
    assert await store.list_versions("g") == [1, 2, 3]
    assert await store.list_versions("nope") == []
    with pytest.raises(NotFound):
        await store.get_graph("g", 4)
    with pytest.raises(NotFound):
        await store.get_graph("nope")


async def test_list_graphs_newest_first_with_run_counts(store, clock):
    await store.save_graph(spec("a", "A"))
    clock.advance(1)
    await store.save_graph(spec("b", "B"))
    clock.advance(1)
    await store.save_graph(spec("a", "A2"))
    await publish_all(store, run_log("r1", "a"))
    summaries = await store.list_graphs()
    assert [(s.graph_id, s.name, s.latest_version, s.runs) for s in summaries] == [("a", "A2", 2, 1), ("b", "B", 1, 0)]
    assert summaries[0].updated_at == clock.time()


async def test_a_run_of_an_unsaved_graph_lists_the_graph_without_versions(store):
    await publish_all(store, run_log("r1", "cli_graph", at=5.0))
    [summary] = await store.list_graphs()
    assert (summary.graph_id, summary.latest_version, summary.runs, summary.updated_at) == ("cli_graph", 0, 1, 5.0)
    with pytest.raises(NotFound):
        await store.get_graph("cli_graph")


async def test_delete_cascades_to_versions_runs_and_events(store):
    await store.save_graph(spec("g"))
    await store.save_graph(spec("keep"))
    await publish_all(store, run_log("r1", "g"))
    await publish_all(store, run_log("r2", "keep"))
    await store.delete_graph("g")
    with pytest.raises(NotFound):
        await store.get_graph("g")
    assert await store.list_versions("g") == []
    assert [s.graph_id for s in await store.list_graphs()] == ["keep"]
    assert [r.run_id for r in await store.list_runs()] == ["r2"]
    with pytest.raises(NotFound):
        await store.get_run("r1")
    assert await store.load_events("r1") == []
    assert await store.node_outputs("r1") == {}
    assert len(await store.load_events("r2")) == 7
    with pytest.raises(NotFound):
        await store.delete_graph("g")


# drafts


async def test_a_draft_is_kept_per_graph_replaced_and_never_a_version(store, clock):
    await store.save_graph(spec("g"))
    assert await store.get_draft("g") is None
    broken = {"id": "g", "nodes": [{"id": "x", "kind": "no such kind"}], "edges": "not even a list"}
    first = await store.save_draft("g", 1, broken)
    assert (first.graph_id, first.base_version, first.graph, first.saved_at) == ("g", 1, broken, clock.time())
    clock.advance(5)
    await store.save_draft("g", 1, {"id": "g", "name": "second"})
    got = await store.get_draft("g")
    assert got is not None and got.graph == {"id": "g", "name": "second"} and got.saved_at == clock.time()
    assert await store.list_versions("g") == [1]
    got.graph["name"] = "changed by the reader"
    assert (await store.get_draft("g")).graph["name"] == "second"  # type: ignore[union-attr]
    assert await store.delete_draft("g") is True
    assert await store.delete_draft("g") is False and await store.get_draft("g") is None


async def test_a_draft_needs_its_graph_and_goes_with_it(store):
    with pytest.raises(NotFound):
        await store.save_draft("nope", 1, {"nodes": []})
    await store.save_graph(spec("g"))
    await store.save_graph(spec("keep"))
    await store.save_draft("g", 1, {"nodes": []})
    await store.save_draft("keep", 1, {"nodes": [], "name": "kept"})
    await store.delete_graph("g")
    assert await store.get_draft("g") is None
    assert (await store.get_draft("keep")).graph == {"nodes": [], "name": "kept"}  # type: ignore[union-attr]


@pytest.mark.parametrize(("graph", "message"), [
    (["not", "an", "object"], "a draft is a graph object, not list"),
    ({"nodes": [{1, 2}]}, "a draft must be JSON data"),
    ({"value": float("nan")}, "a draft must be JSON data"),
    ({"big": "x" * MAX_DRAFT_BYTES}, "the limit is"),
])
async def test_a_draft_that_is_not_json_data_or_too_large_is_refused_and_the_old_one_kept(store, graph, message):
    await store.save_graph(spec("g"))
    await store.save_draft("g", 1, {"nodes": []})
    with pytest.raises(ValueError, match=message):
        await store.save_draft("g", 1, graph)
    assert (await store.get_draft("g")).graph == {"nodes": []}  # type: ignore[union-attr]


# runs


async def test_events_read_back_identical_and_in_order(store):
    events = run_log("r1")
    await publish_all(store, events)
    await store.flush()
    loaded = await store.load_events("r1")
    assert loaded == events
    assert [type(e) for e in loaded] == [type(e) for e in events]
    assert await store.load_events("r1", after_seq=4) == events[5:]
    assert await store.load_events("unknown") == []


async def test_run_summary_is_derived_from_the_events(store):
    await publish_all(store, run_log("r1", at=100.0, end="failed"))
    run = await store.get_run("r1")
    assert (run.run_id, run.graph_id, run.graph_version, run.status) == ("r1", "g", 1, "failed")
    assert (run.started_at, run.finished_at, run.duration) == (100.0, 106.0, 6.0)
    assert (run.failed_node, run.error, run.last_seq) == ("b", "E: down", 6)
    assert run.inputs == {"x": [1, 2]} and run.outputs == {"result": "v"}
    assert run.cost == pytest.approx(0.75)  # the nodes' costs: RunFinished carried none
    with pytest.raises(NotFound):
        await store.get_run("unknown")


async def test_run_finished_cost_is_preferred(store):
    events = run_log("r1", end=None)
    events.append(ev.RunFinished(run_id="r1", seq=6, at=1.0, status="succeeded", cost=2.5))
    await publish_all(store, events)
    assert (await store.get_run("r1")).cost == 2.5


async def test_a_running_then_cancelled_run(store):
    events = run_log("r1", end="cancelled")
    await publish_all(store, events[:3])
    running = await store.get_run("r1")
    assert (running.status, running.finished_at, running.outputs, running.last_seq) == ("running", None, {}, 2)
    assert running.cost == pytest.approx(0.5)
    await publish_all(store, events[3:])
    cancelled = await store.get_run("r1")
    assert (cancelled.status, cancelled.error, cancelled.duration) == ("cancelled", "stop", 6.0)


async def test_list_runs_newest_first(store):
    await publish_all(store, run_log("old", "a", at=1.0))
    await publish_all(store, run_log("new", "b", at=3.0))
    await publish_all(store, run_log("mid", "a", at=2.0))
    await publish_all(store, run_log("tie", "a", at=2.0))  # same start: the later one first
    assert [r.run_id for r in await store.list_runs()] == ["new", "tie", "mid", "old"]
    assert [r.run_id for r in await store.list_runs("a")] == ["tie", "mid", "old"]
    assert [r.run_id for r in await store.list_runs(limit=2)] == ["new", "tie"]
    assert await store.list_runs("none") == []


async def test_node_outputs_are_the_checkpoints(store):
    await publish_all(store, run_log("r1", end=None))
    assert await store.node_outputs("r1") == {"a": {"out": {"k": "v"}}}


async def test_unfinished_runs_are_those_without_an_end_event(store):
    await publish_all(store, run_log("done", at=1.0))
    await publish_all(store, run_log("crashed", at=2.0, end=None))
    await publish_all(store, run_log("just_started", at=3.0, end=None)[:1])
    await publish_all(store, run_log("cancelled", at=4.0, end="cancelled"))
    unfinished = await store.unfinished_runs()
    assert [(r.run_id, r.status, r.last_seq) for r in unfinished] == [("crashed", "running", 5),
                                                                      ("just_started", "running", 0)]


async def test_a_seq_that_is_not_the_next_one_is_refused(store):
    events = run_log("r1")
    with pytest.raises(ValueError, match="run_started"):
        await store.publish(events[1].model_copy(update={"seq": 0}))
    with pytest.raises(ValueError, match="not the next one"):
        await store.publish(events[1])  # the run has no event 0 yet
    await publish_all(store, events[:3])
    with pytest.raises(ValueError, match="not the next one"):
        await store.publish(events[4])  # a gap
    with pytest.raises(ValueError, match="not the next one"):
        await store.publish(events[2])  # a duplicate
    with pytest.raises(ValueError, match="not the next one"):
        await store.publish(events[0])  # the run started already
    await publish_all(store, events[3:])  # the refusals left the log as it was
    await store.flush()
    assert await store.load_events("r1") == events


async def test_runs_for_stats_are_finished_runs_newest_first(store):
    await publish_all(store, run_log("r1", at=1.0))
    await publish_all(store, run_log("r2", at=2.0, end="failed"))
    await publish_all(store, run_log("r3", at=3.0, end=None))
    await publish_all(store, run_log("other", "h", at=4.0))
    logs = await store.runs_for_stats("g")
    assert [log[0].run_id for log in logs] == ["r2", "r1"]
    assert logs[1] == run_log("r1", at=1.0)
    assert [log[0].run_id for log in await store.runs_for_stats("g", limit=1)] == ["r2"]
    assert graph_stats(logs).runs == 2


async def test_reads_are_copies(store):
    await publish_all(store, run_log("r1"))
    (await store.get_run("r1")).outputs["result"] = "changed"
    (await store.node_outputs("r1"))["a"]["out"] = "changed"
    assert (await store.get_run("r1")).outputs == {"result": "v"}
    assert await store.node_outputs("r1") == {"a": {"out": {"k": "v"}}}


# a real run, the store as its sink


async def test_a_real_run_replays_from_the_store(store):
    registry = graphflow.default_registry(installed=False)
    registry.register_function("double", lambda v: v * 2)

    def fail(v: Any) -> Any:
        raise RuntimeError("nope")

    registry.register_function("fail", fail)
    graph = {"schema_version": 1, "id": "real", "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
        {"id": "double", "kind": "function", "config": {"function": "double"}},
        {"id": "out", "kind": "output", "config": {"name": "y"}}],
        "edges": [{"id": "e1", "source": "in", "target": "double"}, {"id": "e2", "source": "double", "target": "out"}]}
    result = await graphflow.run(graph, {"x": 21}, registry=registry, sinks=[store])
    assert result.outputs == {"y": 42}
    loaded = await store.load_events(result.run_id)
    assert loaded == result.events
    state = RunState.from_events(loaded)
    assert {node: record.status for node, record in state.nodes.items()} == result.node_states
    assert (state.status, state.outputs) == ("succeeded", {"y": 42})
    summary = await store.get_run(result.run_id)
    assert (summary.status, summary.outputs, summary.inputs) == ("succeeded", {"y": 42}, {"x": 21})
    assert (await store.node_outputs(result.run_id))["double"] == {"out": 42}

    graph["nodes"][1]["config"]["function"] = "fail"
    failed = await graphflow.run(graph, {"x": 1}, registry=registry, sinks=[store])
    state = RunState.from_events(await store.load_events(failed.run_id))
    assert {node: record.status for node, record in state.nodes.items()} == failed.node_states
    summary = await store.get_run(failed.run_id)
    assert (summary.status, summary.failed_node, summary.error) == ("failed", "double", "RuntimeError: nope")
    assert [r.run_id for r in await store.list_runs("real")] == [failed.run_id, result.run_id]


# key-value


async def test_kv_put_get_overwrite_and_namespaces(store):
    await store.put("breakers", "llm", {"state": "open", "failures": 3})
    await store.put("cache", "llm", [1, "two", None])
    assert await store.get("breakers", "llm") == {"state": "open", "failures": 3}
    assert await store.get("cache", "llm") == [1, "two", None]
    assert await store.get("breakers", "other") is None
    await store.put("breakers", "llm", {"state": "closed"})
    assert await store.get("breakers", "llm") == {"state": "closed"}
    await store.put("breakers", "db", "half_open")
    assert await store.items("breakers") == {"db": "half_open", "llm": {"state": "closed"}}
    assert await store.items("empty") == {}
    assert await store.delete("breakers", "db") is True
    assert await store.delete("breakers", "db") is False
    with pytest.raises(TypeError):
        await store.put("cache", "bad", object())


async def test_kv_expiry(store, clock):
    now = clock.time()
    await store.put("cache", "short", 1, expires_at=now + 10)
    await store.put("cache", "long", 2, expires_at=now + 100)
    await store.put("cache", "forever", 3)
    assert await store.get("cache", "short") == 1
    assert await store.get("cache", "short", now=now + 10) is None  # expired at its deadline
    assert await store.items("cache", now=now + 50) == {"forever": 3, "long": 2}
    clock.advance(10)
    assert await store.get("cache", "short") is None  # the store's clock by default
    assert await store.purge_expired(now=now + 100) == 2
    assert await store.items("cache", now=0.0) == {"forever": 3}


async def test_flush_returns_once_everything_is_stored(store):
    for i in range(50):
        await publish_all(store, run_log(f"r{i}", at=float(i)))
    await store.flush()
    assert len(await store.list_runs(limit=1000)) == 50
    await store.flush()  # nothing queued: returns at once


async def test_session_messages_are_kept_per_session_once_per_turn(store):
    turn = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    await store.add_session_messages("s1", "r1", "agent", turn)
    await store.add_session_messages("s1", "r1", "agent", [{"role": "user", "content": "again"}])  # resumed: kept once
    await store.add_session_messages("s1", "r2", "agent", [{"role": "user", "content": "2"},
                                                           {"role": "assistant", "content": "two"}])
    await store.add_session_messages("s2", "r3", "agent", turn)
    assert [(m["role"], m["content"], m["run_id"]) for m in await store.session_messages("s1")] == [
        ("user", "hi", "r1"), ("assistant", "hello", "r1"), ("user", "2", "r2"), ("assistant", "two", "r2")]
    assert [m["content"] for m in await store.session_messages("s1", limit=3)] == ["hello", "2", "two"]
    assert await store.session_messages("nobody") == []
    assert await store.run_sessions("r2") == ["s1"] and await store.run_sessions("r3") == ["s2"]
    assert await store.run_sessions("nothing") == []
