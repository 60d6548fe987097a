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

from gradgen.differentiate.sweep import active_edges
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
    targets = select_inputs(forward, wrt)
    tangent_inputs = _tangent_inputs(targets)
    builder = GraphBuilder(forward.hints)
    builder.edges.extend(forward.edges)
    tangents = _pushed_forward(builder, forward, dict(zip(targets, tangent_inputs)), output)
    output_dot = tangents.get(output) or builder.const(0.0)
    return forward.replace(inputs=forward.inputs + tangent_inputs, edges=tuple(builder.edges),
                           outputs=(output, output_dot),
                           output_names=(forward.name, f"{forward.name}_dot"),
                           hints=builder.hints)


def _tangent_inputs(targets: tuple[Var, ...]) -> tuple[Var, ...]:
    """An input ``<name>_dot`` for the tangent of each of ``targets``."""
    return tuple(Var(tangent_name(var.name), var.shape, var.dtype) for var in targets)


def _pushed_forward(builder: GraphBuilder, forward: Graph, tangents: dict[Var, Var],
                    output: Var) -> dict[Var, Var]:
    """The ``tangents`` of the inputs, and of each active edge's output in topological order."""
    for edge in active_edges(forward, tuple(tangents), output):
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
