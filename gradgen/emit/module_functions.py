"""Emission: which functions a generated module has, each printed from its graph: ``forward``,
the derivatives of its mode (``gradient``, ``jvp``, ``vjp``, ``jacobian``), second order
(``hvp``, ``hessian``), SciPy's flat vector, and the helpers they call.

Part of emission (`emit`). `ModuleGraphs` holds what they are printed from; `module` lays them
out in the template with the header, the constants and the runtime functions.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from gradgen.differentiate.colouring import hessian_pattern
from gradgen.emit.api import (
    flat_functions,
    gradient_by_entries,
    gradient_by_sweeps,
    hessian_by_colours,
    hessian_by_entries,
    jacobian,
    jacobian_by_sweeps,
    vjp,
    vjp_by_jacobian,
)
from gradgen.emit.floats import takes_floats, twinned
from gradgen.emit.functions import Function, called_function, function, plain_function
from gradgen.emit.numba_target import numba_twinned
from gradgen.ir.graph import Graph, has_arrays, has_branches
from gradgen.ir.naming import Namer, assign_names, python_name

#: The docstring of each function printed from a graph; ``{}`` is the source's signature.
DOCS = {"forward": "Value of {}.",
        "jvp": "Value of {} and its derivative along tangents, one per name in WRT.",
        "vjp": "Value of {}, and the cotangent pulled back to each input of WRT.",
        "gradient": "Value and partials of {}.",
        "hvp": "The Hessian of {} times tangents, one per name in WRT, shaped like its input.",
        "error_bound": "Value of {} and a first-order bound on its float64 rounding error: the\n"
                       "    sum over its statements of u |v_bar v| (u = 2**-53, more for a\n"
                       "    library function), v_bar each statement's adjoint; inputs and\n"
                       "    constants taken as exact."}


@dataclass(frozen=True)
class ModuleGraphs:
    """What the module's functions are printed from: the forward and derivative graphs (see
    `emit_module`), the inputs of WRT, the functions the graphs call (name -> graph, role), and
    the module-level names (its globals and those functions) that no other name takes."""

    forward: Graph
    derivative: Graph
    wrt: tuple[str, ...]
    called: dict[str, tuple[Graph, str]]
    reserved: frozenset[str]
    target: str = "numpy"
    mode: str = "reverse mode"
    hvp: Graph | None = None
    jvp: Graph | None = None  # of an array value in reverse mode: the JVP graph too
    error_bound: Graph | None = None  # value and rounding-error bound (`error_bound`)

    @functools.cached_property
    def arrays(self) -> bool:
        """Whether the function has arrays (see `graph.has_arrays`)."""
        return has_arrays(self.forward)

    @functools.cached_property
    def blocked(self) -> bool:
        """Whether ``forward`` and ``gradient`` take large arrays a block at a time: a function
        of numbers that does not branch (one that does runs point by point)."""
        return not self.arrays and not has_branches(self.forward) and self.target == "numpy"

    @functools.cached_property
    def hessian_pattern(self) -> tuple[tuple[int, ...], ...] | None:
        """Of a function of numbers with ``hvp``: the rows where each column of the Hessian
        may be non-zero (see `colouring`)."""
        if self.hvp is None or self.arrays:
            return None
        return hessian_pattern(self.hvp, len(self.wrt))

    @property
    def array_valued(self) -> bool:
        return bool(self.forward.outputs[0].shape)

    @property
    def params(self) -> list[str]:
        """The Python names of the inputs, as every function of the module names them."""
        return list(assign_names(self.forward.replace(edges=()), self.reserved).values())

    def printed(self, name: str, graph: Graph, **options: Any) -> Function:
        """The module's function ``name``, printed from ``graph`` (see `function`)."""
        doc = DOCS[name].format(signature(self.forward))
        return function(name, graph, doc, reserved=self.reserved, **options)

    def with_twin(self, name: str, graph: Graph, **options: Any) -> list[Function]:
        """The module's function ``name`` (see `printed`), with its float twin where ``graph``
        takes floats (see `floats`)."""
        printed = self.printed(name, graph, **options)
        if self.target == "numba":
            return numba_twinned(printed, graph, self.reserved)
        return twinned(printed, graph, self.reserved) if takes_floats(graph) else [printed]


def module_functions(module: ModuleGraphs, mode: str) -> list[Function]:
    """The module's functions: ``forward``, the derivatives, the functions they call."""
    forward = module.with_twin("forward", module.forward, arrays=module.arrays, free=False,
                             blocked=module.blocked)
    return [*forward, *_derivatives(module, mode), *_second_order(module), *_bound(module),
            *_flat(module), *_called_functions(module)]


def _bound(module: ModuleGraphs) -> list[Function]:
    """With ``error_bound``: the value and its rounding-error bound, elementwise at arrays of
    points (its graph is straight-line: it never runs point by point). It has no float twin:
    a twin returns a value, or a value and partials (`floats.float_results`)."""
    if module.error_bound is None:
        return []
    printed = module.printed("error_bound", module.error_bound, arrays=module.arrays,
                             blocked=module.blocked)
    return [_refusing_other_floats(printed, module.params)]


def _refusing_other_floats(printed: Function, params: list[str]) -> Function:
    """``error_bound`` refusing inputs of another float type than float64 (its unit roundoff
    is float64's: at float32 inputs the module computes in float32), right after converting
    them (`runtime._float64_only`)."""
    converted = max(k for k, line in enumerate(printed.preamble) if "_as_float(" in line)
    check = f"_float64_only({', '.join(params)})"
    preamble = [*printed.preamble[:converted + 1], check, *printed.preamble[converted + 1:]]
    return dataclasses.replace(printed, preamble=preamble)


def _flat(module: ModuleGraphs) -> list[Function]:
    """``pack``, ``unpack``, ``flat_gradient`` (and ``flat_hvp``): SciPy's one vector."""
    return flat_functions(module.params, module.wrt, module.forward.inputs, module.arrays,
                          not module.array_valued, module.hvp is not None)


def _called_functions(module: ModuleGraphs) -> list[Function]:
    """The helpers of the source and their derivatives that the module's functions call."""
    return [called_function(graph, role, module.reserved, module.called)
            for graph, role in module.called.values()]


def _derivatives(module: ModuleGraphs, mode: str) -> list[Function]:
    """The module's derivative functions: by forward mode, of an array value, or a gradient."""
    if mode == "forward mode":
        return _by_jvp_of_an_array(module) if module.array_valued else _by_jvp(module)
    return _by_vjp(module) if module.array_valued else _by_gradient(module)


def _by_jvp(module: ModuleGraphs) -> list[Function]:
    """``jvp``, and ``gradient`` and ``vjp`` on top of it. A scalar function that branches
    computes its jvp at one point (`_at_points`), and ``jvp`` runs that point by point."""
    inputs, params = module.forward.inputs, module.params
    sweeps = gradient_by_entries if module.arrays else gradient_by_sweeps
    if branches_at_points(module):
        tangents = _at_points(module, "jvp", module.derivative, tangents=True)
    else:
        tangents = [module.printed("jvp", module.derivative, packed="tangents",
                                   own=len(inputs), arrays=module.arrays)]
    return [*tangents, sweeps(params, module.wrt, inputs), vjp(params)]


#: The docstring of a branching scalar function's derivative at one point, by derivative.
AT_A_POINT = {
    "jvp": "Value of {} and its derivative along tangents, one per name in WRT, at one point:\n"
           "    jvp runs it point by point.",
    "hvp": "The Hessian of {} times tangents, one per name in WRT, at one point:\n"
           "    hvp runs it point by point."}


def _at_points(module: ModuleGraphs, name: str, graph: Graph, **options: Any) -> list[Function]:
    """Derivative ``name`` (``jvp``, ``hvp``) of a scalar function that branches: printed
    from ``graph`` to run at one point (which the module runs point by point, `_pointwise`),
    and ``name`` itself, which unpacks the tangents and hands them to it."""
    params, inner = module.params, pointwise_name(module, name)
    source = signature(module.forward)
    at_a_point = function(inner, graph, AT_A_POINT[name].format(source),
                          reserved=module.reserved | {inner}, own=len(params), **options)
    tangents = Namer(module.reserved | {inner, *params}).fresh("tangents")
    unpacked = f"{inner}({', '.join(params)}, *{tangents})"
    doc = DOCS[name].format(source)
    return [at_a_point, plain_function(name, [*params, tangents], doc, [], unpacked)]


def pointwise_name(module: ModuleGraphs, name: str) -> str:
    """The module-level name of a branching scalar function's derivative ``name`` at one
    point (``_jvp_pointwise``)."""
    return python_name(f"_{name}_pointwise", module.reserved | set(module.params))


def branches_at_points(module: ModuleGraphs) -> bool:
    """Whether the function's value and derivatives are computed one point at a time at
    arrays: a scalar function that branches (each point takes its own way)."""
    return not module.arrays and has_branches(module.forward)


def _by_vjp(module: ModuleGraphs) -> list[Function]:
    """``vjp`` of an array value, and ``jacobian`` on top of it (with ``jvp`` beside, by
    whichever mode takes fewer sweeps)."""
    params, inputs = module.params, module.forward.inputs
    pulled_back = module.printed("vjp", module.derivative, arrays=True, wrt=module.wrt)
    if module.jvp is None:
        return [pulled_back, jacobian(params, module.wrt, inputs)]
    pushed = module.printed("jvp", module.jvp, packed="tangents", own=len(inputs), arrays=True)
    return [pulled_back, pushed, jacobian_by_sweeps(params, module.wrt, inputs)]


def _by_jvp_of_an_array(module: ModuleGraphs) -> list[Function]:
    """Forward mode of an array value: ``jvp``, ``jacobian`` by columns, ``vjp`` through it."""
    params, inputs = module.params, module.forward.inputs
    pushed = module.printed("jvp", module.derivative, packed="tangents", own=len(inputs),
                            arrays=True)
    return [pushed, jacobian_by_sweeps(params, module.wrt, inputs, rows=False),
            vjp_by_jacobian(params)]


def _by_gradient(module: ModuleGraphs) -> list[Function]:
    """``gradient``, and ``vjp`` on top of it."""
    gradient = module.with_twin("gradient", module.derivative, arrays=module.arrays, wrt=module.wrt,
                              blocked=module.blocked)
    return [*gradient, vjp(module.params)]


def _second_order(module: ModuleGraphs) -> list[Function]:
    """With ``hvp``: ``hvp``, and ``hessian`` (and ``sparse_hessian``) on top of it."""
    if module.hvp is None:
        return []
    inputs, params = module.forward.inputs, module.params
    if branches_at_points(module):
        return [*_at_points(module, "hvp", module.hvp, valued=False),
                *hessian_by_colours(params)]
    products = module.printed("hvp", module.hvp, packed="tangents", own=len(inputs),
                              arrays=module.arrays, wrt=module.wrt, valued=False,
                              blocked=module.blocked)
    if module.arrays:
        return [products, hessian_by_entries(params, module.wrt, inputs)]
    return [products, *hessian_by_colours(params)]


def signature(graph: Graph) -> str:
    """``f(x, y)``: the source's signature, for docstrings."""
    return f"{graph.name}({', '.join(var.name for var in graph.inputs)})"
