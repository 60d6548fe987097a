"""Emission: forward and gradient `Graph`s → the text of a standalone Python/NumPy module.

The layout is the Jinja2 template ``templates/module.py.j2``; every statement's text comes from
the registry (`printing.python_expr`) and every name from `naming`. The output depends on the
graphs and the options alone, so compiling twice gives identical bytes.
"""

from __future__ import annotations

import functools
import inspect
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import jinja2

import gradgen.runtime as runtime
from gradgen.emit.blocks import (
    Line,
    branch_lines,
    call_lines,
    item_lines,
    loop_lines,
    program_names,
)
from gradgen.ir.graph import (
    BLOCKS,
    Edge,
    Graph,
    Var,
    differentiable_inputs,
    has_arrays,
    has_blocks,
    has_branches,
    subgraphs,
)
from gradgen.ir.naming import (
    Namer,
    assign_names,
    entry_aliases,
    module_globals,
    python_name,
)
from gradgen.ir.primitives import REGISTRY, shape_text
from gradgen.ir.primitives.arrays import index_requirements
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import loop_items, loop_parts
from gradgen.ir.printing import grad_of_text, operand, statement, value_operand
from gradgen.version import __version__

#: Module-level names of the generated module (see `naming.module_globals`).
MODULE_GLOBALS = module_globals()
SOURCE_LINES_SHOWN = 30
LINE_WIDTH = 92  # generated lines are indented by 4 and kept within 96 where gradgen decides
SOURCE_LINE_WIDTH = 200


Statement = Line  # one line of a generated function


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
    folder = resources.files("gradgen.emit").joinpath("templates")
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
    forward sweep per input. For a function with an array value it is the VJP graph (inputs:
    the inputs and the cotangent), and the module has ``vjp`` and ``jacobian`` instead of
    ``gradient``.
    """
    if wrt is None:
        wrt = tuple(var.name for var in differentiable_inputs(forward))
    called = _called(forward, derivative)
    reserved = MODULE_GLOBALS | {name for name, _ in called}
    params = _param_names(forward, reserved)
    signature = _signature(forward)
    arrays = has_arrays(forward)
    array_valued = bool(forward.outputs[0].shape)
    if mode == "forward mode":
        derivatives = [_function("jvp", derivative, f"Value of {signature} and its derivative "
                                 "along tangents, one per name in WRT.", packed="tangents",
                                 own=len(forward.inputs), reserved=reserved),
                       _gradient_by_sweeps(params, wrt, forward.inputs), _vjp(params)]
    elif array_valued:
        derivatives = [_function("vjp", derivative, f"Value of {signature}, and the cotangent "
                                 "pulled back to each input of WRT.", arrays=True, wrt=wrt,
                                 reserved=reserved),
                       _jacobian(params, wrt, forward.inputs)]
    else:
        derivatives = [_function("gradient", derivative, f"Value and partials of {signature}.",
                                 arrays=arrays, wrt=wrt, reserved=reserved), _vjp(params)]
    functions = [_function("forward", forward, f"Value of {signature}.", arrays=arrays,
                           reserved=reserved, free=False),
                 *derivatives, *(_called_function(graph, role, reserved) for _, (graph, role)
                                 in called)]
    pointwise = [] if arrays or not has_branches(forward) else ["forward", "gradient"]
    renamed = _renamed(forward.inputs, params)
    context = {
        "title": _quoted(f"Value and gradient of {forward.name}, compiled from {filename}."),
        "version": __version__, "mode": mode, "filename": _quoted(filename),
        "command": _quoted(command),
        "source_lines": _source_lines(forward.source),
        "inputs": _tuple_literal(var.name for var in forward.inputs),
        "wrt": _tuple_literal(wrt),
        "arrays": arrays, "array_valued": array_valued,
        "shapes": _tuple_text(_tuple_literal(var.shape) for var in forward.inputs),
        "value_shape": _tuple_literal(forward.outputs[0].shape),
        "minimum_sizes": repr(_minimum_sizes(forward)),
        "declared": _declared(forward.inputs),
        "functions": functions, "width": LINE_WIDTH + 4,
        "runtime": _runtime((forward, derivative), arrays, array_valued, bool(pointwise)),
        "aliases": _aliases(forward.name, array_valued),
        "renamed": renamed, "with_source_names": _with_source_names(renamed),
        "wrapped": [f.name for f in functions if f.name in ("forward", "gradient", "vjp")],
        "pointwise": pointwise,
    }
    return _environment().get_template("module.py.j2").render(context)


def _function(name: str, graph: Graph, doc: str, packed: str | None = None,
              own: int = 0, arrays: bool = False, wrt: tuple[str, ...] = (),
              reserved: frozenset[str] = MODULE_GLOBALS, free: bool = True) -> Function:
    """A function computing ``graph``; with ``packed``, the inputs past the first ``own``
    arrive as one tuple argument of that name (the tangents of ``jvp``). With ``arrays``, the
    inputs' shapes are checked on entry, arrays are freed at their last use (with ``free``: a
    derivative's tapes and adjoints; a value's few temporaries are left to return), and each
    partial (one per name in ``wrt``) is returned with its input's shape. No name it assigns is
    in ``reserved`` (the module's globals and functions)."""
    blocks = has_blocks(graph)
    views = _inline_transposes(graph) if arrays and not blocks else {}
    if blocks:
        names = program_names(graph, reserved)
    else:
        names = assign_names(graph, reserved, reuse_dead=True, unnamed=frozenset(views))
    for edge in graph.edges:  # in edge order, so that a view of a view reads W.T.T
        if edge.output in views:
            names[edge.output] = f"{names[edge.inputs[0]]}.T"
    params = [names[var] for var in graph.inputs]
    signature, preamble = params, []
    if packed is not None:
        packed = python_name(packed, frozenset(names.values()) | reserved)
        signature = params[:own] + [packed]
        preamble = [f"{_tuple_text(params[own:])} = {packed}"]
    targets = _result_names(graph, names, reserved)
    results = [operand(var, names) for var in graph.outputs]
    if arrays:
        preamble += _conversions(params, graph.inputs) + [_shape_check(params, name == "vjp")]
        by_name = {var.name: names[var] for var in graph.inputs}
        likes = ["None"] + [by_name[w] for w in wrt]
        finish = _call_text(f"{_tuple_text(targets)} = _finish_arrays",
                            [_tuple_text(results), _tuple_text(likes), _tuple_text(params)])
    else:
        preamble += _conversions(params, graph.inputs)
        finish = _call_text(f"{_tuple_text(targets)} = _finish",
                            [_tuple_text(results), _tuple_text(params)])
    value, *partials = targets
    # a gradient returns (value, partials) even with no partials (no inputs, or wrt=())
    paired = name in ("gradient", "vjp")
    result = f"{value}, {_tuple_text(partials)}" if paired else ", ".join(targets)
    comment = "tangent of: " if packed else "grad of: "
    edges = [edge for edge in graph.edges if edge.output not in views]
    units = _units(graph, names, 0, comment, edges)
    if arrays and free:
        units = _freeing(units, edges, names, set(params) | set(results), views)
    return Function(name, ", ".join(signature), doc, preamble,
                    [line for unit in units for line in unit], finish, result)


def _called(*graphs: Graph) -> list[tuple[str, tuple[Graph, str]]]:
    """The functions the graphs call (helpers of the source and their derivatives), each once,
    in the order they are first called: name -> (graph, role)."""
    found: dict[str, tuple[Graph, str]] = {}
    pending = list(reversed(graphs))
    while pending:
        graph = pending.pop()
        inner = []
        for edge in graph.edges:
            params = dict(edge.params)
            if edge.prim == "call" and params["name"] not in found:
                found[params["name"]] = (params["graph"], params["role"])
            inner += subgraphs(edge)
        pending += reversed(inner)
    return list(found.items())


def _called_function(graph: Graph, role: str, reserved: frozenset[str]) -> Function:
    """A helper of the source, or one of its derivatives, as a function of the module."""
    returns_residuals = role == "record"  # bound on every way: each side binds the other's
    names = program_names(graph, reserved, placeholders=returns_residuals)
    params = [names[var] for var in graph.inputs]
    base = graph.name.removesuffix(f"_{role}")
    saved = f"*{base}_record(*args)" if f"{base}_record" in reserved else f"{base}(*args)"
    doc = {"helper": f"{base}, a helper function of the source.",
           "record": f"Value of {base}, then the other values that {base}_vjp reads.",
           "vjp": f"The cotangent of {base}'s value pulled back to each argument that is a "
                  f"number:\n    {base}_vjp(*args, {saved}, cotangent)."}[role]
    units = _units(graph, names, 0, "grad of: ", in_loop=returns_residuals)
    result = ", ".join(value_operand(var, names) for var in graph.outputs)
    return Function(graph.name, ", ".join(params), doc, [],
                    [line for unit in units for line in unit], "", result)


def _inline_transposes(graph: Graph) -> dict[Var, Var]:
    """Transposes used once (and not a result) are printed where they are used, as the notes
    write them (``Z_bar = A_bar @ W2.T``): a view costs nothing. Returns each such view ->
    the named node underneath it (through views of views)."""
    uses = Counter(var for edge in graph.edges for var in edge.inputs)
    results = set(graph.outputs)
    views: dict[Var, Var] = {}
    for edge in graph.edges:
        if edge.prim == "transpose" and uses[edge.output] == 1 and edge.output not in results:
            viewed = edge.inputs[0]
            views[edge.output] = views.get(viewed, viewed)
    return views


def _call_text(head: str, args: list[str]) -> str:
    """``head(a, b)`` on one line, or with one argument per continuation line if too long (in
    a function's body, indented by four columns)."""
    line = f"{head}({', '.join(args)})"
    if len(line) <= LINE_WIDTH:
        return line
    return f"{head}(\n        " + ",\n        ".join(args) + ")"


def _shape_check(params: list[str], cotangent: bool) -> str:
    """The call-time check of the inputs' declared shapes (and of a vjp's cotangent)."""
    if cotangent:
        return (f"_check_shapes({_tuple_text(params)}, SHAPES + (VALUE_SHAPE,), "
                "INPUTS + ('cotangent',))")
    return f"_check_shapes({_tuple_text(params)}, SHAPES, INPUTS)"


def _freeing(units: list[list[Line]], edges: list[Edge], names: dict[Var, str],
             kept: set[str], views: dict[Var, Var]) -> list[list[Line]]:
    """The lines of each edge (of ``edges``), with ``del`` after the last use of each array
    they make (not the inputs or the results), so that peak memory is what a careful
    hand-written pass needs. A use of an inlined view is a use of the node it views; a loop
    uses its inputs until it ends."""
    loops = {edge.output: loop_parts(edge) for edge in edges if edge.prim == "loop"}
    branches = {edge.output: cond_parts(edge).results for edge in edges if edge.prim == "cond"}
    arrays = {names[edge.output] for edge in edges if edge.output.shape
              and not _recorded_by_a_side(edge, branches)} - kept
    last: dict[str, int] = {}
    for index, edge in enumerate(edges):
        read = ()
        if edge.prim == "item" and edge.inputs[0] in loops:  # a loop's result is read off
            parts, position = loops[edge.inputs[0]], dict(edge.params)["index"]  # its name
            read = parts.carried_in[position:position + 1]       # in the body
        for var in (*edge.inputs, edge.output, *read):
            if not var.is_const and var.dtype != "tuple":  # a loop's tuple has no name
                last[names[views.get(var, var)]] = index
    freed: dict[int, list[str]] = {}
    for name, index in last.items():
        if name in arrays:
            freed.setdefault(index, []).append(name)
    return [unit + [Line(None, f"del {', '.join(sorted(freed[i]))}")] if i in freed else unit
            for i, unit in enumerate(units)]


def _recorded_by_a_side(edge: Edge, branches: dict[Var, int]) -> bool:
    """Whether ``edge`` is a value one side of a branch records for its reverse: bound only
    where that side ran, so never deleted."""
    return (edge.prim == "item" and edge.inputs[0] in branches
            and dict(edge.params)["index"] >= branches[edge.inputs[0]])


def _jacobian(params: list[str], wrt: tuple[str, ...], inputs: tuple[Var, ...]) -> Function:
    """``jacobian`` of an array-valued function: one ``vjp`` per entry of the value."""
    by_name = dict(zip((var.name for var in inputs), params))
    value, rows, unit = _locals(params, "value", "rows", "unit")
    call = ", ".join(params + [unit])
    statements = [
        Statement(value, f"forward({', '.join(params)})", None),
        Statement(rows, f"[vjp({call})[1] for {unit} in _units({value})]", None)]
    wrt_params = _tuple_text(by_name[w] for w in wrt)
    return Function("jacobian", ", ".join(params),
                    "Value and one Jacobian per input of WRT, shaped value + input.",
                    [], statements, "", f"{value}, _jacobians({rows}, {value}, {wrt_params})")


def _minimum_sizes(forward: Graph) -> dict[str, int]:
    """Named dimensions that indexing needs at least so large (``x[2]`` needs n >= 3)."""
    needs: dict[str, int] = {}
    for edge in forward.edges:
        if edge.prim == "getitem":
            found = index_requirements(edge.inputs[0].shape, dict(edge.params)["index"])
            for dim, need in found.items():
                needs[dim] = max(needs.get(dim, 0), need)
    return dict(sorted(needs.items()))


def _runtime(graphs: tuple[Graph, ...], arrays: bool, array_valued: bool,
             pointwise: bool) -> list[str]:
    """The source of each runtime function the module calls, in the runtime's order: converting
    the inputs, finishing the results (of arrays: checking their shapes; of an array value: a
    Jacobian by rows), running point by point, and what its registry entries call."""
    used = {"_as_float", *_helpers(*graphs)}
    used |= {"_check_shapes", "_finish_arrays"} if arrays else {"_finish"}
    used |= {"_units", "_jacobians"} if arrays and array_valued else set()
    used |= {"_pointwise", "_gathered"} if pointwise else set()
    return [_runtime_source(name) for name in runtime.FUNCTIONS if name in used]


@functools.cache
def _runtime_source(name: str) -> str:
    """A function of `gradgen.runtime` as the module carries it: its source."""
    return inspect.getsource(runtime.FUNCTIONS[name])


def _with_source_names(renamed: dict[str, str]) -> str:
    """`runtime._with_source_names` with the module's renamed inputs written in."""
    source = _runtime_source("_with_source_names")
    return (source.replace("(RENAMED)", f"({', '.join(renamed)})")
            .replace("= RENAMED", f"= {renamed!r}"))


def _helpers(*graphs: Graph) -> set[str]:
    """The runtime functions the graphs' registry entries call (``_softmax``...)."""
    used, pending = set(), list(graphs)
    if any(var.dtype == "int" for var in graphs[0].inputs):
        used.add("whole")  # N: int is made an int by _whole on entry
    while pending:  # loop bodies too
        graph = pending.pop()
        for edge in graph.edges:
            used.add(edge.prim)
            pending += subgraphs(edge)
    return {REGISTRY[prim].helper for prim in used if REGISTRY[prim].helper}


def _declared(inputs: tuple[Var, ...]) -> str:
    """The docstring's paragraph on the inputs' shapes, wrapped at the line width."""
    shapes = ", ".join(f"{var.name}\N{NO-BREAK SPACE}"
                       + _shape_text(var.shape).replace(" ", "\N{NO-BREAK SPACE}")
                       for var in inputs)  # a shape is never broken across lines
    text = textwrap.fill(f"Inputs and their declared shapes: {shapes}. Named dimensions are "
                         "bound by the arrays passed in and must agree; a mismatch raises "
                         "ValueError.", LINE_WIDTH)
    return text.replace("\N{NO-BREAK SPACE}", " ")


def _shape_text(shape: tuple) -> str:
    return "scalar" if not shape else shape_text(shape)


def _conversions(params: list[str], inputs: tuple[Var, ...]) -> list[str]:
    """``x, N = _as_float(x), _whole(N)``: one line, or one line per input if too long (a
    whole-number input, ``N: int``, is checked whole and made an int)."""
    if not params:
        return []
    calls = [f"_whole({p})" if var.dtype == "int" else f"_as_float({p})"
             for p, var in zip(params, inputs)]
    line = f"{', '.join(params)} = {', '.join(calls)}"
    if len(line) <= LINE_WIDTH:
        return [line]
    return [f"{p} = {call}" for p, call in zip(params, calls)]


def _gradient_by_sweeps(params: list[str], wrt: tuple[str, ...],
                        inputs: tuple[Var, ...]) -> Function:
    """Forward mode's gradient: one ``jvp`` sweep per input, seeded with a unit tangent."""
    names = dict(zip((var.name for var in inputs), params))
    value, *partials = _locals(params, "value", *(f"d_{names[name]}" for name in wrt))
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


def _locals(params: list[str], *hints: str) -> list[str]:
    """Names for a function's own locals, apart from its parameters and the module's globals."""
    namer = Namer(frozenset(params) | MODULE_GLOBALS)
    return [namer.fresh(hint) for hint in hints]


def _vjp(params: list[str]) -> Function:
    """``vjp``: the gradient scaled by a cotangent of the value's shape."""
    cotangent, value, partials, partial = _locals(params, "cotangent", "value", "partials",
                                                  "partial")
    return Function(
        "vjp", ", ".join(params + [cotangent]),
        "Value and the cotangent times each partial (the vector-Jacobian product).", [],
        [Statement(f"{value}, {partials}", f"gradient({', '.join(params)})", None)], "",
        f"{value}, tuple({cotangent} * {partial} for {partial} in {partials})")


def _units(graph: Graph, names: dict[Var, str], depth: int, prefix: str,
           edges: list[Edge] | None = None, in_loop: bool = False) -> list[list[Line]]:
    """The lines of each edge (of ``edges``, a subset of the graph's, if given): one
    statement, or a whole ``for`` loop or ``if``; a ``# grad of:`` (or ``# tangent of:``)
    comment where the block of one forward statement's derivative starts. ``in_loop``: the
    graph is (in) a loop's body, whose records need every name bound on every path."""
    units = []
    origin = None
    blocks = {edge.output: edge for edge in graph.edges if edge.prim in BLOCKS}
    items = loop_items(graph.edges)
    in_body = functools.partial(_units, prefix=prefix, in_loop=True)
    in_side = functools.partial(_units, prefix=prefix, in_loop=in_loop)
    for edge in graph.edges if edges is None else edges:
        comment = None
        if edge.origin is not origin:
            origin = edge.origin
            comment = None if origin is None else prefix + grad_of_text(origin, names)
        if edge.prim == "loop":
            unit = loop_lines(edge, names, depth, items.get(edge.output, {}), in_body)
        elif edge.prim == "cond":
            unit = branch_lines(edge, names, depth, items.get(edge.output, {}), in_side,
                                placeholders=in_loop)
        elif edge.prim == "item":
            unit = item_lines(edge, names, depth, blocks[edge.inputs[0]])
        elif edge.prim == "call" and edge.output.dtype == "tuple":
            unit = call_lines(edge, names, depth, items.get(edge.output, {}))
        else:
            unit = [Line(target, expr, None, depth) for target, expr in statement(edge, names)]
        if comment and unit:
            unit[0] = Line(unit[0].target, unit[0].expr, comment, unit[0].depth)
        units.append(unit)
    return units


def _result_names(graph: Graph, names: dict[Var, str], reserved: frozenset[str]) -> list[str]:
    """Names for the finished results: the function's name for the value, ``x_bar`` for the
    partial of input ``x``. The finish is the function's last statement, so a result may take
    a name a value of the body had (``log_B_bar`` for the sum of an accumulator of that name
    and a last term); only the module's globals, the inputs and the other results are apart."""
    hints = graph.output_names or (graph.name,)
    taken = set(reserved) | {names[var] for var in graph.inputs}
    result = []
    for hint in hints[:len(graph.outputs)]:
        result.append(python_name(hint, frozenset(taken)))
        taken.add(result[-1])
    return result


def _param_names(graph: Graph, reserved: frozenset[str]) -> list[str]:
    """The Python names of the inputs, as every function of the module names them."""
    return list(assign_names(graph.replace(edges=()), reserved).values())


def _renamed(inputs: tuple[Var, ...], params: list[str]) -> dict[str, str]:
    """Source name -> Python name of each input whose names differ (for keyword calls)."""
    return {var.name: param for var, param in zip(inputs, params) if var.name != param}


def _aliases(name: str, array_valued: bool = False) -> list[tuple[str, str]]:
    """The source's own names: ``f`` for forward and ``f_gradient`` for gradient."""
    value_alias, gradient_alias = entry_aliases(name, MODULE_GLOBALS)
    aliases = [(value_alias, "forward")]
    if not array_valued:
        aliases.append((gradient_alias, "gradient"))
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
