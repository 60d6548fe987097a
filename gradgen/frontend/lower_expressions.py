"""Front end, lowering: expressions — a postfix expression run with a loop and a value stack.

Each item of the postfix expression (see `syntax`) takes its operands off the stack and pushes
one entry: a node (numbers, names, operators, calls, indexing) or a static structure (keyword
arguments, tuples, slices). Depth costs no recursion. `STEPS` holds one rule per item kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import count
from typing import Any

from gradgen.frontend.lower_apply import apply, as_whole, emit
from gradgen.frontend.lower_calls import call
from gradgen.frontend.lower_names import lookup
from gradgen.frontend.lower_static import (
    OMITTED,
    Keyword,
    Operand,
    Slice,
    Tuple,
    as_node,
    static_int,
    static_of,
)
from gradgen.frontend.scopes import FunctionScope
from gradgen.frontend.syntax import Expr, Item
from gradgen.ir.graph import Var
from gradgen.ir.primitives import BINARY_OPERATORS, UNARY_OPERATORS
from gradgen.ir.primitives.arrays import is_position


def evaluate(scope: FunctionScope, expr: Expr, name: str | None) -> Var:
    """Run a postfix expression; the last operation's node gets ``name``."""
    stack: list[Operand] = []
    last = len(expr) - 1
    for index, item in enumerate(expr):
        stack.append((step(scope, item, stack, name if index == last else None), item))
    (result, item), = stack
    return as_node(scope, result, item, "the expression")


def step(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Any:
    """What ``item`` pushes, its operands taken off ``stack``."""
    rule = STEPS.get(item.kind)
    if rule is None:
        raise AssertionError(f"unknown syntax item {item.kind!r}")
    return rule(scope, item, stack, name)


def pop(stack: list[Operand], count: int) -> list[Operand]:
    """The top ``count`` entries of ``stack``, taken off it."""
    args = stack[len(stack) - count:]  # not stack[-count:]: count may be 0
    del stack[len(stack) - count:]
    return args


# ---- one rule per item kind ------------------------------------------------------------------

def lower_num(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Var:
    return scope.builder.const(item.value)


def lower_const(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Var:
    return scope.builder.const(math.pi, "pi")


def lower_name(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Any:
    return lookup(scope, item)


def lower_call(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Var:
    return call(scope, item, pop(stack, item.nargs), name)


def lower_binary(scope: FunctionScope, item: Item, stack: list[Operand],
                 name: str | None) -> Var:
    return apply(scope, BINARY_OPERATORS[item.text], item, pop(stack, 2), name)


def lower_unary(scope: FunctionScope, item: Item, stack: list[Operand],
                name: str | None) -> Var:
    return apply(scope, UNARY_OPERATORS[item.text], item, pop(stack, 1), name)


def lower_cond(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Var:
    """``a if c else b``, a selection: ``where(c, a, b)``."""
    then, test, orelse = pop(stack, 3)
    return apply(scope, "where", item, [test, then, orelse], name)


def lower_keyword(scope: FunctionScope, item: Item, stack: list[Operand],
                  name: str | None) -> Keyword:
    (value, value_item), = pop(stack, 1)
    return Keyword(item.text, value, value_item)


def lower_tuple(scope: FunctionScope, item: Item, stack: list[Operand],
                name: str | None) -> Tuple:
    return Tuple(tuple(pop(stack, item.nargs)))


def lower_none(scope: FunctionScope, item: Item, stack: list[Operand], name: str | None) -> Any:
    return OMITTED


def lower_slice(scope: FunctionScope, item: Item, stack: list[Operand],
                name: str | None) -> Slice:
    return Slice(tuple(pop(stack, 3)))


def lower_index(scope: FunctionScope, item: Item, stack: list[Operand],
                name: str | None) -> Var:
    """``x[...]``: a ``getitem`` edge, whose run-time positions are operands."""
    target, *elements = pop(stack, item.nargs + 1)
    entries = [index_entry(scope, value, element) for value, element in elements]
    positions = [entry[1] for entry in entries if is_position(entry)]
    return emit(scope, "getitem", item, (as_node(scope, *target, "indexing"), *positions),
                name, {"index": index_param(entries)})


STEPS: dict[str, Callable[[FunctionScope, Item, list[Operand], str | None], Any]] = {
    "num": lower_num, "const": lower_const, "name": lower_name, "call": lower_call,
    "binary": lower_binary, "unary": lower_unary, "cond": lower_cond,
    "keyword": lower_keyword, "tuple": lower_tuple, "none": lower_none, "slice": lower_slice,
    "index": lower_index,
}


# ---- indexing --------------------------------------------------------------------------------

def index_entry(scope: FunctionScope, value: Any, item: Item) -> Any:
    """One element of an index: a whole number, a slice, or ``("at", node)`` for a position
    known only at run time."""
    if isinstance(value, Slice):
        return slice_entry(scope, value)
    if isinstance(static_of(scope, value), int):
        return static_of(scope, value)
    return ("at", position(scope, value, item))


def position(scope: FunctionScope, value: Any, item: Item) -> Var:
    """A position known only at run time: a whole number of no shape."""
    var = as_node(scope, value, item, "indexing")
    if var.shape or var.dtype == "bool":
        scope.fail("an index must be a whole number, not an array or a condition", item)
    if var.dtype != "int":  # a scalar input: a float until made a whole number
        var = as_whole(scope, var)
    return var


def slice_entry(scope: FunctionScope, value: Slice) -> tuple:
    parts = tuple(None if part is OMITTED else static_int(scope, part, part_item, "an index")
                  for part, part_item in value.parts)
    if parts[2] == 0:
        scope.fail("a slice step cannot be zero", value.parts[2][1])
    return ("slice", *parts)


def index_param(entries: list[Any]) -> tuple:
    """The ``index`` parameter: a run-time position becomes operand ``k``, ``("at", k)``."""
    operands = count()
    return tuple(("at", next(operands)) if is_position(entry) else entry for entry in entries)
