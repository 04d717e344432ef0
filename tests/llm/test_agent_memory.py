"""Conversation memory: an agent's session id input, its messages kept in the database and
given to the model on the next run with that id, trimmed to a token budget."""

from __future__ import annotations

import pytest
from helpers import point_providers
from llm_server import Reply
from test_agent_node import agent_graph, registry

import graphflow
from graphflow.nodes.agent import trimmed
from graphflow.service import Workspace
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-test")


def chat_graph(**config):
    graph = agent_graph(["shop.lookup_order"], **config)
    graph["nodes"].insert(1, {"id": "session", "kind": "input",
                              "config": {"name": "session", "type": "string", "required": False}})
    graph["edges"].append({"id": "e_s", "source": "session", "target": "agent", "target_port": "session_id"})
    return graph


def said(request):
    return [(m["role"], m["content"]) for m in request.body["messages"]]


async def test_a_session_remembers_across_runs_and_processes(llm_server, tmp_path):
    point_providers(llm_server)
    llm_server.push(Reply("Hi Ana."), Reply("You are Ana."), Reply("I do not know."), Reply("Still Ana."))
    db = tmp_path / "db.sqlite"
    async with open_store(db) as store:
        ws = Workspace(store, registry())
        await ws.save(graphflow.load_graph(chat_graph()))
        first = await ws.run("agent", {"message": "I am Ana", "session": "s1"})
        second = await ws.run("agent", {"message": "Who am I?", "session": "s1"})
        other = await ws.run("agent", {"message": "Who am I?", "session": "s2"})
        assert first.ok and second.ok and other.ok, (first.error, second.error, other.error)
    async with open_store(db) as store:  # a new process: the session is in the file
        ws = Workspace(store, registry())
        again = await ws.run("agent", {"message": "And now?", "session": "s1"})
        assert again.ok, again.error
    system = ("system", "You help shoppers.")
    assert said(llm_server.requests[0]) == [system, ("user", "I am Ana")]
    assert said(llm_server.requests[1]) == [system, ("user", "I am Ana"), ("assistant", "Hi Ana."),
                                            ("user", "Who am I?")]
    assert said(llm_server.requests[2]) == [system, ("user", "Who am I?")]
    assert said(llm_server.requests[3])[1:] == [("user", "I am Ana"), ("assistant", "Hi Ana."),
                                                ("user", "Who am I?"), ("assistant", "You are Ana."),
                                                ("user", "And now?")]


async def test_the_history_is_trimmed_to_the_token_budget(llm_server, tmp_path):
    point_providers(llm_server)
    llm_server.push(Reply("a" * 40), Reply("b" * 40), Reply("fine"))
    async with open_store(tmp_path / "db.sqlite") as store:
        ws = Workspace(store, registry())
        await ws.save(graphflow.load_graph(chat_graph(memory_tokens=25)))
        for text in ("first " * 4, "second " * 4, "third"):
            assert (await ws.run("agent", {"message": text, "session": "s"})).ok
    # 10 tokens per reply, ~6-7 per question: only the newest question and its reply fit
    assert said(llm_server.requests[2])[1:] == [("user", "second " * 4), ("assistant", "b" * 40), ("user", "third")]


def test_trimming_keeps_whole_messages_and_starts_with_a_question():
    messages = [{"role": "user", "content": "q" * 40}, {"role": "assistant", "content": "a" * 40},
                {"role": "user", "content": "r" * 8}, {"role": "assistant", "content": "b" * 8}]
    assert trimmed(messages, 1000) == messages
    assert trimmed(messages, 14) == messages[2:]
    assert trimmed(messages, 3) == []  # only the reply would fit: it is dropped with its question
    assert trimmed(messages, 0) == []


async def test_a_session_id_without_a_database_is_a_clear_failure(llm_server):
    point_providers(llm_server)
    result = await graphflow.run(chat_graph(), {"message": "hi", "session": "s1"}, registry=registry())
    assert not result.ok
    assert result.error is not None and result.error.startswith(
        "SessionsUnavailable: a session_id was given, but this run keeps no sessions")
    assert not llm_server.requests
    plain = await graphflow.run(chat_graph(), {"message": "hi"}, registry=registry())  # no id: no memory needed
    assert plain.ok, plain.error
