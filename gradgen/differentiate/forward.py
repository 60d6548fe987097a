"""Differentiation, forward mode: forward `Graph` → tangent (JVP) `Graph`, by rote transformation.

The tangent graph keeps every forward edge, then walks the active edges in topological order
and gives each one's output a tangent, ``y_dot = sum_i (dy/dx_i) * x_i_dot`` over the inputs that
have one (the chain rule, pushed forward). Its inputs are the forward inputs, then one tangent
input ``<name>_dot`` per requested input; its outputs are the value and the directional
derivative ``<f>_dot`` along the given tangents. An output that no requested input reaches gets
an exact 0. Activity is reverse mode's: an edge is active if its output depends differentiably
on a requested input (a primitive with no adjoint rule stops dependence) and reaches the output.

Where the tangent rules come from: **they are derived from the registry's adjoint rules**, so
each primitive's derivative is written down once. An adjoint rule computes
``x_i_bar = (dy/dx_i) * g`` and is linear in ``g``; called with the seed ``g = 1`` it builds the
partial ``dy/dx_i`` as IR, which is then multiplied by ``x_i_dot`` (the simplifier removes the
``1 *``). This relies on every primitive being elementwise, so that the partial is a diagonal
Jacobian and transposing it (reverse) or not (forward) is the same product; a primitive that
mixes elements (matmul, a reduction) will need a tangent rule of its own.

NaN safety of ``where`` (select before multiply): a value computed only for one branch of a
``where`` may be inf or NaN where that branch is not taken (``where(x > 0, log(x), 0)`` at 0),
and so may its tangent. The rules that route ``g`` by a condition build the route themselves:
``where(c, g, 0)`` (``where``, ``max``, ``min``) or ``g * where(c, 1, 0)`` (``relu``, ``abs``).
With ``g = 1`` such a partial is a selection ``where(c, 1, 0)``, and multiplying it by an inf
tangent would give ``0 * inf = NaN`` where the branch is not taken. So the product is taken
*inside* a selection that the rule built, ``where(c, x_dot, 0)`` (a factor ``1 *`` that the rule
built is looked through first), and a partial that is the constant 0 contributes nothing: the
branch not taken adds an exact 0 (reverse mode's guards do this for ``where`` only). Only edges the
rule itself built are looked into, never forward values; a tangent of 0 times an infinite
partial elsewhere is still NaN, as in reverse mode. A new rule that selects must build its
selection with ``where`` to be covered. The rules' by-products that the tangent does not use
(partials of inputs that have no tangent) are dropped at once.
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
    """Add the tangent of ``edge``'s output: the partials from its adjoint rule at ``g = 1``."""
    start = len(builder.edges)
    rule = REGISTRY[edge.prim].adjoint
    partials = rule(builder, builder.const(1.0), edge.output, *edge.inputs)
    built = {e.output: e for e in builder.edges[start:]}
    total = _sum_of_terms(builder, edge.inputs, partials, tangents, built)
    _drop_dead(builder, start, total)
    if total is not None:
        builder.hint(total, tangent_name(builder.hint_of(edge.output)))
        tangents[edge.output] = total


def _sum_of_terms(builder: GraphBuilder, inputs: tuple[Var, ...],
                  partials: tuple[Var | None, ...], tangents: dict[Var, Var],
                  built: dict[Var, Edge]) -> Var | None:
    """The sum of ``partial * x_dot`` over the inputs that have a tangent; None for 0."""
    total: Var | None = None
    for var, partial in zip(inputs, partials):
        dot = tangents.get(var)
        if partial is None or dot is None:
            continue
        term = _times(builder, partial, dot, built)
        if term is not None:
            total = term if total is None else builder.add(total, term)
    return total


def _times(builder: GraphBuilder, partial: Var, dot: Var, built: dict[Var, Edge]) -> Var | None:
    """``partial * dot``, taken inside the selections the rule built; None for an exact 0.

    Recursion here follows the few edges of one rule's partial, never the graph.
    """
    if _is_number(partial, 0.0):
        return None
    if _is_number(partial, 1.0):
        return dot
    edge = built.get(partial)
    factor = _factor_of_one(edge, partial)
    if factor is not None:
        return _times(builder, factor, dot, built)
    if edge is not None and edge.prim == "where":
        return _selected(builder, edge, dot, built)
    return builder.mul(partial, dot)


def _factor_of_one(edge: Edge | None, partial: Var) -> Var | None:
    """``f`` where the rule built ``partial`` as ``1 * f`` or ``f * 1`` of one shape; else None."""
    if edge is None or edge.prim != "mul":
        return None
    first, second = edge.inputs
    if not (_is_number(first, 1.0) or _is_number(second, 1.0)):
        return None
    factor = second if _is_number(first, 1.0) else first
    return factor if factor.shape == partial.shape else None


def _selected(builder: GraphBuilder, edge: Edge, dot: Var,
              built: dict[Var, Edge]) -> Var | None:
    """For the partial ``where(c, a, b)``: ``where(c, a * dot, b * dot)``; None if both are 0."""
    condition, then, orelse = edge.inputs
    zero = builder.const(0.0)
    then_dot = _times(builder, then, dot, built)
    orelse_dot = _times(builder, orelse, dot, built)
    if then_dot is None and orelse_dot is None:
        return None
    return builder.where(condition, then_dot or zero, orelse_dot or zero)


def _is_number(var: Var, value: float) -> bool:
    return var.is_const and var.symbol is None and var.value == value


def _drop_dead(builder: GraphBuilder, start: int, result: Var | None) -> None:
    """Remove the edges built since ``start`` that ``result`` does not use (rule by-products)."""
    live = {result}
    kept = []
    for edge in reversed(builder.edges[start:]):
        if edge.output in live:
            kept.append(edge)
            live.update(edge.inputs)
    builder.edges[start:] = reversed(kept)
