"""Safe routing expressions (``intent == 'refund' and order.total > 500``) from untrusted graph files.

Never eval/exec/compile: ``ast.parse`` builds a tree, each node is checked against a whitelist at parse
time (so validation rejects a graph before it runs) and turned into closures; evaluation only calls them.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from graphflow.errors import GraphflowError

MAX_LENGTH = 2_000
MAX_DEPTH = 50
MAX_EXPONENT = 1_000
MAX_REPEAT = 100_000  # elements produced by str/list/tuple repetition
MAX_INT_BITS = 100_000  # (10**1000)**1000 respects MAX_EXPONENT but would still be huge

Fn = Callable[[Mapping[str, Any]], Any]


class ExpressionError(GraphflowError):
    """Base. ``position`` is a 0-based column in the expression text, or None."""

    def __init__(self, message: str, expression: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.message, self.expression, self.position = message, expression, position

    def __str__(self) -> str:
        return f"{self.message} in expression {self.expression!r}" if self.expression else self.message


class ExpressionSyntaxError(ExpressionError):
    """The text does not parse, or uses a construct that is not allowed."""


class ExpressionEvalError(ExpressionError):
    """The expression is valid but failed on this data (unknown name, missing key, type error...)."""


def _sum(items: Any, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):  # sum(lists, []) builds lists quadratically
        raise TypeError("sum() start must be a number")
    return sum(items, start)


# name -> (function, min args, max args or None). Called by bare name only.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "len": (len, 1, 1), "min": (min, 1, None), "max": (max, 1, None), "abs": (abs, 1, 1),
    "round": (round, 1, 2), "str": (str, 0, 1), "int": (int, 0, 2), "float": (float, 0, 1),
    "bool": (bool, 0, 1), "sum": (_sum, 1, 2), "any": (any, 1, 1), "all": (all, 1, 1),
    "sorted": (sorted, 1, 1), "lower": (str.lower, 1, 1), "upper": (str.upper, 1, 1),
    "startswith": (str.startswith, 2, 2), "endswith": (str.endswith, 2, 2), "contains": (operator.contains, 2, 2),
}


def _mul(a: Any, b: Any) -> Any:
    seq, count = (a, b) if isinstance(b, int) else (b, a)
    if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int) and len(seq) * count > MAX_REPEAT:
        raise ExpressionEvalError(f"repetition would make {len(seq) * count} elements; the limit is {MAX_REPEAT}")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ExpressionEvalError(f"integer result would exceed {MAX_INT_BITS} bits")
    return a * b


def _pow(base: Any, exp: Any) -> Any:
    if isinstance(exp, (int, float)) and abs(exp) > MAX_EXPONENT:
        raise ExpressionEvalError(f"exponent {exp} is larger than {MAX_EXPONENT}")
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and base.bit_length() * exp > MAX_INT_BITS:
        raise ExpressionEvalError(f"integer result would exceed {MAX_INT_BITS} bits")
    return base**exp


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):  # '%999999999d' % 1 would build a 1 GB string
        raise ExpressionEvalError("printf-style formatting with % is not allowed")
    return a % b


def _item(value: Any, key: Any, pos: int) -> Any:
    try:
        return value[key]
    except KeyError:
        raise ExpressionEvalError(f"missing key {key!r}", position=pos) from None
    except IndexError:
        raise ExpressionEvalError(f"index {key!r} out of range", position=pos) from None


OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod, ast.Pow: _pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,  # no BitOr, Invert, MatMult...
}
CONSTANT_TYPES = (str, int, float, bool, type(None))  # not bytes, complex or Ellipsis
FRIENDLY_NAMES = {  # for error messages; any node without a b_<Node> method is rejected
    "Lambda": "lambda", "NamedExpr": "assignment (:=)", "ListComp": "a comprehension", "SetComp": "a comprehension",
    "DictComp": "a comprehension", "GeneratorExp": "a generator", "JoinedStr": "an f-string",
    "Starred": "* unpacking", "Await": "await", "Yield": "yield", "YieldFrom": "yield",
}
_NOT_COUNTED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_NEWLINE = re.compile(r"\r\n|\r|\n")


class _Builder:
    """Checks one parsed tree, turns it into closures and collects the free names it reads."""

    def __init__(self, text: str, shift: int) -> None:
        self.text, self.shift, self.lines = text, shift, _NEWLINE.split(text[shift:])
        self.names: set[str] = set()

    def column(self, node: Any) -> int:  # AST offsets count UTF-8 bytes; people count characters
        line = self.lines[node.lineno - 1].encode()
        return len(line[: node.col_offset].decode(errors="ignore")) + (self.shift if node.lineno == 1 else 0)

    def fail(self, message: str, node: Any = None, lineno: int = 1, col: int | None = None) -> ExpressionSyntaxError:
        if node is not None:
            lineno, col = node.lineno, self.column(node)
        if col is not None:
            message += f" at column {col}" + (f" of line {lineno}" if lineno > 1 else "")
        return ExpressionSyntaxError(message, self.text, col)

    def check_depth(self, root: ast.AST) -> None:
        stack = [(root, 1)]  # iterative: the tree may be deeper than the recursion limit
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(f"expression is nested deeper than {MAX_DEPTH} levels", node)
            stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if not isinstance(c, _NOT_COUNTED))

    def build(self, node: Any) -> Fn:
        kind = type(node).__name__
        handler = getattr(self, "b_" + kind, None)
        if handler is None:
            raise self.fail(f"{FRIENDLY_NAMES.get(kind, kind)} is not allowed", node)
        return handler(node)

    def op(self, node: Any) -> Callable[..., Any]:
        if type(node.op) not in OPERATORS:
            raise self.fail(f"operator {type(node.op).__name__} is not allowed", node)
        return OPERATORS[type(node.op)]

    def b_Constant(self, node: ast.Constant) -> Fn:
        value = node.value
        if type(value) not in CONSTANT_TYPES:
            raise self.fail(f"constants of type {type(value).__name__} are not allowed", node)
        return lambda n: value

    def b_Name(self, node: ast.Name) -> Fn:
        name, pos = node.id, self.column(node)
        if name.startswith("__"):
            raise self.fail(f"name {name!r} is not allowed", node)
        self.names.add(name)

        def load(n: Mapping[str, Any]) -> Any:
            try:
                return n[name]
            except KeyError:
                raise ExpressionEvalError(f"unknown name {name!r}", position=pos) from None
        return load

    def b_Attribute(self, node: ast.Attribute) -> Fn:
        key, pos = node.attr, self.column(node)
        if key.startswith("_"):
            raise self.fail(f"attribute {key!r} is not allowed", node)
        obj = self.build(node.value)

        def get(n: Mapping[str, Any]) -> Any:
            value = obj(n)
            if isinstance(value, Mapping):  # never getattr: the dot is only a key lookup
                return _item(value, key, pos)
            raise ExpressionEvalError(f"cannot read {key!r} from {type(value).__name__}: not a mapping", position=pos)
        return get

    def b_Subscript(self, node: ast.Subscript) -> Fn:
        obj, index, pos = self.build(node.value), self.build(node.slice), self.column(node)
        return lambda n: _item(obj(n), index(n), pos)

    def b_Slice(self, node: ast.Slice) -> Fn:
        lo, hi, step = (self.build(p) if p else (lambda n: None) for p in (node.lower, node.upper, node.step))
        return lambda n: slice(lo(n), hi(n), step(n))

    def b_BoolOp(self, node: ast.BoolOp) -> Fn:
        fns, is_and = [self.build(v) for v in node.values], isinstance(node.op, ast.And)
        if len(fns) == 2:
            a, b = fns
            return (lambda n: a(n) and b(n)) if is_and else (lambda n: a(n) or b(n))

        def chain(n: Mapping[str, Any]) -> Any:
            value: Any = None  # never returned as such: a BoolOp has two operands or more
            for fn in fns:  # short-circuits and returns the deciding operand, like Python
                value = fn(n)
                if bool(value) != is_and:
                    return value
            return value
        return chain

    def b_UnaryOp(self, node: ast.UnaryOp) -> Fn:
        op, arg = self.op(node), self.build(node.operand)
        return lambda n: op(arg(n))

    def b_BinOp(self, node: ast.BinOp) -> Fn:
        op, left, right = self.op(node), self.build(node.left), self.build(node.right)
        return lambda n: op(left(n), right(n))

    def b_Compare(self, node: ast.Compare) -> Fn:
        left, rights = self.build(node.left), [self.build(c) for c in node.comparators]
        pairs = [(OPERATORS[type(o)], r) for o, r in zip(node.ops, rights, strict=True)]  # every cmpop is allowed
        if len(pairs) == 1:
            (op, right), = pairs
            return lambda n: op(left(n), right(n))

        def chain(n: Mapping[str, Any]) -> Any:
            a = left(n)  # a < b < c: b is evaluated once, stop at the first false link
            result: Any = True  # never returned as such: a chain has two links or more
            for op, right in pairs:
                b = right(n)
                result = op(a, b)
                if not result:
                    return result
                a = b
            return result
        return chain

    def b_IfExp(self, node: ast.IfExp) -> Fn:
        test, body, orelse = self.build(node.test), self.build(node.body), self.build(node.orelse)
        return lambda n: body(n) if test(n) else orelse(n)

    def b_List(self, node: ast.List | ast.Tuple | ast.Set) -> Fn:
        fns, make = [self.build(e) for e in node.elts], {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
        return lambda n: make([f(n) for f in fns])

    b_Tuple = b_Set = b_List

    def b_Dict(self, node: ast.Dict) -> Fn:
        if any(k is None for k in node.keys):
            raise self.fail("** unpacking is not allowed", node)
        pairs = [(self.build(k), self.build(v)) for k, v in zip(node.keys, node.values, strict=True)]
        return lambda n: {k(n): v(n) for k, v in pairs}

    def b_Call(self, node: ast.Call) -> Fn:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            what = f"unknown function {name!r}" if name else "only functions called by bare name are allowed"
            raise self.fail(f"{what}; allowed: {', '.join(sorted(FUNCTIONS))}", node)
        fn, lo, hi = FUNCTIONS[name]
        if node.keywords:
            raise self.fail(f"{name}() does not take keyword arguments", node)
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise self.fail(f"{name}() takes {want} argument{'' if want == '1' else 's'}, got {len(node.args)}", node)
        args = [self.build(a) for a in node.args]
        if len(args) == 1:
            (arg,) = args
            return lambda n: fn(arg(n))
        return lambda n: fn(*[a(n) for a in args])


class Expression:
    """A parsed, checked expression. Immutable. Construct with ``Expression.parse(text)``."""

    __slots__ = ("text", "names", "_fn")
    text: str
    names: frozenset[str]  # free names read from the data; names only ever called are functions
    _fn: Fn

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ExpressionSyntaxError(f"expression must be a string, not {type(text).__name__}", repr(text)[:80])
        if len(text) > MAX_LENGTH:
            raise ExpressionSyntaxError(f"expression is {len(text)} characters; the limit is {MAX_LENGTH}", text[:80])
        if not text.strip():
            raise ExpressionSyntaxError("expression is empty", text)
        source = text.lstrip(" \t")  # like eval(): Python would call a leading space "unexpected indent"
        builder = _Builder(text, len(text) - len(source))
        try:
            tree = ast.parse(source, mode="eval")  # an AST only: no code object is ever made
        except SyntaxError as exc:
            if not exc.lineno or exc.offset is None or exc.lineno > len(builder.lines):
                raise ExpressionSyntaxError(f"syntax error: {exc.msg}", text) from None
            col = exc.offset - 1 if exc.offset >= 1 else len(builder.lines[exc.lineno - 1])  # 0: at the end
            col += builder.shift if exc.lineno == 1 else 0
            raise builder.fail(f"syntax error: {exc.msg}", lineno=exc.lineno, col=col) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise ExpressionSyntaxError(f"syntax error: {exc}", text) from None
        builder.check_depth(tree.body)
        fn = builder.build(tree.body)
        for slot, value in (("text", text), ("names", frozenset(builder.names)), ("_fn", fn)):
            object.__setattr__(self, slot, value)

    @classmethod
    def parse(cls, text: str) -> Expression:
        return cls(text)

    def evaluate(self, names: Mapping[str, Any]) -> Any:
        try:
            return self._fn(names)
        except ExpressionEvalError as exc:
            exc.expression = self.text
            raise
        except Exception as exc:  # Exception only: KeyboardInterrupt and cancellation pass through
            raise ExpressionEvalError(f"{type(exc).__name__}: {exc}", self.text) from exc

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Expression is immutable")

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # closures do not pickle: re-parse instead
        return (type(self), (self.text,))


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Expression:
    return Expression(text)


def parse_expression(text: str) -> Expression:
    """``Expression.parse`` behind an LRU cache: the same expressions run thousands of times."""
    return _parse_cached(text) if isinstance(text, str) else Expression(text)  # lists are unhashable


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """Parse (cached) and evaluate ``text`` against ``names``."""
    return parse_expression(text).evaluate(names)
