"""Emission, the float fast path: a scalar function's statements in Python's ``math``.

Part of emission (`emit`). Called with Python floats, ``forward`` and ``gradient`` of a scalar
function without blocks run a twin (``_gradient_on_floats``) that computes in plain floats: no
NumPy scalar, no conversion, no finish. Where ``math`` raises (``1 / 0``, ``log(-1)``,
``exp(1000)``) NumPy gives inf or NaN, so the twin's caller catches the error and takes the
NumPy path instead: the results are NumPy's. Each statement runs only where its value is used
(`statement_guards`): the branch not taken of a ``where`` is never evaluated, nor its
derivative.

The float spelling of a primitive is this target's fact, as a backend's lowering rule is in
JAX: one `FLOAT_TEXTS` entry, beside the registry's NumPy text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import groupby

from gradgen.emit.functions import Function, plain_function
from gradgen.emit.lines import LINE_WIDTH, Line, aligned, returned_tuple
from gradgen.ir.graph import Edge, Graph, Var, has_arrays, has_blocks
from gradgen.ir.naming import TWINS, twin_name
from gradgen.ir.printing import format_number, operand

#: A primitive's float text: a format string over its operands, or a function of the operand
#: texts and the input nodes (``pow`` looks at its exponent).
FloatText = str | Callable[[list[str], tuple[Var, ...]], str]


def _pow(args: list[str], inputs: tuple[Var, ...]) -> str:
    """``x ** 2`` for a whole constant exponent; else ``math.pow``, which raises where Python's
    ``**`` would give a complex number (``(-8) ** 0.5``). NumPy takes an exponent of 0.5 as a
    square root (NaN at -inf, where ``math.pow`` gives inf), and so does this text."""
    base, exponent = args
    if not inputs[1].is_const:
        return f"math.pow({base}, {exponent}) if {exponent} != 0.5 else math.sqrt({base})"
    if float(inputs[1].value).is_integer():
        return f"{base} ** {format_number(inputs[1].value)}"  # float ** int is a float
    return f"math.sqrt({base})" if inputs[1].value == 0.5 else f"math.pow({base}, {exponent})"


def _selection(test: str, args: list[str], inputs: tuple[Var, ...]) -> str:
    """``x if x >= 2.0 or x != x else 2.0``: the larger (smaller), and NaN where either is
    NaN, as ``np.maximum``; a constant is the second operand (it is never NaN)."""
    first, second = reversed(args) if inputs[0].is_const else args
    return f"{first} if {first} {test} {second} or {first} != {first} else {second}"


_MATH_NAMES = {"sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos",
               "atan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
               "asinh": "asinh", "acosh": "acosh", "atanh": "atanh", "exp": "exp",
               "expm1": "expm1", "log": "log", "log1p": "log1p", "log2": "log2",
               "log10": "log10", "sqrt": "sqrt", "atan2": "atan2", "hypot": "hypot"}

#: The float text of each primitive the fast path takes (operands are names or constants).
FLOAT_TEXTS: dict[str, FloatText] = {
    **{prim: f"math.{name}({{0}})" for prim, name in _MATH_NAMES.items()},
    "atan2": "math.atan2({0}, {1})", "hypot": "math.hypot({0}, {1})",
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": _pow, "square": "{0} * {0}", "abs": "abs({0})",
    "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "eq": "{0} == {1}", "ne": "{0} != {1}",
    "and": "{0} and {1}", "or": "{0} or {1}", "not": "not {0}", "where": "{1} if {0} else {2}",
    "sign": "1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else {0}",  # NaN stays NaN, as np.sign
    "relu": "max({0}, 0.0)",  # max(nan, 0.0) is nan, as np.maximum
    "max": lambda args, inputs: _selection(">=", args, inputs),
    "min": lambda args, inputs: _selection("<=", args, inputs),
    "sigmoid": "1.0 / (1.0 + math.exp(-{0}))",  # overflows (raises) only below -709
    "softplus": "max({0}, 0.0) + math.log1p(math.exp(-abs({0})))",
    "to_float": "float({0})",
}

#: What the twin raises where NumPy gives inf or NaN instead (the caller then takes NumPy's).
RAISED = "(ArithmeticError, ValueError)"

#: The docstring of a float twin.
TWIN_DOC = "``{}`` on Python floats, in math: it raises where NumPy gives inf or NaN."

#: A statement's guard: the conditions (name, whether it must hold) under which it runs.
Guard = frozenset[tuple[Var, bool]]


def takes_floats(graph: Graph) -> bool:
    """Whether ``graph`` has a float twin: numbers in, no blocks, primitives in `FLOAT_TEXTS`."""
    return (bool(graph.inputs) and not has_arrays(graph) and not has_blocks(graph)
            and all(var.dtype == "float" for var in graph.inputs)
            and all(edge.prim in FLOAT_TEXTS for edge in graph.edges))


def twinned(function: Function, graph: Graph, reserved: frozenset[str]) -> list[Function]:
    """``function``, printed from ``graph``, taking floats to its float twin, and the twin."""
    names = function.names
    preamble = dispatch(function.name, [names[var] for var in graph.inputs]) + function.preamble
    return [replace(function, preamble=preamble), twin(function, graph, names)]


def twin(function: Function, graph: Graph, names: dict[Var, str], doc: str = TWIN_DOC
         ) -> Function:
    """The float twin of ``function``, printed from ``graph`` with ``names``."""
    paired = function.name == "gradient"
    return plain_function(twin_name(function.name), [names[var] for var in graph.inputs],
                          doc.format(function.name), float_statements(graph, names),
                          float_results(graph, names, paired))


def has_twins(functions: list[Function]) -> bool:
    """Whether a module's functions include a float twin (it then imports ``math``)."""
    return any(function.name in TWINS for function in functions)


def dispatch(name: str, params: list[str]) -> list[str]:
    """The first lines of a function with a float twin: floats go to the twin, and come back
    to NumPy's path where ``math`` raised."""
    return [f"{float_test(params)}:\n        try:\n            {twin_call(name, params, 12)}\n"
            f"        except {RAISED}:\n"
            "            pass  # math raised where NumPy gives inf or NaN: NumPy's path below"]


def twin_call(name: str, params: list[str], indent: int) -> str:
    """``return _gradient_on_floats(x, y)`` at ``indent`` columns, wrapped within the width."""
    line = f"return {twin_name(name)}({', '.join(params)})"
    if indent + len(line) <= LINE_WIDTH + 4:
        return line
    lines = aligned(f"return {twin_name(name)}(", params, LINE_WIDTH + 4 - indent)
    return f"\n{' ' * indent}".join(lines)


def float_test(params: list[str]) -> str:
    """``if type(x) is float and type(y) is float``, broken after an ``and`` where too long."""
    tests = [f"type({param}) is float" for param in params]
    line = f"if {' and '.join(tests)}"
    if len(line) < LINE_WIDTH:
        return line
    return "\n    ".join(aligned("if (", tests, LINE_WIDTH, " and"))


def float_statements(graph: Graph, names: dict[Var, str]) -> list[Line]:
    """The twin's body: each edge in ``math``, a run of edges that share a guard under one
    ``if`` (`_openings`)."""
    guards = statement_guards(graph, names)
    runs = [(guard, list(run)) for guard, run in groupby(graph.edges, key=guards.__getitem__)]
    order = {edge.output: k for k, edge in enumerate(graph.edges)}
    openings = _openings([guard for guard, _ in runs], order, names)
    return [line for (_, run), opening in zip(runs, openings)
            for line in _run_lines(run, opening, names)]


def _run_lines(run: list[Edge], opening: str, names: dict[Var, str]) -> list[Line]:
    """The lines of a run of edges: under its ``opening`` (``if v1:``), or unguarded."""
    statements = [Line(names[edge.output], float_expr(edge, names)) for edge in run]
    return [Line(None, opening), *(replace(line, depth=1) for line in statements)] if opening \
        else statements


def _openings(guards: list[Guard], order: dict[Var, int], names: dict[Var, str]) -> list[str]:
    """The line opening each run of ``guards``: ``if v1 and not v3:``, ``else:`` right after
    an ``if`` of the one opposite condition, or none for a run that runs unguarded (``order``:
    each node's edge, the order its conditions are tested in)."""
    openings, previous = [], ""
    for guard, before in zip(guards, [frozenset(), *guards]):
        opposite = len(guard) == 1 and {(var, not holds) for var, holds in before} == guard
        if not guard:
            previous = ""
        elif opposite and previous.startswith("if"):
            previous = "else:"
        else:
            previous = f"if {_guard_text(guard, order, names)}:"
        openings.append(previous)
    return openings


def float_expr(edge: Edge, names: dict[Var, str]) -> str:
    """The Python expression computing ``edge``'s output on floats."""
    text = FLOAT_TEXTS[edge.prim]
    args = [float_operand(var, names) for var in edge.inputs]
    return text(args, edge.inputs) if callable(text) else text.format(*args)


def float_operand(var: Var, names: dict[Var, str]) -> str:
    """A node as an operand on floats: its name, or its constant as a float (``2.0``: no
    arithmetic is done in Python's integers) in ``math`` (``math.pi``, ``math.inf``)."""
    text = operand(var, names, as_float=True)
    return text.replace("np.", "math.") if var.is_const else text


def float_results(graph: Graph, names: dict[Var, str], paired: bool) -> str:
    """What the twin returns: the value, and with ``paired`` the partials as a tuple."""
    value, *partials = [float_operand(var, names) for var in graph.outputs]
    return f"{value}, {returned_tuple(value, partials)}" if paired else value


def _guard_text(guard: Guard, order: dict[Var, int], names: dict[Var, str]) -> str:
    """``v1 and not v3``: the conditions in the order they are computed (see `_guards`)."""
    return " and ".join(names[var] if holds else f"not {names[var]}"
                        for var, holds in sorted(guard, key=lambda item: order.get(item[0], -1)))


def statement_guards(graph: Graph, names: dict[Var, str]) -> dict[Edge, Guard]:
    """Each edge's guard: the conditions common to all the ways its value is used (a
    ``where``'s branch adds its condition); a result's edge and what it needs have none.

    Only a condition that is itself computed unconditionally may guard (one computed under
    another would be read where it was never computed), so the guards are found twice: the
    second time with the conditions that the first found unguarded. A condition enters a guard
    only where its name still stands for it (`_standing`). Leaving one out only runs an edge
    more often, where ``math`` may raise: the NumPy path then answers.
    """
    if all(edge.prim != "where" for edge in graph.edges):
        return dict.fromkeys(graph.edges, frozenset())  # no branch: every edge runs
    standing = _standing(graph, names)
    first = _guards(graph, lambda var, index: index in standing[var])
    unguarded = {var for edge, guard in first.items() if not guard for var in edge.outputs}
    return _guards(graph, lambda var, index: var in unguarded and index in standing[var])


def _guards(graph: Graph, allowed: Callable[[Var, int], bool]) -> dict[Edge, Guard]:
    """Each edge's guard (see `statement_guards`), with the conditions ``allowed`` at it.

    Visited in reverse order, so every use of a value is seen before the edge that makes it.
    """
    needs: dict[Var, Guard] = {var: frozenset() for var in graph.outputs}
    guards: dict[Edge, Guard] = {}
    for index in range(len(graph.edges) - 1, -1, -1):
        edge = graph.edges[index]
        need = needs.get(edge.output, frozenset())
        guards[edge] = guard = frozenset(c for c in need if allowed(c[0], index))
        for var, need in _input_needs(edge, guard):
            needs[var] = needs[var] & need if var in needs else need
    return guards


def _input_needs(edge: Edge, guard: Guard) -> list[tuple[Var, Guard]]:
    """Where ``edge`` uses each input: under ``guard``, a ``where``'s branches under more."""
    if edge.prim != "where":
        return [(var, guard) for var in edge.inputs]
    condition, taken, other = edge.inputs
    return [(condition, guard), (taken, guard | {(condition, True)}),
            (other, guard | {(condition, False)})]


def _standing(graph: Graph, names: dict[Var, str]) -> dict[Var, range]:
    """For each output, the edges after it at which its name still stands for it (until an
    edge assigns that name again)."""
    last_assigned: dict[str, int] = {}
    standing = {var: range(len(graph.edges)) for var in graph.inputs}
    for index in range(len(graph.edges) - 1, -1, -1):
        output = graph.edges[index].output
        name = names.get(output)
        standing[output] = range(index + 1, last_assigned.get(name, len(graph.edges)))
        last_assigned[name] = index
    return standing
