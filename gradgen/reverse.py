"""Reverse mode: forward `Graph` → gradient `Graph`, by rote transformation.

The gradient graph keeps every forward edge (forward values are reused, never recomputed),
then walks the active edges in reverse topological order, asks each primitive's adjoint rule
for the contributions to its inputs, and sums contributions where a node fans out (the
multivariate chain rule). Only edges on a path from a requested input to the output are
visited (activity analysis); a requested input that cannot reach the output gets an exact 0.

Outputs of the gradient graph: the value, then one partial per requested input.

NaN safety of ``where``: a value computed only for one branch of a ``where`` may be inf or NaN
where that branch is not taken (``where(x > 0, log(x), 0)`` at 0). Its adjoint there is zero
times that, NaN. So each contribution leaving such a guarded region is masked with the
branch's condition, ``where(c, contribution, 0)``: the branch not taken adds an exact zero.
"""

from __future__ import annotations

from gradgen.builder import GraphBuilder, give_hint
from gradgen.ir import Edge, Graph, Var, consumers
from gradgen.naming import adjoint_name
from gradgen.primitives import REGISTRY

Guard = frozenset[tuple[Var, bool]]


def reverse_mode(graph: Graph, wrt: tuple[str, ...] | None = None) -> Graph:
    """The gradient program of a one-output graph with respect to inputs ``wrt`` (all if None)."""
    (output,) = graph.outputs
    targets = _select_inputs(graph, wrt)
    active = _active_edges(graph, targets, output)
    builder = GraphBuilder()
    builder.edges.extend(graph.edges)
    adjoints = {output: builder.const(1.0)}
    guards = _branch_guards(active, targets)
    order = {edge.output: index for index, edge in enumerate(graph.edges)}
    for edge in reversed(active):
        _backpropagate(builder, edge, adjoints, guards, order)
    builder.origin = None
    partials = tuple(adjoints.get(var) or builder.const(0.0) for var in targets)
    names = (graph.name,) + tuple(adjoint_name(var.name) or "" for var in targets)
    return graph.replace(edges=tuple(builder.edges), outputs=(output,) + partials,
                         output_names=names)


def _select_inputs(graph: Graph, wrt: tuple[str, ...] | None) -> tuple[Var, ...]:
    if wrt is None:
        return graph.inputs
    by_name = {var.name: var for var in graph.inputs}
    return tuple(by_name[name] for name in wrt)


def _active_edges(graph: Graph, targets: tuple[Var, ...], output: Var) -> list[Edge]:
    """Edges whose output depends differentiably on a target and reaches the output."""
    varied = set(targets)
    for edge in graph.edges:
        if REGISTRY[edge.prim].adjoint and any(v in varied for v in edge.inputs):
            varied.add(edge.output)
    useful = {output}
    for edge in reversed(graph.edges):
        if edge.output in useful:
            useful.update(edge.inputs)
    return [e for e in graph.edges if e.output in varied and e.output in useful]


def _backpropagate(builder: GraphBuilder, edge: Edge, adjoints: dict[Var, Var],
                   guards: dict[Var, Guard], order: dict[Var, int]) -> None:
    """Add ``edge``'s contributions to the adjoints of its inputs."""
    g = adjoints.get(edge.output)
    if g is None:
        return
    builder.origin = edge
    rule = REGISTRY[edge.prim].adjoint
    contributions = rule(builder, g, edge.output, *edge.inputs)
    for var, contribution in zip(edge.inputs, contributions):
        if contribution is None or var.is_const:
            continue
        outer = guards.get(edge.output, frozenset()) - guards.get(var, frozenset())
        _accumulate(builder, var, _mask(builder, contribution, outer, order), adjoints)


def _mask(builder: GraphBuilder, contribution: Var, guard: Guard,
          order: dict[Var, int]) -> Var:
    """``contribution`` where every branch condition of ``guard`` holds, exactly 0 elsewhere."""
    if not guard:  # the common case: no ``where`` in the way
        return contribution
    zero = builder.const(0.0)
    for condition, taken in sorted(guard, key=lambda pair: (order[pair[0]], pair[1])):
        pair = (contribution, zero) if taken else (zero, contribution)
        contribution = builder.where(condition, *pair)
    return contribution


def _accumulate(builder: GraphBuilder, var: Var, contribution: Var,
                adjoints: dict[Var, Var]) -> None:
    name = adjoint_name(var.name)
    previous = adjoints.get(var)
    if previous is None:
        give_hint(contribution, name)
        adjoints[var] = contribution
    else:
        adjoints[var] = builder.emit("add", (previous, contribution), name)


def _branch_guards(active: list[Edge], targets: tuple[Var, ...]) -> dict[Var, Guard]:
    """For each active node, the ``where`` branch conditions under which alone it is used.

    Visited in reverse order, so a node's consumers all have their guards before it does.
    """
    uses = consumers(Graph("", (), tuple(active), ()))
    guards: dict[Var, Guard] = {}
    for edge in reversed(active):
        guards[edge.output] = _common_guard(edge.output, uses.get(edge.output, ()), guards)
    for var in targets:
        guards[var] = frozenset()  # an input's adjoint is a result: masked in full, never later
    return guards


def _common_guard(var: Var, uses: list[Edge], guards: dict[Var, Guard]) -> Guard:
    common: Guard | None = None
    for edge in uses:
        guard = guards[edge.output]
        if edge.prim == "where" and var is not edge.inputs[0]:
            condition, then, orelse = edge.inputs
            if (var is then) != (var is orelse):
                guard = guard | {(condition, var is then)}
        common = guard if common is None else common & guard
    return common or frozenset()
