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

Blocks are pushed forward as their kind says (`BLOCKS`), each emitted in its place computing its
results and their tangents together: a loop carries the tangents along (`forward_loops`), a
branch's sides compute theirs (`forward_branches`), a helper call calls the helper's jvp
(`forward_calls`). Each pushes its graphs forward with the same sweep (`forward_sweep`), one
level down. Where there is no block, the tangent edges follow all the forward edges.
"""

from __future__ import annotations

from gradgen.differentiate.forward_branches import tangent_branch
from gradgen.differentiate.forward_calls import called_names, tangent_call
from gradgen.differentiate.forward_loops import tangent_loop
from gradgen.differentiate.forward_sweep import (
    TangentBlock,
    Tangents,
    push_forward,
    tangent_inputs,
)
from gradgen.differentiate.sweep import zeros_of
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Graph, Var, select_inputs
from gradgen.ir.naming import tangent_name

#: How forward mode takes each kind of block: emitted in its place with its results' tangents.
BLOCKS: dict[str, TangentBlock] = {"loop": tangent_loop, "cond": tangent_branch,
                                   "call": tangent_call}


def jvp_graph(forward: Graph, wrt: tuple[str, ...] | None = None) -> Graph:
    """The Jacobian-vector-product program of a one-output graph along inputs ``wrt``.

    Inputs: ``forward.inputs``, then one tangent per input in ``wrt`` (all inputs if None), in
    that order. Outputs: the value and its tangent, named ``f`` and ``f_dot`` (zeros of the
    value's shape where no tangent reaches it).
    """
    (output,) = forward.outputs
    builder, tangent_inputs, tangents = pushed_forward(forward, wrt)
    output_dot = tangents.get(output) or zeros_of(builder, output, builder.const(0.0))
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
    """A builder holding ``graph``'s edges (its active blocks computing tangents too) and the
    tangent edges of its outputs along inputs ``wrt``, the tangent inputs, and the tangent of
    each node that has one."""
    targets = select_inputs(graph, wrt)
    dots = tangent_inputs(targets, graph.hints)
    level = Tangents(GraphBuilder(graph.hints), BLOCKS, dict(zip(targets, dots)),
                     taken=called_names(graph))
    push_forward(level, graph.edges, graph.outputs)
    return level.builder, dots, level.tangents
