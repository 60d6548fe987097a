"""Front end, lowering: static values, the arguments that are part of an operation.

Some arguments are not values but part of the operation: an ``axis``, ``keepdims``, an index, a
shape. They are *static*: whole numbers, ``True``/``False``/``None``, dimension names, and sums,
differences and products of those, or tuples of them. They become the edge's parameters.

Besides nodes, an expression's evaluation stack holds the structures static values are written
with (`Tuple`, `Keyword`, `Slice`, `Literal`), each with the `Item` it came from. A node's
compile-time value is kept in the program's ``static`` table: a whole number, or a dimension
(a `gradgen.ir.dims.Dim`: ``n``, ``T-1``, ``n*k``), computed by the registry's own arithmetic
on whole numbers, which Dims support too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradgen.frontend.scopes import FunctionScope
from gradgen.frontend.syntax import Item
from gradgen.ir.dims import Dim
from gradgen.ir.graph import Shape, Var
from gradgen.ir.primitives import STATIC_ARITHMETIC, shape_text

#: An entry of the evaluation stack: a node or a static structure, and the item it came from.
Operand = tuple[Any, Item]

#: The longest dimension kept at compile time, in characters of its text (``T-1``, ``2*n+1``):
#: a loop bound or a size is short, and a sum of 10^6 scalar inputs must not build ever longer
#: dimensions.
STATIC_TEXT_LIMIT = 64


@dataclass(frozen=True)
class Tuple:
    elements: tuple[Operand, ...]


@dataclass(frozen=True)
class Keyword:
    name: str
    value: Any
    item: Item  # the value's


@dataclass(frozen=True)
class Slice:
    parts: tuple[Operand, ...]  # start, stop, step


@dataclass(frozen=True)
class Literal:
    value: Any


#: An omitted part of a slice (``x[:3]``).
OMITTED = Literal("omitted")
_WHAT = {Tuple: "a tuple", Keyword: "a keyword argument", Slice: "a slice"}


def as_node(scope: FunctionScope, value: Any, item: Item, where: str) -> Var:
    """``value`` as a node; a tuple, slice, keyword or literal is an error here."""
    if isinstance(value, Var):
        return value
    what = _WHAT.get(type(value)) or repr(value.value)
    scope.fail(f"{where} expects a value, got {what}", item)


def static_of(scope: FunctionScope, value: Any) -> int | Dim | None:
    """The compile-time value of a node: a whole number or a dimension."""
    if not isinstance(value, Var):
        return None
    if value.is_const:
        return int(value.value) if value.value.is_integer() and not value.symbol else None
    return scope.program.static.get(value)


def static_int(scope: FunctionScope, value: Any, item: Item, what: str) -> int:
    number = static_of(scope, value)
    if not isinstance(number, int):
        scope.fail(f"{what} must be a whole number written in the source", item)
    return number


def static_bool(scope: FunctionScope, value: Any, item: Item) -> bool:
    flag = value.value if isinstance(value, Literal) else value  # written, or a default
    if not isinstance(flag, bool):
        scope.fail("expected True or False", item)
    return flag


def static_axis(scope: FunctionScope, value: Any, item: Item, shape: Shape,
                single: bool) -> tuple[int, ...] | None:
    """An ``axis`` argument as sorted non-negative axes (None: every axis)."""
    if is_none(value):
        if single:
            scope.fail("axis must be one whole number here", item)
        return None
    axes = [normal_axis(scope, axis, axis_item, shape)
            for axis, axis_item in given_axes(scope, value, item, single)]
    if len(set(axes)) != len(axes):
        scope.fail("an axis is repeated", item)
    return tuple(sorted(axes))


def is_none(value: Any) -> bool:
    """Whether a static value is ``None`` (a default, or written)."""
    return value is None or (isinstance(value, Literal) and value.value is None)


def given_axes(scope: FunctionScope, value: Any, item: Item,
               single: bool) -> list[tuple[int, Item]]:
    """The axes an ``axis`` argument names, as written, each with where."""
    if isinstance(value, int):
        return [(value, item)]
    if isinstance(value, Tuple) and not single:
        return [(static_int(scope, v, i, "an axis"), i) for v, i in value.elements]
    return [(static_int(scope, value, item, "an axis"), item)]


def normal_axis(scope: FunctionScope, axis: int, item: Item, shape: Shape) -> int:
    """``axis`` of ``shape`` counted from the front (``-1``: the last)."""
    if not -len(shape) <= axis < len(shape):
        scope.fail(f"axis {axis} is out of range for shape {shape_text(shape)}", item)
    return axis % len(shape)


def static_shape(scope: FunctionScope, value: Any, item: Item) -> tuple[Shape, list[Var]]:
    """A shape argument (a tuple of dimensions, or one dimension): the dimensions and the
    nodes holding their sizes."""
    elements = value.elements if isinstance(value, Tuple) else ((value, item),)
    shape = tuple(static_dimension(scope, element, element_item)
                  for element, element_item in elements)
    return shape, [element for element, _ in elements]


def static_dimension(scope: FunctionScope, value: Any, item: Item) -> int | Dim:
    """One dimension of a shape argument: a whole number (not negative) or a dimension."""
    dim = static_of(scope, value)
    if dim is None or (isinstance(dim, int) and dim < 0):
        scope.fail("expected a dimension: a whole number or a dimension name", item)
    return dim


def record_static(scope: FunctionScope, prim: str, inputs: tuple[Var, ...], output: Var) -> None:
    """Keep the compile-time value of arithmetic on whole numbers and dimensions."""
    entry = STATIC_ARITHMETIC.get(prim)
    values = None if entry is None else static_operands(scope, inputs)
    if values is None:
        return
    value = entry.static(*values)  # on dimensions too: n * k is a Dim
    if isinstance(value, int) or len(value.text) <= STATIC_TEXT_LIMIT:  # a long sum of inputs
        scope.program.static[output] = value  # is no loop bound: its text would grow with it,
        # quadratic in its length


def static_operands(scope: FunctionScope, inputs: tuple[Var, ...]) -> list[int | Dim] | None:
    """The compile-time values of ``inputs``, or None if one has none."""
    values = []
    for var in inputs:  # most operands are not static: stop at the first
        value = static_of(scope, var)
        if value is None:
            return None
        values.append(value)
    return values
