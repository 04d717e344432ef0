"""CPU and memory bounds for safe expressions.

Two limits, both counted in elements (an item of a list, tuple, set or dict, or a
character of a string; nesting counts every copy, so ``[[1] * 1000] * 1000`` weighs about a
million even though Python shares the inner list):

- ``MAX_SIZE``: no value an expression builds (repetition, concatenation, a literal,
  ``str()``, ``sorted()``, a slice) may weigh more;
- ``MAX_STEPS``: the work of one evaluation (every comparison, membership test, function
  call or build over containers is charged their weight) is bounded, so even values
  within the size limit cannot be combined into minutes of CPU.

Scalars cost nothing, which keeps ordinary routing conditions as fast as before.
"""

from __future__ import annotations

import ast
import operator
import threading
from collections.abc import Callable
from typing import Any, cast

MAX_SIZE = 1_000_000
MAX_STEPS = 5_000_000
_SCALARS = frozenset({int, float, bool, type(None)})
_SEQUENCES = frozenset({list, tuple, set, frozenset})
_budget = threading.local()


class ExpressionLimit(Exception):  # noqa: N818 (turned into ExpressionEvalError by the caller)
    """A limit was hit; ``expressions.py`` reports it as an ``ExpressionEvalError``."""


def weight(value: Any, limit: int = MAX_SIZE) -> int:
    """Elements in ``value`` counting every shared copy; stops counting past ``limit``."""
    memo: dict[int, int] = {}

    def measure(v: Any) -> int:
        kind = type(v)
        if kind in _SCALARS:
            return 1
        if kind is str:
            return len(v) or 1
        key = id(v)
        if key in memo:
            return memo[key]
        total = len(v) if hasattr(v, "__len__") else 1
        if isinstance(v, dict):
            for k, item in v.items():
                total += measure(k) + measure(item)
                if total > limit:
                    break
        elif isinstance(v, (list, tuple, set, frozenset)):
            for item in v:
                total += measure(item)
                if total > limit:
                    break
        memo[key] = total
        return total

    return measure(value)


def start() -> None:
    _budget.steps = 0


def charge(steps: int) -> None:
    used = getattr(_budget, "steps", 0) + steps
    _budget.steps = used
    if used > MAX_STEPS:
        raise ExpressionLimit(f"expression exceeded its budget of {MAX_STEPS:,} steps (too much work on large values)")


FREE_STR = 4_096
"""Strings shorter than this are free to compare: an expression is at most 2,000 characters,
so it cannot hold enough operations on them to matter."""


def is_free(v: Any) -> bool:
    kind = type(v)
    return kind in _SCALARS or (kind is str and len(v) < FREE_STR)


def charge_values(*values: Any) -> None:
    """Charge the weight of the operands that are not free."""
    steps = 0
    for v in values:
        kind = type(v)
        if kind in _SCALARS:
            continue
        if kind is str:
            steps += len(v)
        elif kind in _SEQUENCES and len(v) <= 32 and all(map(is_free, v)):
            steps += len(v)  # a small flat list ('x in [1, 2, 3]'): skip the walk
        else:
            steps += weight(v, MAX_STEPS)
    if steps:
        charge(steps)


def check_built(value: Any, what: str = "value") -> Any:
    if type(value) not in _SCALARS:
        size = weight(value)
        charge(size)
        if size > MAX_SIZE:
            raise ExpressionLimit(f"{what} would hold more than {MAX_SIZE:,} elements (the limit)")
    return value


def check_repeat(seq: Any, count: int) -> None:
    size = weight(seq) * max(count, 0)
    if size > MAX_SIZE:
        raise ExpressionLimit(f"repetition would make {size:,} elements counting nested copies; "
                              f"the limit is {MAX_SIZE:,}")
    charge(size)


# Operations on values, bounded (expressions.py maps operators and function names to them).


def bounded_sum(items: Any, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):  # sum(lists, []) builds lists quadratically
        raise TypeError("sum() start must be a number")
    charge_values(items)
    return sum(items, start)


def charged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` after charging the work its container or string arguments imply."""
    def call(*args: Any) -> Any:
        if not all(is_free(a) for a in args):
            charge_values(*args)
        return fn(*args)
    return call


def bounded_str(*args: Any) -> str:
    if args:
        check_built(args[0], "str() of this value")  # refuse before building the string...
    return check_built(str(*args), "str() of this value")  # ...and after


def bounded_sorted(items: Any) -> list[Any]:
    charge_values(items)  # and its n log n comparisons again below, on the result
    return check_built(sorted(items), "sorted()")


_SCALAR_TUPLE = (int, float, bool, type(None))  # for isinstance
_FREE_TYPES = _SCALARS


def bounded_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SCALAR_TUPLE) and isinstance(b, _SCALAR_TUPLE):
        return cast(Any, a) + b  # None + 1 raises TypeError here, as in Python
    return check_built(a + b, "concatenation")


def compared(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Comparing or searching containers and strings costs their size; scalars are free."""
    def compare(a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)  # inlined is_free: this runs for every comparison
        if not ((ta in _FREE_TYPES or (ta is str and len(a) < FREE_STR))
                and (tb in _FREE_TYPES or (tb is str and len(b) < FREE_STR))):
            charge_values(a, b)
        return op(a, b)
    return compare


RAW_COMPARE: dict[type, Callable[..., Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def cheap(op: ast.cmpop, left: ast.expr, right: ast.expr) -> bool:
    """A comparison that costs O(1) whatever the data: against a constant (Python compares a
    string's length first, and a list with a number fails at once), or membership in a
    literal of constants. Those skip the budget, which keeps routing conditions fast."""
    if isinstance(op, (ast.In, ast.NotIn)):
        return isinstance(right, (ast.List, ast.Tuple, ast.Set)) and all(isinstance(e, ast.Constant)
                                                                         for e in right.elts)
    return isinstance(left, ast.Constant) or isinstance(right, ast.Constant)
