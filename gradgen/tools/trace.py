"""Evaluation traces: the tables of the lecture notes, computed from a forward `Graph`.

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

The numbers are the reference interpreter's (each primitive's NumPy ``impl``). The adjoint and
tangent statements are written from the registry's adjoint rules themselves: a rule is built
on a scratch `GraphBuilder` with a placeholder for the incoming adjoint, then both printed (the
statement) and evaluated (the value). The adjoint values follow reverse mode exactly: the same
activity analysis, contributions summed in the order `reverse_mode` sums them, and the branch of
a ``where`` that is not taken contributing an exact 0 (its guard). Everything is iterative, so a
graph of any depth is fine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradgen.differentiate.reverse import active_edges
from gradgen.errors import LimitError
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, has_arrays, has_loops
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.printing import format_number

BAR = "\u0304"  # combining macron: v̄, the adjoint
DOT = "\u0307"  # combining dot above: v̇, the tangent

Value = float | bool


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


# ---- numbering and evaluation ----------------------------------------------------------------

def lecture_order(graph: Graph) -> tuple[Edge, ...]:
    """The edges by depth (longest path from an input or constant), ties in graph order."""
    depth: dict[Var, int] = {}
    keyed = []
    for index, edge in enumerate(graph.edges):
        level = 1 + max((depth.get(var, 0) for var in edge.inputs), default=0)
        depth[edge.output] = level
        keyed.append((level, index))
    keyed.sort()
    return tuple(graph.edges[index] for _, index in keyed)


def number_nodes(graph: Graph, start: int = 0, layered: bool = True) -> Numbering:
    """Trace labels: inputs ``v{start}, ...`` in order, then each edge's output in trace order."""
    order = lecture_order(graph) if layered else graph.edges
    labels: dict[Var, str] = {}
    for index, var in enumerate((*graph.inputs, *(edge.output for edge in order))):
        labels[var] = f"v{start + index}"
    return Numbering(tuple(order), labels)


def evaluate(graph: Graph, point: dict[str, float]) -> dict[Var, Value]:
    """The value of every non-constant node at ``point`` (input name → number)."""
    values: dict[Var, Value] = dict(zip(graph.inputs, _input_values(graph, point)))
    with np.errstate(all="ignore"):
        for edge in graph.edges:
            result = REGISTRY[edge.prim].impl(*(_value(var, values) for var in edge.inputs))
            values[edge.output] = _as_value(result, edge.output)
    return values


def _input_values(graph: Graph, point: dict[str, float]) -> list[float]:
    names = [var.name for var in graph.inputs]
    unknown = [name for name in point if name not in names]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not an input; inputs are {', '.join(names)}")
    missing = [name for name in names if name not in point]
    if missing:
        raise ValueError(f"no value for input '{missing[0]}'; inputs are {', '.join(names)}")
    return [float(point[name]) for name in names]


def _value(var: Var, values: dict[Var, Value]) -> Value:
    return var.value if var.is_const else values[var]


def _as_value(result: Any, var: Var) -> Value:
    return bool(result) if var.dtype == "bool" else float(result)


def _single_output(graph: Graph) -> Var:
    if len(graph.outputs) != 1:
        raise ValueError(f"a trace needs a function of one output; {graph.name} has "
                         f"{len(graph.outputs)}")
    return graph.outputs[0]


def _output_name(graph: Graph) -> str:
    return graph.output_names[0] if graph.output_names else graph.name


# ---- the three traces ------------------------------------------------------------------------

def forward_trace(forward: Graph, point: dict[str, float], *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The forward evaluation trace: one row per input, one per edge, then the output."""
    output = _single_output(forward)
    numbering = number_nodes(forward, start, layered)
    labels = numbering.labels
    values = evaluate(forward, point)
    rows = [TraceRow(labels[var], f"{labels[var]} = {var.name}", "", values[var], var)
            for var in forward.inputs]
    for edge in numbering.order:
        label = labels[edge.output]
        text, _ = _render(edge.prim, [_leaf_text(var, labels) for var in edge.inputs])
        numbers, _ = _render(edge.prim, [_leaf_number(_value(var, values))
                                         for var in edge.inputs])
        rows.append(TraceRow(label, f"{label} = {text}", numbers, values[edge.output],
                             edge.output))
    name = _output_name(forward)
    rows.append(TraceRow(name, f"{name} = {_leaf_text(output, labels)[0]}", "",
                         _value(output, values), output))
    return rows


def tangent_trace(forward: Graph, point: dict[str, float], wrt: str, *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The forward derivative trace: the tangent of every number node, seeded ``ẋ = 1`` for
    the input ``wrt`` and 0 for the others; the last row is the output's tangent."""
    output = _single_output(forward)
    names = [var.name for var in forward.inputs]
    if wrt not in names:
        raise ValueError(f"'{wrt}' is not an input; inputs are {', '.join(names)}")
    numbering = number_nodes(forward, start, layered)
    labels = numbering.labels
    values = evaluate(forward, point)
    tangents: dict[Var, float] = {}
    rows = []
    for var in forward.inputs:
        tangents[var] = 1.0 if var.name == wrt else 0.0
        rows.append(TraceRow(dotted(labels[var]), f"{dotted(labels[var])} = {dotted(var.name)}",
                             "", tangents[var], var))
    for edge in numbering.order:
        if edge.output.dtype == "bool":
            continue
        label = dotted(labels[edge.output])
        terms = _tangent_terms(edge, labels, values, tangents)
        total = 0.0
        for index, (_, _, value) in enumerate(terms):
            total = value if index == 0 else total + value
        tangents[edge.output] = total
        text = _join_terms([term[0] for term in terms]) if terms else "0"
        numbers = _join_terms([term[1] for term in terms]) if terms else ""
        rows.append(TraceRow(label, f"{label} = {text}", numbers, total, edge.output))
    name = dotted(_output_name(forward))
    if output.is_const:
        rows.append(TraceRow(name, f"{name} = 0", "", 0.0, output))
    else:
        target = dotted(labels[output])
        rows.append(TraceRow(name, f"{name} = {target}", "", tangents[output], output))
    return rows


def reverse_trace(forward: Graph, point: dict[str, float], *, start: int = 0,
                  layered: bool = True) -> list[TraceRow]:
    """The adjoint trace: rows from the output's adjoint (``v̄6 = f̄ | 1``) back to the first
    input's, each the sum over the node's uses of the contributions the adjoint rules give;
    then one row per input, ``x̄1 = v̄0``: the gradient."""
    output = _single_output(forward)
    numbering = number_nodes(forward, start, layered)
    labels = numbering.labels
    values = evaluate(forward, point)
    sweep = _Sweep(forward, output, labels, values)
    rows = []
    for edge in reversed(numbering.order):
        row = sweep.finish(edge.output)
        if row is not None:
            rows.append(row)
        sweep.backpropagate(edge)
    for var in reversed(forward.inputs):
        rows.append(sweep.finish(var))
    for var in forward.inputs:
        label = barred(labels[var])
        rows.append(TraceRow(barred(var.name), f"{barred(var.name)} = {label}", "",
                             sweep.adjoints[var], var))
    return rows


def annotations(forward: Graph, point: dict[str, float]) -> tuple[dict[Var, Value],
                                                                   dict[Var, float]]:
    """Every node's value and every number node's adjoint at ``point``, for `to_dot`."""
    output = _single_output(forward)
    values = evaluate(forward, point)
    sweep = _Sweep(forward, output, number_nodes(forward).labels, values)
    for edge in reversed(forward.edges):
        sweep.finish(edge.output)
        sweep.backpropagate(edge)
    for var in forward.inputs:
        sweep.finish(var)
    return values, dict(sweep.adjoints)


# ---- the reverse sweep -----------------------------------------------------------------------

@dataclass
class _Term:
    """One contribution to a node's adjoint: from the use by ``edge`` (graph index ``index``)."""

    text: str
    numbers: str
    value: float
    index: int
    sort_key: int
    masked: bool


class _Sweep:
    """Reverse mode at one point, with the text of every contribution.

    `finish` closes a node's adjoint once all its uses have been visited (so: visit the edges
    in a reverse topological order); `backpropagate` adds an edge's contributions to its inputs.
    """

    def __init__(self, graph: Graph, output: Var, labels: dict[Var, str],
                 values: dict[Var, Value]) -> None:
        self.output = output
        self.output_name = _output_name(graph)
        self.labels = labels
        self.values = values
        self.index = {edge: index for index, edge in enumerate(graph.edges)}
        self.rank = {var: index for index, var in enumerate(labels)}
        self.active = set(active_edges(graph, graph.inputs, output))
        self.terms: dict[Var, list[_Term]] = {}
        self.adjoints: dict[Var, float] = {}
        # Whether a node's value matters at this point (reverse mode's guards, evaluated): a
        # node used only inside the branch of a `where` not taken does not matter.
        self.matters: dict[Var, bool] = {output: True}
        self.use_matters: dict[Var, list[bool]] = {}

    def finish(self, var: Var) -> TraceRow | None:
        """Close ``var``'s adjoint (all its uses visited); its row, None for a condition."""
        uses = self.use_matters.pop(var, [])
        if var is not self.output:
            self.matters[var] = not uses or any(uses)
        if var.dtype == "bool":
            return None
        label = barred(self.labels[var])
        terms = self.terms.pop(var, [])
        if var is self.output:
            self.adjoints[var] = 1.0
            return TraceRow(label, f"{label} = {barred(self.output_name)}", "", 1.0, var)
        if not terms:
            self.adjoints[var] = 0.0
            return TraceRow(label, f"{label} = 0", "", 0.0, var)
        total = 0.0
        for position, term in enumerate(sorted(terms, key=lambda t: -t.index)):
            total = term.value if position == 0 else total + term.value  # as reverse_mode sums
        self.adjoints[var] = total
        shown = sorted(terms, key=lambda t: t.sort_key)
        text = _join_terms([term.text for term in shown])
        single = len(shown) == 1 and not shown[0].masked
        return TraceRow(label, f"{label} = {text}", shown[0].numbers if single else "", total,
                        var)

    def backpropagate(self, edge: Edge) -> None:
        """Add ``edge``'s contributions (its output closed) to the terms of its inputs."""
        if edge not in self.active:
            return
        y = edge.output
        outer = self.matters.get(y, True)
        self._record_uses(edge, outer)
        rule = REGISTRY[edge.prim].adjoint
        if rule is None or y.dtype == "bool":
            return
        builder = GraphBuilder()
        g = Var(None)
        contributions = rule(builder, g, y, *edge.inputs)
        known = {g: (barred(self.labels[y]), _ATOM)}
        env = {g: self.adjoints[y]}
        texts, numbers, value_of = _run(builder.edges, known, env, self.labels, self.values)
        sort_key = self.rank[y]
        for var, contribution in zip(edge.inputs, contributions):
            if contribution is None or var.is_const:
                continue
            value = float(value_of(contribution))
            if not outer:
                value = 0.0  # where(guard, contribution, 0) with a false guard
            self.terms.setdefault(var, []).append(_Term(
                texts(contribution)[0], numbers(contribution)[0], value, self.index[edge],
                sort_key, not outer))

    def _record_uses(self, edge: Edge, outer: bool) -> None:
        """Whether each input's value matters through this use (reverse mode's guard)."""
        inputs = edge.inputs
        for position, var in enumerate(inputs):
            if var.is_const:
                continue
            matters = outer
            if edge.prim == "where" and position > 0 and inputs[1] is not inputs[2]:
                condition = bool(_value(inputs[0], self.values))
                matters = outer and (condition if var is inputs[1] else not condition)
            self.use_matters.setdefault(var, []).append(matters)


def _tangent_terms(edge: Edge, labels: dict[Var, str], values: dict[Var, Value],
                   tangents: dict[Var, float]) -> list[tuple[str, str, float]]:
    """``∂y/∂x_i * ẋ_i`` for each number input ``x_i``: the adjoint rule with ``g = ẋ_i``
    (rules are linear in ``g``), built once per input so each gets its own tangent."""
    rule = REGISTRY[edge.prim].adjoint
    if rule is None:
        return []
    terms = []
    for position, var in enumerate(edge.inputs):
        if var.is_const or var.dtype == "bool":
            continue
        builder = GraphBuilder()
        g = Var(None)
        contribution = rule(builder, g, edge.output, *edge.inputs)[position]
        if contribution is None:
            continue
        known = {g: (dotted(labels[var]), _ATOM)}
        env = {g: tangents[var]}
        texts, numbers, value_of = _run(builder.edges, known, env, labels, values)
        terms.append((texts(contribution)[0], numbers(contribution)[0],
                      float(value_of(contribution))))
    return terms


def _run(edges: Sequence[Edge], known: dict[Var, tuple[str, int]], env: dict[Var, float],
         labels: dict[Var, str], values: dict[Var, Value]) -> tuple[Any, Any, Any]:
    """Print and evaluate the scratch edges of one adjoint rule, in order (no recursion).

    Returns three functions of a node: its text in v-notation, its text with the numbers put
    in (each a text and its precedence) and its value.
    """
    texts = dict(known)
    numbers = {var: _leaf_number(value) for var, value in env.items()}
    results: dict[Var, Any] = {}

    def value_of(var: Var) -> Any:
        if var in results:
            return results[var]
        if var in env:
            return env[var]
        return _value(var, values)

    def text_of(var: Var) -> tuple[str, int]:
        return texts[var] if var in texts else _leaf_text(var, labels)

    def number_of(var: Var) -> tuple[str, int]:
        return numbers[var] if var in numbers else _leaf_number(value_of(var))

    with np.errstate(all="ignore"):
        for edge in edges:
            texts[edge.output] = _render(edge.prim, [text_of(var) for var in edge.inputs])
            numbers[edge.output] = _render(edge.prim, [number_of(var) for var in edge.inputs])
            result = REGISTRY[edge.prim].impl(*(value_of(var) for var in edge.inputs))
            results[edge.output] = _as_value(result, edge.output)
    return text_of, number_of, value_of


# ---- text ------------------------------------------------------------------------------------

def require_scalars(forward: Graph) -> None:
    """Traces are tables of numbers, one per line: a function of arrays is declined."""
    if has_arrays(forward) or has_loops(forward) or any(v.dtype == "int" for v in forward.inputs):
        what = ("arrays" if has_arrays(forward) else "a loop" if has_loops(forward)
                else "whole-number inputs")
        raise LimitError(f"traces and values at a point are shown for straight-line scalar "
                         f"functions, one number per node, and {forward.name} has {what}")


def trace_report(forward: Graph, point: dict[str, float], tangent: str | None = None) -> str:
    """The forward evaluation trace, the forward derivative trace seeded for input ``tangent``
    (if given) and the reverse adjoint trace, as titled tables separated by blank lines."""
    require_scalars(forward)
    name = forward.name
    numbers = [format_number(float(point[var.name])) for var in forward.inputs
               if var.name in point]
    at = ", ".join(f"{var.name}={number}" for var, number in zip(forward.inputs, numbers))
    tables = [format_trace(forward_trace(forward, point),
                           f"Forward evaluation trace: {name}({', '.join(numbers)})")]
    if tangent is not None:
        tables.append(format_trace(tangent_trace(forward, point, tangent),
                                   f"Forward derivative trace: ∂{name}/∂{tangent} at ({at})"))
    tables.append(format_trace(reverse_trace(forward, point),
                               f"Reverse adjoint trace: ∇{name} at ({at})"))
    return "\n".join(tables)


# ---- printing --------------------------------------------------------------------------------

_ATOM = 10
_NEG = 7
_BINARY = {"or": ("or", 1), "and": ("and", 2),
           "lt": ("<", 4), "le": ("<=", 4), "gt": (">", 4), "ge": (">=", 4), "eq": ("==", 4),
           "ne": ("!=", 4), "add": ("+", 5), "sub": ("-", 5), "mul": ("*", 6), "div": ("/", 6),
           "pow": ("^", 8)}


def _render(prim: str, operands: list[tuple[str, int]]) -> tuple[str, int]:
    """One operation on already printed operands, parenthesised by precedence."""
    if prim in _BINARY:
        symbol, prec = _BINARY[prim]
        (left, left_prec), (right, right_prec) = operands
        if prim == "pow":  # right-associative
            left_wrap, right_wrap = left_prec <= prec, right_prec < prec
        else:
            left_wrap, right_wrap = left_prec < prec or (prec == 4 and left_prec == 4), \
                right_prec <= prec
        left = f"({left})" if left_wrap else left
        right = f"({right})" if right_wrap else right
        return f"{left} {symbol} {right}", prec
    if prim == "neg":
        text, prec = operands[0]
        return ("-" + (f"({text})" if prec <= _NEG else text)), _NEG
    if prim == "not":
        text, prec = operands[0]
        return "not " + (f"({text})" if prec < 3 else text), 3
    return f"{prim}({', '.join(text for text, _ in operands)})", _ATOM


def _join_terms(terms: Iterable[str]) -> str:
    """``a + b``, with ``a + -b`` written ``a - b``."""
    text = ""
    for index, term in enumerate(terms):
        if index == 0:
            text = term
        elif term.startswith("-") and not term.startswith("-("):
            text += " - " + term[1:]
        elif term.startswith("-(") and _closes_at_end(term[1:]):
            text += " - " + term[1:]
        else:
            text += " + " + term
    return text


def _closes_at_end(text: str) -> bool:
    """Whether ``text`` is one parenthesised group: ``(a + b)``, not ``(a) * (b)``."""
    depth = 0
    for index, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return index == len(text) - 1
    return False


def _leaf_text(var: Var, labels: dict[Var, str]) -> tuple[str, int]:
    if not var.is_const:
        return labels[var], _ATOM
    if var.symbol:
        return var.symbol, _ATOM
    text = format_number(var.value) if math.isfinite(var.value) else format_value(var.value)
    return text, (0 if text.startswith("-") else _ATOM)


def _leaf_number(value: Value) -> tuple[str, int]:
    text = format_value(value)
    return text, (0 if text.startswith("-") else _ATOM)


def format_value(value: Value) -> str:
    """A number as the notes print it: ``11.652``, ``1.716``, ``5.5``, ``10``, ``-0.959``.

    Three decimals (trailing zeros dropped) from 0.1 up; four significant digits below
    (``0.01234``, ``1.234e-05``); ``true``/``false`` for a condition.
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number == 0:
        return "0"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    if 0.1 <= abs(number) < 1e15:
        text = f"{number:.3f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return f"{number:.4g}"


def _marked(name: str, mark: str) -> str:
    """``name`` with a combining ``mark`` on the last letter of its leading letters:
    ``v3`` → ``v̄3``, ``x1`` → ``x̄1``, ``f`` → ``f̄``."""
    end = 0
    while end < len(name) and name[end].isalpha():
        end += 1
    end = end or len(name)
    return name[:end] + mark + name[end:]


def barred(name: str) -> str:
    """The adjoint's name: ``v3`` → ``v̄3``."""
    return _marked(name, BAR)


def dotted(name: str) -> str:
    """The tangent's name: ``v3`` → ``v̇3``."""
    return _marked(name, DOT)


def format_trace(rows: Sequence[TraceRow], title: str) -> str:
    """The rows as a plain-text table under ``title``, one row a line:
    ``statement | numbers = value`` (``statement | value`` where the numbers would only repeat
    the value)."""
    lines = [title]
    for row in rows:
        value = format_value(row.value)
        shown = f"{row.numbers} = {value}" if row.numbers and row.numbers != value else value
        lines.append(f"{row.statement} | {shown}")
    return "\n".join(lines) + "\n"
