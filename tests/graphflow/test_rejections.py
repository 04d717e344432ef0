"""Every rejection code has a fixture graph that is rejected with exactly that code.

The codes are read from ``graphflow/validate.py``'s docstring, so a code added there
without a fixture (or a fixture without a documented code) fails here. Graphs too big to
commit (too_large, too_many_nodes, too_many_edges) are small marker files
``{"$generate": "<code>"}`` and are built in memory from the engine's limits.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import graphflow
from graphflow import GraphValidationError, NodeContext, NodeKind, default_registry
from graphflow.nodes.base import port

validate_module = importlib.import_module("graphflow.validate")

FIXTURES = Path(__file__).parent / "fixtures" / "rejections"
DOC_HEADING = "Stable problem codes (one test fixture each):"

# Codes about one node or edge: the ids that must appear in the problem's text (the
# problem's node_id or edge_id must be one of them too).
OFFENDERS: dict[str, tuple[str, ...]] = {
    "unknown_field": ("answer",),
    "invalid_value": ("classify",),
    "duplicate_node_id": ("classify",),
    "duplicate_edge_id": ("wire",),
    "dangling_edge": ("e2",),
    "self_loop": ("retry", "classify"),
    "cycle": ("merge", "draft", "review"),
    "unknown_kind": ("classify",),
    "invalid_config": ("wait",),
    "unknown_function": ("summarize",),
    "unknown_port": ("to_escalate", "urgent"),
    "port_type_mismatch": ("e1", "count"),
    "port_already_connected": ("answer", "e3"),
    "missing_required_input": ("answer",),
    "bad_expression": ("urgent",),
    "bad_join": ("gather",),
    "bad_state_machine": ("lifecycle",),
    "bad_template": ("prompt", "{question}"),
}
# Codes about the file as a whole.
WHOLE_FILE = {"not_json", "too_large", "too_deep", "not_object", "bad_schema_version", "too_many_nodes",
              "too_many_edges"}


def documented_codes() -> list[str]:
    doc = validate_module.__doc__ or ""
    assert DOC_HEADING in doc, "validate.py's docstring no longer lists the problem codes"
    tail = doc.split(DOC_HEADING, 1)[1]
    return [code for code in (part.strip().rstrip(".") for part in tail.split(",")) if code]


CODES = documented_codes()


class WordCount(NodeKind):
    """A plugin kind with a typed input port: no built-in kind has one (all take "any")."""

    kind = "text.word_count"
    inputs = (port("in", "string"),)
    outputs = (port("out", "integer"),)
    inline = True

    def run_inline(self, config: Any, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": len(inputs["in"].split())}


def make_registry() -> graphflow.Registry:
    registry = default_registry(installed=False)
    registry.register_function("known.fn", lambda value: value)
    registry.register_kind(WordCount)
    return registry


def generated(code: str) -> str:
    """Graph text for the codes whose fixture would be too big to commit."""
    if code == "too_large":
        pad = "x" * validate_module.MAX_BYTES
        graph = {"schema_version": 1, "id": "big", "nodes": [{"id": "blob", "kind": "constant",
                                                             "config": {"value": pad}}]}
        text = json.dumps(graph)
        assert len(text.encode()) > validate_module.MAX_BYTES
        return text
    if code == "too_many_nodes":
        count = validate_module.MAX_NODES + 1
        nodes = [{"id": f"c{i}", "kind": "constant", "config": {"value": i}} for i in range(count)]
        graph = {"schema_version": 1, "id": "wide", "nodes": nodes, "edges": []}
    elif code == "too_many_edges":
        # Every constant feeds every join (a multi input), so the wiring itself is valid.
        count = validate_module.MAX_EDGES + 1
        sources = 100
        joins = -(-count // sources)
        nodes = [{"id": f"c{i}", "kind": "constant", "config": {"value": i}} for i in range(sources)]
        nodes += [{"id": f"j{j}", "kind": "join"} for j in range(joins)]
        edges = [{"id": f"e{j}_{i}", "source": f"c{i}", "target": f"j{j}"}
                 for j in range(joins) for i in range(sources)][:count]
        assert len(nodes) <= validate_module.MAX_NODES
        graph = {"schema_version": 1, "id": "dense", "nodes": nodes, "edges": edges}
    else:
        raise AssertionError(f"no generator for {code!r}")
    text = json.dumps(graph, separators=(",", ":"))
    assert len(text.encode()) <= validate_module.MAX_BYTES, "the generated graph must only break the count limit"
    return text


def fixture_text(code: str) -> str:
    text = (FIXTURES / f"{code}.json").read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(data, dict) and "$generate" in data:
        assert data["$generate"] == code
        return generated(code)
    return text


def rejection(source: Any, registry: graphflow.Registry | None = None) -> GraphValidationError:
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(source, registry or make_registry())
    return info.value


# -- one fixture per documented code ------------------------------------------------


def test_docstring_lists_the_codes() -> None:
    assert len(CODES) == len(set(CODES)) >= 23
    assert all(re.fullmatch(r"[a-z_]+", code) for code in CODES), CODES


def test_every_documented_code_has_a_fixture_and_no_fixture_is_undocumented() -> None:
    fixtures = {p.stem for p in FIXTURES.glob("*.json")}
    assert sorted(set(CODES) - fixtures) == [], "documented codes without a fixture"
    assert sorted(fixtures - set(CODES)) == [], "fixtures for codes the docstring does not list"


def test_every_documented_code_is_classified_here() -> None:
    assert set(OFFENDERS) | WHOLE_FILE == set(CODES)
    assert not set(OFFENDERS) & WHOLE_FILE


def test_engine_raises_only_documented_codes() -> None:
    """Codes written literally as Problem("code", ...) in the engine are all documented."""
    root = Path(graphflow.__file__).parent
    used = set()
    for path in root.rglob("*.py"):
        used |= set(re.findall(r'Problem\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert used, "found no Problem(...) calls: the pattern is out of date"
    assert sorted(used - set(CODES)) == []


@pytest.mark.parametrize("code", CODES)
def test_fixture_is_rejected_with_its_code(code: str) -> None:
    error = rejection(fixture_text(code))
    assert code in error.codes, str(error)
    assert error.codes == [code], f"the {code} fixture should have exactly one problem: {error}"
    if code in OFFENDERS:
        problem = next(p for p in error.problems if p.code == code)
        text = str(problem)
        for ident in OFFENDERS[code]:
            assert ident in text, f"{ident!r} missing from {text!r}"
        assert {problem.node_id, problem.edge_id} & set(OFFENDERS[code]), problem
        assert ident_quoted(problem) in text


def ident_quoted(problem: graphflow.Problem) -> str:
    return repr(problem.node_id if problem.node_id is not None else problem.edge_id)


@pytest.mark.parametrize("code", sorted(WHOLE_FILE & set(CODES)))
def test_whole_file_problems_name_no_node(code: str) -> None:
    (problem,) = rejection(fixture_text(code)).problems
    assert problem.node_id is None and problem.edge_id is None
    assert problem.message


def test_fixtures_are_small() -> None:
    for path in FIXTURES.glob("*.json"):
        assert path.stat().st_size < 4096, path.name


def test_too_deep_beyond_the_recursion_limit() -> None:
    """Nesting deep enough to overflow the JSON decoder's recursion is still too_deep."""
    assert rejection("[" * 100_000 + "]" * 100_000).codes == ["too_deep"]
    assert rejection('{"a":' * 100_000 + "1" + "}" * 100_000).codes == ["too_deep"]


def test_fixture_minus_its_problem_is_valid() -> None:
    """The fixtures are realistic graphs: with the one problem fixed they validate."""
    fixed = {
        "unknown_kind": lambda g: g["nodes"][1].update(kind="function", config={"function": "known.fn"}),
        "unknown_function": lambda g: g["nodes"][2]["config"].update(function="known.fn"),
        "bad_expression": lambda g: g["nodes"][1]["config"].update(expression="value >= 0.8"),
        "bad_join": lambda g: g["nodes"][3]["config"].update(required=["web"]),
        "missing_required_input": lambda g: g["edges"].append({"id": "e2", "source": "classify",
                                                               "target": "answer"}),
        "port_already_connected": lambda g: g["edges"].pop(),
        "unknown_port": lambda g: g["edges"][1].update(source_port="true"),
        "invalid_config": lambda g: g["nodes"][1]["config"].update(seconds=5),
        "dangling_edge": lambda g: g["edges"][1].update(source="classify"),
        "cycle": lambda g: g["edges"].pop(3),
        "self_loop": lambda g: g["edges"].pop(1),
        "unknown_field": lambda g: g["nodes"][1].pop("colour"),
        "invalid_value": lambda g: g["nodes"][1].update(timeout=30),
        "port_type_mismatch": lambda g: g["nodes"][0]["config"].update(type="string"),
        "duplicate_edge_id": lambda g: g["edges"][1].update(id="wire2"),
        "bad_template": lambda g: g["nodes"][1]["config"].update(template="Answer briefly: {value}"),
    }
    assert set(fixed) <= set(CODES)
    for code, fix in fixed.items():
        graph = json.loads(fixture_text(code))
        fix(graph)
        graphflow.validate_graph(graph, make_registry())


# -- several problems are reported at once ---------------------------------------------


def _node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "config": config}


def _edge(edge_id: str, source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, **extra}


def _graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": 1, "id": "many", "nodes": nodes, "edges": edges}


MANY_PROBLEMS = {
    "schema": (
        _graph(
            [_node("ticket", "input", name="ticket"), {**_node("classify", "function", function="known.fn"),
                                                        "timeout": -1},
             {**_node("answer", "output", name="answer"), "colour": "red"}],
            [_edge("e1", "ticket", "classify"), {**_edge("e2", "classify", "answer"), "weight": 3}],
        ),
        {("invalid_value", "classify"), ("unknown_field", "answer"), ("unknown_field", "e2")},
    ),
    "references": (
        _graph(
            [_node("ticket", "input", name="ticket"), _node("classify", "function", function="known.fn"),
             _node("classify", "output", name="answer"), _node("retry", "function", function="known.fn")],
            [_edge("e1", "ticket", "classify"), _edge("e1", "classify", "answer"), _edge("loop", "retry", "retry")],
        ),
        {("duplicate_node_id", "classify"), ("duplicate_edge_id", "e1"), ("dangling_edge", "e1"),
         ("self_loop", "loop")},
    ),
    "registry": (
        _graph(
            [_node("q", "input", name="q", type="string"), _node("llm", "llm.chat", model="small"),
             _node("fn", "function", function="nope.fn"), _node("cond", "condition", expression="value >"),
             _node("wait", "delay", seconds=-1), _node("out1", "output", name="o1"),
             _node("out2", "output", name="o2"), _node("out3", "output", name="o3"),
             _node("n", "input", name="n", type="integer"), _node("count", "text.word_count"),
             _node("x", "function", function="known.fn"), _node("y", "function", function="known.fn")],
            [_edge("e1", "q", "llm"), _edge("e2", "q", "fn"), _edge("e3", "q", "cond"),
             _edge("e_maybe", "cond", "out2", source_port="maybe"), _edge("e5", "q", "out3"),
             _edge("e6", "fn", "out3"), _edge("e7", "cond", "fn", condition="import os", source_port="true"),
             _edge("e_type", "n", "count"), _edge("xy", "x", "y"), _edge("yx", "y", "x")],
        ),
        {("unknown_kind", "llm"), ("unknown_function", "fn"), ("bad_expression", "cond"),
         ("bad_expression", "e7"), ("invalid_config", "wait"), ("missing_required_input", "out1"),
         ("unknown_port", "e_maybe"), ("port_already_connected", "out3"), ("port_already_connected", "fn"),
         ("port_type_mismatch", "e_type"), ("cycle", "x|y")},
    ),
    "joins": (
        _graph(
            [_node("a", "constant", value=1), _node("b", "constant", value=2),
             _node("some", "join", strategy="best_effort", required=["a", "c"]),
             _node("most", "join", strategy="quorum", quorum=3),
             _node("fallback", "join", strategy="first_success", order=["b", "d"])],
            [_edge("e1", "a", "some"), _edge("e2", "b", "some"), _edge("e3", "a", "most"),
             _edge("e4", "b", "most"), _edge("e5", "a", "fallback"), _edge("e6", "b", "fallback")],
        ),
        {("bad_join", "some"), ("bad_join", "most"), ("bad_join", "fallback")},
    ),
}


@pytest.mark.parametrize("stage", sorted(MANY_PROBLEMS))
def test_several_problems_are_reported_at_once(stage: str) -> None:
    graph, expected = MANY_PROBLEMS[stage]
    error = rejection(json.dumps(graph))
    assert {code for code, _ in expected} == set(error.codes), str(error)
    for code, ident in expected:
        idents = ident.split("|")
        assert any(p.code == code and {p.node_id, p.edge_id} & set(idents) for p in error.problems), (
            f"no {code} problem about {ident}: {error}"
        )
    assert len(error.problems) == len(expected), str(error)


def test_all_problems_are_in_the_error_message() -> None:
    graph, expected = MANY_PROBLEMS["registry"]
    message = str(rejection(graph))
    for code, _ in expected:
        assert f"[{code}]" in message


# -- nothing named in a graph is imported or executed --------------------------------


def _named_graph(kind: str, function: str) -> dict[str, Any]:
    return _graph(
        [_node("q", "input", name="q"), _node("spawn", kind, args=["rm", "-rf", "/"]),
         _node("call", "function", function=function, args={"command": "echo pwned"}),
         _node("out", "output", name="out")],
        [_edge("e1", "q", "spawn"), _edge("e2", "q", "call"), _edge("e3", "call", "out")],
    )


@pytest.mark.parametrize(
    ("kind", "function"),
    [
        ("subprocess.Popen", "os.system"),
        ("antigravity.fly", "this.s"),
        ("ctypes:CDLL", "pickle:loads"),
        ("builtins.__import__", "graphflow.sample_graphs.register"),
    ],
)
def test_validation_never_imports_what_the_graph_names(kind: str, function: str) -> None:
    registry = make_registry()
    # Warm up the same code paths with harmless names, so lazy imports of the engine's
    # own dependencies are not mistaken for imports the graph caused.
    rejection(json.dumps(_named_graph("nothing.here", "nothing.fn")), registry)
    before = set(sys.modules)
    error = rejection(json.dumps(_named_graph(kind, function)), registry)
    assert set(sys.modules) - before == set()
    assert "antigravity" not in sys.modules and "this" not in sys.modules
    assert sorted(error.codes) == ["unknown_function", "unknown_kind"]
    by_code = {p.code: p for p in error.problems}
    assert by_code["unknown_kind"].node_id == "spawn"
    assert by_code["unknown_function"].node_id == "call"
    assert kind not in registry.kinds and function not in registry.functions


def _expression_graph(where: str, text: str) -> dict[str, Any]:
    nodes = [_node("q", "input", name="q", type="integer"), _node("out", "output", name="out")]
    if where == "condition":
        nodes.insert(1, _node("check", "condition", expression=text))
        edges = [_edge("e1", "q", "check"), _edge("e2", "check", "out", source_port="true")]
    elif where == "router":
        nodes.insert(1, _node("check", "router", routes=[{"port": "big", "when": "value > 10"},
                                                          {"port": "evil", "when": text}]))
        edges = [_edge("e1", "q", "check"), _edge("e2", "check", "out", source_port="big")]
    else:
        nodes.insert(1, _node("check", "function", function="known.fn"))
        edges = [_edge("e1", "q", "check"), _edge("e2", "check", "out", condition=text)]
    return _graph(nodes, edges)


@pytest.mark.parametrize("where", ["condition", "router", "edge"])
@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo pwned')",
        "__import__",
        "value.__class__.__mro__",
        "().__class__.__bases__[0].__subclasses__()",
        "[c for c in ().__class__.__base__.__subclasses__()]",
        "__builtins__['eval']('1')",
        "getattr(value, '__globals__')",
    ],
)
def test_dunder_expressions_are_bad_expression(where: str, text: str) -> None:
    before = set(sys.modules)
    error = rejection(json.dumps(_expression_graph(where, text)))
    assert error.codes == ["bad_expression"]
    (problem,) = error.problems
    assert (problem.edge_id if where == "edge" else problem.node_id) == ("e2" if where == "edge" else "check")
    assert set(sys.modules) - before == set()


@pytest.mark.parametrize("where", ["condition", "router", "edge"])
def test_safe_expression_in_the_same_places_validates(where: str) -> None:
    graphflow.validate_graph(_expression_graph(where, "value > 0"), make_registry())


def test_a_whole_config_check_names_the_config_without_pydantic_noise() -> None:
    graph = {"schema_version": 1, "id": "g", "nodes": [{"id": "m", "kind": "map", "config": {}}], "edges": []}
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(graph)
    problem = next(p for p in info.value.problems if p.code == "invalid_config")
    assert (problem.node_id, problem.path) == ("m", "config")
    assert problem.message == "config: give either 'function' or 'graph' (a sub-graph), not both or neither"
