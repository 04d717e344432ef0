"""Tokens and cost from the price table, as a user sees them: ``graphflow run``, ``show``, ``stats``,
and the question -> prompt -> LLM -> answer sample run in one command against a local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import llm_graph, point_providers
from llm_server import Reply
from typer.testing import CliRunner

import graphflow.sample_graphs
from graphflow.ui.cli import app

SAMPLES = Path(graphflow.sample_graphs.__file__).parent


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-test")


def test_run_show_and_stats_report_tokens_and_cost(llm_server, tmp_path):
    point_providers(llm_server, prices={"small": {"input": 1000.0, "output": 2000.0}})
    graph = tmp_path / "ask.json"
    graph.write_text(json.dumps(llm_graph({"prompt": "{question}"})))
    db = str(tmp_path / "runs.db")
    llm_server.push(Reply("first answer", usage=(10, 2)), Reply("second answer here", usage=(30, 3)))
    first = cli("run", str(graph), "-i", "question=a", "--db", db)
    assert first.exit_code == 0, first.output
    assert "llm in" in first.output and "[12 tokens (10 in, 2 out), $0.0140]" in first.output
    second = cli("run", str(graph), "-i", "question=b", "--db", db)
    assert second.exit_code == 0
    run_id = second.output.strip().splitlines()[-1].split("run ")[1].split()[0]
    shown = cli("show", run_id, "--db", db)
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if line.startswith("llm "))
    assert "33 (30 in, 3 out)" in row and "0.0360" in row
    assert "total: 33 tokens, cost 0.0360" in shown.output
    stats = cli("stats", "ask", "--db", db)
    assert stats.exit_code == 0, stats.output
    assert "tokens per run 22" in stats.output  # (12 + 33) / 2
    assert "cost per 1K runs 25.0000" in stats.output  # (0.014 + 0.036) / 2 * 1000
    row = next(line for line in stats.output.splitlines() if line.startswith("llm "))
    assert row.split()[-2:] == ["22", "25.0000"]


def test_the_ask_sample_runs_in_one_command_against_a_local_server(llm_server, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GRAPHFLOW_LLM_MODEL", "local")
    llm_server.push(Reply("Rayleigh scattering of sunlight."))
    result = cli("run", str(SAMPLES / "ask_llm.json"), "--example", "-q", "--db", str(tmp_path / "g.db"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["answer"] == "Rayleigh scattering of sunlight."
    assert out["usage"]["model"] == "local" and out["usage"]["tokens_out"] == 4
    assert "Why is the sky blue?" in llm_server.requests[0].body["messages"][1]["content"]


def test_providers_command_lists_and_inits(llm_server, tmp_path):
    point_providers(llm_server)
    listed = cli("providers")
    assert listed.exit_code == 0 and "fake" in listed.output and llm_server.url in listed.output
    assert "ollama" in listed.output  # the shipped defaults stay
    as_json = json.loads(cli("providers", "--json").output)
    assert as_json["fake"]["prices"]["small"] == {"input": 1.0, "output": 2.0}
    again = cli("providers", "--init")
    assert again.exit_code != 0 and "exists already" in again.output


def test_stats_show_which_model_answered_a_cascade_and_what_it_saved(llm_server, tmp_path):
    point_providers(llm_server)  # small 1/2, large 10/20 USD per 1M tokens
    graph = tmp_path / "ask.json"
    graph.write_text(json.dumps(llm_graph({"prompt": "{question}", "model": "small", "stream": False,
                                           "cascade": {"model": "large", "min_confidence": 0.8}})))
    db = str(tmp_path / "runs.db")
    sure, unsure = [("yes", -0.01)], [("maybe", -2.0)]
    llm_server.push(Reply("yes", logprobs=sure, usage=(100_000, 1)), Reply("yes", logprobs=sure, usage=(100_000, 1)),
                    Reply("maybe", logprobs=unsure, usage=(100_000, 1)), Reply("no", usage=(100_000, 1)))
    for question in ("a", "b", "c"):
        assert cli("run", str(graph), "-i", f"question={question}", "--db", db).exit_code == 0
    stats = cli("stats", "ask", "--db", db)
    assert stats.exit_code == 0, stats.output
    # two cheap answers saved 2 x (1.00002 - 0.100002) = 1.800036, less the wasted cheap call of the third (0.100002)
    assert "cascade llm: answered by large 1, small 2; saved 1.7000 against always asking the larger model" \
        in stats.output, stats.output


def test_the_cascade_sample_asks_the_larger_model_when_the_small_one_is_unsure(llm_server, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", llm_server.url)
    llm_server.push(Reply("Sydney?", logprobs=[("Sydney", -1.5), ("?", -0.5)]), Reply("Canberra."))
    result = cli("run", str(SAMPLES / "cascade.json"), "--example", "-q", "--db", str(tmp_path / "g.db"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["answer"] == "Canberra."
    assert out["usage"]["cascade"]["answered_by"] == "gpt-4o"
    assert [r.body["model"] for r in llm_server.requests] == ["gpt-4.1-nano", "gpt-4o"]
