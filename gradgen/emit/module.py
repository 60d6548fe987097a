"""Emission: forward and gradient `Graph`s → the text of a standalone Python/NumPy module.

The layout is the Jinja2 template ``templates/module.py.j2``; this module gathers what it
shows: the module's functions (`functions`, `api`), the header docstring, the constants and the
runtime functions the module carries. Every statement's text comes from the registry
(`printing.python_expr`) and every name from `naming`. The output depends on the graphs and the
options alone, so compiling twice gives identical bytes.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jinja2

import gradgen.runtime as runtime
from gradgen.differentiate.colouring import column_colours
from gradgen.emit.api import (
    FLAT_RUNTIME,
)
from gradgen.emit.certificate import Positions, certificate
from gradgen.emit.floats import has_twins
from gradgen.emit.functions import (
    MODULE_GLOBALS,
    Function,
)
from gradgen.emit.lines import LINE_WIDTH, tuple_literal, tuple_text, wrapped_tuple
from gradgen.emit.module_functions import (
    ModuleGraphs,
    branches_at_points,
    module_functions,
    pointwise_name,
)
from gradgen.emit.numba_target import has_kernels
from gradgen.ir.graph import (
    Edge,
    Graph,
    Var,
    differentiable_inputs,
    subgraphs,
)
from gradgen.ir.naming import entry_aliases
from gradgen.ir.primitives import REGISTRY, shape_text
from gradgen.ir.primitives.arrays import index_requirements
from gradgen.version import __version__

__all__ = ["MODULE_GLOBALS", "emit_module"]

#: The module's functions that take the inputs by the source's names too (keywords).
WITH_SOURCE_NAMES = ("forward", "gradient", "vjp", "hvp", "hessian", "sparse_hessian")
SOURCE_LINES_SHOWN = 30
SOURCE_LINE_WIDTH = 200

@functools.cache
def _environment() -> jinja2.Environment:
    """The one Jinja2 environment: it keeps the compiled template between compilations, and
    between runs in Jinja's bytecode cache (a folder of the user's own in the temporary folder;
    an entry is used only for the very template text it was compiled from)."""
    folder = resources.files("gradgen.emit").joinpath("templates")
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: folder.joinpath(name).read_text("utf-8")),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined, bytecode_cache=jinja2.FileSystemBytecodeCache())


def emit_module(forward: Graph, derivative: Graph, filename: str, command: str,
                mode: str = "reverse mode", wrt: tuple[str, ...] | None = None,
                target: str = "numpy", hvp: Graph | None = None,
                jvp: Graph | None = None, error_bound: Graph | None = None,
                positions: Positions | None = None) -> str:
    """The generated module's source text.

    ``derivative`` is the gradient graph (outputs: value, then one partial per input of
    ``wrt``), or in ``"forward mode"`` the JVP graph (inputs: the inputs, then one tangent per
    input of ``wrt``; outputs: value and its tangent), from which ``gradient`` takes one
    forward sweep per input. For a function with an array value it is the VJP graph (inputs:
    the inputs and the cotangent), and the module has ``vjp`` and ``jacobian`` instead of
    ``gradient``. With ``target="numba"``, a function of numbers is computed by compiled
    loops over its points (`numba_target`). With ``hvp``, the Hessian-vector-product graph
    (inputs: the inputs, then one tangent per input of ``wrt``; outputs: one product per input
    of ``wrt``), the module has ``hvp`` and ``hessian`` too. With ``jvp`` (of an array value in
    reverse mode, the JVP graph), ``jacobian`` takes rows or columns, whichever are fewer.
    With ``error_bound`` (see `differentiate.error_bound`), the module has ``error_bound``.
    ``positions`` maps a place of the source to the user's file, for the kink report.
    """
    if wrt is None:
        wrt = tuple(var.name for var in differentiable_inputs(forward))
    called = _called(forward, derivative, *(graph for graph in (hvp, jvp) if graph))
    module = ModuleGraphs(forward, derivative, wrt, called, MODULE_GLOBALS | set(called), target,
                     mode, hvp, jvp, error_bound)
    functions = module_functions(module, mode)
    context = {**_header(forward, filename, command, mode), **_constants(module),
               **_code(module, functions), **_certificate(module, filename, positions)}
    return _environment().get_template("module.py.j2").render(context)


def _header(forward: Graph, filename: str, command: str, mode: str) -> dict[str, Any]:
    """What the header docstring says: where the module comes from, and its source."""
    return {"title": _quoted(f"Value and gradient of {forward.name}, compiled from {filename}."),
            "version": __version__, "mode": mode, "filename": _quoted(filename),
            "command": _quoted(command), "source_lines": _source_lines(forward.source)}


def _constants(module: ModuleGraphs) -> dict[str, Any]:
    """``INPUTS`` and ``WRT``, and in a module of arrays the shapes (a scalar one has none)."""
    constants = {"inputs": wrapped_tuple([repr(var.name) for var in module.forward.inputs], 9),
                 "wrt": wrapped_tuple([repr(name) for name in module.wrt], 6),
                 "arrays": module.arrays,
                 "block": runtime.BLOCK if module.blocked else None,
                 **_colouring(module.hessian_pattern)}
    return {**constants, **_shapes(module.forward)} if module.arrays else constants


def _certificate(module: ModuleGraphs, filename: str,
                 positions: Positions | None) -> dict[str, Any]:
    """The certificate: the docstring's Cost and Kinks paragraphs and ``COST`` (`certificate`)."""
    name = ("jvp" if module.mode == "forward mode" else
            "vjp" if module.array_valued else "gradient")
    return certificate(module.forward, module.derivative, module.hvp, name, filename, positions)


def _colouring(pattern: tuple[tuple[int, ...], ...] | None) -> dict[str, Any]:
    """``HESSIAN_PATTERN`` and ``HESSIAN_COLOURS`` of a function of numbers with ``hvp``."""
    if pattern is None:
        return {"hessian_pattern": None}
    colours = column_colours(pattern)
    return {"hessian_pattern": wrapped_tuple([tuple_text(map(str, rows)) for rows in pattern],
                                             len("HESSIAN_PATTERN = ")),
            "hessian_colours": wrapped_tuple([tuple_text(map(str, c)) for c in colours],
                                             len("HESSIAN_COLOURS = ")),
            "sweeps": len(colours)}


def _shapes(forward: Graph) -> dict[str, Any]:
    """``SHAPES``, ``VALUE_SHAPE``, ``MINIMUM_SIZES`` and the docstring's paragraph on shapes."""
    return {"array_valued": bool(forward.outputs[0].shape),
            "shapes": wrapped_tuple([tuple_literal(var.shape) for var in forward.inputs], 9),
            "value_shape": tuple_literal(forward.outputs[0].shape),
            "minimum_sizes": repr(_minimum_sizes(forward)), "declared": _declared(forward.inputs)}


def _code(module: ModuleGraphs, functions: list[Function]) -> dict[str, Any]:
    """The functions, the runtime functions they call, and the wrappers and aliases after."""
    pointwise = _pointwise(module)
    compiled = has_kernels(functions)
    runtime = _runtime(module, bool(pointwise), compiled)
    return {"functions": functions, "runtime": runtime, "floats": has_twins(functions),
            "numba": compiled, "target_note": _target_note(module, compiled),
            **_wrappers(module, functions, pointwise)}


def _target_note(module: ModuleGraphs, compiled: bool) -> str:
    """The header's word where the numba target was asked for and does not apply."""
    if module.target != "numba" or compiled:
        return ""
    return ("The numba target takes functions of numbers without loops, branches or helpers:\n"
            "this one is computed by NumPy.")


def _wrappers(module: ModuleGraphs, functions: list[Function],
              pointwise: list[str]) -> dict[str, Any]:
    """After the runtime: the functions run point by point, those that take the source's names
    of the inputs, and the source's own names of the functions (aliases)."""
    forward = module.forward
    renamed = _renamed(forward.inputs, module.params)
    return {"pointwise": pointwise, "renamed": renamed,
            "with_source_names": _with_source_names(renamed),
            "wrapped": [f.name for f in functions if f.name in WITH_SOURCE_NAMES],
            "aliases": _aliases(forward.name, module.array_valued)}


def _pointwise(module: ModuleGraphs) -> list[str]:
    """The functions evaluated one point at a time at arrays: a scalar function's that
    branches (each point takes its own way); in forward mode, its ``forward`` and its jvp at
    one point (``gradient`` and ``jvp`` call that); its hvp at one point (``hvp`` calls it)."""
    if not branches_at_points(module):
        return []
    if module.mode == "forward mode":
        return ["forward", pointwise_name(module, "jvp")]
    return ["forward", "gradient", *([pointwise_name(module, "hvp")] if module.hvp else [])]


def _called(*graphs: Graph) -> dict[str, tuple[Graph, str]]:
    """The functions the graphs call (helpers of the source and their derivatives), each once,
    in the order they are first called: name -> (graph, role)."""
    found: dict[str, tuple[Graph, str]] = {}
    for edge in _edges_within(*graphs):
        if edge.prim == "call":
            params = dict(edge.params)
            found.setdefault(params["name"], (params["graph"], params["role"]))
    return found


def _edges_within(*graphs: Graph) -> Iterator[Edge]:
    """Every edge of the graphs, bodies and sides included: a graph's own edges, then those
    of the graphs it holds, depth first."""
    pending = list(reversed(graphs))
    while pending:
        graph = pending.pop()
        yield from graph.edges
        pending += reversed([inner for edge in graph.edges for inner in subgraphs(edge)])


def _minimum_sizes(forward: Graph) -> dict[str, int]:
    """Named dimensions that indexing needs at least so large (``x[2]`` needs n >= 3)."""
    needs: dict[str, int] = {}
    for edge in forward.edges:
        if edge.prim == "getitem":
            found = index_requirements(edge.inputs[0].shape, dict(edge.params)["index"])
            for dim, need in found.items():
                needs[dim] = max(needs.get(dim, 0), need)
    return dict(sorted(needs.items()))


def _runtime(module: ModuleGraphs, pointwise: bool, compiled: bool) -> list[str]:
    """The source of each runtime function the module calls, in the runtime's order: converting
    the inputs, finishing the results (of arrays: checking their shapes; of an array value: a
    Jacobian by rows), running point by point, and what its registry entries call."""
    arrays = module.arrays
    extra = [graph for graph in (module.hvp, module.jvp, module.error_bound) if graph]
    used = {"_as_float", *_helpers(module.forward, module.derivative, *extra)}
    used |= {"_check_shapes", "_finish_arrays"} if arrays else {"_finish"}
    used |= {"_in_blocks"} if module.blocked else set()
    used |= {"_on_points"} if compiled else set()
    used |= _jacobian_runtime(module)
    used |= ({"_by_entries"} if arrays and module.mode == "forward mode"
             and not module.array_valued else set())
    used |= {"_pointwise", "_gathered"} if pointwise else set()
    used |= _second_order_runtime(module) | FLAT_RUNTIME[module.arrays]
    used |= {"_on_numpy"} if module.blocked else set()
    used |= {"_float64_only"} if module.error_bound else set()
    used = {called for name in used for called in _runtime_calls(name)}
    return [_runtime_source(name) for name in runtime.FUNCTIONS if name in used]


@functools.cache
def _runtime_calls(name: str) -> frozenset[str]:
    """name and the runtime functions it calls (`_as_float` calls `_is_foreign`), at any depth:
    a module carries them all."""
    calls, stack = {name}, [name]
    while stack:
        source = _runtime_source(stack.pop())
        found = {other for other in runtime.FUNCTIONS
                 if re.search(rf"(?<![\w.]){other}\(", source)} - calls
        calls |= found
        stack.extend(found)
    return frozenset(calls)


def _jacobian_runtime(module: ModuleGraphs) -> set[str]:
    """The runtime functions ``jacobian`` calls: rows of vjps, columns of jvps, or either."""
    if not module.array_valued:
        return set()
    if module.mode == "forward mode":
        return {"_jacobians_by_columns"}
    rows = {"_units", "_jacobians"}
    return rows if module.jvp is None else rows | {"_jacobians_by_columns", "_cheaper_jacobians"}


def _second_order_runtime(module: ModuleGraphs) -> set[str]:
    """The runtime functions ``hessian`` calls."""
    if module.hvp is None:
        return set()
    if module.arrays:
        return {"_hessian_blocks"}
    return {"_hessian_entries", "_hessian_rows", "_coordinates"}


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
    used = {edge.prim for edge in _edges_within(*graphs)}  # loop bodies too
    if any(var.dtype == "int" for var in graphs[0].inputs):
        used.add("whole")  # N: int is made an int by _whole on entry
    return {REGISTRY[prim].helper for prim in used if REGISTRY[prim].helper}


def _declared(inputs: tuple[Var, ...]) -> str:
    """The docstring's paragraph on the inputs' shapes, wrapped at the line width."""
    shapes = ", ".join(_unbroken(var) for var in inputs)
    text = textwrap.fill(f"Inputs and their declared shapes: {shapes}. Named dimensions are "
                         "bound by the arrays passed in and must agree; a mismatch raises "
                         "ValueError.", LINE_WIDTH)
    return text.replace("\N{NO-BREAK SPACE}", " ")


def _unbroken(var: Var) -> str:
    """``x (n, d)`` with no-break spaces: a shape is never broken across lines."""
    shape = "scalar" if not var.shape else shape_text(var.shape)
    return f"{var.name} {shape}".replace(" ", "\N{NO-BREAK SPACE}")


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
