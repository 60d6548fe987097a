"""Front end, lowering: applying a primitive — one edge per operation, its operands checked.

An operand must be a node, and a number or a condition as the primitive takes it; the shapes
are checked by the registry's shape rule as the edge is built, and a mismatch is worded for the
source (it names both shapes and the operation as written).
"""

from __future__ import annotations

from typing import Any

from gradgen.frontend.lower_static import Operand, as_node, record_static, static_of
from gradgen.frontend.scopes import FunctionScope
from gradgen.frontend.syntax import Item
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Var
from gradgen.ir.primitives import REGISTRY, ShapeError, shape_text

#: What an argument of each kind (the registry's ``args``) must be: a condition or not, and
#: what the error says when it is the other.
_ARGUMENT_KINDS = {"f": (False, "expects a number, got a condition"),
                   "b": (True, "expects a condition such as 'x > 0', got a number")}
#: How an error names the operation of an item of these kinds (a call by its name, an operator
#: by its text).
_OPERATIONS = {"cond": "'if ... else'", "index": "indexing"}


def apply(scope: FunctionScope, prim: str, item: Item, args: list[Operand], name: str | None,
          params: dict[str, Any] | None = None) -> Var:
    """An edge applying ``prim`` to ``args``, written at ``item``; its output gets ``name``."""
    inputs = tuple(operand(scope, kind, arg, item) for kind, arg in zip(REGISTRY[prim].args, args))
    return emit(scope, prim, item, inputs, name, params or {})


def operand(scope: FunctionScope, kind: str, arg: Operand, item: Item) -> Var:
    """An argument of ``item`` as a node of ``kind``: ``"f"`` a number, ``"b"`` a condition."""
    value, arg_item = arg
    var = value if isinstance(value, Var) else as_node(scope, value, arg_item, describe(item))
    condition, expects = _ARGUMENT_KINDS[kind]
    if (var.dtype == "bool") != condition:
        scope.fail(f"{describe(item)} {expects}", arg_item)
    return var


def emit(scope: FunctionScope, prim: str, item: Item, inputs: tuple[Var, ...], name: str | None,
         params: dict[str, Any]) -> Var:
    """An edge applying ``prim`` to nodes, keeping its compile-time value."""
    try:
        output = scope.builder.emit(prim, inputs, name or scope.program.temporary(),
                                    as_params(params) if params else ())
    except ShapeError as error:
        scope.fail(shape_message(prim, item, str(error)), item)
    record_static(scope, prim, inputs, output)
    return output


def check_count(scope: FunctionScope, item: Item, count: int, expected: tuple[int, ...]) -> None:
    """A call of ``item`` has one of the ``expected`` numbers of arguments."""
    if count not in expected:
        counts = " or ".join(map(str, expected))
        plural = "" if expected == (1,) else "s"
        scope.fail(f"{item.text} takes {counts} argument{plural}, got {count}", item)


def as_number(scope: FunctionScope, var: Var) -> Var:
    """``var`` where a number is wanted (a loop's carried value, a helper's argument that
    is not ``n: int``): a whole number becomes a float, keeping its compile-time value."""
    if var.dtype != "int":
        return var
    number = scope.builder.emit("to_float", (var,), scope.program.temporary())
    value = static_of(scope, var)
    if value is not None:
        scope.program.static[number] = value
    return number


def as_whole(scope: FunctionScope, var: Var) -> Var:
    """``var`` made a whole number at run time (an input is a float until checked whole)."""
    return scope.builder.emit("whole", (var,), scope.program.temporary())


def shape_message(prim: str, item: Item, message: str) -> str:
    if prim == "matmul":
        return message.replace("matmul", item.text, 1) if item.kind == "call" else message
    if message.startswith(prim):
        return message
    return f"{describe(item)}: {message}"


def describe(item: Item) -> str:
    """The operation ``item`` as an error names it."""
    if item.kind == "call":
        return item.text
    return _OPERATIONS.get(item.kind, f"'{item.text}'")


def kind_of(var: Var) -> str:
    """What ``var`` is, as an error says it: a condition, or a (whole) number of a shape."""
    if var.dtype == "bool":
        return "a condition"
    return ("a whole number " if var.dtype == "int" else "") + f"shape {shape_text(var.shape)}"
