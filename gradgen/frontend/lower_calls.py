"""Front end, lowering: calls of the language's functions, checked against the registry.

A call names a primitive (by its name or an alias: the registry's `SPELLINGS`), a function of
the language that is sugar for several primitives (``log(x, base)``), a constructor whose
arguments are static shapes (``zeros``, ``eye``, ``reshape``), a join of a tuple of arrays
(``stack``, ``concat``), or one of the file's own functions (`lower_helpers`). The known
function, the number of arguments, the keyword arguments and numbers versus conditions are
checked here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from gradgen.frontend.lower_apply import apply, check_count, emit
from gradgen.frontend.lower_helpers import call_helper, is_helper_call
from gradgen.frontend.lower_names import did_you_mean
from gradgen.frontend.lower_static import (
    Keyword,
    Operand,
    Tuple,
    as_node,
    static_axis,
    static_bool,
    static_int,
    static_shape,
)
from gradgen.frontend.scopes import FunctionScope
from gradgen.frontend.syntax import Item
from gradgen.ir.dims import size
from gradgen.ir.graph import Shape, Var
from gradgen.ir.primitives import REGISTRY, SPELLINGS, shape_text

#: Functions whose arguments are static shapes: name -> number of arguments (the shape
#: becomes the primitive's parameter, its dimensions the edge's inputs).
CONSTRUCTORS = {"zeros": 1, "ones": 1, "eye": 1, "reshape": 2}
#: Functions joining a tuple of arrays along an axis.
JOINS = ("stack", "concat")

Keywords = dict[str, Operand]


def call(scope: FunctionScope, item: Item, args: list[Operand], name: str | None) -> Var:
    """A call of ``item.text`` with ``args`` (keyword arguments after the positional ones)."""
    function = item.text
    positional, keywords = split_arguments(args)
    if function in CONSTRUCTORS and function not in scope.env:
        return construct(scope, item, positional, keywords, name)
    if function in JOINS and function not in scope.env:
        return join(scope, item, positional, keywords, name)
    if is_helper_call(scope, function):
        return call_helper(scope, item, positional, keywords, name)
    sugar = SUGAR.get((function, len(positional)))
    if sugar is not None and not keywords:
        return sugar(scope, item, positional, name)
    return call_primitive(scope, item, positional, keywords, name)


def split_arguments(args: list[Operand]) -> tuple[list[Operand], Keywords]:
    """A call's positional arguments, and its keyword arguments by name."""
    positional = [(v, i) for v, i in args if not isinstance(v, Keyword)]
    keywords = {v.name: (v.value, v.item) for v, _ in args if isinstance(v, Keyword)}
    return positional, keywords


def log_base(scope: FunctionScope, item: Item, positional: list[Operand], name: str | None) -> Var:
    """``log(x, base)``: ``log(x) / log(base)``."""
    value, base = positional
    logs = (apply(scope, "log", item, [value], None), apply(scope, "log", item, [base], None))
    return scope.builder.emit("div", logs, name or scope.program.temporary())


#: Functions of the language that lower to several primitives, by name and number of
#: arguments (``log(x, base)``: ``log(x) / log(base)``). The names of the primitives
#: themselves, their aliases and arities, are the registry's (`SPELLINGS`).
SUGAR: dict[tuple[str, int], Callable[[FunctionScope, Item, list[Operand], str | None], Var]] = {
    ("log", 2): log_base}
#: The numbers of arguments a call may have: the arities of the primitives it may name, and
#: of its sugar.
COUNTS = {name: tuple(sorted({*by_count, *(n for spelled, n in SUGAR if spelled == name)}))
          for name, by_count in SPELLINGS.items()}


def call_primitive(scope: FunctionScope, item: Item, positional: list[Operand],
                   keywords: Keywords, name: str | None) -> Var:
    by_count = SPELLINGS.get(item.text) or unknown_function(scope, item)
    check_count(scope, item, len(positional), COUNTS[item.text])
    prim = by_count.get(len(positional)) or by_count[min(by_count)]  # log(x, base, k=...): log
    params = keyword_params(scope, item, REGISTRY[prim].keywords, keywords, positional[0])
    return apply(scope, prim, item, positional, name, params)


def unknown_function(scope: FunctionScope, item: Item) -> NoReturn:
    scope.fail(unknown_function_message(scope, item.text), item)


def unknown_function_message(scope: FunctionScope, function: str) -> str:
    if function in scope.env:
        return f"'{function}' is not a function; to multiply, write '{function}*(...)'"
    return f"unknown function '{function}'" + did_you_mean(function, SPELLINGS)


# ---- keyword arguments -----------------------------------------------------------------------

def keyword_params(scope: FunctionScope, item: Item, allowed: dict[str, Any], given: Keywords,
                   first: Operand | None) -> dict[str, Any]:
    """The parameters of a call: its keyword arguments, normalised, over the defaults."""
    check_keywords(scope, item, allowed, given)
    if not allowed or first is None:
        return {}
    shape = array_shape(scope, item, first)
    params = {**allowed, **{key: value for key, (value, _) in given.items()}}
    return static_params(scope, item, params, given, shape)


def array_shape(scope: FunctionScope, item: Item, first: Operand) -> Shape:
    """The shape of the array that a function with an ``axis`` is called on."""
    target = as_node(scope, *first, item.text)
    if not target.shape:
        scope.fail(f"{item.text} of a scalar: declare the input's shape in the signature, "
                   "e.g. 'x: (n,)'", first[1])
    return target.shape


def static_params(scope: FunctionScope, item: Item, params: dict[str, Any], given: Keywords,
                  shape: Shape) -> dict[str, Any]:
    """``keepdims`` as True or False, ``axis`` as the sorted axes of ``shape`` it names."""
    where = {key: value_item for key, (_, value_item) in given.items()}
    if "keepdims" in params:
        params["keepdims"] = static_bool(scope, params["keepdims"], where.get("keepdims", item))
    single = "keepdims" not in params  # softmax: one axis
    params["axis"] = static_axis(scope, params["axis"], where.get("axis", item), shape, single)
    return params


def check_keywords(scope: FunctionScope, item: Item, allowed: dict[str, Any],
                   given: Keywords) -> None:
    for key, (_, value_item) in given.items():
        if key not in allowed:
            takes = f"; it takes {', '.join(allowed)}" if allowed else ""
            scope.fail(f"{item.text} has no keyword argument '{key}'{takes}", value_item)


# ---- constructors and joins ------------------------------------------------------------------

def construct(scope: FunctionScope, item: Item, positional: list[Operand], keywords: Keywords,
              name: str | None) -> Var:
    """``zeros(shape)``, ``ones(shape)``, ``eye(n)``, ``reshape(x, shape)``."""
    function = item.text
    check_keywords(scope, item, {}, keywords)
    check_count(scope, item, len(positional), (CONSTRUCTORS[function],))
    shape, dims = static_shape(scope, *positional[-1])
    if function == "eye":
        shape = square(scope, shape, positional[0][1])
    reshaping = (reshaped(scope, positional, shape),) if function == "reshape" else ()
    return emit(scope, function, item, (*reshaping, *dims), name, {"shape": shape})


def square(scope: FunctionScope, shape: Shape, item: Item) -> Shape:
    """``eye(n)``'s shape ``(n, n)``."""
    if len(shape) != 1:
        scope.fail("eye takes the size n of the n×n identity", item)
    return shape * 2


def reshaped(scope: FunctionScope, positional: list[Operand], shape: Shape) -> Var:
    """The array ``reshape(x, shape)`` reshapes, with as many entries as ``shape``."""
    target = as_node(scope, *positional[0], "reshape")
    if size(target.shape) != size(shape):
        scope.fail(f"reshape of {shape_text(target.shape)} to {shape_text(shape)}: the sizes "
                   "differ", positional[1][1])
    return target


def join(scope: FunctionScope, item: Item, positional: list[Operand], keywords: Keywords,
         name: str | None) -> Var:
    """``stack((a, b), axis=0)``, ``concat((a, b), axis=0)``."""
    function = item.text
    keyword_params(scope, item, {"axis": 0}, keywords, None)
    parts = joined_parts(scope, item, positional)
    rank = len(parts[0].shape) + (function == "stack")
    axis = join_axis(scope, item, keywords, rank)
    return emit(scope, function, item, parts, name, {"axis": axis})


def joined_parts(scope: FunctionScope, item: Item, positional: list[Operand]) -> tuple[Var, ...]:
    """The arrays a join takes, as the one tuple it is called with."""
    function = item.text
    group = positional[0][0] if len(positional) == 1 else None
    if not isinstance(group, Tuple) or not group.elements:
        scope.fail(f"{function} takes a tuple of arrays: {function}((a, b), axis=0)", item)
    return tuple(as_node(scope, value, part_item, function) for value, part_item in group.elements)


def join_axis(scope: FunctionScope, item: Item, keywords: Keywords, rank: int) -> int:
    """A join's ``axis`` (0 if not given), counted from the front of the result's ``rank``
    axes when negative (an axis out of range is the shape rule's error)."""
    axis_value, axis_item = keywords.get("axis", (None, item))
    axis = 0 if axis_value is None else static_int(scope, axis_value, axis_item, "an axis")
    return axis + rank if -rank <= axis < 0 else axis
