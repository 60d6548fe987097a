"""Differentiation, forward mode of a helper call (`tangent_call`): a call of the helper's jvp.

The jvp of a called graph (a helper of the source, or in a gradient program its recording
version or its vjp) is the graph's own tangent program: it takes the arguments, then the
tangents of those that have one, and returns the graph's outputs, then the tangents of those
that depend on them. It is made once per graph and set of arguments with tangents in a pass, and
printed as a function of the module (role ``jvp``), named ``<name>_jvp`` apart from every other
function the program calls.
"""

from __future__ import annotations

from gradgen.differentiate.forward_sweep import (
    DIFFERENTIABLE,
    Tangents,
    tangent_body,
    tangent_inputs,
    tangent_results,
)
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, subgraphs
from gradgen.ir.naming import module_globals, python_name
from gradgen.ir.primitives.calls import call_params


def tangent_call(level: Tangents, edge: Edge) -> None:
    """Emit ``edge`` as a call of the helper's jvp, and give its results their tangents; as it
    is, if no argument that is a number (or a tape) has a tangent, or no result has one."""
    graph = dict(edge.params)["graph"]
    dotted = tuple(k for k, (arg, var) in enumerate(zip(edge.inputs, graph.inputs))
                   if arg in level.tangents and var.dtype in DIFFERENTIABLE)
    jvp, results = helper_jvp(level, graph, dotted) if dotted else (graph, ())
    if not results:
        level.builder.edges.append(edge)
        return
    outputs = tuple(edge.outputs[k] for k in results)
    dots = tangent_results(level, outputs)
    arguments = (*edge.inputs, *(level.tangents[edge.inputs[k]] for k in dotted))
    level.builder.edges.append(Edge("call", arguments, (*edge.outputs, *dots),
                                    as_params(call_params(jvp, "jvp")), edge.origin))
    level.tangents.update(zip(outputs, dots))


def helper_jvp(level: Tangents, graph: Graph, dotted: tuple[int, ...]
               ) -> tuple[Graph, tuple[int, ...]]:
    """The jvp of ``graph`` along its inputs at positions ``dotted``, and the positions of
    its outputs that it gives tangents for; made at its first call in this pass."""
    key = (graph, dotted)
    if key not in level.jvps:
        level.jvps[key] = _derive_jvp(level, graph, dotted)
    return level.jvps[key]


def _derive_jvp(level: Tangents, graph: Graph, dotted: tuple[int, ...]
                ) -> tuple[Graph, tuple[int, ...]]:
    """The called graph pushed forward one level down (see `helper_jvp`): it gives the
    tangents of the outputs that have one (numbers, tapes)."""
    targets = tuple(graph.inputs[k] for k in dotted)
    dots = tangent_inputs(targets, graph.hints)
    wanted = tuple(var for var in graph.outputs if var.dtype in DIFFERENTIABLE)
    inner = tangent_body(level, graph, targets, dots, wanted)
    results = tuple(k for k, var in enumerate(graph.outputs)
                    if var in inner.tangents and var.dtype in DIFFERENTIABLE)
    outputs = (*graph.outputs, *(inner.tangents[graph.outputs[k]] for k in results))
    jvp = Graph(_jvp_name(level, graph), (*graph.inputs, *dots), tuple(inner.builder.edges),
                outputs, graph.source, hints=inner.builder.hints)
    return jvp, results


def _jvp_name(level: Tangents, graph: Graph) -> str:
    """``<name>_jvp``, apart from the module's names and every function the program calls."""
    name = python_name(f"{graph.name}_jvp", frozenset(level.taken) | module_globals())
    level.taken.add(name)
    return name


def called_names(graph: Graph) -> set[str]:
    """The names of the functions ``graph`` calls, at any depth (each called graph met once),
    and its own with its gradient's (``f``, ``f_gradient``): names a jvp may not take."""
    names, pending, seen = {graph.name, f"{graph.name}_gradient"}, [graph], set()
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            names.update(dict(edge.params)["name"] for edge in current.edges
                         if edge.prim == "call")
            pending += [inner for edge in current.edges for inner in subgraphs(edge)]
    return names
