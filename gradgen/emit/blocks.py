"""Emission: the lines of a graph's edges, each by its kind's printer in `PRINTERS`: a ``loop``
edge as a Python ``for`` statement, a ``cond`` edge as an ``if``/``else``, any other edge as one
statement.

Part of emission (`emit`). A loop becomes::

    x = x0                          # the carried value's start, where names differ
    tape_v2 = [None] * (T - 1)      # one list per recorded value, preallocated
    for t in range(1, T):           # reversed(range(1, T)) for a reverse loop
        v2 = tape_v2[t - 1]         # read back (reverse loops)
        ...the body, one statement per edge...
        tape_v2[t - 1] = v2         # recorded right after it is computed
        x = x_next                  # the carried value for the next step, where names differ

The names are `block_names.program_names`'s: a carried variable keeps one Python name before,
in and after the loop wherever that is safe, and a loop's invariants are the enclosing names
themselves. A branch becomes::

    if x > 0:                       # the test, one number
        y = np.log(x)               # ...the side's statements, one per edge...
        v3 = None                   # the other side's recorded values (reverse mode)
    else:
        y = 0.0

Each side assigns the branch's results under the names they have after it (the source's, where
that is safe); what one side records for its reverse is left in its own name. Blocks nest at
most `loops.MAX_NESTING` deep, so going into bodies by recursion stays shallow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradgen.emit.kinds import block_results, edge_kind
from gradgen.emit.lines import Line, Unit, assignments
from gradgen.emit.name_check import input_bindings
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import CondParts, cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import grad_of_text, operand, python_expr, statement, value_operand


@dataclass(frozen=True)
class Printing:
    """What the lines of one graph's edges are printed with: the names, the indentation depth,
    the comment's prefix (``grad of: ``), whether the graph is (in) a loop's body (whose
    records need every name bound on every path), and the results each block binds, by
    position."""

    names: dict[Var, str]
    depth: int
    prefix: str
    in_loop: bool
    results: dict[Edge, dict[int, Var]]

    def line(self, target: str | None, expr: str, inner: bool = False) -> Line:
        """A line at this depth (``inner``: one deeper)."""
        return Line(target, expr, None, self.depth + inner)


def edge_units(graph: Graph, names: dict[Var, str], depth: int, prefix: str,
               edges: list[Edge] | None = None, in_loop: bool = False) -> list[Unit]:
    """The lines of each edge (of ``edges``, a subset of the graph's, if given): one
    statement, or a whole ``for`` loop or ``if``; a ``# grad of:`` (or ``# tangent of:``)
    comment where the block of one forward statement's derivative starts. ``in_loop``: the
    graph is (in) a loop's body, whose records need every name bound on every path."""
    printing = _printing(graph, names, depth, prefix, in_loop)
    edges = list(graph.edges if edges is None else edges)
    units = [PRINTERS[edge_kind(edge)](edge, printing) for edge in edges]
    return _commented(units, edges, printing)


def _printing(graph: Graph, names: dict[Var, str], depth: int, prefix: str,
              in_loop: bool) -> Printing:
    return Printing(names, depth, prefix, in_loop, block_results(graph))


def _commented(units: list[Unit], edges: list[Edge], printing: Printing) -> list[Unit]:
    """The units, each first line of a forward statement's derivative with its comment."""
    origin = None
    for unit, edge in zip(units, edges):
        if edge.origin is not origin:
            origin = edge.origin
            if origin is not None and unit:
                unit[0] = _with_comment(unit[0], origin, printing)
    return units


def _with_comment(line: Line, origin: Edge, printing: Printing) -> Line:
    """``line`` under ``# grad of: d = a + c``, the forward statement ``origin``."""
    comment = printing.prefix + grad_of_text(origin, printing.names)
    return Line(line.target, line.expr, comment, line.depth)


def _nested_units(graph: Graph, printing: Printing, in_loop: bool) -> list[Unit]:
    """The lines of a body or a side, one level deeper."""
    return edge_units(graph, printing.names, printing.depth + 1, printing.prefix,
                      in_loop=in_loop)


def statement_lines(edge: Edge, printing: Printing) -> Unit:
    """An edge that is not a block: its statement."""
    return [Line(target, expr, None, printing.depth)
            for target, expr in statement(edge, printing.names)]


# ---- loops --------------------------------------------------------------------------------

def loop_lines(edge: Edge, printing: Printing) -> Unit:
    """The lines of one loop edge: the carried values' starts, the tapes, the ``for`` header,
    the body (``pass`` if it has nothing to do), the carried results."""
    parts = loop_parts(edge)
    results = printing.results[edge]
    records = _records(parts, results)
    body = _loop_body(parts, records, printing) or [printing.line(None, "pass", True)]
    return _loop_head(parts, records, printing) + body + _loop_results(parts, results, printing)


def _records(parts: LoopParts, items: dict[int, Var]) -> dict[int, Var]:
    """The tape of each recorded value the loop's results hold, by the value's position."""
    n = len(parts.carried)
    return {k: items[n + k] for k in range(len(parts.recorded)) if n + k in items}


def _loop_head(parts: LoopParts, records: dict[int, Var], printing: Printing) -> Unit:
    names, depth = printing.names, printing.depth
    lines = _passed(parts.carried_in, parts.carried, names, depth)
    lines += _bindings(parts.invariants, parts.invariant_in, names, parts.body, depth)
    count = _count_text(parts, names)
    lines += [printing.line(names[tape], f"[None] * {count}") for tape in records.values()]
    header = f"for {names[parts.index]} in {_range_text(parts, names)}:"
    return [*lines, printing.line(None, header)]


def _loop_body(parts: LoopParts, records: dict[int, Var], printing: Printing) -> Unit:
    """One step: the tapes read back, the inputs recorded, each body edge followed by its
    record, the carried values passed on."""
    names, step = printing.names, _position_text(parts, printing.names)
    recorded = {parts.recorded[k]: names[tape] for k, tape in records.items()}
    lines = _read_backs(parts, step, printing)
    lines += _tape_writes((parts.index, *parts.carried_in, *parts.read_in), recorded, step,
                          printing)  # inputs: record them first
    body_units = _nested_units(parts.body, printing, in_loop=True)
    for body_edge, unit in zip(parts.body.edges, body_units):
        lines += unit + _tape_writes(body_edge.outputs, recorded, step, printing)
    return lines + _passed(parts.carried_in, parts.carried_out, names, printing.depth + 1)


def _read_backs(parts: LoopParts, step: str, printing: Printing) -> Unit:
    """``v2 = tape_v2[t - 1]``: the recorded values a reverse loop reads back."""
    names = printing.names
    return [printing.line(names[var], f"{operand(tape, names)}[{step}]", True)
            for tape, var in zip(parts.reads, parts.read_in)]


def _tape_writes(vars_: tuple[Var, ...], recorded: dict[Var, str], step: str,
                 printing: Printing) -> Unit:
    """``tape[step] = var`` for each of ``vars_`` recorded and not written yet."""
    return [printing.line(None, f"{recorded.pop(var)}[{step}] = {printing.names[var]}", True)
            for var in vars_ if var in recorded]


def _passed(targets: tuple[Var, ...], values: tuple[Var, ...], names: dict[Var, str],
            depth: int) -> Unit:
    """``target = value`` for each pair whose names differ (a carried value passed on)."""
    return assignments([(names[target], value_operand(value, names))
                        for target, value in zip(targets, values)
                        if names[target] != value_operand(value, names)], depth)


def _loop_results(parts: LoopParts, results: dict[int, Var], printing: Printing) -> Unit:
    """The carried results after the loop, where their names are not the carried names (a
    tape needs no line: it was made before the loop)."""
    names = printing.names
    pairs = [(names[var], names[parts.carried_in[k]]) for k, var in results.items()
             if k < len(parts.carried)]
    return [printing.line(target, inner) for target, inner in pairs if target != inner]


def _bound_text(var: Var, names: dict[Var, str]) -> str:
    """A loop bound as a Python int: a constant or a dimension (a ``dim`` node, an int) as it
    is, anything else (an input is a float) through ``int(...)``."""
    text = operand(var, names)
    return text if var.is_const or var.dtype == "int" else f"int({text})"


def _from_zero(parts: LoopParts) -> bool:
    return parts.start.is_const and parts.start.value == 0


def _range_text(parts: LoopParts, names: dict[Var, str]) -> str:
    stop = _bound_text(parts.stop, names)
    text = (f"range({stop})" if _from_zero(parts)
            else f"range({_bound_text(parts.start, names)}, {stop})")
    return f"reversed({text})" if parts.reverse else text


def _count_text(parts: LoopParts, names: dict[Var, str]) -> str:
    stop = _bound_text(parts.stop, names)
    return stop if _from_zero(parts) else f"({stop} - {_bound_text(parts.start, names)})"


def _position_text(parts: LoopParts, names: dict[Var, str]) -> str:
    index = names[parts.index]
    return index if _from_zero(parts) else f"{index} - {_bound_text(parts.start, names)}"


# ---- branches -----------------------------------------------------------------------------

def branch_lines(edge: Edge, printing: Printing) -> Unit:
    """The lines of one branch: ``if test:``, a side, ``else:``, the other (the ``else`` left
    out where that side has nothing to do). In a loop (whose tapes record every value), a side
    binds the other side's recorded values to None."""
    parts = cond_parts(edge)
    items = printing.results[edge]
    then, orelse = (_side_lines(parts, number, items, printing) for number in (0, 1))
    lines = [printing.line(None, f"if {operand(parts.test, printing.names)}:"),
             *(then or [printing.line(None, "pass", True)])]
    return lines + ([printing.line(None, "else:"), *orelse] if orelse else [])


def _side_lines(parts: CondParts, number: int, items: dict[int, Var],
                printing: Printing) -> Unit:
    """One side's lines: its inputs bound, its statements, the other side's recorded values
    bound to None (in a loop), the branch's results assigned."""
    side, names, inner = (parts.then, parts.orelse)[number], printing.names, printing.depth + 1
    lines = _bindings(parts.operands, parts.operand_in, names, side, inner)
    lines += [line for unit in _nested_units(side, printing, printing.in_loop) for line in unit]
    if printing.in_loop:
        lines += [printing.line(names[item], "None", True)
                  for item in _others(parts, number, items)]
    return lines + assignments(_side_results(parts, number, items, names), inner)


def _others(parts: CondParts, number: int, items: dict[int, Var]) -> list[Var]:
    """The results that the other side records for its reverse."""
    own = parts.own_outputs(number)
    return [item for k, item in sorted(items.items()) if k >= parts.results and k not in own]


def _side_results(parts: CondParts, number: int, items: dict[int, Var],
                  names: dict[Var, str]) -> list[tuple[str, str]]:
    """``(result, value)`` for each result this side computes under another name."""
    side, own = (parts.then, parts.orelse)[number], parts.own_outputs(number)
    pairs = [(names[item], value_operand(side.outputs[k], names))
             for k, item in sorted(items.items()) if k < parts.results or k in own]
    return [(target, value) for target, value in pairs if target != value]


def _bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
              block: Graph, depth: int) -> Unit:
    """``inner = outer`` for the inputs of a body or a side that do not go by the enclosing
    names (see `name_check.input_bindings`)."""
    return assignments([(names[var], value_operand(out, names)) for out, var
                        in input_bindings(outer, inner, names, block)], depth)


# ---- calls --------------------------------------------------------------------------------

def call_lines(edge: Edge, printing: Printing) -> Unit:
    """A call of a function with several results: ``s, v1 = sigmoid_record(z)`` (``_`` for a
    result nothing reads)."""
    items = printing.results[edge]
    targets = ", ".join(printing.names[items[k]] if k in items else "_"
                        for k in range(len(edge.outputs)))
    return [printing.line(targets, python_expr(edge, printing.names))]


#: How each kind of edge (`kinds.edge_kind`) is printed.
PRINTERS: dict[str, Callable[[Edge, Printing], Unit]] = {
    "loop": loop_lines, "cond": branch_lines, "results": call_lines,
    "statement": statement_lines}
