"""Emission: forward and gradient `Graph`s → the text of a standalone Python/NumPy module.

The layout is the Jinja2 template ``templates/module.py.j2``; every statement's text comes from
the registry (`printing.python_expr`) and every name from `naming`. The output depends on the
graphs and the options alone, so compiling twice gives identical bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import jinja2

from gradgen import __version__
from gradgen.ir import Graph, Var
from gradgen.naming import GENERATED_GLOBALS, assign_names, python_name
from gradgen.printing import grad_of_text, operand, python_expr

#: Module-level names of the generated module (the source's function name must avoid them).
MODULE_GLOBALS = GENERATED_GLOBALS | {"INPUTS", "WRT", "forward", "gradient", "functools",
                                      "_with_source_names"}
#: Builtins that the module's helpers call: an alias must not shadow them (``float = forward``).
HELPER_BUILTINS = frozenset({"float", "tuple", "id"})
SOURCE_LINES_SHOWN = 30
LINE_WIDTH = 92  # generated lines are indented by 4 and kept within 96 where gradgen decides
SOURCE_LINE_WIDTH = 200


@dataclass(frozen=True)
class Statement:
    target: str
    expr: str
    comment: str | None


@dataclass(frozen=True)
class Function:
    name: str
    params: str
    doc: str
    preamble: list[str]
    statements: list[Statement]
    finish: str
    result: str


@functools.cache
def _environment() -> jinja2.Environment:
    """The one Jinja2 environment: it keeps the compiled template between compilations."""
    folder = resources.files("gradgen.templates")
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: folder.joinpath(name).read_text("utf-8")),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined)


def emit_module(forward: Graph, derivative: Graph, filename: str, command: str,
                mode: str = "reverse mode", wrt: tuple[str, ...] | None = None) -> str:
    """The generated module's source text.

    ``derivative`` is the gradient graph (outputs: value, then one partial per input of
    ``wrt``), or in ``"forward mode"`` the JVP graph (inputs: the inputs, then one tangent per
    input of ``wrt``; outputs: value and its tangent), from which ``gradient`` takes one
    forward sweep per input.
    """
    wrt = tuple(var.name for var in forward.inputs) if wrt is None else wrt
    params = _param_names(forward)
    signature = _signature(forward)
    if mode == "forward mode":
        derivatives = [_function("jvp", derivative, f"Value of {signature} and its derivative "
                                 "along tangents, one per name in WRT.", packed="tangents",
                                 own=len(forward.inputs)),
                       _gradient_by_sweeps(params, wrt, forward.inputs)]
    else:
        derivatives = [_function("gradient", derivative, f"Value and partials of {signature}.")]
    context = {
        "title": _quoted(f"Value and gradient of {forward.name}, compiled from {filename}."),
        "version": __version__, "mode": mode, "filename": _quoted(filename),
        "command": _quoted(command),
        "source_lines": _source_lines(forward.source),
        "inputs": _tuple_literal(var.name for var in forward.inputs),
        "wrt": _tuple_literal(wrt),
        "functions": [_function("forward", forward, f"Value of {signature}."), *derivatives,
                      _vjp(params)],
        "aliases": _aliases(forward.name),
        "renamed": _renamed(forward.inputs, params),
    }
    return _environment().get_template("module.py.j2").render(context)


def _function(name: str, graph: Graph, doc: str, packed: str | None = None,
              own: int = 0) -> Function:
    """A function computing ``graph``; with ``packed``, the inputs past the first ``own``
    arrive as one tuple argument of that name (the tangents of ``jvp``)."""
    names = assign_names(graph, MODULE_GLOBALS, reuse_dead=True)
    params = [names[var] for var in graph.inputs]
    signature, preamble = params, []
    if packed is not None:
        packed = python_name(packed, frozenset(names.values()) | MODULE_GLOBALS)
        signature = params[:own] + [packed]
        preamble = [f"{_tuple_text(params[own:])} = {packed}"]
    targets = _result_names(graph, names)
    results = [operand(var, names) for var in graph.outputs]
    finish = f"{_tuple_text(targets)} = _finish({_tuple_text(results)}, {_tuple_text(params)})"
    value, *partials = targets
    # a gradient returns (value, partials) even with no partials (no inputs, or wrt=())
    result = f"{value}, {_tuple_text(partials)}" if name == "gradient" else ", ".join(targets)
    preamble += _conversions(params)
    comment = "tangent of: " if packed else "grad of: "
    return Function(name, ", ".join(signature), doc, preamble,
                    _statements(graph, names, comment), finish, result)


def _conversions(params: list[str]) -> list[str]:
    """``x, y = _as_float(x), _as_float(y)``: one line, or one line per input if too long."""
    if not params:
        return []
    line = f"{', '.join(params)} = {', '.join(f'_as_float({p})' for p in params)}"
    if len(line) <= LINE_WIDTH:
        return [line]
    return [f"{p} = _as_float({p})" for p in params]


def _gradient_by_sweeps(params: list[str], wrt: tuple[str, ...],
                        inputs: tuple[Var, ...]) -> Function:
    """Forward mode's gradient: one ``jvp`` sweep per input, seeded with a unit tangent."""
    names = dict(zip((var.name for var in inputs), params))
    taken = frozenset(params) | MODULE_GLOBALS
    value = python_name("value", taken)
    partials = [python_name(f"d_{names[name]}", taken) for name in wrt]
    statements = []
    for index, partial in enumerate(partials):
        seed = _tuple_text("1.0" if k == index else "0.0" for k in range(len(wrt)))
        statements.append(Statement(f"{value}, {partial}",
                                    f"jvp({', '.join(params + [seed])})", None))
    if not partials:
        statements.append(Statement(value, f"forward({', '.join(params)})", None))
    return Function("gradient", ", ".join(params),
                    "Value and partials, by one forward sweep (jvp) per input of WRT.", [],
                    statements, "", f"{value}, {_tuple_text(partials)}")


def _vjp(params: list[str]) -> Function:
    """``vjp``: the gradient scaled by a cotangent of the value's shape."""
    taken = frozenset(params) | MODULE_GLOBALS
    cotangent, value, partials, partial = (python_name(name, taken) for name in
                                           ("cotangent", "value", "partials", "partial"))
    return Function(
        "vjp", ", ".join(params + [cotangent]),
        "Value and the cotangent times each partial (the vector-Jacobian product).", [],
        [Statement(f"{value}, {partials}", f"gradient({', '.join(params)})", None)], "",
        f"{value}, tuple({cotangent} * {partial} for {partial} in {partials})")


def _statements(graph: Graph, names: dict[Var, str], prefix: str) -> list[Statement]:
    """One statement per edge, a ``# grad of:`` (or ``# tangent of:``) comment where the block
    of one forward statement's derivative starts."""
    statements = []
    origin = None
    for edge in graph.edges:
        comment = None
        if edge.origin is not origin:
            origin = edge.origin
            comment = None if origin is None else prefix + grad_of_text(origin, names)
        statements.append(Statement(names[edge.output], python_expr(edge, names), comment))
    return statements


def _result_names(graph: Graph, names: dict[Var, str]) -> list[str]:
    """Names for the finished results: the function's name for the value, ``x_bar`` for the
    partial of ``x``, reusing a node's own name only where it already is exactly that."""
    hints = graph.output_names or (graph.name,)
    taken = set(names.values()) | MODULE_GLOBALS
    result = []
    for var, hint in zip(graph.outputs, hints):
        own = names.get(var)
        if own is None or var.name != hint or var in graph.inputs or own in result:
            own = python_name(hint, frozenset(taken))
        taken.add(own)
        result.append(own)
    return result


def _param_names(graph: Graph) -> list[str]:
    return list(assign_names(graph.replace(edges=()), MODULE_GLOBALS).values())


def _renamed(inputs: tuple[Var, ...], params: list[str]) -> dict[str, str]:
    return {var.name: param for var, param in zip(inputs, params) if var.name != param}


def _aliases(name: str) -> list[tuple[str, str]]:
    """The source's own names: ``f`` for forward and ``f_gradient`` for gradient."""
    value_alias = python_name(name, frozenset(MODULE_GLOBALS - {"forward"}) | HELPER_BUILTINS)
    aliases = [(value_alias, "forward"), (f"{value_alias}_gradient", "gradient")]
    return [(alias, target) for alias, target in aliases if alias != target]


def _signature(graph: Graph) -> str:
    return f"{graph.name}({', '.join(var.name for var in graph.inputs)})"


def _tuple_text(items: Iterable[str]) -> str:
    """Python tuple syntax for ``items``: ``(a, b)``, ``(a,)``, ``()``."""
    items = list(items)
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


def _tuple_literal(items: Iterable[str]) -> str:
    return _tuple_text(repr(item) for item in items)


def _source_lines(source: str) -> list[str]:
    """The source for the header docstring: shortened, and safe inside triple quotes."""
    lines = source.strip("\n").splitlines()
    shown = [line if len(line) <= SOURCE_LINE_WIDTH else line[:SOURCE_LINE_WIDTH] + " ..."
             for line in lines[:SOURCE_LINES_SHOWN]]
    if len(lines) > SOURCE_LINES_SHOWN:
        shown.append(f"... ({len(lines) - SOURCE_LINES_SHOWN} more lines)")
    return [_quoted(line) for line in shown]


def _quoted(text: str) -> str:
    """``text`` made safe inside the triple-quoted header docstring (NUL included)."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').replace("\0", "\\x00")
