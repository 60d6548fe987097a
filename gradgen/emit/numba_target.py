"""Emission, the numba target: a function of numbers as one compiled loop over its points.

Part of emission (`emit`). With ``--target numba``, the float twins of `floats` are compiled by
``numba.njit``, and each of ``forward`` and ``gradient`` gets a kernel, ``_gradient_at_points``,
that runs its twin at every point of the (flattened, broadcast) inputs into result arrays it
makes: one fused loop, no temporary array (`runtime._on_points` shapes them). numba computes
``math`` as NumPy does where Python's ``math`` raises (``error_model="numpy"``: ``1 / 0`` is
inf, ``log(-1)`` NaN), so no call falls back. The twins take the same guards, so the branch
of a ``where`` not taken is never evaluated. A function the twins do not cover (arrays, loops,
branches, helpers) keeps the NumPy module, and its header says so.
"""

from __future__ import annotations

from dataclasses import replace

from gradgen.emit.floats import float_test, takes_floats, twin, twin_call
from gradgen.emit.functions import Function, plain_function, result_names
from gradgen.emit.lines import Line, call_text, wrapped_tuple
from gradgen.ir.graph import Graph
from gradgen.ir.naming import KERNELS, Namer, kernel_name, twin_name

#: The docstring of a twin that numba compiles.
TWIN_DOC = "``{}`` on floats, in math as numba compiles it: 1 / 0 is inf and log(-1) NaN."

#: How the module compiles its twins and kernels (``CACHE``: read from a file, not made in
#: memory, where numba has nowhere to keep the compiled code).
JIT = 'numba.njit(cache=CACHE, error_model="numpy")'


def numba_twinned(function: Function, graph: Graph, reserved: frozenset[str]) -> list[Function]:
    """``function`` as the numba target has it (its twin at each point, in a compiled loop),
    the twin and the kernel; the NumPy ``function`` where ``graph`` has no twin."""
    if not takes_floats(graph):
        return [function]
    names = function.names
    params = [names[var] for var in graph.inputs]
    results = result_names(graph, names, reserved)
    return [_dispatcher(function, params, results),
            replace(twin(function, graph, names, TWIN_DOC), decorator=JIT),
            _kernel(function.name, params, results, reserved)]


def has_kernels(functions: list[Function]) -> bool:
    """Whether a module's functions include a compiled loop (it then imports numba)."""
    return any(function.name in KERNELS for function in functions)


def _dispatcher(function: Function, params: list[str], results: list[str]) -> Function:
    """``function`` calling its twin on floats and its kernel on anything else."""
    call = twin_call(function.name, params, 8)
    head = f"{wrapped_tuple(results, 4, len(' = _on_points('))} = _on_points"
    finish = call_text(head, [kernel_name(function.name), wrapped_tuple(params, 8)])
    return replace(function, preamble=[f"{float_test(params)}:\n        {call}",
                                       *function.preamble], statements=[], finish=finish)


def _kernel(name: str, params: list[str], results: list[str],
            reserved: frozenset[str]) -> Function:
    """The compiled loop: the twin at each point of ``params`` (flat arrays of one size),
    written into ``results``."""
    namer = Namer(reserved | set(params) | set(results))  # its locals, apart from every name
    index, partials = namer.fresh("i"), namer.fresh("partials")
    at = [f"{param}[{index}]" for param in params]
    size = f"{params[0]}.size"
    loop = [*(Line(result, f"np.empty({size})") for result in results),
            Line(None, f"for {index} in range({size}):"),
            *_written(name, [f"{result}[{index}]" for result in results], at, partials)]
    doc = f"``{name}`` at each point of the flat input arrays (of one size)."
    kernel = plain_function(kernel_name(name), params, doc, loop, wrapped_tuple(results, 11))
    return replace(kernel, decorator=JIT)


def _written(name: str, written: list[str], at: list[str], partials: str) -> list[Line]:
    """The twin's results at one point written into the arrays: ``f[i] = ...``, or for a
    gradient ``f[i], partials = ...`` and the partials after it."""
    call = f"{twin_name(name)}({', '.join(at)})"
    if name == "forward":
        return [Line(written[0], call, None, 1)]
    return [Line(f"{written[0]}, {partials}", call, None, 1),
            Line(wrapped_tuple(written[1:], 8), partials, None, 1)]
