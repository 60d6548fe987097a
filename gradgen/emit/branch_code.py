"""Emission of a branch: everything emission knows about a ``cond`` edge (`BRANCH_CODE`): how
it is printed, how it names its nodes, how the name check walks it, how its results are freed.

Part of emission (`emit`). A branch becomes::

    if x > 0:                       # the test, one number
        y = np.log(x)               # ...the side's statements, one per edge...
        v3 = None                   # the other side's recorded values (reverse mode)
    else:
        y = 0.0

Each side assigns the branch's results under the names they have after it: a result takes the
name of the variable it replaces where both sides compute it after their last use of that
variable, and each side computes a result under the result's name where it can. What one side
records for its reverse (a residual) is left in its own name; in a loop's body (whose tapes
record every value), a side binds the other side's residuals to None. The name check walks each
side from what holds before the branch; after it, what both leave. A residual is bound only
where its side ran, so it is never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgen.emit.block_names import Naming, Order, Place, name_edges, order
from gradgen.emit.blocks import Printing, bindings
from gradgen.emit.freeing import reads_nothing
from gradgen.emit.kinds import BlockEmission, FreeingRule
from gradgen.emit.lines import Unit, assignments
from gradgen.emit.name_check import Level, Reader, State, bind, walk
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import CondParts, cond_parts
from gradgen.ir.printing import operand, value_operand

# ---- a side -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Side:
    """One side of a branch (``number`` 0: then, 1: else), and the results of the branch that
    its code binds, by position (``items``)."""

    parts: CondParts
    number: int
    items: dict[int, Var]

    @property
    def graph(self) -> Graph:
        return _sides(self.parts)[self.number]

    def bound(self) -> list[int]:
        """The positions of the results this side binds: the branch's, and its residuals."""
        own = self.parts.own_outputs(self.number)
        return [k for k in sorted(self.items) if k < self.parts.results or k in own]

    def others(self) -> list[Var]:
        """The results that the other side records for its reverse (this side binds none)."""
        bound = self.bound()
        return [item for k, item in sorted(self.items.items()) if k not in bound]

    def residuals(self) -> list[Var]:
        """The results that this side records for its reverse."""
        return [self.items[k] for k in self.parts.own_outputs(self.number) if k in self.items]

    def records(self) -> bool:
        """Whether the side's outputs record values for the reverse: as in a loop's body, a
        branch nested in it binds the other way's residuals to None, so that every value the
        side passes on is bound whichever way the nested branch took."""
        return sum(self.parts.residuals) > 0


def _sides(parts: CondParts) -> tuple[Graph, Graph]:
    """The branch's sides by number: 0 then, 1 else."""
    return parts.then, parts.orelse


# ---- printing -----------------------------------------------------------------------------

def branch_lines(edge: Edge, printing: Printing) -> Unit:
    """The lines of one branch: ``if test:``, a side, ``else:``, the other (the ``else`` left
    out where that side has nothing to do)."""
    parts, items = cond_parts(edge), printing.results[edge]
    then, orelse = (_side_lines(_Side(parts, number, items), printing) for number in (0, 1))
    test = printing.line(None, f"if {operand(parts.test, printing.names)}:")
    lines = [test, *printing.or_pass(then)]
    return lines + ([printing.line(None, "else:"), *orelse] if orelse else [])


def _side_lines(side: _Side, printing: Printing) -> Unit:
    """One side's lines: its inputs bound, its statements, the branch's results assigned, then
    the other side's recorded values bound to None (in a loop): after the results, which may
    read a value of this side under a name that one of those takes (as the name check walks
    it)."""
    names, inner, parts = printing.names, printing.depth + 1, side.parts
    lines = bindings(parts.operands, parts.operand_in, names, side.graph, inner)
    nested = printing.nested(side.graph, printing.in_loop or side.records())
    lines += [line for unit in nested for line in unit]
    lines += assignments(_side_results(side, names), inner)
    return lines + _placeholders(side, printing)


def _placeholders(side: _Side, printing: Printing) -> Unit:
    """``v3 = None`` for each of the other side's residuals, in a loop (whose tapes record
    every value)."""
    others = side.others() if printing.in_loop else []
    return [printing.line(printing.names[item], "None", True) for item in others]


def _side_results(side: _Side, names: dict[Var, str]) -> list[tuple[str, str]]:
    """``(result, value)`` for each result this side binds."""
    outputs = side.graph.outputs
    return [(names[side.items[k]], value_operand(outputs[k], names)) for k in side.bound()]


# ---- naming -------------------------------------------------------------------------------

def name_branch(edge: Edge, place: Place, naming: Naming) -> None:
    """Names for a branch: its sides' inputs are the operands' names; a result keeps the name
    of the variable it replaces where both sides compute it after their last use of that
    variable, and each side computes a result under the result's name where it can."""
    parts = cond_parts(edge)
    naming.go_by(edge.inputs[1:], parts.then.inputs)
    _name_branch_results(parts, place, naming)
    for side in _sides(parts):
        name_edges(side, naming, {}, frozenset(side.inputs), place.recorded)
    _name_residuals(parts, place.items, naming)


def _name_branch_results(parts: CondParts, place: Place, naming: Naming) -> None:
    """Each result the branch binds (not a residual), and the sides' values computing it."""
    orders = _side_orders(parts)
    operand_names = {naming.names[inner] for inner in parts.operand_in}
    for k in range(parts.results):
        if k in place.items:
            _name_result(parts, k, place, orders, operand_names, naming)


def _side_orders(parts: CondParts) -> list[Order]:
    """Each side in order, its results read at its end."""
    return [order(side, dict.fromkeys(side.outputs, len(side.edges))) for side in _sides(parts)]


def _name_result(parts: CondParts, k: int, place: Place, orders: list[Order],
                 operand_names: set[str], naming: Naming) -> None:
    """Result ``k`` after the branch, and the sides' values that compute it under its name."""
    item, names = place.items[k], naming.names
    if item not in names:
        names[item] = (_result_name(parts, k, place, orders, naming) if naming.share
                       else naming.fresh(item, "v"))
    elif names[item] in operand_names:
        return  # named by an enclosing branch after a value this one reads
    if naming.share:
        _name_side_results(orders, k, names[item], naming)


def _name_side_results(orders: list[Order], k: int, name: str, naming: Naming) -> None:
    """Each side's value of result ``k`` computed under the result's name, where it can."""
    for side in orders:
        out = side.graph.outputs[k]
        if out in side.position and out not in naming.names:
            naming.names[out] = name


def _result_name(parts: CondParts, k: int, place: Place, orders: list[Order],
                 naming: Naming) -> str:
    """The name of a branch's result ``k``: the name of the operand it replaces if nothing
    reads that operand after the branch, and each side either passes it on or computes the
    result after its last use; a fresh name otherwise (or if the operand is kept)."""
    item = place.items[k]
    kept = place.aliased | place.recorded if item in place.recorded else place.aliased
    for outer, inner in zip(parts.operands, parts.operand_in):
        if (_operand_is_free(outer, item, kept, place, naming)
                and _sides_replace(orders, inner, k)):
            return naming.names[outer]
    return naming.fresh(item, "v")


def _operand_is_free(outer: Var, item: Var, kept: frozenset[Var], place: Place,
                     naming: Naming) -> bool:
    """Whether the result may take operand ``outer``'s name: of the same source name, not
    kept, and not read after the branch."""
    return not (outer.is_const or outer in kept or naming.hint(outer) != naming.hint(item)
                or place.last.get(outer, -1) > place.index)


def _sides_replace(orders: list[Order], inner: Var, k: int) -> bool:
    """Whether each side replaces ``inner`` by result ``k`` (see `_side_replaces`)."""
    return all(_side_replaces(side, inner, k) for side in orders)


def _side_replaces(side: Order, inner: Var, k: int) -> bool:
    """Whether ``side`` passes ``inner`` on as result ``k``, or computes the result after its
    last read of ``inner`` (which its results do not read)."""
    out, used = side.graph.outputs[k], side.last.get(inner, -1)
    return out is inner or (out in side.position and side.position[out] >= used
                            and used < len(side.graph.edges))


def _name_residuals(parts: CondParts, items: dict[int, Var], naming: Naming) -> None:
    """A recorded value keeps its name in the side that makes it (the reverse side reads it as
    that node, its input); a constant (folded after it was recorded), one of the side's inputs
    passed on (its name is an operand's, which lives on after the branch), or a value the side
    records twice (two tapes that simplification found equal) gets a name of its own for each
    further place, which that side assigns."""
    named: set[Var] = set()
    for k, item in items.items():
        if item not in naming.names:
            side = parts.then if k in parts.own_outputs(0) else parts.orelse
            out = side.outputs[k]
            own = out.is_const or out in named or out in side.inputs
            naming.names[item] = naming.fresh(item, "v") if own else naming.names[out]
            named.add(out)


# ---- the name check -----------------------------------------------------------------------

def check_branch(edge: Edge, reader: Reader, level: Level) -> None:
    """Each side walked from what holds before the branch; after it, what both leave."""
    parts, items = cond_parts(edge), level.results[edge]
    reader.reads(edge.inputs, edge)
    ends = [_side_end(_Side(parts, number, items), reader, level.placeholders) for number in (0, 1)]
    reader.state.join([end.held for end in ends], ends[0].written | ends[1].written)


def _side_end(side: _Side, reader: Reader, placeholders: bool) -> State:
    """What holds at the end of one side: its operands bound, its edges, its results."""
    end = reader.state.copy()
    outer, in_side = reader.at(reader.graph, end), reader.at(side.graph, end)
    bind(side.parts.operands, side.parts.operand_in, outer, side.graph)
    walk(in_side, placeholders=placeholders or side.records())
    _check_side_results(side, outer, in_side, placeholders)
    return end


def _check_side_results(side: _Side, outer: Reader, in_side: Reader, placeholders: bool) -> None:
    """The results the side binds, read at its end and assigned after the branch."""
    bound = side.bound()
    in_side.reads([side.graph.outputs[k] for k in bound], None)
    outer.define([side.items[k] for k in bound])
    _check_residuals(side, outer, placeholders)


def _check_residuals(side: _Side, reader: Reader, placeholders: bool) -> None:
    """With ``placeholders``, the other side's residuals bound to None; else this side's
    residuals held on this way only."""
    if placeholders:
        reader.define(side.others())
    else:
        reader.hold_residuals(side.residuals())


# ---- freeing ------------------------------------------------------------------------------

def _recorded_by_a_side(branch: Edge, index: int) -> bool:
    """Whether result ``index`` is a value one side records for its reverse: bound only where
    that side ran."""
    return index >= cond_parts(branch).results


#: Everything emission knows about a branch.
BRANCH_CODE = BlockEmission(print=branch_lines, name=name_branch, check=check_branch,
                            free=FreeingRule(reads=reads_nothing, kept=_recorded_by_a_side))
