"""Simplification on the IR: `Graph` → smaller `Graph` computing the same values.

An IR pass in two sweeps: a forward one (`simplify`: constant folding, safe algebraic
identities and common-subexpression elimination, see `gradgen.ir.simplify`), then a backward
one that drops dead edges (those none of whose outputs is read), and a loop's carried values
that nothing reads. Loop bodies, the sides of branches and called helpers are optimized too,
each graph once per call of the pass.
"""

from __future__ import annotations

from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.simplify import Simplifier


def optimize(graph: Graph) -> Graph:
    """Fold, simplify, share and prune ``graph``."""
    return _Optimization().run(graph)


def simplify(graph: Graph) -> Graph:
    """Constant folding, algebraic identities and CSE in one forward sweep (the graphs its
    blocks hold are optimized)."""
    return Simplifier(graph, _Optimization().once).run()


class _Optimization:
    """One call of the pass. A graph held by several edges (a helper called twice) is
    optimized once, so that the edges go on holding one graph (graphs are hashed by identity);
    the memo lives as long as the call."""

    def __init__(self) -> None:
        self.done: dict[Graph, Graph] = {}

    def run(self, graph: Graph) -> Graph:
        return eliminate_dead_code(Simplifier(graph, self.once).run())

    def once(self, graph: Graph) -> Graph:
        """``graph`` optimized, the first time it is met (blocks nest only a few levels)."""
        if graph not in self.done:
            self.done[graph] = self.run(graph)
        return self.done[graph]


def eliminate_dead_code(graph: Graph) -> Graph:
    """Drop edges whose outputs no output depends on, then a loop's carried values that
    neither the rest of the function nor the loop's other values read (a variable the loop
    updates but nothing uses gets no code, and no adjoint: ``0 * inf`` cannot reach one)."""
    graph = _without_dead_edges(graph)
    if not any(edge.prim == "loop" for edge in graph.edges):
        return graph
    return _without_dead_edges(_without_dead_carried(graph))


def _without_dead_edges(graph: Graph) -> Graph:
    kept = needed_edges(graph.edges, graph.outputs)
    return graph if len(kept) == len(graph.edges) else graph.replace(edges=kept)


def needed_edges(edges: tuple[Edge, ...], outputs: tuple[Var, ...]) -> tuple[Edge, ...]:
    """The edges that ``outputs`` depend on, in their order."""
    live = set(outputs)
    kept = []
    for edge in reversed(edges):
        if not live.isdisjoint(edge.outputs):
            kept.append(edge)
            live.update(edge.inputs)
    return tuple(reversed(kept))


def _without_dead_carried(graph: Graph) -> Graph:
    """Each loop without the carried values that nothing after it reads (nor its live
    values)."""
    read = {var for edge in graph.edges for var in edge.inputs} | set(graph.outputs)
    return graph.replace(edges=tuple(_pruned(edge, read) if edge.prim == "loop" else edge
                                     for edge in graph.edges))


def _pruned(edge: Edge, read: set[Var]) -> Edge:
    """The loop ``edge`` without the carried values whose results are not ``read`` and that
    its live values do not read."""
    parts = loop_parts(edge)
    taken = {k for k, var in enumerate(edge.outputs[:len(parts.carried)]) if var in read}
    live = _live_carried(parts, taken)
    return edge if len(live) == len(parts.carried) else _loop_keeping(edge, parts, live)


def _live_carried(parts: LoopParts, live: set[int]) -> list[int]:
    """The carried values that the ``live`` ones (and the recorded values) read, step after
    step: grown until nothing more is read."""
    while True:
        grown = live | _carried_read(parts, live)
        if grown == live:
            return sorted(live)
        live = grown


def _carried_read(parts: LoopParts, live: set[int]) -> set[int]:
    """The carried values one step reads to compute the ``live`` ones and the recorded."""
    wanted = (*(parts.carried_out[k] for k in live), *parts.recorded)
    read = set(wanted)
    for needed in needed_edges(parts.body.edges, wanted):
        read.update(needed.inputs)
    return {k for k, var in enumerate(parts.carried_in) if var in read}


def _loop_keeping(edge: Edge, parts: LoopParts, live: list[int]) -> Edge:
    """The loop with only the carried values ``live``, its body without what they no longer
    need."""
    body = _without_dead_edges(parts.body.replace(
        inputs=(parts.index, *(parts.carried_in[k] for k in live), *parts.read_in,
                *parts.invariant_in),
        outputs=(*(parts.carried_out[k] for k in live), *parts.recorded)))
    params = dict(edge.params)
    params.update(body=body, carried=len(live))
    inputs = (parts.start, parts.stop, *(parts.carried[k] for k in live), *parts.reads,
              *parts.invariants)
    n = len(parts.carried)
    outputs = (*(edge.outputs[k] for k in live), *edge.outputs[n:])
    return Edge("loop", inputs, outputs, as_params(params), edge.origin)
