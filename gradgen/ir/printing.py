"""Printing the IR for people: constants, single edges, and whole graphs as text.

`format_graph` is the text form of `gradgen ir` (one edge per line, like a jaxpr);
`python_expr` is the right-hand side of one generated Python statement, from the registry's
array text (``xp.sin(x)``: the array API standard's spelling, in the function's namespace
``xp``); `source_expr` writes an edge the way the source language would (for ``# grad of:``
comments).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from gradgen.ir.graph import Edge, Graph, Var, hint_of
from gradgen.ir.naming import assign_names
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.arrays import index_text
from gradgen.ir.registry import Primitive

_DTYPES = {"float": "f64", "bool": "bool", "int": "int", "tape": "tape"}
#: The hints of a graph that gives none (its nodes are named as they were built).
NO_HINTS: Mapping[Var, str] = MappingProxyType({})


def format_number(value: float) -> str:
    """A constant as Python source: ``2``, ``0.5``, ``-0.0``, ``np.inf``."""
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    negative_zero = value == 0 and math.copysign(1.0, value) < 0
    if value.is_integer() and abs(value) < 1e16 and not negative_zero:
        return str(int(value))
    return repr(value)


def operand(var: Var, names: dict[Var, str], python: bool = True,
            as_float: bool = False) -> str:
    """How a node appears as an argument: its name, or its constant written out."""
    if var.value is None:
        return names[var]
    if var.symbol:
        return f"np.{var.symbol}" if python else var.symbol
    text = format_number(var.value)
    if as_float and text.lstrip("-").isdigit():
        text += ".0"
    return f"({text})" if text.startswith("-") else text


def value_operand(var: Var, names: dict[Var, str]) -> str:
    """A node standing alone as a value (assigned to a name, passed on, returned): a number
    constant as a NumPy float64, ``np.float64(3)``, since Python would compute with a bare
    ``3`` in integers (``3 ** 64`` as an int, ``2 ** -2`` refused by NumPy, ``1 / 0`` raising)."""
    return _float64(var, names) if var.is_const else operand(var, names)


def _float64(var: Var, names: dict[Var, str]) -> str:
    """``np.float64(3)``, ``np.float64(-0.5)``, ``np.float64(N)``."""
    text = operand(var, names)
    return f"np.float64({text[1:-1] if text.startswith('(-') else text})"


def statement(edge: Edge, names: dict[Var, str]) -> list[tuple[str | None, str]]:
    """The generated statements computing ``edge``'s output, as ``(target, expression)``:
    one assignment, or an update in place (no target: ``x_bar += t``) followed, where the
    output's name is not the accumulator's, by the output taking it over."""
    if not REGISTRY[edge.prim].updates:
        return [(names[edge.output], python_expr(edge, names))]
    total, result = names[edge.inputs[0]], names[edge.output]
    return [(None, python_expr(edge, names))] + ([(result, total)] if result != total else [])


def python_expr(edge: Edge, names: dict[Var, str]) -> str:
    """The generated array expression computing ``edge``'s output (in the namespace ``xp``).

    Arithmetic on numbers follows NumPy's float64, never Python's integers (``3 ** 64``
    overflows an int64, ``1 / n`` raises at ``n = 0``, ``2 ** -2`` is refused): where no
    number operand is a float variable, the first one that is a constant or a whole number
    (``N: int``, a dimension) is written ``np.float64(...)``. A condition selecting between
    constants (``where(c, 2, 3)``: the rest is folded) has them written as floats, the first
    ``np.float64(2)`` (the array API's ``where`` takes one number at most).
    """
    prim = REGISTRY[edge.prim]
    # a value's name looked up here, not by `operand`: a tenth of printing a statement
    args = [names[v] if v.value is None else operand(v, names) for v in edge.inputs]
    if edge.prim == "call":
        args = _call_args(edge, names, args)
    if prim.elementwise and edge.output.dtype == "float":
        args = _float_args(edge, prim.numbers, names, args)
    return prim.text(args, dict(edge.params))


def _call_args(edge: Edge, names: dict[Var, str], args: list[str]) -> list[str]:
    """A constant passed for a number is a float64 inside the called function."""
    params = dict(edge.params)["graph"].inputs
    return [value_operand(v, names) if param.dtype == "float" else text
            for v, param, text in zip(edge.inputs, params, args)]


def _float_args(edge: Edge, numbers: tuple[int, ...], names: dict[Var, str], args: list[str]
                ) -> list[str]:
    """``args`` computing in float64 where no number operand (the positions ``numbers``) is a
    float variable (see `python_expr`)."""
    if not numbers or _has_float_variable(edge.inputs, numbers):
        return args
    constants = all(edge.inputs[k].is_const for k in numbers)
    if len(numbers) < len(args):  # xp.where(c, np.float64(2), 3.0) makes a float64
        args = [operand(v, names, as_float=k in numbers) for k, v in enumerate(edge.inputs)]
    if len(numbers) == len(args) or constants or all(not edge.inputs[k].is_const
                                                     for k in numbers):
        args[numbers[0]] = _float64(edge.inputs[numbers[0]], names)  # an array, of the API too
    return args


def _has_float_variable(inputs: tuple[Var, ...], numbers: tuple[int, ...]) -> bool:
    for k in numbers:  # written out: it runs for nearly every statement printed
        if inputs[k].value is None and inputs[k].dtype != "int":
            return True
    return False


def source_expr(edge: Edge, names: dict[Var, str]) -> str:
    """``edge`` written in the source language: ``a + c``, ``sin(d)``."""
    prim = REGISTRY[edge.prim]
    args = [operand(v, names, python=False) for v in edge.inputs]
    if edge.prim in ("getitem", "transpose", "call"):
        return prim.text(args, dict(edge.params))  # x[1:3], x[t], x.T, g(x) as in the source
    return _applied(prim, args + _keywords(edge))


def _keywords(edge: Edge) -> list[str]:
    """The parameters as the source's keywords (``axis=0``), but the shape."""
    return [f"{key}={_param_text(key, value)}" for key, value in _shown(edge) if key != "shape"]


def _applied(prim: Primitive, args: list[str]) -> str:
    """``a + c``, ``-a``, ``not a``, ``sin(d)``: a primitive applied as the source writes it."""
    if prim.operator and prim.arity == 2:
        return f"{args[0]} {prim.operator} {args[1]}"
    if prim.operator:
        return f"{prim.operator}{' ' if prim.operator.isalpha() else ''}{args[0]}"
    return f"{prim.name}({', '.join(args)})"


def _shown(edge: Edge) -> list[tuple[str, object]]:
    """The parameters worth printing: defaults (``axis=None``, ``keepdims=False``) are not."""
    return [(key, value) for key, value in edge.params if value is not None and value is not False]


def _param_text(key: str, value: object) -> str:
    """A parameter as the source would write it: ``1``, ``(0, 2)``, ``True``, ``[1:3, 0]``; a
    graph (a loop's body, a branch's side, a called function) by its name."""
    if isinstance(value, Graph):
        return value.name
    if key == "index" and not isinstance(value, int):
        return f"[{index_text(value)}]"
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], int):
        return str(value[0])
    return str(value)


def type_of(var: Var) -> str:
    """``f64[]``, ``bool[]``, ``f64[n,3]``."""
    return f"{_DTYPES[var.dtype]}[{','.join(map(str, var.shape))}]"


def format_graph(graph: Graph, indent: str = "") -> str:
    """The graph as text, one edge per line, with ``# grad of:`` comments on adjoint blocks.
    A loop's body and a branch's sides follow their edge, indented (blocks nest only a few
    levels deep); a called function is named, not repeated."""
    names = assign_names(graph)
    params = ", ".join(f"{names[v]}: {type_of(v)}" for v in graph.inputs)
    lines = [f"{indent}{graph.name}({params}):"]
    origin = None
    for edge in graph.edges:
        if edge.origin is not origin and edge.origin is not None:
            lines.append(f"{indent}    # grad of: {grad_of_text(edge.origin, names, graph.hints)}")
        origin = edge.origin
        lines += _edge_lines(edge, names, indent)
    outputs = ", ".join(operand(v, names, python=False) for v in graph.outputs)
    return "\n".join([*lines, f"{indent}    return {outputs}"]) + "\n"


def _edge_lines(edge: Edge, names: dict[Var, str], indent: str) -> list[str]:
    """One edge's line, then the graphs it holds, indented (a called function is named, not
    repeated)."""
    args = " ".join([operand(v, names, python=False) for v in edge.inputs]
                    + [f"{key}={_param_text(key, value)}" for key, value in _shown(edge)])
    targets = ", ".join(f"{names[var]}: {type_of(var)}" for var in edge.outputs)
    line = f"{indent}    {targets} = {edge.prim} {args}"
    if edge.prim == "call":
        return [line]
    return [line, *(format_graph(value, indent + "        ").rstrip("\n")
                    for _, value in edge.params if isinstance(value, Graph))]


def grad_of_text(origin: Edge, names: dict[Var, str], hints: Mapping[Var, str] = NO_HINTS) -> str:
    """The forward statement an adjoint block belongs to, as in ``# grad of: d = a + c``.

    A forward statement that simplification removed (``v1 = x / 1`` became ``x``) is shown
    with its nodes' hints (by ``hints``, the graph's), ``_`` for an unnamed one, since its names
    are no longer assigned.
    """
    return _HEADERS.get(origin.prim, _statement_text)(origin, names, hints)


def _statement_text(edge: Edge, names: dict[Var, str], hints: Mapping[Var, str]) -> str:
    """``d = a + c``: a statement as the source writes it."""
    local = {var: _hint_or_name(var, names, hints)
             for var in (edge.output, *edge.inputs) if not var.is_const}
    return f"{local[edge.output]} = {source_expr(edge, local)}"


def _branch_text(edge: Edge, names: dict[Var, str], hints: Mapping[Var, str]) -> str:
    """``if v1``: a branch by its test."""
    return f"if {_hint_or_name(edge.inputs[0], names, hints)}"


def _hint_or_name(var: Var, names: dict[Var, str], hints: Mapping[Var, str]) -> str:
    """``var``'s name, or its hint if it has none (``_`` if neither)."""
    return names.get(var) or hint_of(var, hints) or "_"


def loop_text(edge: Edge, names: dict[Var, str], hints: Mapping[Var, str] = NO_HINTS) -> str:
    """``for t in range(1, T)``: a loop as the source writes it (a node without a name by its
    hint in ``hints``, the graph's)."""
    params = dict(edge.params)
    index = params["body"].inputs[0]
    start, stop = (names.get(v) or operand(v, names, python=False) if v.is_const
                   else _hint_or_name(v, names, hints) for v in edge.inputs[:2])
    bounds = stop if start == "0" else f"{start}, {stop}"
    return f"for {names.get(index) or params['body'].hint(index)} in range({bounds})"



#: How a block's ``# grad of:`` comment names it: a loop by its header, a branch by its test.
_HEADERS = {"loop": loop_text, "cond": _branch_text}
