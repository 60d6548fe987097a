"""Reverse mode: forward `Graph` → gradient `Graph`, by rote transformation.

The gradient graph keeps every forward edge (forward values are reused, never recomputed),
then walks the active edges in reverse topological order, asks each primitive's adjoint rule
for the contributions to its inputs, and sums contributions where a node fans out (the
multivariate chain rule). Only edges on a path from a requested input to the output are
visited (activity analysis); a requested input that cannot reach the output gets an exact 0.

Outputs of the gradient graph: the value, then one partial per requested input.

NaN safety of ``where``: a value computed only for one branch of a ``where`` may be inf or NaN
where that branch is not taken (``where(x > 0, log(x), 0)`` at 0). Its adjoint there is zero
times that, NaN. So every node gets a *guard*, a condition node saying where its value is used
at all (``c`` inside the first branch of ``where(c, a, b)``, ``not c`` inside the second, ``and``
for nested branches, ``or`` over a node's several uses, none for a node used unconditionally),
and a contribution leaving a guarded region is masked, ``where(guard, contribution, 0)``: the
branch not taken adds an exact zero.
"""

from __future__ import annotations

from gradgen.builder import GraphBuilder, give_hint
from gradgen.ir import Edge, Graph, Var, consumers, select_inputs
from gradgen.naming import adjoint_name
from gradgen.primitives import REGISTRY

Guard = Var | None  # a condition node; None: used unconditionally


def reverse_mode(graph: Graph, wrt: tuple[str, ...] | None = None,
                 cotangent: bool = False) -> Graph:
    """The gradient program of a one-output graph with respect to inputs ``wrt`` (all if None).

    With ``cotangent``, the program is the vector-Jacobian product instead: it takes one more
    input, the cotangent (the output's adjoint, of the output's shape), and its outputs are the
    value and the cotangent pulled back to each input.
    """
    (output,) = graph.outputs
    targets = select_inputs(graph, wrt)
    active = active_edges(graph, targets, output)
    builder = GraphBuilder()
    builder.edges.extend(graph.edges)
    seed = Var("cotangent", output.shape) if cotangent else builder.const(1.0)
    adjoints = {output: seed}
    guards = _branch_guards(builder, active)
    for edge in reversed(active):
        _backpropagate(builder, edge, adjoints, guards)
    builder.origin = None
    partials = tuple(adjoints.get(var) or builder.const(0.0) for var in targets)
    names = (graph.name,) + tuple(adjoint_name(var.name) or "" for var in targets)
    inputs = graph.inputs + ((seed,) if cotangent else ())
    return graph.replace(inputs=inputs, edges=tuple(builder.edges),
                         outputs=(output,) + partials, output_names=names)


def active_edges(graph: Graph, targets: tuple[Var, ...], output: Var) -> list[Edge]:
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
                   guards: dict[Var, Guard]) -> None:
    """Add ``edge``'s contributions to the adjoints of its inputs."""
    g = adjoints.get(edge.output)
    if g is None:
        return
    builder.origin = edge
    prim = REGISTRY[edge.prim]
    guard = guards.get(edge.output)
    if guard is not None and not prim.elementwise:
        # a contribution of a matmul or a reduction has another shape than the guard: mask the
        # adjoint going in instead (its local derivatives are linear, not inf or NaN)
        g = builder.where(guard, g, builder.const(0.0))
        guard = None
    contributions = prim.adjoint(builder, g, edge.output, *edge.inputs, **dict(edge.params))
    for var, contribution in zip(edge.inputs, contributions):
        if contribution is None or var.is_const:
            continue
        if guard is not None and guard is not guards.get(var):
            contribution = builder.where(guard, contribution, builder.const(0.0))
        _accumulate(builder, var, unbroadcast(builder, contribution, var.shape), adjoints)


def unbroadcast(builder: GraphBuilder, contribution: Var, shape: tuple) -> Var:
    """``contribution`` summed back to ``shape``, the shape of the input it is for: over the
    leading axes that broadcasting added and over the axes where the input has length 1."""
    if contribution.shape == shape:
        return contribution
    lead = len(contribution.shape) - len(shape)
    stretched = tuple(lead + axis for axis, dim in enumerate(shape)
                      if dim == 1 and contribution.shape[lead + axis] != 1)
    if stretched:
        contribution = builder.sum(contribution, axis=stretched, keepdims=True)
    if lead:
        contribution = builder.sum(contribution, axis=None if not shape else tuple(range(lead)),
                                   keepdims=False)
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


def _branch_guards(builder: GraphBuilder, active: list[Edge]) -> dict[Var, Guard]:
    """The guard of each active node, built as condition nodes after the forward edges.

    Visited in reverse order, so a node's consumers all have their guards before it does.
    Inputs are not guarded: their adjoints are results, masked before they arrive.
    """
    uses = consumers(Graph("", (), tuple(active), ()))
    guards: dict[Var, Guard] = {}
    for edge in reversed(active):
        guards[edge.output] = _union_of_uses(builder, edge.output, uses.get(edge.output, ()),
                                             guards)
    return guards


def _union_of_uses(builder: GraphBuilder, var: Var, uses: list[Edge],
                   guards: dict[Var, Guard]) -> Guard:
    union: Guard = None
    for edge in uses:
        guard = _guard_of_use(builder, var, edge, guards[edge.output])
        if guard is None:
            return None  # one unconditional use makes the node's value matter everywhere
        union = guard if union is None or union is guard else builder.emit("or", (union, guard))
    return union


def _guard_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    """Where ``var``'s value matters through this one use by ``edge``.

    A value broadcast into a larger guard (a scalar inside a branch over an array condition)
    matters wherever any entry does: it is treated as used unconditionally, and contributions
    are masked where they enter it instead.
    """
    guard = _branch_of_use(builder, var, edge, outer)
    return guard if guard is None or guard.shape == var.shape else None


def _branch_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    if edge.prim != "where" or var is edge.inputs[0]:
        return outer
    condition, then, orelse = edge.inputs
    if then is orelse:
        return outer
    branch = condition if var is then else builder.emit("not", (condition,))
    return branch if outer is None else builder.emit("and", (outer, branch))
