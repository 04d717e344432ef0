from __future__ import annotations

import ast
import builtins
import copy
import pickle
from typing import Any

import pytest

from graphflow.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    ExpressionEvalError,
    ExpressionSyntaxError,
    evaluate,
    parse_expression,
)

DATA: dict[str, Any] = {
    "intent": "refund",
    "days_since_purchase": 12,
    "order": {"total": 750, "customer": {"tier": "gold", "tags": ["vip", "eu"]}},
    "items": [1, 2, 3],
    "value": {"score": 0.5, "label": "Spam"},
    "name": "Alice",
    "zero": 0,
    "empty": "",
    "none": None,
}


# --- operators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [(True, True), (True, False), (False, True), (False, False), (0, 5), (3, ""), ("", None), ([], [1])],
)
def test_and_or_not_follow_python(a: Any, b: Any) -> None:
    names = {"a": a, "b": b}
    assert evaluate("a and b", names) == (a and b)
    assert evaluate("a or b", names) == (a or b)
    assert evaluate("not a", names) is (not a)
    assert evaluate("a and b or not a", names) == (a and b or not a)
    assert evaluate("a or b or a", names) == (a or b or a)
    assert evaluate("a and b and a", names) == (a and b and a)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize(("a", "b"), [(1, 2), (2, 2), (3, 2), (1.5, 1), ("a", "b"), ("b", "b")])
def test_ordering_comparisons(op: str, a: Any, b: Any) -> None:
    expected = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    assert evaluate(f"a {op} b", {"a": a, "b": b}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 in items", True),
        ("7 in items", False),
        ("7 not in items", True),
        ("'score' in value", True),
        ("'lic' in name", True),
        ("none is None", True),
        ("none is not None", False),
        ("zero is None", False),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-2 ** 2", -4),
        ("+days_since_purchase", 12),
        ("-days_since_purchase", -12),
        ("not not zero", False),
        ("'a' + 'b'", "ab"),
        ("[1] + [2]", [1, 2]),
        ("'ab' * 3", "ababab"),
        ("2 * [0]", [0, 0]),
        ("'yes' if days_since_purchase < 30 else 'no'", "yes"),
        ("'yes' if zero else 'no'", "no"),
        ("[1, 'a', None, True, 2.5]", [1, "a", None, True, 2.5]),
        ("(1, 2)", (1, 2)),
        ("()", ()),
        ("{'a': 1, 'b': items}", {"a": 1, "b": [1, 2, 3]}),
        ("{1, 2, 2}", {1, 2}),
        ("items[0]", 1),
        ("items[-1]", 3),
        ("items[1:3]", [2, 3]),
        ("items[:2]", [1, 2]),
        ("items[::2]", [1, 3]),
        ("items[::-1]", [3, 2, 1]),
        ("name[1:]", "lice"),
        ("value['score'] < 0.8", True),
        ("{'k': 5}['k']", 5),
    ],
)
def test_values(text: str, expected: Any) -> None:
    result = evaluate(text, DATA)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("3 > 2 > 1", True),
        ("1 == 1 == 1", True),
        ("1 == 1 != 1", False),
        ("0 <= days_since_purchase <= 30", True),
        ("0 <= days_since_purchase <= 10", False),
        ("1 < 2 in items", True),
        ("1 < 2 < 3 < 4 < 5", True),
        ("1 < 2 < 3 < 5 < 4", False),
    ],
)
def test_chained_comparison(text: str, expected: bool) -> None:
    assert evaluate(text, DATA) is expected


def test_chained_comparison_stops_at_first_false_link() -> None:
    # 'b' would raise TypeError if it were compared; a false first link must stop the chain
    assert evaluate("2 < 1 < 'b'", {}) is False
    with pytest.raises(ExpressionEvalError, match="unknown name 'missing'"):
        evaluate("1 < 2 < missing", {})
    assert evaluate("2 < 1 < missing", {}) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("False and 1/0", False),
        ("True or 1/0", True),
        ("zero and missing", 0),
        ("name or missing", "Alice"),
        ("1 if True else 1/0", 1),
        ("1/0 if False else 2", 2),
        ("False and missing.key and 1/0", False),
        ("empty or none or 'fallback'", "fallback"),
    ],
)
def test_short_circuit(text: str, expected: Any) -> None:
    assert evaluate(text, DATA) == expected


# --- names, dots, functions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order.total", 750),
        ("order.total > 500", True),
        ("order.customer.tier", "gold"),
        ("order.customer.tags[0]", "vip"),
        ("order['customer'].tier", "gold"),
        ("{'a': {'b': 2}}.a.b", 2),
        ("intent == 'refund' and days_since_purchase <= 30", True),
    ],
)
def test_dot_is_mapping_key_lookup(text: str, expected: Any) -> None:
    assert evaluate(text, DATA) == expected


def test_dot_never_uses_getattr() -> None:
    class Thing:
        total = 5

    with pytest.raises(ExpressionEvalError, match="not a mapping"):
        evaluate("thing.total", {"thing": Thing()})
    with pytest.raises(ExpressionEvalError, match="not a mapping"):
        evaluate("name.upper", DATA)


@pytest.mark.parametrize(
    ("text", "key"),
    [("order.missing", "missing"), ("order.customer.nope", "nope"), ("value['zz']", "zz"), ("{}.k", "k")],
)
def test_missing_key_names_the_key(text: str, key: str) -> None:
    with pytest.raises(ExpressionEvalError) as info:
        evaluate(text, DATA)
    assert info.value.message == f"missing key {key!r}"
    assert repr(key) in str(info.value)
    assert info.value.expression == text


def test_index_out_of_range() -> None:
    with pytest.raises(ExpressionEvalError, match="index 10 out of range"):
        evaluate("items[10]", DATA)


def test_unknown_name() -> None:
    with pytest.raises(ExpressionEvalError) as info:
        evaluate("1 + foo", {})
    assert info.value.message == "unknown name 'foo'"
    assert info.value.position == 4
    assert info.value.expression == "1 + foo"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("len(items) >= 2", True),
        ("len('abc')", 3),
        ("min(items)", 1),
        ("min(3, 1, 2)", 1),
        ("max(items)", 3),
        ("abs(-2.5)", 2.5),
        ("round(2.567, 1)", 2.6),
        ("round(2.5)", 2),
        ("str(12)", "12"),
        ("int('42')", 42),
        ("int('ff', 16)", 255),
        ("float('1.5')", 1.5),
        ("bool(empty)", False),
        ("sum(items)", 6),
        ("sum(items, 0.5)", 6.5),
        ("any([0, 1])", True),
        ("all([1, 0])", False),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ("lower(value.label)", "spam"),
        ("upper(name)", "ALICE"),
        ("startswith(name, 'Al')", True),
        ("endswith(name, 'x')", False),
        ("contains(items, 2)", True),
        ("contains(order.customer.tags, 'us')", False),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert evaluate(text, DATA) == expected


def test_data_name_shadows_function_only_when_not_called() -> None:
    names = {"len": 3, "items": [1, 2]}
    assert evaluate("len", names) == 3
    assert evaluate("len(items)", names) == 2
    assert evaluate("len(items) < len", names) is True


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("intent == 'refund' and days_since_purchase <= 30", {"intent", "days_since_purchase"}),
        ("order.total > 500", {"order"}),
        ("len(items) >= 2", {"items"}),
        ("value['score'] < 0.8", {"value"}),
        ("1 + 2", set()),
        ("lower(a) if b else c[d]", {"a", "b", "c", "d"}),
        ("len + len(x)", {"len", "x"}),
        ("True and None", set()),
    ],
)
def test_names(text: str, names: set[str]) -> None:
    assert Expression.parse(text).names == frozenset(names)


# --- parse-time rejection --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "().__class__",
        "x.__class__",
        "x._private",
        "x.__class__.__subclasses__()",
        "[c for c in x]",
        "{c for c in x}",
        "{c: 1 for c in x}",
        "(c for c in x)",
        "lambda: 1",
        "(lambda: 1)()",
        "f'{x}'",
        "f'plain'",
        "(y := 1)",
        "x.upper()",
        "x['f']()",
        "open('f')",
        "getattr(x, 'y')",
        "eval('1')",
        "exec('1')",
        "type(x)",
        "len(*x)",
        "len(x=1)",
        "max(x, key=len)",
        "len()",
        "len(1, 2)",
        "lower('a', 'b')",
        "[*x]",
        "{**x}",
        "~x",
        "x | y",
        "x & y",
        "x ^ y",
        "x << 2",
        "x >> 2",
        "x @ y",
        "b'bytes'",
        "1j",
        "...",
        "await x",
        "yield x",
        "__builtins__",
        "x[lambda: 1]",
        "len([c for c in x])",
    ],
)
def test_forbidden_constructs_rejected_at_parse_time(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        Expression.parse(text)
    assert info.value.expression == text
    assert info.value.position is not None
    assert f"column {info.value.position}" in info.value.message


@pytest.mark.parametrize(
    ("text", "position"),
    [("x.__class__", 0), ("1 + (y := 2)", 5), ("a and (lambda: 1)", 7), ("'é' + ~x", 6), ("  ~x", 2)],
)
def test_forbidden_construct_position(text: str, position: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        Expression.parse(text)
    assert info.value.position == position


@pytest.mark.parametrize(
    ("text", "position"),
    [("a b", 2), ("1 +", 3), ("(1, 2", 0), ("a ==== b", 4), ("'é' + )", 6)],
)
def test_python_syntax_errors_become_expression_syntax_errors(text: str, position: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        Expression.parse(text)
    assert info.value.position == position
    assert f"column {position}" in info.value.message
    try:
        ast.parse(text, mode="eval")
    except SyntaxError as exc:
        assert exc.msg in info.value.message
    assert info.value.__cause__ is None


@pytest.mark.parametrize("text", ["", " ", "   \n\t  "])
def test_empty_is_a_syntax_error(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="empty"):
        Expression.parse(text)


@pytest.mark.parametrize("text", ["x; import os", "import os", "x = 1", "a\x00b", "\n  x"])
def test_statements_and_junk_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        Expression.parse(text)


def test_non_string_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(["x"])  # type: ignore[arg-type]
    with pytest.raises(ExpressionSyntaxError):
        Expression.parse(5)  # type: ignore[arg-type]


def test_leading_spaces_and_parenthesised_lines_are_fine() -> None:
    assert evaluate("  zero == 0", DATA) is True
    assert evaluate("(zero == 0\n  and name == 'Alice')", DATA) is True


def test_length_limit() -> None:
    ok = "1" + " " * (MAX_LENGTH - 1)
    assert evaluate(ok, {}) == 1
    with pytest.raises(ExpressionSyntaxError, match="limit"):
        Expression.parse(ok + " ")


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"k": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    "make",
    [
        lambda d: "-" * (d - 1) + "1",  # d - 1 UnaryOps above a Constant
        lambda d: "[" * (d - 1) + "1" + "]" * (d - 1),
        lambda d: "((" + "+".join(["a"] * d) + "))",  # left-deep BinOps; parentheses are not nodes
        lambda d: "n" + ".k" * (d - 1),
    ],
)
def test_depth_limit(make: Any) -> None:
    Expression.parse(make(MAX_DEPTH)).evaluate({"a": 1, "n": _nested(MAX_DEPTH)})
    with pytest.raises(ExpressionSyntaxError, match="deeper"):
        Expression.parse(make(MAX_DEPTH + 1))


def test_depth_limit_very_deep() -> None:
    with pytest.raises(ExpressionSyntaxError):
        Expression.parse("-" * 1999 + "1")
    with pytest.raises(ExpressionSyntaxError):
        Expression.parse("[" * 900 + "]" * 900)


# --- evaluation errors and resource guards --------------------------------------------


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("1 / 0", ZeroDivisionError),
        ("1 // zero", ZeroDivisionError),
        ("1 % zero", ZeroDivisionError),
        ("'a' < 1", TypeError),
        ("'a' + 1", TypeError),
        ("len(5)", TypeError),
        ("int('x')", ValueError),
        ("min([])", ValueError),
        ("lower(5)", TypeError),
        ("{[1]: 2}", TypeError),
        ("items[::0]", ValueError),
        ("10.0 ** 400", OverflowError),
    ],
)
def test_python_errors_are_wrapped(text: str, cause: type[Exception]) -> None:
    with pytest.raises(ExpressionEvalError) as info:
        evaluate(text, DATA)
    assert isinstance(info.value.__cause__, cause)
    assert str(info.value.__cause__) in info.value.message
    assert info.value.expression == text


def test_bad_names_argument_is_an_eval_error() -> None:
    with pytest.raises(ExpressionEvalError):
        evaluate("x > 1", None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["2 ** 1001", "2 ** -1001", "2 ** 10000", "2.0 ** 1e6", "(10 ** 1000) ** 1000"])
def test_power_guard(text: str) -> None:
    with pytest.raises(ExpressionEvalError):
        evaluate(text, {})


def test_power_at_limit_is_allowed() -> None:
    assert evaluate("2 ** 1000", {}) == 2**1000


@pytest.mark.parametrize(
    "text",
    ["'a' * 100001", "100001 * 'a'", "[1, 2] * 50001", "(0,) * 100001", "'abc' * 10 ** 9", "big * 2"],
)
def test_repetition_guard(text: str) -> None:
    # a constant one is refused when parsed (so validate rejects it), one on data when evaluated
    with pytest.raises(ExpressionSyntaxError if "big" not in text else ExpressionEvalError, match="repetition"):
        evaluate(text, {"big": [0] * 60_000})


def test_repetition_at_limit_is_allowed() -> None:
    assert len(evaluate("'a' * 100000", {})) == 100_000


@pytest.mark.parametrize("text", ["'%s' % name", "'%999999999d' % 1", "sum([[1]], [])"])
def test_other_amplification_is_refused(text: str) -> None:
    with pytest.raises(ExpressionEvalError):
        evaluate(text, DATA)


def test_base_exceptions_pass_through() -> None:
    class Boom(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate("x", Boom())


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionSyntaxError, ExpressionError)
    assert issubclass(ExpressionEvalError, ExpressionError)
    assert not issubclass(ExpressionEvalError, ExpressionSyntaxError)
    err = ExpressionEvalError("unknown name 'foo'")
    assert err.message == "unknown name 'foo'" and err.expression == "" and err.position is None


# --- caching, immutability, no eval ----------------------------------------------------


def test_cache_returns_same_object() -> None:
    first = parse_expression("order.total > 123")
    assert parse_expression("order.total > 123") is first
    assert parse_expression("order.total > 124") is not first


def test_expression_is_immutable() -> None:
    expr = Expression.parse("a > 1")
    with pytest.raises(AttributeError):
        expr.text = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        expr.other = 1  # type: ignore[attr-defined]
    assert isinstance(expr.names, frozenset)


def test_expression_copies_and_pickles() -> None:
    expr = Expression.parse("a > 1")
    assert copy.deepcopy(expr).evaluate({"a": 2}) is True
    assert pickle.loads(pickle.dumps(expr)).evaluate({"a": 0}) is False
    assert repr(expr) == "Expression('a > 1')"


def test_same_expression_many_data() -> None:
    expr = Expression.parse("a > 1 and b == 'x'")
    assert [expr.evaluate({"a": a, "b": b}) for a, b in [(2, "x"), (1, "x"), (2, "y")]] == [True, False, False]


def test_never_calls_eval_exec_or_compile_to_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec must never be called")

    real_compile = builtins.compile
    modes: list[int] = []

    def ast_only_compile(*args: Any, **kwargs: Any) -> Any:
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        modes.append(flags)
        assert flags & ast.PyCF_ONLY_AST, "compile() may only be used to build an AST"
        return real_compile(*args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    text = "order.total > 500 and len(items) == 3 and 'never-cached-before' != name"
    assert evaluate(text, DATA) is True
    assert Expression.parse(text).evaluate(DATA) is True
    assert modes  # ast.parse went through compile, with the AST-only flag
