"""An IR pass, after `optimize`: loop-invariant statements hoisted out of loop bodies.

A body's edge whose inputs are all constants, the loop's invariants or values hoisted before it
is computed once before the loop (``log_A.T`` in the HMM), and the body reads its value as one
more invariant. The loop may run no step at all, so only primitives that never raise on inputs
of the shapes their rule accepts are moved (`Primitive.never_raises`); nothing that makes a
fresh array, and no block. A branch's sides and a helper's body keep their statements (a side
runs only when chosen); loops in them are hoisted within them. Bodies are hoisted from the
inside out, one nesting level per call, bounded by the lowering's `MAX_NESTING`.
"""

from __future__ import annotations

from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var, has_blocks, subgraphs
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.loops import LoopParts, loop_parts


def hoist_invariants(graph: Graph) -> Graph:
    """``graph`` with each loop's invariant statements computed before the loop."""
    return _Hoisting().run(graph)


class _Hoisting:
    """One call of the pass. A graph held by several edges (a helper called twice) is hoisted
    once, so that the edges go on holding one graph (graphs are hashed by identity); the memo
    lives as long as the call."""

    def __init__(self) -> None:
        self.done: dict[Graph, Graph] = {}

    def run(self, graph: Graph) -> Graph:
        if not has_blocks(graph):
            return graph
        edges: list[Edge] = []
        for edge in map(self.with_hoisted_bodies, graph.edges):
            edges += _hoisted(edge) if edge.prim == "loop" else [edge]
        return graph.replace(edges=tuple(edges))

    def with_hoisted_bodies(self, edge: Edge) -> Edge:
        """``edge`` with the loops in the graphs it holds hoisted."""
        if not subgraphs(edge):
            return edge
        params = tuple((key, self.once(value) if isinstance(value, Graph) else value)
                       for key, value in edge.params)
        return Edge(edge.prim, edge.inputs, edge.outputs, params, edge.origin)

    def once(self, graph: Graph) -> Graph:
        """``graph`` hoisted, the first time it is met."""
        if graph not in self.done:
            self.done[graph] = self.run(graph)
        return self.done[graph]


def _hoisted(edge: Edge) -> list[Edge]:
    """The loop ``edge`` preceded by the statements moved out of its body."""
    parts = loop_parts(edge)
    moved = _invariant_edges(parts)
    if not moved:
        return [edge]
    outer = dict(zip(parts.invariant_in, parts.invariants))
    before = [_moved_out(inner, outer, parts.body) for inner in moved]
    return [*before, _loop_reading(edge, parts, moved, outer)]


def _moved_out(inner: Edge, outer: dict[Var, Var], body: Graph) -> Edge:
    """A body's ``inner`` edge as a statement before the loop, reading the values outside it
    (``outer``: a body's value -> the one outside, to which its new output is added, named by
    its hint in the ``body``)."""
    output = inner.output
    outer[output] = Var(body.hint(output), output.shape, output.dtype)
    inputs = tuple(outer.get(var, var) for var in inner.inputs)
    return Edge(inner.prim, inputs, (outer[output],), inner.params, inner.origin)


def _invariant_edges(parts: LoopParts) -> list[Edge]:
    """The body's edges that read only constants, invariants and edges moved before them."""
    invariant = set(parts.invariant_in)
    results = set(parts.body.outputs)
    moved = []
    for edge in parts.body.edges:
        if (_movable(edge) and edge.output not in results
                and all(var.is_const or var in invariant for var in edge.inputs)):
            moved.append(edge)
            invariant.add(edge.output)
    return moved


def _movable(edge: Edge) -> bool:
    return REGISTRY[edge.prim].never_raises  # no block, nothing fresh: those are neither


def _loop_reading(edge: Edge, parts: LoopParts, moved: list[Edge],
                  outer: dict[Var, Var]) -> Edge:
    """The loop without the ``moved`` edges, reading the values its body still uses as
    invariants."""
    gone = set(moved)
    kept = tuple(body_edge for body_edge in parts.body.edges if body_edge not in gone)
    used = {var for body_edge in kept for var in body_edge.inputs} | set(parts.body.outputs)
    read = [inner.output for inner in moved if inner.output in used]
    body = parts.body.replace(inputs=(*parts.body.inputs, *read), edges=kept)
    params = dict(edge.params)
    params["body"] = body
    inputs = (*edge.inputs, *(outer[var] for var in read))
    return Edge("loop", inputs, edge.outputs, as_params(params), edge.origin)
