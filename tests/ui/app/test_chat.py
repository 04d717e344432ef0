"""The editor's chat panel and the session page, with NiceGUI's simulated user: each message is
a run of the support agent sample (its scripted model, provider ``sample``) with the panel's
session id; the panel shows the tool calls and the answer, the session page lists the runs with
their messages and replay links, and a run's replay links to its session."""

from __future__ import annotations

import anyio
import pytest
from nicegui import ui

from graphflow.ui.pages.chat import ChatInputs, answer_text, chat_inputs
from graphflow.ui.pages.sessions import turns

pytestmark = pytest.mark.anyio


def widget(user, marker: str) -> ui.element:
    return next(iter(user.find(marker=marker).elements))


async def say(user, text: str) -> None:
    user.find(marker="chat-input").type(text)
    user.find(marker="chat-send").click()


async def answered(user, runs: int) -> None:
    """Wait for the panel to end ``runs`` runs: a run's replay link comes when its log ends,
    while the answer's text streams in before the run has finished."""
    for _ in range(300):
        if len(user.find(marker="chat-run-link").elements) >= runs:
            return
        await anyio.sleep(0.1)
    raise AssertionError(f"the panel did not end {runs} runs")


async def test_a_conversation_from_the_editor(user, ctx):
    await user.open("/graph/support_agent")
    user.find(marker="chat-tab").click()
    session = widget(user, "chat-session").value
    assert session.startswith("chat-")

    await say(user, "Can I get a refund for order A-100?")
    await user.should_see("qualifies for a refund", retries=300)  # the first model call imports openai
    await answered(user, 1)
    await user.should_see(marker="chat-tool-call")
    calls = [e.props["data-name"] for e in user.find(marker="chat-tool-call").elements]
    assert sorted(calls) == ["check_refund_policy", "lookup_order", "open_ticket", "refund_eligibility"]
    await say(user, "And order A-102?")
    await user.should_see("Desk lamp", retries=300)
    await answered(user, 2)

    runs = await ctx.workspace.runs("support_agent")
    assert [r.inputs for r in reversed(runs)] == [
        {"message": "Can I get a refund for order A-100?", "session_id": session},
        {"message": "And order A-102?", "session_id": session}]
    assert all(r.status == "succeeded" for r in runs)
    links = {e.props["data-run-id"] for e in user.find(marker="chat-run-link").elements}
    assert links == {r.run_id for r in runs}
    stored = await ctx.workspace.session_messages(session)
    assert [m["role"] for m in stored] == ["user", "assistant"] * 2

    # the session's page: its two runs in order, with their messages and replays
    await user.open(f"/session/{session}")
    await user.should_see("2 runs, 4 messages")
    shown = {e.props["data-run-id"] for e in user.find(marker="session-run-link").elements}
    assert shown == {r.run_id for r in runs}
    await user.should_see("And order A-102?")

    # a run's replay links to its session
    await user.open(f"/run/{runs[0].run_id}")
    await user.should_see(f"session {session}", marker="session-link")


async def test_a_stored_session_is_shown_and_continued(user, ctx):
    await user.open("/graph/support_agent")
    user.find(marker="chat-tab").click()
    await say(user, "Where is order A-101?")
    await user.should_see(marker="chat-run-link", retries=300)
    first = widget(user, "chat-session").value
    user.find(marker="chat-new").click()
    await user.should_not_see("Where is order A-101?")
    assert widget(user, "chat-session").value != first

    user.find(marker="chat-session").clear().type(first).trigger("keydown.enter")
    await user.should_see("Where is order A-101?")  # the stored conversation, from the store


async def test_a_graph_that_takes_no_message_says_so(user, ctx):
    await user.open("/graph/decision_tree")  # its input is an object
    user.find(marker="chat-tab").click()
    await say(user, "hello")
    await user.should_see("A chat needs a graph with exactly one text input")
    assert await ctx.workspace.runs("decision_tree") == []


async def test_an_unknown_session_has_no_messages(user):
    await user.open("/session/nobody")
    await user.should_see("No messages in session 'nobody'.")


async def test_chat_inputs_and_answers(ctx):
    compiled = ctx.workspace.validate({"schema_version": 1, "id": "g", "nodes": [
        {"id": "m", "kind": "input", "config": {"name": "question", "type": "string"}},
        {"id": "s", "kind": "input", "config": {"name": "session_id", "type": "string", "required": False}},
        {"id": "n", "kind": "input", "config": {"name": "limit", "type": "integer", "default": 3}},
        {"id": "o", "kind": "output", "config": {"name": "answer"}}],
        "edges": [{"id": "e", "source": "m", "target": "o"}]})
    assert chat_inputs(compiled) == ChatInputs("question", "session_id")
    two = ctx.workspace.validate({"schema_version": 1, "id": "g", "nodes": [
        {"id": "a", "kind": "input", "config": {"name": "a", "type": "string"}},
        {"id": "b", "kind": "input", "config": {"name": "b", "type": "string"}},
        {"id": "o", "kind": "output", "config": {"name": "out"}},
        {"id": "p", "kind": "output", "config": {"name": "p"}}],
        "edges": [{"id": "e", "source": "a", "target": "o"}, {"id": "f", "source": "b", "target": "p"}]})
    assert "text inputs: a, b" in chat_inputs(two)
    assert answer_text({"usage": {}, "answer": "hi"}) == "hi"
    assert answer_text({"usage": {}, "text": "yo"}) == "yo"
    assert answer_text({"n": 3}) == '{"n": 3}'
    assert [run for run, _ in turns([{"run_id": "r1"}, {"run_id": "r1"}, {"run_id": "r2"}])] == ["r1", "r2"]


async def test_a_graph_tools_run_is_linked_from_its_parents_replay_and_back(user, ctx):
    graph = await ctx.workspace.graph("support_agent")
    result = await ctx.workspace.run("support_agent", {"message": graph.spec.nodes[0].config["example"]})
    assert result.ok, result.error
    (sub,) = await ctx.workspace.runs("refund_eligibility")
    await user.open(f"/run/{result.run_id}")
    await user.should_see("refund_eligibility (step 1) run", marker="sub-run-link")
    await user.open(f"/run/{sub.run_id}")
    await user.should_see(f"part of run {result.run_id[:12]}", marker="parent-run-link")


async def test_a_session_id_of_any_text_stays_text(user, ctx):
    """The session id is whatever was typed: in links it is encoded, never markup or props."""
    from graphflow.ui.pages.sessions import session_url

    odd = 'x" onmouseover="alert(1) /a?b#c'
    await user.open("/graph/support_agent")
    user.find(marker="chat-tab").click()
    user.find(marker="chat-session").clear().type(odd).trigger("keydown.enter")
    await say(user, "Where is order A-101?")
    await user.should_see(marker="chat-run-link", retries=300)
    link = widget(user, "chat-session-link")
    assert link.props["href"] == session_url(odd) and "onmouseover" not in link.props
    assert [m["content"] for m in await ctx.workspace.session_messages(odd)][0] == "Where is order A-101?"
    await user.open(session_url(odd))
    await user.should_see("1 run, 2 messages")
