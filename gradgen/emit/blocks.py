"""Emission: the lines of a graph's edges (the walk over them, the statements, and what a
block kind's printer is given): a block as its kind prints it, any other edge as one statement.

Part of emission (`emit`). A block's printer (`kinds.BlockEmission.print`: a loop's in
`loop_code`, a branch's in `branch_code`, a call's in `call_code`) is given a `Printing`: the
names, the depth, and what it needs to print its bodies or sides one level deeper
(`Printing.nested`). The names are `emissions.program_names`'s: a carried variable keeps one
Python name before, in and after its loop wherever that is safe, and a block's inputs go by the
enclosing names where they can (`bindings` assigns the others). Blocks nest at most
`loops.MAX_NESTING` deep, so going into bodies by recursion stays shallow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gradgen.emit.kinds import Emissions, block_results
from gradgen.emit.lines import Line, Unit, assignments
from gradgen.emit.name_check import input_bindings
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.printing import grad_of_text, statement, value_operand


@dataclass(frozen=True)
class Printing:
    """What the lines of one graph's edges are printed with: the names, the indentation depth,
    the comment's prefix (``grad of: ``), whether the graph is (in) a loop's body (whose
    records need every name bound on every path), the results each block binds, by
    position, and what each kind of block prints."""

    names: dict[Var, str]
    depth: int
    prefix: str
    in_loop: bool
    results: dict[Edge, dict[int, Var]]
    emissions: Emissions
    hints: Mapping[Var, str]  # the graph's, for a removed statement's nodes in a comment
    tangents: frozenset[Var] = frozenset()  # of a second-order derivative (``hvp``): the nodes
    #                                         that carry tangents, their statements' comment
    #                                         ``tangent of:`` (the others' ``prefix``)

    def line(self, target: str | None, expr: str, inner: bool = False) -> Line:
        """A line at this depth (``inner``: one deeper)."""
        return Line(target, expr, None, self.depth + inner)

    def or_pass(self, lines: Unit) -> Unit:
        """A block's ``lines``, or ``pass`` one level deeper where it has nothing to do."""
        return lines or [self.line(None, "pass", True)]

    def nested(self, graph: Graph, in_loop: bool) -> list[Unit]:
        """The lines of a body or a side, one level deeper."""
        return edge_units(graph, self.names, self.depth + 1, self.prefix, self.emissions,
                          in_loop=in_loop, tangents=self.tangents)


def edge_units(graph: Graph, names: dict[Var, str], depth: int, prefix: str,
               emissions: Emissions, edges: list[Edge] | None = None,
               in_loop: bool = False, tangents: frozenset[Var] = frozenset()) -> list[Unit]:
    """The lines of each edge (of ``edges``, a subset of the graph's, if given): one
    statement, or a whole block as its kind in ``emissions`` prints it; a ``# grad of:`` (or
    ``# tangent of:``) comment where the block of one forward statement's derivative starts.
    ``in_loop``: the graph is (in) a loop's body, whose records need every name bound on every
    path. ``tangents``: see `Printing`."""
    printing = Printing(names, depth, prefix, in_loop, block_results(graph), emissions,
                        graph.hints, tangents)
    edges = list(graph.edges if edges is None else edges)
    units = [_edge_lines(edge, printing) for edge in edges]
    return _commented(units, edges, printing)


def _edge_lines(edge: Edge, printing: Printing) -> Unit:
    emission = printing.emissions.get(edge.prim)
    return statement_lines(edge, printing) if emission is None else emission.print(edge, printing)


def _commented(units: list[Unit], edges: list[Edge], printing: Printing) -> list[Unit]:
    """The units, each first line of a forward statement's derivative with its comment."""
    origin = None
    for k, (unit, edge) in enumerate(zip(units, edges)):
        if edge.origin is not origin:
            origin = edge.origin
            if origin is not None and unit:
                unit[0] = _with_comment(unit[0], origin, printing, _same_origin(edges, k))
    return units


def _same_origin(edges: list[Edge], start: int) -> list[Edge]:
    """The edges from ``start`` on that come from the same statement as it (one derivative)."""
    end = start
    while end < len(edges) and edges[end].origin is edges[start].origin:
        end += 1
    return edges[start:end]


def _with_comment(line: Line, origin: Edge, printing: Printing, group: list[Edge]) -> Line:
    """``line`` (the first of ``group``'s) under ``# grad of: d = a + c``, the statement
    ``origin``; ``# tangent of:`` where the group computes a tangent (see `Printing`)."""
    tangent = any(not printing.tangents.isdisjoint(edge.outputs) for edge in group)
    prefix = "tangent of: " if tangent else printing.prefix
    comment = prefix + grad_of_text(origin, printing.names, printing.hints)
    return Line(line.target, line.expr, comment, line.depth)


def statement_lines(edge: Edge, printing: Printing) -> Unit:
    """An edge that is not a block: its statement."""
    return [Line(target, expr, None, printing.depth)
            for target, expr in statement(edge, printing.names)]


def bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
             block: Graph, depth: int) -> Unit:
    """``inner = outer`` for a block's inputs that go by no enclosing name (`input_bindings`)."""
    return assignments([(names[var], value_operand(out, names)) for out, var
                        in input_bindings(outer, inner, names, block)], depth)
