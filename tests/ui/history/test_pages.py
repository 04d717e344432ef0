"""History, replay and stats pages with NiceGUI's simulated user (no browser)."""

from __future__ import annotations

import anyio
import pytest
from history_support import GRAPH_ID, graph_v2
from nicegui import ElementFilter, ui

import graphflow

pytestmark = pytest.mark.anyio


def texts(user, marker: str) -> list[str]:
    with user:
        return [element.text for element in ElementFilter(marker=marker)]


def current(user) -> str:
    return texts(user, "current-event")[0]


async def wait_until(predicate) -> None:
    with anyio.fail_after(5):
        while not predicate():  # noqa: ASYNC110 (page state and run results announce no event to wait on)
            await anyio.sleep(0.02)


async def test_history_lists_the_runs_newest_first_and_opens_a_replay(user, app):
    await user.open(f"/graph/{GRAPH_ID}/runs")
    ids = [app.runs["failed"], app.runs["retried"], app.runs["ok"]]
    with user:
        links = list(ElementFilter(kind=ui.link, marker="run-link"))
    assert [link.props["href"] for link in links] == [f"/run/{run_id}" for run_id in ids]
    assert texts(user, "run-status") == ["failed", "succeeded", "succeeded"]
    assert texts(user, "failed-node") == ["check", "", ""]
    user.find(marker="run-link", content=app.runs["failed"][:12]).click()
    await user.should_see(marker="run-summary")
    assert "failed" in texts(user, "run-summary")[0]


async def test_history_marks_unfinished_runs_and_says_when_there_are_none(user, app):
    workspace = app.ctx.workspace
    await workspace.store.publish(graphflow.events.RunStarted(
        run_id="stopped", seq=0, at=9e9, graph_id=GRAPH_ID, graph_version=1, node_ids=["in"]))
    await user.open(f"/graph/{GRAPH_ID}/runs")
    assert texts(user, "run-status")[0] == "unfinished"
    await user.open("/graph/other/runs")
    await user.should_see(marker="no-runs")


async def test_replay_steps_scrubs_and_jumps_without_calling_a_node(user, app):
    calls_before = list(app.calls)
    events = await app.ctx.workspace.store.load_events(app.runs["failed"])
    await user.open(f"/run/{app.runs['failed']}")
    assert current(user).startswith(f"event 1 of {len(events)}: #0") and "run_started" in current(user)
    assert texts(user, "final-status") == []
    user.find(marker="step").click()
    assert current(user).startswith(f"event 2 of {len(events)}: #1")
    user.find(marker="timeline").elements.pop().set_value(4)
    assert current(user).startswith(f"event 5 of {len(events)}: #4")
    user.find(marker="to-end").click()
    assert "run_finished  failed at check: ValueError: 201 is over the limit 100" in current(user)
    assert texts(user, "final-status") == ["Run failed"]
    user.find(marker="to-start").click()
    assert "before the first event" in current(user)
    with user:
        highlighted = [e for e in ElementFilter(kind=ui.label) if "gf-current" in e.classes]
    assert highlighted == []
    user.find(marker="step").click()
    with user:
        highlighted = [e.text for e in ElementFilter(kind=ui.label) if "gf-current" in e.classes]
    assert len(highlighted) == 1 and highlighted[0].startswith("#0")
    assert app.calls == calls_before


async def test_replay_plays_to_the_end_at_max_speed(user, app):
    calls_before = list(app.calls)
    await user.open(f"/run/{app.runs['retried']}")
    user.find(marker="speed").elements.pop().set_value("max")
    user.find(marker="play").click()
    await wait_until(lambda: texts(user, "final-status") == ["Run succeeded"])
    assert "run_finished  succeeded" in current(user)
    assert '"result": 61' in texts(user, "final-outputs")[0]
    assert app.calls == calls_before


async def test_replay_shows_the_version_the_run_used(user, app):
    await user.open(f"/run/{app.runs['ok']}")
    await user.should_not_see(marker="version-notice")
    await app.ctx.workspace.save(graphflow.load_graph(graph_v2()))
    await user.open(f"/run/{app.runs['ok']}")
    assert texts(user, "version-notice") == [
        "This run used version 1; the graph is now at version 2; showing version 1."]


async def test_resume_from_a_failed_run_reuses_upstream_outputs(user, app):
    await user.open(f"/run/{app.runs['ok']}")
    await user.should_not_see(marker="resume")  # only a failed or cancelled run
    await app.ctx.workspace.save(graphflow.load_graph(graph_v2()))
    await user.open(f"/run/{app.runs['failed']}")
    app.calls.clear()
    user.find(marker="resume").click()
    await user.should_see("These nodes changed and run again, with what depends on them: check.")
    user.find(marker="dialog-ok").click()
    await user.should_see(marker="editor-stub")
    following = texts(user, "editor-stub")[0].rsplit(" ", 1)[1]
    live = app.ctx.runs.get(following)
    assert live is not None
    await wait_until(lambda: live.result is not None)
    assert live.result.status == "succeeded" and live.result.outputs == {"result": 201}
    assert app.calls == ["check"]  # count's output was reused from the failed run


async def test_unknown_run(user):
    await user.open("/run/nope")
    await user.should_see("No run 'nope'.")


async def test_stats_table_has_a_row_per_node(user, app):
    await user.open(f"/graph/{GRAPH_ID}/stats")
    line = texts(user, "graph-stats")[0]
    assert line.startswith("3 runs") and "success 67%" in line
    table = user.find(marker="node-stats").elements.pop()
    rows = {row["id"]: row for row in table.rows}
    assert list(rows) == ["in", "count", "check", "out"]
    assert rows["count"]["retries"] == 2 and rows["count"]["runs"] == 3
    assert rows["check"]["success"] == "67%"
    assert rows["out"]["runs"] == 2
    assert all(0.0 <= float(row["heat"]) <= 1.0 for row in rows.values())
    with user:
        badges = [b.text for b in ElementFilter(kind=ui.badge) if "data-breaker" in b.props]  # not the inbox's
    assert badges == ["hist-api: closed (count)"]


async def test_stats_of_a_graph_without_runs(user, app):
    await app.ctx.workspace.save(graphflow.load_graph({**graph_v2(), "id": "fresh"}))
    await user.open("/graph/fresh/stats")
    await user.should_see(marker="no-stats")
    assert texts(user, "graph-stats")[0].startswith("0 runs")


async def test_stats_of_an_unknown_graph_says_so(user):
    await user.open("/graph/nope/stats")
    await user.should_see("There is no graph 'nope' and no run of it.")


def test_heat_is_relative_to_the_slowest_node_but_not_to_a_few_milliseconds():
    from graphflow.stats import NodeStats
    from graphflow.ui.pages.stats import HEAT_FLOOR, heat_map

    def node(node_id: str, p95: float | None) -> NodeStats:
        return NodeStats(node_id=node_id, runs=1, p50=p95, p95=p95, success_rate=1.0, retries=0,
                         cost_per_1k_runs=0.0)

    slow = heat_map([node("a", 2.0), node("b", 0.5), node("c", None)])
    assert (slow["a"]["heat"], slow["b"]["heat"], slow["c"]["heat"]) == (1.0, 0.25, 0.0)
    fast = heat_map([node("a", 0.002), node("b", 0.001)])  # all quick: nothing is hot
    assert fast["a"]["heat"] == pytest.approx(0.002 / HEAT_FLOOR) and fast["a"]["heat"] < 0.1
