"""Differentiation, forward mode: forward `Graph` → tangent (JVP) `Graph`, by rote transformation.

The tangent graph keeps every forward edge, then walks the active edges in topological order
and gives each one's output a tangent, ``y_dot = sum_i (dy/dx_i) * x_i_dot`` over the inputs that
have one (the chain rule, pushed forward). Its inputs are the forward inputs, then one tangent
input ``<name>_dot`` per requested input; its outputs are the value and the directional
derivative ``<f>_dot`` along the given tangents. An output that no requested input reaches gets
an exact 0. Activity is reverse mode's: an edge is active if its output depends differentiably
on a requested input (a primitive with no adjoint rule stops dependence) and reaches the output.

The tangent rules are the registry's: each primitive's entry holds its tangent rule (its JVP)
beside its adjoint rule, and each is tested against central differences and against the other
(``<u, J v> = <J^T u, v>``). A rule gives the output's tangent from the inputs' tangents (None
for an input that has none, an exact 0), builds nothing the tangent does not use, and selects
rather than multiplies where a value is used in one branch only (``where(c, x_dot, 0)``): the
branch not taken adds an exact 0 even where its tangent is inf or NaN. Outside a selection a
tangent of 0 times an infinite partial is still NaN, as in reverse mode.
"""

from __future__ import annotations

from gradgen.differentiate.sweep import activity
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, select_inputs
from gradgen.ir.naming import tangent_name
from gradgen.ir.primitives import REGISTRY


def jvp_graph(forward: Graph, wrt: tuple[str, ...] | None = None) -> Graph:
    """The Jacobian-vector-product program of a one-output graph along inputs ``wrt``.

    Inputs: ``forward.inputs``, then one tangent per input in ``wrt`` (all inputs if None), in
    that order. Outputs: the value and its tangent, named ``f`` and ``f_dot``.
    """
    (output,) = forward.outputs
    builder, tangent_inputs, tangents = pushed_forward(forward, wrt)
    output_dot = tangents.get(output) or builder.const(0.0)
    return forward.replace(inputs=forward.inputs + tangent_inputs, edges=tuple(builder.edges),
                           outputs=(output, output_dot),
                           output_names=(forward.name, f"{forward.name}_dot"),
                           hints=builder.hints)


def hvp_graph(gradient: Graph, wrt: tuple[str, ...] | None = None) -> Graph:
    """The Hessian-vector-product program of a gradient program (Pearlmutter's trick): forward
    mode over it, along inputs ``wrt`` (those the gradient is taken with respect to).

    Inputs: ``gradient.inputs``, then one tangent per input in ``wrt``. Outputs: the tangent
    of each partial (the Hessian times the tangents, one per input in ``wrt``), named
    ``<x>_bar_dot``; an exact 0 where no tangent reaches a partial.
    """
    builder, tangent_inputs, tangents = pushed_forward(gradient, wrt)
    partials = gradient.outputs[1:]
    dots = tuple(tangents.get(partial) or builder.const(0.0) for partial in partials)
    names = tuple(tangent_name(name) or "" for name in gradient.output_names[1:])
    return gradient.replace(inputs=gradient.inputs + tangent_inputs, edges=tuple(builder.edges),
                            outputs=dots, output_names=names, hints=builder.hints)


def pushed_forward(graph: Graph, wrt: tuple[str, ...] | None
                   ) -> tuple[GraphBuilder, tuple[Var, ...], dict[Var, Var]]:
    """A builder holding ``graph``'s edges and then the tangent edges of its outputs along
    inputs ``wrt``, the tangent inputs, and the tangent of each node that has one."""
    targets = select_inputs(graph, wrt)
    tangent_inputs = _tangent_inputs(targets)
    builder = GraphBuilder(graph.hints)
    builder.edges.extend(graph.edges)
    tangents = _pushed_forward(builder, graph, dict(zip(targets, tangent_inputs)), graph.outputs)
    return builder, tangent_inputs, tangents


def _tangent_inputs(targets: tuple[Var, ...]) -> tuple[Var, ...]:
    """An input ``<name>_dot`` for the tangent of each of ``targets``."""
    return tuple(Var(tangent_name(var.name), var.shape, var.dtype) for var in targets)


def _pushed_forward(builder: GraphBuilder, graph: Graph, tangents: dict[Var, Var],
                    outputs: tuple[Var, ...]) -> dict[Var, Var]:
    """The ``tangents`` of the inputs, and of each active edge's output in topological order."""
    for edge in activity(graph.edges, tuple(tangents), outputs)[0]:
        builder.origin = edge
        _push_forward(builder, edge, tangents)
    builder.origin = None
    return tangents


def _push_forward(builder: GraphBuilder, edge: Edge, tangents: dict[Var, Var]) -> None:
    """Add the tangent of ``edge``'s output, by its primitive's tangent rule."""
    dots = tuple(map(tangents.get, edge.inputs))
    rule = REGISTRY[edge.prim].tangent
    y_dot = rule(builder, dots, edge.output, *edge.inputs, **dict(edge.params))
    if y_dot is not None:
        builder.hint(y_dot, tangent_name(builder.hint_of(edge.output)))
        tangents[edge.output] = y_dot
