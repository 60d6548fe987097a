"""Tools stage: evaluation traces, the tables of the lecture notes, from a forward `Graph`.

Three traces of a one-output graph at a point, each a list of `TraceRow` (data first; the
text comes from `format_trace`):

- `forward_trace`: the forward evaluation trace, ``v3 = v0 * v1 | 2 * 5 = 10``;
- `tangent_trace`: the forward derivative trace seeded for one input,
  ``v̇3 = v̇0 * v1 + v̇1 * v0 | 1 * 5 + 0 * 2 = 5``;
- `reverse_trace`: the adjoint trace, from ``v̄6 = f̄ | 1`` back to the inputs, each adjoint the
  sum over the uses of a node of its contributions, ``v̄1 = v̄3 * v0 + v̄4 * cos(v1) | 1.716``,
  then ``x̄1 = v̄0``, ...

Numbering follows the notes (seed 004): inputs are ``v0, v1, ...`` in order, then the edges
continue the count in *layered* order: by depth (longest path from the inputs), ties in graph
order, which is how the notes list ``ln(x1), x1*x2, sin(x2)`` before their sum. ``start`` moves
the count (``start=1 - n`` gives ``v-1, v0`` for two inputs, the numbering of Griewank's and
Baydin et al.'s tables); ``layered=False`` keeps the graph's own edge order (``gradgen ir``).

The tables are what the compiler computes (`trace_values`): the values are the interpreter's,
the adjoints those of reverse mode's gradient graph, each term of an adjoint (one use of the
node) is what reverse mode of that one edge contributes, and each tangent is forward mode's of
that edge; the terms are written from those graphs (`trace_text`). An adjoint inside the branch
of a ``where`` that is not taken is what reverse mode computes there (0, or NaN from ``0 * inf``):
reverse mode masks it where it leaves the branch. A term's numbers are shown where the row has
one term that gives the row's value. Everything is iterative, so a graph of any depth is fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.printing import format_number
from gradgen.tools.check import require_straight_line_scalars
from gradgen.tools.trace_text import (
    ATOM,
    BAR,
    DOT,
    Leaf,
    Text,
    Value,
    barred,
    by_name,
    by_number,
    dotted,
    expressions,
    format_value,
    join_terms,
    leaf_number,
    render,
)
from gradgen.tools.trace_values import (
    EdgeDerivative,
    active,
    adjoint_values,
    contribution_values,
    derivatives,
    point_values,
    single_output,
    tangent_value,
)

__all__ = ["BAR", "DOT", "Numbering", "TraceRow", "annotations", "barred", "dotted",
           "format_trace", "format_value", "forward_trace", "lecture_order", "number_nodes",
           "require_scalars", "reverse_trace", "tangent_trace", "trace_report"]


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One line of a trace table.

    ``label`` is the node's trace name (``v3``, ``v̄1``, ``v̇2``, ``f``, ``x̄1``); ``statement``
    the line in v-notation (``v3 = v0 * v1``); ``numbers`` the same right-hand side with the
    numbers put in (``2 * 5``; empty where it would only repeat the value); ``value`` the full
    precision value (a bool for a condition); ``var`` the graph node the row is about.
    """

    label: str
    statement: str
    numbers: str
    value: Value
    var: Var | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Numbering:
    """The trace order of a forward graph's edges and every node's trace label."""

    order: tuple[Edge, ...]
    labels: dict[Var, str]


# ---- numbering -------------------------------------------------------------------------------

def lecture_order(graph: Graph) -> tuple[Edge, ...]:
    """The edges by depth (longest path from an input or constant), ties in graph order."""
    depth: dict[Var, int] = {}
    for edge in graph.edges:
        depth[edge.output] = 1 + max((depth.get(var, 0) for var in edge.inputs), default=0)
    return tuple(sorted(graph.edges, key=lambda edge: depth[edge.output]))  # a stable sort


def number_nodes(graph: Graph, start: int = 0, layered: bool = True) -> Numbering:
    """Trace labels: inputs ``v{start}, ...`` in order, then each edge's output in trace order."""
    order = lecture_order(graph) if layered else graph.edges
    nodes = (*graph.inputs, *(edge.output for edge in order))
    return Numbering(tuple(order), {var: f"v{start + index}" for index, var in enumerate(nodes)})


@dataclass(frozen=True)
class _At:
    """A one-output graph at a point: its numbering and every node's value."""

    graph: Graph
    numbering: Numbering
    values: dict[Var, Value]

    @property
    def labels(self) -> dict[Var, str]:
        return self.numbering.labels

    @property
    def output(self) -> Var:
        return self.graph.outputs[0]

    @property
    def output_name(self) -> str:
        return self.graph.output_names[0] if self.graph.output_names else self.graph.name

    def label(self, var: Var) -> str:
        """A node's label, or a constant written out."""
        return by_name(self.labels)(var)[0]


def _at(graph: Graph, point: dict[str, float], start: int, layered: bool) -> _At:
    single_output(graph)
    return _At(graph, number_nodes(graph, start, layered), point_values(graph, point))


def _row(label: str, right: str, value: Value, var: Var, numbers: str = "") -> TraceRow:
    """The row ``label = right | numbers = value``."""
    return TraceRow(label, f"{label} = {right}", numbers, value, var)


# ---- the forward evaluation trace ------------------------------------------------------------

def forward_trace(forward: Graph, point: dict[str, float], *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The forward evaluation trace: one row per input, one per edge, then the output."""
    at = _at(forward, point, start, layered)
    rows = [_row(at.labels[var], var.name, at.values[var], var) for var in forward.inputs]
    return rows + [_value_row(at, edge) for edge in at.numbering.order] + [_output_row(at)]


def _value_row(at: _At, edge: Edge) -> TraceRow:
    return _row(at.labels[edge.output], _applied(edge, by_name(at.labels)),
                at.values[edge.output], edge.output, _applied(edge, by_number(at.values)))


def _output_row(at: _At) -> TraceRow:
    value = at.output.value if at.output.is_const else at.values[at.output]
    return _row(at.output_name, at.label(at.output), value, at.output)


def _applied(edge: Edge, leaf: Leaf) -> str:
    return render(edge.prim, [leaf(var) for var in edge.inputs])[0]


# ---- the forward derivative trace ------------------------------------------------------------

def tangent_trace(forward: Graph, point: dict[str, float], wrt: str, *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The forward derivative trace: the tangent of every number node, seeded ``ẋ = 1`` for
    the input ``wrt`` and 0 for the others; the last row is the output's tangent."""
    _check_input(forward, wrt)
    at = _at(forward, point, start, layered)
    tangents = {var: float(var.name == wrt) for var in forward.inputs}
    rows = [_row(dotted(at.labels[var]), dotted(var.name), tangents[var], var)
            for var in forward.inputs]
    return rows + _tangent_rows(at, tangents) + [_output_tangent_row(at, tangents)]


def _check_input(forward: Graph, name: str) -> None:
    names = [var.name for var in forward.inputs]
    if name not in names:
        raise ValueError(f"'{name}' is not an input; inputs are {', '.join(names)}")


def _tangent_rows(at: _At, tangents: dict[Var, float]) -> list[TraceRow]:
    """A row for each edge of a number node, in trace order (each records its tangent)."""
    edges = [edge for edge in at.numbering.order if edge.output.dtype != "bool"]
    derived = derivatives(edges)
    return [_tangent_row(at, edge, derived[edge], tangents) for edge in edges]


def _tangent_row(at: _At, edge: Edge, derivative: EdgeDerivative,
                 tangents: dict[Var, float]) -> TraceRow:
    """``v̇3 = v̇0 * v1 + v̇1 * v0``, the value forward mode's of the edge (which records it in
    ``tangents``)."""
    label = dotted(at.labels[edge.output])
    terms = [_tangent_term(at, edge, derivative, position, tangents)
             for position, _ in derivative.contributions]
    tangents[edge.output] = tangent_value(derivative, edge, at.values, tangents)
    text = join_terms(name for name, _ in terms) if terms else "0"
    return _row(label, text, tangents[edge.output], edge.output,
                join_terms(numbers for _, numbers in terms))


def _tangent_term(at: _At, edge: Edge, derivative: EdgeDerivative, position: int,
                  tangents: dict[Var, float]) -> tuple[str, str]:
    """``v̇0 * v1``, ``1 * 5``: the operand's contribution in reverse mode of the edge with the
    operand's tangent for the output's adjoint (contributions are linear in it)."""
    var = edge.inputs[position]
    names, numbers = _written(at, edge, derivative, dotted(at.labels[var]), tangents[var])
    return names[position], numbers[position]


def _output_tangent_row(at: _At, tangents: dict[Var, float]) -> TraceRow:
    name = dotted(at.output_name)
    if at.output.is_const:
        return _row(name, "0", 0.0, at.output)
    return _row(name, dotted(at.labels[at.output]), tangents[at.output], at.output)


def _written(at: _At, edge: Edge, derivative: EdgeDerivative, seed: str,
             seed_value: float) -> tuple[dict[int, str], dict[int, str]]:
    """What ``edge`` contributes to each operand's adjoint (by position), written with names
    (``seed`` for the output's adjoint) and with numbers (``seed_value`` for it)."""
    return (_contributions(derivative, edge, by_name(at.labels), (seed, ATOM)),
            _contributions(derivative, edge, by_number(at.values), leaf_number(seed_value)))


def _contributions(derivative: EdgeDerivative, edge: Edge, leaf: Leaf,
                   seed: Text) -> dict[int, str]:
    """What ``edge`` contributes to each operand's adjoint (by position), written with
    ``edge``'s nodes by ``leaf`` and with ``seed`` for the output's adjoint."""
    own = {mine: leaf(var) for mine, var in zip(derivative.inputs, edge.inputs)
           if not mine.is_const}
    own.update({derivative.output: leaf(edge.output), derivative.cotangent: seed})
    texts = expressions(derivative.vjp, own, leaf)
    return {position: texts[var][0] for position, var in derivative.contributions}


# ---- the reverse adjoint trace ---------------------------------------------------------------

@dataclass(frozen=True)
class _Term:
    """One use's contribution to a node's adjoint: written, with numbers, and its value."""

    text: str
    numbers: str
    value: float


def reverse_trace(forward: Graph, point: dict[str, float], *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The adjoint trace: rows from the output's adjoint (``v̄6 = f̄ | 1``) back to the first
    input's, each the sum over the node's uses of what reverse mode adds for them; then one row
    per input, ``x̄1 = v̄0``: the gradient."""
    at = _at(forward, point, start, layered)
    adjoints = adjoint_values(forward, at.values)
    terms = _adjoint_terms(at, adjoints)
    nodes = (*(edge.output for edge in reversed(at.numbering.order)), *reversed(forward.inputs))
    rows = [_adjoint_row(at, var, terms.get(var, []), adjoints) for var in nodes
            if var.dtype != "bool"]
    return rows + [_gradient_row(at, var, adjoints[var]) for var in forward.inputs]


def _gradient_row(at: _At, var: Var, adjoint: float) -> TraceRow:
    """``x̄1 = v̄0``: an input's partial."""
    return _row(barred(var.name), barred(at.labels[var]), adjoint, var)


def _adjoint_terms(at: _At, adjoints: dict[Var, float]) -> dict[Var, list[_Term]]:
    """Each node's terms, one per use by an edge reverse mode goes back through, in the order
    of the uses' rows (as the notes list them)."""
    edges = set(active(at.graph))
    order = [edge for edge in at.numbering.order if edge in edges]
    derived = derivatives(order)
    terms: dict[Var, list[_Term]] = {}
    for edge in order:
        for var, term in _edge_terms(at, edge, derived[edge], adjoints[edge.output]):
            terms.setdefault(var, []).append(term)
    return terms


def _edge_terms(at: _At, edge: Edge, derivative: EdgeDerivative,
                adjoint: float) -> list[tuple[Var, _Term]]:
    """What ``edge`` contributes to its operands' adjoints, given its output's."""
    names, numbers = _written(at, edge, derivative, barred(at.labels[edge.output]), adjoint)
    values = contribution_values(derivative, edge, at.values, adjoint)
    return [(edge.inputs[position], _Term(names[position], numbers[position], values[position]))
            for position, _ in derivative.contributions]


def _adjoint_row(at: _At, var: Var, terms: list[_Term], adjoints: dict[Var, float]) -> TraceRow:
    label = barred(at.labels[var])
    value = adjoints[var]
    if var is at.output:
        return _row(label, barred(at.output_name), value, var)
    if not terms:
        return _row(label, "0", value, var)
    return _row(label, join_terms(term.text for term in terms), value, var,
                _shown_numbers(terms, value))


def _shown_numbers(terms: list[_Term], value: float) -> str:
    """A term's numbers, shown where the row has one term that gives the row's value."""
    return terms[0].numbers if len(terms) == 1 and _same(terms[0].value, value) else ""


def _same(first: float, second: float) -> bool:
    return first == second or (first != first and second != second)  # NaN is NaN


def annotations(forward: Graph, point: dict[str, float]) -> tuple[dict[Var, Value],
                                                                   dict[Var, float]]:
    """Every node's value and every number node's adjoint at ``point``, for `to_dot`."""
    single_output(forward)
    values = point_values(forward, point)
    return values, adjoint_values(forward, values)


# ---- text ------------------------------------------------------------------------------------

def require_scalars(forward: Graph) -> None:
    """Traces are tables of numbers, one per line: a function of arrays is declined."""
    require_straight_line_scalars(forward, "traces and values at a point are shown for "
                                  "straight-line scalar functions, one number per node, and "
                                  "{name} has {what}")


def trace_report(forward: Graph, point: dict[str, float], tangent: str | None = None) -> str:
    """The forward evaluation trace, the forward derivative trace seeded for input ``tangent``
    (if given) and the reverse adjoint trace, as titled tables separated by blank lines."""
    require_scalars(forward)
    return "\n".join(format_trace(rows, title) for title, rows in _traces(forward, point, tangent))


def _traces(forward: Graph, point: dict[str, float],
            tangent: str | None) -> list[tuple[str, list[TraceRow]]]:
    """The report's traces and their titles, in order."""
    name, (numbers, at) = forward.name, _point_text(forward, point)
    traces = [(f"Forward evaluation trace: {name}({numbers})", forward_trace(forward, point))]
    if tangent is not None:
        traces.append((f"Forward derivative trace: ∂{name}/∂{tangent} at ({at})",
                       tangent_trace(forward, point, tangent)))
    return traces + [(f"Reverse adjoint trace: ∇{name} at ({at})", reverse_trace(forward, point))]


def _point_text(forward: Graph, point: dict[str, float]) -> tuple[str, str]:
    """The point as the titles write it: ``2, 5`` and ``x1=2, x2=5``."""
    numbers = {var.name: format_number(float(point[var.name])) for var in forward.inputs
               if var.name in point}
    return ", ".join(numbers.values()), ", ".join(f"{k}={v}" for k, v in numbers.items())


def format_trace(rows: Sequence[TraceRow], title: str) -> str:
    """The rows as a plain-text table under ``title``, one row a line:
    ``statement | numbers = value`` (``statement | value`` where the numbers would only repeat
    the value)."""
    return "\n".join([title, *(_line(row) for row in rows)]) + "\n"


def _line(row: TraceRow) -> str:
    value = format_value(row.value)
    shown = f"{row.numbers} = {value}" if row.numbers and row.numbers != value else value
    return f"{row.statement} | {shown}"
