"""Emission: one generated function from one graph: its names, preamble, body and finish.

Part of emission (`emit`). A function's preamble unpacks a packed argument (``jvp``'s
tangents), converts the inputs (``_as_float``, ``_whole``) and checks their shapes; the body is
the graph's edges (`blocks.edge_units`), with ``del`` at each array's last use in a derivative
(`freeing`); the finish rounds the results off (``_finish``, ``_finish_arrays``). Helpers of
the source and their derivatives are functions of the module too (`called_function`).
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field, replace

from gradgen.emit.blocks import edge_units
from gradgen.emit.emissions import EMISSIONS, program_names
from gradgen.emit.freeing import freeing
from gradgen.emit.kinds import block_results
from gradgen.emit.lines import (
    LINE_WIDTH,
    Line,
    Unit,
    aligned,
    call_text,
    returned_tuple,
    source_lines,
    tuple_text,
    wrapped_tuple,
)
from gradgen.ir.graph import Graph, Var, has_blocks, subgraphs
from gradgen.ir.in_place import accumulate_in_place
from gradgen.ir.naming import assign_names, module_globals, python_name
from gradgen.ir.printing import operand, value_operand

#: Module-level names of the generated module (see `naming.module_globals`).
MODULE_GLOBALS = module_globals()

#: The docstring of a helper of the source and of its derivatives, by role (``base``: the
#: helper's name; ``taken``: what the vjp takes between the arguments and the cotangent).
HELPER_DOCS = {
    "helper": "{base}, a helper function of the source.",
    "record": "Value of {base}, then the other values that {base}_vjp reads.",
    "vjp": "The cotangent of {base}'s value pulled back to each argument that is a number:\n"
           "    {base}_vjp(*args{taken}, cotangent).",
    "jvp": "The values of {base}, then their tangents along the tangents of its arguments that\n"
           "    are numbers: {base}_jvp(*args, *tangents) (forward mode)."}

#: How printing writes a constant as a number (`printing.value_operand`); a function's body
#: writes it in the inputs' float type (`_float_type_name`).
FLOAT64 = "np.float64("

#: The name of the array namespace in a function, as the registry's texts write it
#: (``xp.sin(x)``): NumPy, or the namespace of the inputs' arrays of the array API.
NAMESPACE = "xp"

#: The shapes and names that the shape check compares the arguments with (with a cotangent?).
CHECKED = {False: "SHAPES, INPUTS", True: "SHAPES + (VALUE_SHAPE,), INPUTS + ('cotangent',)"}


@dataclass(frozen=True)
class Function:
    """One function of the generated module, as the template lays it out."""

    name: str
    params: str
    doc: str
    preamble: list[str]
    statements: list[Line]
    finish: str
    result: str
    decorator: str | None = None  # how the module compiles it (the numba target's twins)
    names: dict[Var, str] = field(default_factory=dict, repr=False, compare=False)  # its nodes'

    @property
    def signature(self) -> str:
        """``def name(a, b):``, the parameters wrapped within the width under the first."""
        line = f"def {self.name}({self.params}):"
        if len(line) <= LINE_WIDTH + 4:
            return line
        params = self.params.split(", ")
        return "\n".join(aligned(f"def {self.name}(", params, LINE_WIDTH + 3)) + ":"

    @property
    def docstring(self) -> str:
        """The docstring's text, a line too long for the width wrapped under its indentation."""
        return "\n".join(textwrap.fill(line, LINE_WIDTH - 4, subsequent_indent="    ")
                         if len(line) > LINE_WIDTH - 2 else line for line in self.doc.split("\n"))

    @property
    def body(self) -> str:
        """The statements as the module's lines (see `lines.source_lines`)."""
        return "\n".join(text for line in self.statements for text in source_lines(line))


def function(name: str, graph: Graph, doc: str, packed: str | None = None,
             own: int = 0, arrays: bool = False, wrt: tuple[str, ...] = (),
             reserved: frozenset[str] = MODULE_GLOBALS, free: bool = True,
             blocked: bool = False, valued: bool = True, tangents: bool = False) -> Function:
    """A function computing ``graph``; with ``packed``, the inputs past the first ``own``
    arrive as one tuple argument of that name (the tangents of ``jvp``). With ``arrays``, the
    inputs' shapes are checked on entry, arrays are freed at their last use (with ``free``: a
    derivative's tapes and adjoints; a value's few temporaries are left to return), and each
    partial (one per name in ``wrt``) is returned with its input's shape. With ``blocked`` (a
    function of numbers), arrays of more than ``BLOCK`` points are computed a block at a time.
    Without ``valued``, every output is a partial (``hvp``'s) and they return as one tuple.
    No name it assigns is in ``reserved`` (the module's globals and functions). With
    ``packed`` or ``tangents``, it computes tangents (``# tangent of:`` comments); without
    ``valued``, the tangents of a gradient's statements (beside ``# grad of:`` ones)."""
    graph = accumulate_in_place(graph) if arrays else graph
    views = _inline_transposes(graph) if arrays and not has_blocks(graph) else {}
    names = _function_names(graph, reserved, views)
    params = [names[var] for var in graph.inputs]
    packed = _packed_name(packed, names, reserved)
    targets = result_names(graph, names, reserved)
    results = [operand(var, names) for var in graph.outputs]
    kept = set(params) | set(results) if arrays and free else None
    carrying = frozenset() if valued else carrying_tangents(graph, graph.inputs[own:])
    prefix = _comment_prefix((bool(packed) and valued) or tangents)
    body = _body(graph, names, views, prefix, kept, carrying)
    float_type = _float_type_name(body, names, reserved)
    namespace = python_name(NAMESPACE, frozenset(names.values()) | reserved)
    body = _in_namespace(body, namespace)
    finish = _finish(targets, results, params, graph.inputs, wrt if arrays else None, valued)
    preamble = _preamble(params, graph.inputs, own, packed, namespace,
                         _shape_check(params[:own] if packed else params, name == "vjp")
                         if arrays else None)
    if float_type:
        body = [replace(line, expr=line.expr.replace(FLOAT64, f"{float_type}("))
                for line in body]
        preamble.append(_assigned_call(float_type, "_float_type", params))
    if blocked:
        preamble += _blocks(name, params, graph.inputs, own if packed else None)
    return Function(name, ", ".join(_signature(params, own, packed)), doc, preamble, body,
                    finish, _result_text(name, targets, valued), names=names)


def _float_type_name(body: list[Line], names: dict[Var, str], reserved: frozenset[str]
                     ) -> str | None:
    """The name of the inputs' float type (``float_type = _float_type(x, n)``) where the body
    writes a constant ``np.float64(1)``: it is written ``float_type(1)`` instead, so that a
    function of float32 inputs computes in float32 (`runtime._float_type`)."""
    if not any(FLOAT64 in line.expr for line in body):
        return None
    return python_name("float_type", frozenset(names.values()) | reserved)


def carrying_tangents(graph: Graph, seeds: tuple[Var, ...]) -> frozenset[Var]:
    """The nodes of ``graph`` and of the graphs it holds that depend on one of ``seeds`` (a
    block's outputs and its graphs' inputs and outputs match by position; bodies nest at most
    `MAX_NESTING` deep, so going into them by recursion stays shallow)."""
    carrying = set(seeds)
    for edge in graph.edges:
        if carrying.isdisjoint(edge.inputs):
            continue
        inner = subgraphs(edge)
        if not inner:
            carrying.update(edge.outputs)
        for body in inner:
            offset = len(edge.inputs) - len(body.inputs)  # a loop's bounds, a branch's test
            given = [var for var, outer in zip(body.inputs, edge.inputs[offset:])
                     if outer in carrying]
            within = carrying_tangents(body, tuple(given))
            carrying |= within
            carrying.update(out for out, var in zip(edge.outputs, body.outputs) if var in within)
    return frozenset(carrying)


def plain_function(name: str, params: list[str], doc: str, statements: list[Line],
                   result: str) -> Function:
    """A function with no preamble and no finish: a helper of the source, a wrapper (`api`)."""
    return Function(name, ", ".join(params), doc, [], statements, "", result)


def wrt_params(wrt: tuple[str, ...], inputs: tuple[Var, ...], params: list[str]) -> list[str]:
    """The parameter that stands for each input named in ``wrt``."""
    by_name = dict(zip((var.name for var in inputs), params))
    return [by_name[name] for name in wrt]


def _packed_name(packed: str | None, names: dict[Var, str], reserved: frozenset[str]) -> str | None:
    """The packed argument's name (``tangents``), apart from every other name."""
    return None if packed is None else python_name(packed, frozenset(names.values()) | reserved)


def _body(graph: Graph, names: dict[Var, str], views: dict[Var, Var], prefix: str,
          kept: set[str] | None, tangents: frozenset[Var]) -> list[Line]:
    """The lines of the edges but the inlined views; with ``kept`` (the names never deleted),
    ``del`` at each array's last use. ``tangents``: see `blocks.Printing`."""
    edges = [edge for edge in graph.edges if not views or views.keys().isdisjoint(edge.outputs)]
    units = edge_units(graph, names, 0, prefix, EMISSIONS, edges, tangents=tangents)
    if kept is None:
        return _flat(units)
    return _flat(freeing(units, edges, names, kept, views, block_results(graph), EMISSIONS))


def _function_names(graph: Graph, reserved: frozenset[str],
                    views: dict[Var, Var]) -> dict[Var, str]:
    """A Python name for every node; an inlined view is named by what it does (``W.T``)."""
    names = (program_names(graph, reserved) if has_blocks(graph)
             else assign_names(graph, reserved, reuse_dead=True, unnamed=frozenset(views)))
    _name_views(graph, views, names)
    return names


def _name_views(graph: Graph, views: dict[Var, Var], names: dict[Var, str]) -> None:
    """Each inlined view named by what it does, in edge order (a view of a view: ``W.T.T``)."""
    for edge in graph.edges:
        if edge.prim == "transpose" and edge.output in views:
            names[edge.output] = f"{names[edge.inputs[0]]}.T"


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


def _signature(params: list[str], own: int, packed: str | None) -> list[str]:
    return params if packed is None else params[:own] + [packed]


def _in_namespace(lines: list[Line], namespace: str) -> list[Line]:
    """The lines with the registry's ``xp.`` written as ``namespace.`` (``xp_`` where the
    source has a name ``xp``)."""
    if namespace == NAMESPACE:
        return lines
    pattern = re.compile(rf"(?<![\w.]){NAMESPACE}\.")
    return [replace(line, expr=pattern.sub(f"{namespace}.", line.expr)) for line in lines]


def _preamble(params: list[str], inputs: tuple[Var, ...], own: int, packed: str | None,
              namespace: str, check: str | None) -> list[str]:
    """The packed inputs taken apart, the inputs' array namespace (``xp = _namespace(x, y)``:
    NumPy, or that of arrays of the array API), the inputs converted in it, their shapes
    checked (``check``)."""
    lines = [*_unpacked(params, own, packed), _assigned_call(namespace, "_namespace", params),
             *_conversions(params, inputs, namespace)]
    return lines if check is None else [*lines, check]


def _assigned_call(target: str, function: str, params: list[str]) -> str:
    """``xp = _namespace(x, y)``: ``target = function(*params)``, wrapped under its opening
    where too long."""
    opening = f"{target} = {function}("
    return "\n    ".join(aligned(opening, params, LINE_WIDTH)) if params else f"{opening})"


def _unpacked(params: list[str], own: int, packed: str | None) -> list[str]:
    """``(dx, dy) = tangents``: the packed inputs taken apart."""
    tail = len(f" = {packed}")
    return [] if packed is None else [f"{wrapped_tuple(params[own:], 4, tail)} = {packed}"]


def _conversions(params: list[str], inputs: tuple[Var, ...], namespace: str) -> list[str]:
    """``x, N = _as_float(x, xp), _whole(N)``: one line, or one line per input if too long (a
    whole-number input, ``N: int``, is checked whole and made an int)."""
    if not params:
        return []
    calls = [_conversion(param, var, namespace) for param, var in zip(params, inputs)]
    line = f"{', '.join(params)} = {', '.join(calls)}"
    if len(line) <= LINE_WIDTH:
        return [line]
    return [f"{p} = {call}" for p, call in zip(params, calls)]


def _conversion(param: str, var: Var, namespace: str) -> str:
    return f"_whole({param})" if var.dtype == "int" else f"_as_float({param}, {namespace})"


def _blocks(name: str, params: list[str], inputs: tuple[Var, ...],
            own: int | None = None) -> list[str]:
    """``if max(x.size, y.size) > BLOCK and _on_numpy(x, y): return _in_blocks(gradient, (x,
    y))``: a block at a time at large NumPy arrays (`runtime._in_blocks`), so that the
    temporaries stay in cache (with ``own``, the inputs past the first ``own`` are packed:
    hvp's tangents); arrays of another library (Dask) are computed where they are."""
    floats = [param for param, var in zip(params, inputs) if var.dtype == "float"]
    if not floats:
        return []
    sizes = [f"{param}.size" for param in floats]
    test = (f"if {sizes[0]}" if len(sizes) == 1
            else "\n    ".join(aligned("if max(", sizes, LINE_WIDTH)))
    numpy = f"_on_numpy({', '.join(floats)})"
    nested = len(test.split("\n")[-1]) + len(numpy) + 14 > LINE_WIDTH + 4
    if nested:
        numpy = "\n        ".join(aligned("if _on_numpy(", floats, LINE_WIDTH - 4))
    opening = f"return _in_blocks({name}, "
    packed = "" if own is None else f", {own}"
    indent = 12 if nested else 8
    call = f"{opening}{wrapped_tuple(params, indent + len(opening), 1 + len(packed))}{packed})"
    if nested:
        return [f"{test} > BLOCK:\n        {numpy}:\n            {call}"]
    return [f"{test} > BLOCK and {numpy}:\n        {call}"]


def _shape_check(params: list[str], cotangent: bool) -> str:
    """The call-time check of the inputs' declared shapes (and of a vjp's cotangent)."""
    return f"_check_shapes({tuple_text(params)}, {CHECKED[cotangent]})"


def _finish(targets: list[str], results: list[str], params: list[str],
            inputs: tuple[Var, ...], wrt: tuple[str, ...] | None, valued: bool = True) -> str:
    """The results rounded off: ``_finish``, or with ``wrt`` (arrays) ``_finish_arrays``,
    which gives each partial its input's shape (the value first, if ``valued``)."""
    head = f"{wrapped_tuple(targets, 4, len(' = _finish_arrays('))} = _finish"
    if wrt is None:
        return call_text(head, [wrapped_tuple(results, 8), wrapped_tuple(params, 8)])
    likes = ["None"] * valued + wrt_params(wrt, inputs, params)
    likes = wrapped_tuple(likes + ["None"] * (len(results) - len(likes)), 8)  # a jvp's: its own
    return call_text(f"{head}_arrays", [wrapped_tuple(results, 8), likes, wrapped_tuple(params, 8)])


def _result_text(name: str, targets: list[str], valued: bool = True) -> str:
    """What the function returns: a gradient returns (value, partials) even with no partials
    (no inputs, or wrt=()); a function of partials alone (``hvp``) returns them as a tuple."""
    if not valued:
        return wrapped_tuple(targets, len("    return "))
    value, *partials = targets
    paired = name in ("gradient", "vjp")
    return f"{value}, {returned_tuple(value, partials)}" if paired else ", ".join(targets)


def result_names(graph: Graph, names: dict[Var, str], reserved: frozenset[str]) -> list[str]:
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


def called_function(graph: Graph, role: str, reserved: frozenset[str],
                    called: dict[str, tuple[Graph, str]]) -> Function:
    """A helper of the source, or one of its derivatives, as a function of the module
    (``called``: every function the module calls, by name, for the docstrings)."""
    # bound on every way: each side binds the other's (a jvp may return a record's residuals)
    returns_residuals = role in ("record", "jvp")
    names = program_names(graph, reserved, placeholders=returns_residuals)
    units = edge_units(graph, names, 0, _comment_prefix(role == "jvp"), EMISSIONS,
                       in_loop=returns_residuals)
    result = ", ".join(value_operand(var, names) for var in graph.outputs)
    params = [names[var] for var in graph.inputs]
    return plain_function(graph.name, params, _helper_doc(graph, role, reserved, called),
                          _with_namespace(_flat(units), params, names, reserved), result)


def _with_namespace(lines: list[Line], params: list[str], names: dict[Var, str],
                    reserved: frozenset[str]) -> list[Line]:
    """A helper's lines, first finding the array namespace of its arguments where they call
    its functions (``xp = _namespace(x, y)``)."""
    if not any(f"{NAMESPACE}." in line.expr for line in lines):
        return lines
    namespace = python_name(NAMESPACE, frozenset(names.values()) | reserved)
    return [Line(namespace, f"_namespace({', '.join(params)})"),
            *_in_namespace(lines, namespace)]


def _comment_prefix(tangents: bool) -> str:
    """What the comment over a forward statement's derivative says: ``tangent of:`` (forward
    mode) or ``grad of:``."""
    return "tangent of: " if tangents else "grad of: "


def _helper_doc(graph: Graph, role: str, reserved: frozenset[str],
                called: dict[str, tuple[Graph, str]]) -> str:
    """The docstring of a helper of the source or of one of its derivatives."""
    base = graph.name.removesuffix(f"_{role}")
    taken = _taken(graph, base, reserved, called) if role == "vjp" else ""
    return HELPER_DOCS[role].format(base=base, taken=taken)


def _taken(vjp: Graph, base: str, reserved: frozenset[str],
           called: dict[str, tuple[Graph, str]]) -> str:
    """What a helper's vjp takes between the arguments and the cotangent, as its docstring
    writes it: what the recording version returns, the value, or nothing."""
    if f"{base}_record" in reserved:
        return f", *{base}_record(*args)"
    helper = called.get(base, (None, ""))[0]
    if helper is not None and len(vjp.inputs) == len(helper.inputs) + 1:
        return ""
    return f", {base}(*args)"


def _flat(units: list[Unit]) -> list[Line]:
    return [line for unit in units for line in unit]
