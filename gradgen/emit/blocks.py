"""Emission of blocks: a ``loop`` edge printed as a Python ``for`` statement, a ``cond`` edge
as an ``if``/``else``.

Part of emission (`emit`). A loop becomes::

    x = x0                          # the carried value's start, where names differ
    tape_v2 = [None] * (T - 1)      # one list per recorded value, preallocated
    for t in range(1, T):           # reversed(range(1, T)) for a reverse loop
        v2 = tape_v2[t - 1]         # read back (reverse loops)
        ...the body, one statement per edge...
        tape_v2[t - 1] = v2         # recorded right after it is computed
        x = x_next                  # the carried value for the next step, where names differ

Names follow the source: a carried variable keeps one Python name before, in and after the
loop wherever that is safe (the value before the loop is not needed after it, the next value
is computed after the last use of the current one), and a loop's invariants are the enclosing
names themselves. A branch becomes::

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

from gradgen.emit.name_check import NameCollision, check_names, input_bindings
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.naming import Namer
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_items, loop_parts
from gradgen.ir.printing import operand, python_expr, value_operand


@dataclass(frozen=True)
class Line:
    """One line of generated code: ``target = expr`` or a bare ``expr`` (a ``for`` header, a
    tape write), at an indentation depth inside the function."""

    target: str | None
    expr: str
    comment: str | None = None
    depth: int = 0

    def code(self, width: int) -> str:
        """``target = expr`` (or ``expr``); a call too long for ``width`` columns goes on with
        its arguments aligned under the first, as many to a line as fit."""
        head = f"{self.target} = " if self.target else ""
        parts = _call_parts(self.expr)
        if len(head + self.expr) <= width or parts is None:
            return head + self.expr
        opening = f"{head}{parts[0]}("
        lines, column = [opening], len(opening)
        for k, arg in enumerate(parts[1]):
            text = arg + ("," if k < len(parts[1]) - 1 else ")")
            if len(lines[-1]) + len(text) + 1 > width and lines[-1] != opening:
                lines.append(" " * (column - 1))
            lines[-1] += ("" if lines[-1] == opening else " ") + text
        indent = "    " * (self.depth + 1)
        return f"\n{indent}".join(line.rstrip() for line in lines)


def _call_parts(expr: str) -> tuple[str, list[str]] | None:
    """``f(a, g(b, c))`` as ``("f", ["a", "g(b, c)"])``; None if ``expr`` is not one call."""
    opened = expr.find("(")
    if opened <= 0 or not expr.endswith(")") or not expr[:opened].replace(".", "_").isidentifier():
        return None
    args, depth, start = [], 0, opened + 1
    for position, char in enumerate(expr[opened:-1], opened):
        depth += (char in "([{") - (char in ")]}")
        if depth == 0:
            return None  # the first parenthesis closes before the end: not one call
        if depth == 1 and char == ",":
            args.append(expr[start:position].strip())
            start = position + 1
    return expr[:opened], [*args, expr[start:-1].strip()]


#: Collisions mended one value at a time before every value gets a name of its own.
RENAMES = 8


def program_names(graph: Graph, reserved: frozenset[str],
                  placeholders: bool = False) -> dict[Var, str]:
    """A Python name for every node of a graph with blocks, bodies included (one scope):
    shared where the code reads well, as long as `name_check` finds no collision (a value
    whose read collides gets a name of its own, a few times over; then every node does).
    ``placeholders``: as in `branch_lines`, at the top of the graph."""
    names = _program_names(graph, reserved, share=True)
    namer = Namer(reserved)
    namer.taken.update(names.values())
    for _ in range(RENAMES):
        try:
            check_names(graph, names, placeholders)
            return names
        except NameCollision as collision:  # the value read gets a name of its own
            names[collision.var] = namer.fresh(collision.var.name or "v")
    names = _program_names(graph, reserved, share=False)
    check_names(graph, names, placeholders)
    return names


def _program_names(graph: Graph, reserved: frozenset[str], share: bool) -> dict[Var, str]:
    namer = Namer(reserved)
    names = {var: namer.fresh(var.name or "x") for var in graph.inputs}
    kept = (*graph.inputs, *graph.outputs)  # _finish reads the inputs' shapes at the end
    _name_edges(graph, names, namer, {var: len(graph.edges) for var in kept},
                share=share)
    return names


def _name_edges(graph: Graph, names: dict[Var, str], namer: Namer,
                kept_after: dict[Var, int], aliased: frozenset[Var] = frozenset(),
                recorded: frozenset[Var] = frozenset(), share: bool = True) -> None:
    """Name the nodes ``graph`` makes; ``aliased`` are its inputs that go by an enclosing
    graph's names (a body's invariants, a side's operands): never reused for a new value;
    ``recorded`` are the values a loop records, read back together: never sharing a name."""
    last = _last_uses(graph.edges, kept_after)
    items = loop_items(graph.edges)
    for index, edge in enumerate(graph.edges):
        if edge.prim == "loop":
            _name_loop(edge, index, names, namer, last, items.get(edge.output, {}), aliased,
                       share)
        elif edge.prim == "cond":
            _name_branch(edge, index, names, namer, last, items.get(edge.output, {}), aliased,
                         recorded, share)
        elif edge.output not in names and edge.output.dtype != "tuple":  # a tuple: no name
            hint = edge.output.name
            names[edge.output] = (namer.fresh(hint) if hint
                                  else namer.temporary("t" if edge.origin else "v"))


def _name_loop(edge: Edge, index: int, names: dict[Var, str], namer: Namer,
               last: dict[Var, int], items: dict[int, Var], aliased: frozenset[Var],
               share: bool) -> None:
    parts = loop_parts(edge)
    for outer, inner in zip(parts.invariants, parts.invariant_in):
        names.setdefault(inner, value_operand(outer, names))
    if parts.index not in names:
        names[parts.index] = namer.fresh(parts.index.name or "i")
    for var in parts.read_in:
        if var not in names:
            names[var] = namer.fresh(var.name or "r")
    body_last = _last_uses(parts.body.edges, {})
    position = {e.output: k for k, e in enumerate(parts.body.edges)}
    for k, (init, inner, after) in enumerate(zip(parts.carried, parts.carried_in,
                                                  parts.carried_out)):
        if inner in names:
            continue
        free_init = (share and not init.is_const and last.get(init, -1) <= index
                     and init in names
                     and init.name == inner.name and init not in aliased)
        names[inner] = names[init] if free_init else namer.fresh(inner.name or "c")
        recorded = set(parts.body.outputs[len(parts.carried):])
        if share and after in position and position[after] >= body_last.get(inner, -1) \
                and after not in names and after not in parts.carried_in \
                and not {after, inner} <= recorded:  # both read back by the reverse loop
            names[after] = names[inner]
        final = items.get(k)
        if final is not None:  # a recorded value is read back into its name by the reverse
            read_back = inner in recorded or (after in recorded
                                              and names.get(after) == names[inner])
            names[final] = (names[inner] if share and not read_back
                            else namer.fresh(final.name or "c"))
    _name_edges(parts.body, names, namer, {}, frozenset(parts.invariant_in),
                frozenset(parts.body.outputs[len(parts.carried):]), share)
    for tape in items.values():
        if tape not in names:
            names[tape] = namer.fresh(tape.name or "tape")


def _name_branch(edge: Edge, index: int, names: dict[Var, str], namer: Namer,
                 last: dict[Var, int], items: dict[int, Var], aliased: frozenset[Var],
                 recorded: frozenset[Var], share: bool) -> None:
    """Names for a branch: its sides' inputs are the operands' names; a result keeps the name
    of the variable it replaces where both sides compute it after their last use of that
    variable, and each side computes a result under the result's name where it can."""
    parts = cond_parts(edge)
    sides = (parts.then, parts.orelse)
    for outer, inner in zip(edge.inputs[1:], parts.then.inputs):
        names.setdefault(inner, value_operand(outer, names))
    side_last = [_last_uses(side.edges, dict.fromkeys(side.outputs, len(side.edges)))
                 for side in sides]
    positions = [{e.output: k for k, e in enumerate(side.edges)} for side in sides]
    operand_names = {names[inner] for inner in parts.operand_in}
    for k in range(parts.results):
        item = items.get(k)
        if item is None:
            continue
        if item not in names:
            names[item] = (_result_name(edge, index, k, item, names, namer, last, side_last,
                                        positions, aliased | recorded if item in recorded
                                        else aliased)
                           if share else namer.fresh(item.name or "v"))
        elif names[item] in operand_names:
            continue  # named by an enclosing branch after a value this one reads
        for side, position in zip(sides, positions):
            if not share:
                break
            out = side.outputs[k]
            if out in position and out not in names:
                names[out] = names[item]
    for side in sides:
        _name_edges(side, names, namer, {}, frozenset(side.inputs), recorded, share)
    for k, item in items.items():
        if item not in names:  # a recorded value keeps its name in the side that makes it
            side = sides[0] if k in parts.own_outputs(0) else sides[1]  # (the reverse side
            names[item] = names[side.outputs[k]]  # reads it as that node, its input)


def _result_name(edge: Edge, index: int, k: int, item: Var, names: dict[Var, str],
                 namer: Namer, last: dict[Var, int], side_last: list[dict[Var, int]],
                 positions: list[dict[Var, int]], kept: frozenset[Var]) -> str:
    """The name of a branch's result ``k``: the name of the operand it replaces if nothing
    reads that operand after the branch, and each side either passes it on or computes the
    result after its last use; a fresh name otherwise (or if the operand is ``kept``)."""
    parts = cond_parts(edge)
    for outer, inner in zip(parts.operands, parts.operand_in):
        if (outer.is_const or outer in kept or outer.name != item.name
                or last.get(outer, -1) > index):
            continue
        safe = all(side.outputs[k] is inner or (side.outputs[k] in position and
                                                position[side.outputs[k]] >= used.get(inner, -1)
                                                and used.get(inner, -1) < len(side.edges))
                   for side, position, used in zip((parts.then, parts.orelse), positions,
                                                   side_last))
        if safe:
            return names[outer]
    return namer.fresh(item.name or "v")


def _last_uses(edges: tuple[Edge, ...], kept_after: dict[Var, int]) -> dict[Var, int]:
    last = dict(kept_after)
    for index, edge in enumerate(edges):
        for var in edge.inputs:
            last[var] = max(last.get(var, -1), index)
    return last


# ---- statements ---------------------------------------------------------------------------

Unit = list[Line]
EdgeUnits = Callable[[Graph, dict[Var, str], int], list[Unit]]


def loop_lines(edge: Edge, names: dict[Var, str], depth: int, items: dict[int, Var],
               body_units: EdgeUnits) -> Unit:
    """The lines of one loop edge at ``depth``; ``body_units`` prints the body's edges."""
    parts = loop_parts(edge)
    n = len(parts.carried)
    lines = _assignments([(names[inner], value_operand(init, names))
                          for init, inner in zip(parts.carried, parts.carried_in)
                          if names[inner] != value_operand(init, names)], depth)
    lines += _bindings(parts.invariants, parts.invariant_in, names, parts.body, depth)
    count = _count_text(parts, names)
    records = {k: items[n + k] for k in range(len(parts.body.outputs) - n) if n + k in items}
    lines += [Line(names[tape], f"[None] * {count}", None, depth) for tape in records.values()]
    lines.append(Line(None, f"for {names[parts.index]} in {_range_text(parts, names)}:",
                      None, depth))
    step = _position_text(parts, names)
    inner = depth + 1
    lines += [Line(names[var], f"{operand(tape, names)}[{step}]", None, inner)
              for tape, var in zip(parts.reads, parts.read_in)]
    recorded = {parts.body.outputs[n + k]: names[tape] for k, tape in records.items()}
    for var in (parts.index, *parts.carried_in, *parts.read_in):  # inputs: record them first
        if var in recorded:
            lines.append(Line(None, f"{recorded.pop(var)}[{step}] = {names[var]}", None, inner))
    for body_edge, unit in zip(parts.body.edges, body_units(parts.body, names, inner)):
        lines += unit
        if body_edge.output in recorded:
            lines.append(Line(None, f"{recorded.pop(body_edge.output)}[{step}] = "
                                    f"{names[body_edge.output]}", None, inner))
    lines += _assignments([(names[var], value_operand(after, names))
                           for var, after in zip(parts.carried_in, parts.carried_out)
                           if names[var] != value_operand(after, names)], inner)
    if len(lines) and lines[-1].depth == depth:  # an empty body
        lines.append(Line(None, "pass", None, inner))
    return lines


def branch_lines(edge: Edge, names: dict[Var, str], depth: int, items: dict[int, Var],
                 body_units: EdgeUnits, placeholders: bool = False) -> Unit:
    """The lines of one branch at ``depth``: ``if test:``, a side, ``else:``, the other (the
    ``else`` left out where that side has nothing to do). With ``placeholders`` (in a loop,
    whose tapes record every value), a side binds the other side's recorded values to None."""
    parts = cond_parts(edge)
    lines = [Line(None, f"if {operand(parts.test, names)}:", None, depth)]
    for number, side in enumerate((parts.then, parts.orelse)):
        body = _bindings(parts.operands, parts.operand_in, names, side, depth + 1)
        body += [line for unit in body_units(side, names, depth + 1) for line in unit]
        results = []
        for k, item in sorted(items.items()):
            if k >= parts.results and k not in parts.own_outputs(number):
                if placeholders:  # the other side's
                    body.append(Line(names[item], "None", None, depth + 1))
            elif names[item] != value_operand(side.outputs[k], names):
                results.append((names[item], value_operand(side.outputs[k], names)))
        body += _assignments(results, depth + 1)
        if number == 0:
            lines += body or [Line(None, "pass", None, depth + 1)]
        elif body:
            lines += [Line(None, "else:", None, depth), *body]
    return lines


def _bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
              block: Graph, depth: int) -> Unit:
    """``inner = outer`` for the inputs of a body or a side that do not go by the enclosing
    names (see `name_check.input_bindings`)."""
    return _assignments([(names[var], value_operand(out, names)) for out, var
                         in input_bindings(outer, inner, names, block)], depth)


def _assignments(pairs: list[tuple[str, str]], depth: int) -> Unit:
    """``target = value`` lines, or one tuple assignment where a line would overwrite a name
    that a later one reads (a swap: ``x, a = a, x``)."""
    read_later: set[str] = set()
    clobbers = False
    for target, value in reversed(pairs):
        clobbers = clobbers or target in read_later
        read_later.add(value)
    if clobbers:  # the values are names or constants, read before any target is written
        targets, values = zip(*pairs)
        return [Line(", ".join(targets), ", ".join(values), None, depth)]
    return [Line(target, value, None, depth) for target, value in pairs]


def call_lines(edge: Edge, names: dict[Var, str], depth: int, items: dict[int, Var]) -> Unit:
    """A call of a function with several results: ``s, v1 = sigmoid_record(z)`` (``_`` for a
    result nothing reads)."""
    count = len(dict(edge.params)["graph"].outputs)
    targets = ", ".join(names[items[k]] if k in items else "_" for k in range(count))
    return [Line(targets, python_expr(edge, names), None, depth)]


def item_lines(edge: Edge, names: dict[Var, str], depth: int, block: Edge) -> Unit:
    """A carried result after the loop (a tape needs no line: it was made before)."""
    if block.prim != "loop":
        return []  # a branch's results are assigned inside its sides, a call's by the call
    index = dict(edge.params)["index"]
    parts = loop_parts(block)
    if index >= len(parts.carried):
        return []
    inner = names[parts.carried_in[index]]
    return [] if names[edge.output] == inner else [Line(names[edge.output], inner, None, depth)]


def _bound_text(var: Var, names: dict[Var, str]) -> str:
    """A loop bound as a Python int: a constant or a dimension (a ``dim`` node, an int) as it
    is, anything else (an input is a float) through ``int(...)``."""
    text = operand(var, names)
    return text if var.is_const or var.dtype == "int" else f"int({text})"


def _range_text(parts: LoopParts, names: dict[Var, str]) -> str:
    stop = _bound_text(parts.stop, names)
    if parts.start.is_const and parts.start.value == 0:
        text = f"range({stop})"
    else:
        text = f"range({_bound_text(parts.start, names)}, {stop})"
    return f"reversed({text})" if parts.reverse else text


def _count_text(parts: LoopParts, names: dict[Var, str]) -> str:
    stop = _bound_text(parts.stop, names)
    if parts.start.is_const and parts.start.value == 0:
        return stop
    return f"({stop} - {_bound_text(parts.start, names)})"


def _position_text(parts: LoopParts, names: dict[Var, str]) -> str:
    index = names[parts.index]
    if parts.start.is_const and parts.start.value == 0:
        return index
    return f"{index} - {_bound_text(parts.start, names)}"
