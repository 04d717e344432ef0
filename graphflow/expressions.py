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

from graphflow import expression_limits as limits
from graphflow.errors import GraphflowError
from graphflow.expression_limits import (
    RAW_COMPARE,
    ExpressionLimit,
    bounded_add,
    bounded_sorted,
    bounded_str,
    bounded_sum,
    charged,
    cheap,
    check_built,
    check_repeat,
    compared,
)

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


# name -> (function, min args, max args or None). Called by bare name only.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "len": (len, 1, 1), "min": (charged(min), 1, None), "max": (charged(max), 1, None), "abs": (abs, 1, 1),
    "round": (round, 1, 2), "str": (bounded_str, 0, 1), "int": (charged(int), 0, 2), "float": (charged(float), 0, 1),
    "bool": (bool, 0, 1), "sum": (bounded_sum, 1, 2), "any": (charged(any), 1, 1), "all": (charged(all), 1, 1),
    "sorted": (bounded_sorted, 1, 1), "lower": (charged(str.lower), 1, 1), "upper": (charged(str.upper), 1, 1),
    "startswith": (charged(str.startswith), 2, 2), "endswith": (charged(str.endswith), 2, 2),
    "contains": (charged(operator.contains), 2, 2),
}


def _mul(a: Any, b: Any) -> Any:
    seq, count = (a, b) if isinstance(b, int) else (b, a)
    if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int):
        if len(seq) * count > MAX_REPEAT:
            raise ExpressionLimit(f"repetition would make {len(seq) * count} elements; the limit is {MAX_REPEAT}")
        check_repeat(seq, count)  # nested copies count too: [[1] * 1000] * 1000 is a million
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
    ast.Add: bounded_add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod, ast.Pow: _pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
    ast.Eq: compared(operator.eq), ast.NotEq: compared(operator.ne), ast.Lt: compared(operator.lt),
    ast.LtE: compared(operator.le), ast.Gt: compared(operator.gt), ast.GtE: compared(operator.ge),
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: compared(lambda a, b: a in b), ast.NotIn: compared(lambda a, b: a not in b),  # no BitOr, MatMult...
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
        self.budgeted = False
        """Uses an operation that charges the step budget (so evaluation must reset it)."""

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

    def check_constants(self, root: ast.AST) -> None:
        """Run each largest part that reads no data (under the same limits) so that validation
        refuses ``[[1] * 100000] * 100000 == x`` before any run; other errors wait for the run."""
        stack = [root]
        while stack:
            node = stack.pop()
            called = {id(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)}
            if any(isinstance(c, ast.Name) and id(c) not in called for c in ast.walk(node)):
                stack.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
            elif not isinstance(node, ast.Constant):
                limits.start()
                try:
                    self.build(node)({})
                except ExpressionLimit as exc:
                    raise self.fail(str(exc), node) from None
                except (ExpressionEvalError, ArithmeticError, TypeError, ValueError, LookupError, RecursionError):
                    pass  # fails on every run too; reported then, as it always was

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
        if isinstance(node.slice, ast.Slice):  # a slice copies: bounded like any built value
            self.budgeted = True
            return lambda n: check_built(_item(obj(n), index(n), pos), "slice")
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
        self.budgeted = True
        op, left, right = self.op(node), self.build(node.left), self.build(node.right)
        return lambda n: op(left(n), right(n))

    def b_Compare(self, node: ast.Compare) -> Fn:
        left, rights = self.build(node.left), [self.build(c) for c in node.comparators]
        sides = [node.left, *node.comparators]
        free = [cheap(o, sides[i], sides[i + 1]) for i, o in enumerate(node.ops)]
        self.budgeted |= not all(free)
        pairs = [(RAW_COMPARE[type(o)] if c else OPERATORS[type(o)], r)
                 for o, c, r in zip(node.ops, free, rights, strict=True)]  # every cmpop is allowed
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
        if all(isinstance(e, ast.Constant) for e in node.elts):  # small: the text is bounded
            return lambda n: make([f(n) for f in fns])
        self.budgeted = True
        return lambda n: check_built(make([f(n) for f in fns]), "literal")

    b_Tuple = b_Set = b_List

    def b_Dict(self, node: ast.Dict) -> Fn:
        if any(k is None for k in node.keys):
            raise self.fail("** unpacking is not allowed", node)
        pairs = [(self.build(k), self.build(v)) for k, v in zip(node.keys, node.values, strict=True)]
        if all(isinstance(e, ast.Constant) for e in [*node.keys, *node.values]):
            return lambda n: {k(n): v(n) for k, v in pairs}
        self.budgeted = True
        return lambda n: check_built({k(n): v(n) for k, v in pairs}, "literal")

    def b_Call(self, node: ast.Call) -> Fn:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            what = f"unknown function {name!r}" if name else "only functions called by bare name are allowed"
            raise self.fail(f"{what}; allowed: {', '.join(sorted(FUNCTIONS))}", node)
        fn, lo, hi = FUNCTIONS[name]
        self.budgeted = True
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

    __slots__ = ("text", "names", "_fn", "_budgeted")
    text: str
    names: frozenset[str]  # free names read from the data; names only ever called are functions
    _fn: Fn
    _budgeted: bool

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
        builder.check_constants(tree.body)
        for slot, value in (("text", text), ("names", frozenset(builder.names)), ("_fn", fn),
                            ("_budgeted", builder.budgeted)):
            object.__setattr__(self, slot, value)

    @classmethod
    def parse(cls, text: str) -> Expression:
        return cls(text)

    def evaluate(self, names: Mapping[str, Any]) -> Any:
        if self._budgeted:
            limits.start()
        try:
            return self._fn(names)
        except ExpressionEvalError as exc:
            exc.expression = self.text
            raise
        except ExpressionLimit as exc:
            raise ExpressionEvalError(str(exc), self.text) from None
        except RecursionError:
            raise ExpressionEvalError("value nested too deeply", self.text) from None
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
