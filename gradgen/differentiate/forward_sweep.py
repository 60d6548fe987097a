"""Differentiation, forward mode's sweep: a list of edges → the same edges with their tangents.

`push_forward` appends one level's edges (a graph's, a body's) to a builder and gives the
outputs of its active edges their tangents: an ordinary edge by its primitive's tangent rule
(after the forward edges, as they come), a block by its kind's rule (`Tangents.blocks`), which
emits the block in its place computing its results and their tangents together: a loop carries
the tangents along, a branch's sides compute theirs, a call calls the helper's jvp. A block's
graph is pushed forward by the same sweep one level down (`tangent_body`); blocks nest at most
`loops.MAX_NESTING` deep, and helpers as deep as the source calls them.

Activity is reverse mode's (`sweep.activity`): an edge is active if an output depends
differentiably on a value that has a tangent and reaches the level's outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gradgen.differentiate.sweep import activity
from gradgen.ir.builder import GraphBuilder, result_like
from gradgen.ir.graph import Edge, Graph, Var, hint_of
from gradgen.ir.naming import tangent_name
from gradgen.ir.primitives import REGISTRY

#: The dtypes of the values that may have tangents: numbers, and tapes (lists of numbers or of
#: tapes, one entry per step: a tape's tangent is the tape of the tangents).
DIFFERENTIABLE = ("float", "tape")

#: How forward mode takes one kind of block: emit it in its place with its results' tangents.
TangentBlock = Callable[["Tangents", Edge], None]


@dataclass
class Tangents:
    """One level of a forward pass (a graph, or one graph of a block): the builder its edges go
    to, how its blocks are pushed forward, the tangent of each node that has one, and the
    nodes on a path from a tangent to an output. ``jvps`` (the helpers' jvps, made once per
    pass) and ``taken`` (the names of the functions the program calls) are the pass's."""

    builder: GraphBuilder
    blocks: Mapping[str, TangentBlock]
    tangents: dict[Var, Var] = field(default_factory=dict)
    on_path: set[Var] = field(default_factory=set)
    jvps: dict[tuple[Graph, tuple[int, ...]], tuple[Graph, tuple[int, ...]]] = field(
        default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def inner(self, graph: Graph) -> Tangents:
        """A level for ``graph``, a graph of one of this level's blocks (whose hints its nodes
        keep), with a builder of its own."""
        return Tangents(GraphBuilder(graph.hints), self.blocks, jvps=self.jvps, taken=self.taken)


def push_forward(level: Tangents, edges: tuple[Edge, ...], outputs: tuple[Var, ...]) -> None:
    """Append ``edges`` to the level's builder, each active block as its kind's rule emits it,
    and the tangents of the other active edges after them (those before a block first)."""
    active, _, level.on_path = activity(edges, tuple(level.tangents), outputs)
    blocks, pending = set(active), []
    for edge in edges:
        rule = level.blocks.get(edge.prim) if edge in blocks else None
        if rule is None:
            level.builder.edges.append(edge)
            pending += [edge] if edge in blocks else []
        else:
            _push_edges(level, pending)
            pending = []
            rule(level, edge)
    _push_edges(level, pending)


def _push_edges(level: Tangents, edges: list[Edge]) -> None:
    """The tangents of ``edges`` (ordinary ones), each built under its own ``# tangent of``."""
    for edge in edges:
        level.builder.origin = edge
        _push_edge(level.builder, edge, level.tangents)
    level.builder.origin = None


def _push_edge(builder: GraphBuilder, edge: Edge, tangents: dict[Var, Var]) -> None:
    """Add the tangent of ``edge``'s output, by its primitive's tangent rule (none where no
    input has one: a block's result that depends on a tangent may still have none)."""
    dots = tuple(map(tangents.get, edge.inputs))
    if not any(dots):
        return
    rule = REGISTRY[edge.prim].tangent
    y_dot = rule(builder, dots, edge.output, *edge.inputs, **dict(edge.params))
    if y_dot is not None:
        builder.hint(y_dot, tangent_name(builder.hint_of(edge.output)))
        tangents[edge.output] = y_dot


def tangent_inputs(targets: tuple[Var, ...], hints: Mapping[Var, str]) -> tuple[Var, ...]:
    """An input ``<name>_dot`` for the tangent of each of ``targets`` (named by ``hints``)."""
    return tuple(Var(tangent_name(hint_of(var, hints)), var.shape, var.dtype)
                 for var in targets)


def tangent_body(level: Tangents, graph: Graph, targets: tuple[Var, ...],
                 dots: tuple[Var, ...], outputs: tuple[Var, ...]) -> Tangents:
    """``graph`` (a block's) pushed forward one level down, its inputs ``targets`` having the
    tangents ``dots`` (inputs of its new graph), toward its ``outputs``: the inner level, whose
    builder holds the edges."""
    inner = level.inner(graph)
    inner.tangents.update(zip(targets, dots))
    push_forward(inner, graph.edges, outputs)
    return inner


def varied_in(graph: Graph, targets: tuple[Var, ...]) -> set[Var]:
    """The nodes of ``graph`` that depend differentiably on one of ``targets``."""
    return activity(graph.edges, targets, ())[1]


def tangent_or_zeros(level: Tangents, var: Var) -> Var:
    """The tangent of ``var``, or zeros of its shape where it has none (0 for a number)."""
    dot = level.tangents.get(var)
    if dot is not None:
        return dot
    return level.builder.zeros_like(var) if var.shape else level.builder.const(0.0)


def tangent_results(level: Tangents, results: tuple[Var, ...], dtype: str | None = None
                    ) -> tuple[Var, ...]:
    """Fresh nodes for the tangents of a block's ``results``, named ``<hint>_dot`` (dtype:
    the result's, or ``dtype``, e.g. ``"tape"``)."""
    return tuple(result_like(var, tangent_name(level.builder.hint_of(var)), dtype)
                 for var in results)
