"""Differentiation, reverse mode's guards: where each node's value is used (NaN-safe ``where``).

A value computed only for one branch of a ``where`` may be inf or NaN where that branch is not
taken (``where(x > 0, log(x), 0)`` at 0). Its adjoint there is zero times that, NaN. So every
node gets a *guard*, a condition node saying where its value is used at all (``c`` inside the
first branch of ``where(c, a, b)``, ``not c`` inside the second, ``and`` for nested branches,
``or`` over a node's several uses, none for a node used unconditionally), and a contribution
leaving a guarded region is `masked`, ``where(guard, contribution, 0)``
(`sweep.backpropagate`): the branch not taken adds an exact zero.
"""

from __future__ import annotations

from collections.abc import Iterable

from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, consumers
from gradgen.ir.primitives import REGISTRY

Guard = Var | None  # a condition node; None: used unconditionally


def masked(builder: GraphBuilder, guard: Var, value: Var) -> Var:
    """``value`` where ``guard`` holds, an exact 0 elsewhere (the branch not taken)."""
    return builder.where(guard, value, builder.const(0.0))


def branch_guards(builder: GraphBuilder, active: list[Edge], outputs: set[Var],
                  on_path: set[Var]) -> dict[Var, Guard]:
    """The guard of each output of the ``active`` edges, built as condition nodes after the
    forward edges; an edge's own guard is the union of those of its outputs ``on_path``
    (those an adjoint flows through).

    Visited in reverse order, so a node's consumers all have their guards before it does.
    Inputs are not guarded: their adjoints are results, masked before they arrive. Nor are
    the ``outputs`` (a body's carried values, a side's results): their adjoints come from
    outside, where they matter everywhere.
    """
    uses = consumers(Graph("", (), tuple(active), ()))
    guards: dict[Var, Guard] = {}
    of_edge: dict[Edge, Guard] = {}
    for edge in reversed(active):
        for var in reversed(edge.outputs):
            guards[var] = None if var in outputs else _union_of_uses(
                builder, var, uses.get(var, ()), of_edge)
        of_edge[edge] = _edge_guard(builder, edge, guards, on_path)
    return guards


def _union_of_uses(builder: GraphBuilder, var: Var, uses: list[Edge],
                   of_edge: dict[Edge, Guard]) -> Guard:
    """Where ``var`` matters: where any of its ``uses`` needs it (one unconditional use makes
    its value matter everywhere)."""
    return _union(builder, (_guard_of_use(builder, var, edge, of_edge[edge]) for edge in uses))


def _edge_guard(builder: GraphBuilder, edge: Edge, guards: dict[Var, Guard],
                on_path: set[Var]) -> Guard:
    """Where an active edge's outputs matter: its one output's guard, or the union of those
    of a block's outputs that an adjoint flows through."""
    if len(edge.outputs) == 1:
        return guards[edge.outputs[0]]
    return _union(builder, (guards[var] for var in edge.outputs if var in on_path))


def _union(builder: GraphBuilder, guards: Iterable[Guard]) -> Guard:
    """Where any of ``guards`` holds (one None is the answer: everywhere)."""
    union: Guard = None
    for guard in guards:
        if guard is None:
            return None
        union = guard if union is None or union is guard else builder.emit("or", (union, guard))
    return union


def _guard_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    """Where ``var``'s value matters through this one use by ``edge``.

    A value broadcast into a larger guard (a scalar inside a branch over an array condition),
    or an array used by an operation whose entries mix (a matmul, a softmax, a loop: an entry
    of its output depends on other entries of the input), matters wherever any entry does: it is
    treated as used unconditionally, and contributions are masked where they enter it instead.
    """
    if var.shape and not REGISTRY[edge.prim].elementwise:
        return None  # entries mix (matmul, softmax): the adjoint is masked where it enters
    guard = _branch_of_use(builder, var, edge, outer)
    return guard if guard is None or guard.shape == var.shape else None


def _branch_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    """Where ``var`` matters as an input of ``edge``, whose own guard is ``outer``: in a
    branch of a ``where``, only where that branch is taken."""
    if edge.prim != "where" or var is edge.inputs[0]:
        return outer
    condition, then, orelse = edge.inputs
    if then is orelse:
        return outer
    branch = condition if var is then else builder.emit("not", (condition,))
    return branch if outer is None else builder.emit("and", (outer, branch))
