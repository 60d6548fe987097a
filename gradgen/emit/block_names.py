"""Emission: a Python name for every node of a function with blocks, shared where it reads well
(the walk over a graph's edges, and what a block kind's namer is given).

Part of emission (`emit`). Names follow the source: a carried variable keeps one Python name
before, in and after its loop wherever that is safe (the value before the loop is not needed
after it, the next value is computed after the last use of the current one), and a loop's
invariants are the enclosing names themselves; a branch's result takes the name of the variable
it replaces where both sides allow it. Each block kind names its nodes by its namer
(`kinds.BlockEmission.name`: a loop's in `loop_code`, a branch's in `branch_code`, a call's in
`call_code`); any other edge's result takes its own name. `name_check` then checks every read;
`emissions.program_names` gives a value whose read collides a name of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from gradgen.emit.kinds import Emissions, block_results
from gradgen.ir.graph import Edge, Graph, Var, hint_of, nested_hints
from gradgen.ir.naming import Namer
from gradgen.ir.printing import value_operand


@dataclass(frozen=True)
class Naming:
    """What naming one function shares: the names so far, the namer, whether to share, how
    each kind of block names its nodes, and the name hints of its graphs (`nested_hints`)."""

    names: dict[Var, str]
    namer: Namer
    share: bool
    emissions: Emissions
    hints: dict[Var, str]

    def hint(self, var: Var) -> str | None:
        return hint_of(var, self.hints)

    def fresh(self, var: Var, hint: str) -> str:
        return self.namer.fresh(self.hint(var) or hint)

    def go_by(self, outer: tuple[Var, ...], inner: tuple[Var, ...]) -> None:
        """Each of ``inner`` (a block's inputs) not named yet goes by the enclosing name of
        the node it stands for (in ``outer``)."""
        for out, var in zip(outer, inner):
            self.names.setdefault(var, value_operand(out, self.names))

    def name_new(self, vars_: tuple[Var, ...], hint: str) -> None:
        """A fresh name for each of ``vars_`` not named yet."""
        for var in vars_:
            if var not in self.names:
                self.names[var] = self.fresh(var, hint)

    def name_results(self, edge: Edge, vars_: Iterable[Var]) -> None:
        """Each of ``vars_`` (results of ``edge``) not named yet: its own name, a temporary
        (``t1`` in a derivative's statements, ``v1`` elsewhere) if the source gave none."""
        for var in vars_:
            if var not in self.names:
                own = self.hint(var)
                self.names[var] = (self.namer.fresh(own) if own
                                   else self.namer.temporary("t" if edge.origin else "v"))


@dataclass(frozen=True)
class Place:
    """Where an edge stands in its graph: its position, the graph's last read of each node,
    the edge's results by position (a block's), the graph's inputs that go by an enclosing
    graph's names (never reused for a new value) and the values a loop records (read back
    together: never sharing a name)."""

    index: int
    last: dict[Var, int]
    items: dict[int, Var]
    aliased: frozenset[Var]
    recorded: frozenset[Var]


class Order(NamedTuple):
    """A block's graph in order: the graph, the last read of each node, the position of each
    edge's result."""

    graph: Graph
    last: dict[Var, int]
    position: dict[Var, int]


def order(graph: Graph, kept_after: dict[Var, int]) -> Order:
    return Order(graph, _last_uses(graph.edges, kept_after),
                 {var: k for k, edge in enumerate(graph.edges) for var in edge.outputs})


def name_program(graph: Graph, reserved: frozenset[str], share: bool,
                 emissions: Emissions) -> dict[Var, str]:
    """A Python name for every node of ``graph``, bodies included (one scope), none in
    ``reserved``; shared where the code reads well if ``share``, else each its own."""
    namer, hints = Namer(reserved), nested_hints(graph)
    names = {var: namer.fresh(hint_of(var, hints) or "x") for var in graph.inputs}
    kept = (*graph.inputs, *graph.outputs)  # _finish reads the inputs' shapes at the end
    name_edges(graph, Naming(names, namer, share, emissions, hints),
               {var: len(graph.edges) for var in kept})
    return names


def name_edges(graph: Graph, naming: Naming, kept_after: dict[Var, int],
               aliased: frozenset[Var] = frozenset(),
               recorded: frozenset[Var] = frozenset()) -> None:
    """Name the nodes ``graph`` makes, a block by its kind's namer, any other edge's results
    each their own name."""
    last = _last_uses(graph.edges, kept_after)
    results = block_results(graph)
    for index, edge in enumerate(graph.edges):
        _name_edge(edge, Place(index, last, results.get(edge, {}), aliased, recorded), naming)


def _name_edge(edge: Edge, place: Place, naming: Naming) -> None:
    emission = naming.emissions.get(edge.prim)
    if emission is None:
        naming.name_results(edge, edge.outputs)  # a statement's
    else:
        emission.name(edge, place, naming)


def _last_uses(edges: tuple[Edge, ...], kept_after: dict[Var, int]) -> dict[Var, int]:
    last = dict(kept_after)
    for index, edge in enumerate(edges):
        for var in edge.inputs:
            last[var] = max(last.get(var, -1), index)
    return last
