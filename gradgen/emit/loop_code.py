"""Emission of a loop: everything emission knows about a ``loop`` edge (`LOOP_CODE`): how it is
printed, how it names its nodes, how the name check walks it, how its results are freed.

Part of emission (`emit`). A loop becomes::

    x = x0                          # the carried value's start, where names differ
    tape_v2 = [None] * (T - 1)      # one list per recorded value, preallocated
    for t in range(1, T):           # reversed(range(1, T)) for a reverse loop
        v2 = tape_v2[t - 1]         # read back (reverse loops)
        ...the body, one statement per edge...
        tape_v2[t - 1] = v2         # recorded right after it is computed
        x = x_next                  # the carried value for the next step, where names differ

A carried variable keeps one Python name before, in and after the loop wherever that is safe
(the value before the loop is not needed after it, the next value is computed after the last
use of the current one), and a loop's invariants are the enclosing names themselves. The name
check walks the body twice (the second step starts from what the first left); what holds after
the loop is what holds after no step or after some. A result is read off the carried name in
the body, so the loop uses its inputs until it ends.
"""

from __future__ import annotations

from gradgen.emit.block_names import Naming, Order, Place, name_edges, order
from gradgen.emit.blocks import Printing, bindings
from gradgen.emit.freeing import never_kept
from gradgen.emit.kinds import BlockEmission, FreeingRule
from gradgen.emit.lines import Unit, assignments
from gradgen.emit.name_check import Level, Reader, bind, walk
from gradgen.ir.graph import Edge, Var
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import operand, value_operand

# ---- printing -----------------------------------------------------------------------------

def loop_lines(edge: Edge, printing: Printing) -> Unit:
    """The lines of one loop edge: its head, its body (``pass`` if it has nothing to do), the
    carried results."""
    parts, results = loop_parts(edge), printing.results[edge]
    records = _records(parts, results)
    body = printing.or_pass(_loop_body(parts, records, printing))
    return _loop_head(parts, records, printing) + body + _loop_results(parts, results, printing)


def _records(parts: LoopParts, items: dict[int, Var]) -> dict[int, Var]:
    """The tape of each recorded value the loop's results hold, by the value's position."""
    n = len(parts.carried)
    return {k: items[n + k] for k in range(len(parts.recorded)) if n + k in items}


def _loop_head(parts: LoopParts, records: dict[int, Var], printing: Printing) -> Unit:
    """What comes before the body: the starts, the tapes made, the ``for`` header."""
    names = printing.names
    header = printing.line(None, f"for {names[parts.index]} in {_range_text(parts, names)}:")
    return [*_starts(parts, printing), *_new_tapes(parts, records, printing), header]


def _starts(parts: LoopParts, printing: Printing) -> Unit:
    """``x = x0``: the carried values' starts and the body's invariants, where names differ."""
    names, depth = printing.names, printing.depth
    return (_passed(parts.carried_in, parts.carried, names, depth)
            + bindings(parts.invariants, parts.invariant_in, names, parts.body, depth))


def _new_tapes(parts: LoopParts, records: dict[int, Var], printing: Printing) -> Unit:
    """``tape_v2 = [None] * (T - 1)``: one list per recorded value, preallocated."""
    count = _count_text(parts, printing.names)
    return [printing.line(printing.names[tape], f"[None] * {count}") for tape in records.values()]


def _loop_body(parts: LoopParts, records: dict[int, Var], printing: Printing) -> Unit:
    """One step: the tapes read back, the body and its records, the carried values passed on."""
    step = _position_text(parts, printing.names)
    lines = _read_back_lines(parts, step, printing) + _recorded_body(parts, records, step, printing)
    return lines + _passed(parts.carried_in, parts.carried_out, printing.names, printing.depth + 1)


def _recorded_body(parts: LoopParts, records: dict[int, Var], step: str,
                   printing: Printing) -> Unit:
    """The step's inputs recorded first, then each body edge followed by its record."""
    recorded = {parts.recorded[k]: printing.names[tape] for k, tape in records.items()}
    lines = _tape_writes(_step_inputs(parts), recorded, step, printing)
    for body_edge, unit in zip(parts.body.edges, printing.nested(parts.body, in_loop=True)):
        lines += unit + _tape_writes(body_edge.outputs, recorded, step, printing)
    return lines


def _step_inputs(parts: LoopParts) -> tuple[Var, ...]:
    """What a step starts from: the index, the carried values, the values read back."""
    return (parts.index, *parts.carried_in, *parts.read_in)


def _read_back_lines(parts: LoopParts, step: str, printing: Printing) -> Unit:
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
                        for target, value in zip(targets, values)], depth)


def _loop_results(parts: LoopParts, results: dict[int, Var], printing: Printing) -> Unit:
    """The carried results after the loop, where their names are not the carried names (a
    tape needs no line: it was made before the loop)."""
    names, carried = printing.names, _carried_results(parts, results)
    pairs = [(names[var], names[parts.carried_in[k]]) for k, var in carried.items()]
    return [printing.line(target, inner) for target, inner in pairs if target != inner]


def _carried_results(parts: LoopParts, results: dict[int, Var]) -> dict[int, Var]:
    """The loop's results that are carried values (the others are tapes), by position."""
    return {k: var for k, var in results.items() if k < len(parts.carried)}


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


# ---- naming -------------------------------------------------------------------------------

def name_loop(edge: Edge, place: Place, naming: Naming) -> None:
    """Names for a loop: its inputs', its carried values', its body's, its tapes'."""
    parts = loop_parts(edge)
    _name_loop_inputs(parts, naming)
    _name_carried_values(parts, place, naming)
    name_edges(parts.body, naming, {}, frozenset(parts.invariant_in), frozenset(parts.recorded))
    naming.name_new(tuple(place.items.values()), "tape")


def _name_loop_inputs(parts: LoopParts, naming: Naming) -> None:
    """The body's invariants go by the enclosing names; its index and reads are new."""
    naming.go_by(parts.invariants, parts.invariant_in)
    naming.name_new((parts.index,), "i")
    naming.name_new(parts.read_in, "r")


def _name_carried_values(parts: LoopParts, place: Place, naming: Naming) -> None:
    """Each carried value's names (`_name_carried`), against the body in order."""
    body = order(parts.body, {})
    for k in range(len(parts.carried)):
        _name_carried(parts, k, place, body, naming)


def _name_carried(parts: LoopParts, k: int, place: Place, body: Order, naming: Naming) -> None:
    """Carried value ``k``: one name before, in and after the loop where that is safe."""
    init, inner, after = parts.carried[k], parts.carried_in[k], parts.carried_out[k]
    names = naming.names
    if inner in names:
        return
    names[inner] = _carried_name(init, inner, place, naming)
    if _next_shares(parts, inner, after, body, naming):
        names[after] = names[inner]
    final = place.items.get(k)
    if final is not None:
        names[final] = _final_name(parts, inner, after, final, naming)


def _carried_name(init: Var, inner: Var, place: Place, naming: Naming) -> str:
    """The name of a carried value in the body: its start's where that is free."""
    free = _init_is_free(init, inner, place, naming)
    return naming.names[init] if free else naming.fresh(inner, "c")


def _init_is_free(init: Var, inner: Var, place: Place, naming: Naming) -> bool:
    """Whether the carried value's start can lend the loop its name: not read after the loop,
    of the same source name, and not an enclosing graph's."""
    return (naming.share and not init.is_const and place.last.get(init, -1) <= place.index
            and init in naming.names and naming.hint(init) == naming.hint(inner)
            and init not in place.aliased)


def _next_shares(parts: LoopParts, inner: Var, after: Var, body: Order, naming: Naming) -> bool:
    """Whether the next value can take the current one's name: computed after its last read,
    not named yet, and not both read back by the reverse loop."""
    return (naming.share and after in body.position
            and body.position[after] >= body.last.get(inner, -1)
            and after not in naming.names and after not in parts.carried_in
            and not {after, inner} <= set(parts.recorded))


def _final_name(parts: LoopParts, inner: Var, after: Var, final: Var, naming: Naming) -> str:
    """The carried value after the loop: the carried name, unless a recorded value is read
    back into that name by the reverse."""
    names, recorded = naming.names, parts.recorded
    read_back = inner in recorded or (after in recorded and names.get(after) == names[inner])
    return names[inner] if naming.share and not read_back else naming.fresh(final, "c")


# ---- the name check -----------------------------------------------------------------------

def check_loop(edge: Edge, reader: Reader, level: Level) -> None:
    """The loop's inputs read, its carried names and tapes set, the body's inputs bound, its
    steps, and its carried results assigned from the carried names."""
    parts, results = loop_parts(edge), level.results[edge]
    reader.reads((parts.start, parts.stop, *parts.carried, *parts.reads), edge)
    reader.define(parts.carried_in)
    tapes = _tapes(parts, results)
    reader.define(tapes)  # made before the loop, filled by its steps
    _check_body(parts, tapes, edge, reader)
    _check_results(parts, results, edge, reader)


def _check_body(parts: LoopParts, tapes: list[Var], edge: Edge, reader: Reader) -> None:
    """The body's inputs bound (its invariants go by the outer names in the body only), and
    its steps."""
    outer_aliases = dict(reader.state.aliases)
    bind(parts.invariants, parts.invariant_in, reader, parts.body)
    reader.define((parts.index,))
    _steps(parts, tapes, edge, reader)
    reader.state.aliases = outer_aliases


def _check_results(parts: LoopParts, results: dict[int, Var], edge: Edge, reader: Reader) -> None:
    """The carried results the loop binds, assigned from the carried names."""
    carried = _carried_results(parts, results)
    reader.assign([(parts.carried_in[k], var) for k, var in carried.items()], edge)


def _tapes(parts: LoopParts, items: dict[int, Var]) -> list[Var]:
    """The loop's results that are tapes (past the carried values)."""
    return [tape for k, tape in items.items() if k >= len(parts.carried)]


def _steps(parts: LoopParts, tapes: list[Var], edge: Edge, reader: Reader) -> None:
    """Two steps of the body (the second starts from what the first left); after each, what
    holds after no step or after some."""
    state = reader.state
    before, outer_written = dict(state.held), state.written
    for _ in range(2):
        state.written = set()
        _step(parts, reader)
        reader.reads(tapes, edge)
        state.join([state.held, before], state.written)
    state.written |= outer_written


def _step(parts: LoopParts, reader: Reader) -> None:
    """One step of a loop's body: the tapes read back, the body, the carried values passed on
    (at once: a swap is one tuple assignment)."""
    in_body = reader.at(parts.body)
    reader.assign(zip(parts.reads, parts.read_in), None)  # v2 = tape_v2[t - 1]
    recorded = frozenset(parts.recorded)
    in_body.reads([var for var in _step_inputs(parts) if var in recorded], "a tape", strict=True)
    walk(in_body, recorded)
    in_body.reads(parts.carried_out, None)
    reader.define(parts.carried_in)


# ---- freeing ------------------------------------------------------------------------------

def _read_off_carried(loop: Edge, index: int) -> tuple[Var, ...]:
    """A loop's result is read off its name in the body (a tape's has none there)."""
    return loop_parts(loop).carried_in[index:index + 1]


#: Everything emission knows about a loop.
LOOP_CODE = BlockEmission(print=loop_lines, name=name_loop, check=check_loop,
                          free=FreeingRule(reads=_read_off_carried, kept=never_kept))
