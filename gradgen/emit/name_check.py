"""Emission: the check of the names, that every statement of the generated code reads, under
the name it prints, the value it means.

Part of emission (`emit`). The names of a function with blocks are shared where that reads
well (a carried variable keeps one name before, in and after its loop; a branch's result takes
the name of the variable it replaces). This module walks the graph in the order its code runs,
as `blocks` prints it, and keeps for every Python name the node it holds: a loop's body
is walked twice (the second step starts from what the first left) and what holds after it is
what holds after no step or after some; after a branch, what both sides leave. A read of a
node whose name holds another node at that point is a collision, reported with the names
involved. `block_names` then names the function without sharing, which cannot collide. Each
kind of edge is checked by its entry in `CHECKS`.

A value one side of a branch records for its reverse (a residual) is read back only on the way
that side took, so after the branch its name may hold it on one way and anything on the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gradgen.emit.kinds import block_results, edge_kind
from gradgen.errors import InternalError
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import CondParts, cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import operand, value_operand


class NameCollision(InternalError):
    """Two values that are alive at once share a Python name: ``var`` is read where its
    name holds another."""

    def __init__(self, message: str, var: Var) -> None:
        super().__init__(message)
        self.var = var


@dataclass(frozen=True)
class _Unknown:
    """A name that holds different nodes on different ways to this point."""


@dataclass(frozen=True)
class _Residual:
    """A name that holds ``var``, recorded by one side of a branch, on that side's way."""

    var: Var


_UNKNOWN = _Unknown()
Held = Var | _Unknown | _Residual


@dataclass
class _State:
    held: dict[str, Held] = field(default_factory=dict)
    aliases: dict[Var, Var] = field(default_factory=dict)  # a block's input -> the outer node
    written: set[str] = field(default_factory=set)  # the names assigned since the copy

    def copy(self) -> _State:
        return _State(dict(self.held), dict(self.aliases))

    def hold(self, name: str, held: Held) -> None:
        self.held[name] = held
        self.written.add(name)

    def join(self, ways: list[dict[str, Held]], written: set[str]) -> None:
        """Hold what holds after one of ``ways`` (each the names after one way here): only
        the names assigned on some way can differ, so a block costs what it assigns."""
        first, second = ways
        for name in written:
            a, b = first.get(name, _UNKNOWN), second.get(name, _UNKNOWN)
            self.settle(name, a if a is b else _either(a, b))
        self.written |= written

    def settle(self, name: str, held: Held) -> None:
        """``name`` holds ``held`` after a block (what is not held reads as nothing)."""
        if held is _UNKNOWN:
            self.held.pop(name, None)
        else:
            self.held[name] = held


def check_names(graph: Graph, names: dict[Var, str], placeholders: bool = False) -> None:
    """Raise `NameCollision` where the code printed for ``graph`` with ``names`` would read a
    node under a name that holds another at that point. ``placeholders``: each side of a
    branch binds the other side's residuals to None (as in a loop's body, always)."""
    state = _State({names[var]: var for var in graph.inputs})
    _walk(graph, names, state, placeholders=placeholders)
    _Reader(names, state, graph).reads(graph.outputs, "a result", strict=True)


@dataclass(frozen=True)
class _Reader:
    """Reads and assignments at one point of the walk: the names, what each name holds, and
    the graph they are in (named in a collision's message)."""

    names: dict[Var, str]
    state: _State
    graph: Graph

    def reads(self, vars_: Iterable[Var], where: Edge | None | str,
              strict: bool = False) -> None:
        for var in vars_:
            _read(var, self.names, self.state, self.graph, where, strict)

    def define(self, vars_: Iterable[Var]) -> None:
        """Assign the nodes at once (their values were all read before)."""
        for var in list(vars_):
            if var in self.names:
                self.state.hold(self.names[var], var)

    def at(self, graph: Graph, state: _State | None = None) -> _Reader:
        """A reader in ``graph`` (a body, a side), with ``state`` if given."""
        return _Reader(self.names, self.state if state is None else state, graph)


@dataclass(frozen=True)
class _Blocks:
    """The walked graph's blocks: the results each binds, by position; and whether each side
    of a branch binds the other side's residuals to None."""

    results: dict[Edge, dict[int, Var]]
    placeholders: bool


def _blocks(graph: Graph, placeholders: bool) -> _Blocks:
    return _Blocks(block_results(graph), placeholders)


def _walk(graph: Graph, names: dict[Var, str], state: _State,
          recorded: frozenset[Var] = frozenset(), placeholders: bool = True) -> None:
    """The edges in the order their code runs, each by its kind's entry in `CHECKS`; a
    ``recorded`` node is written to its tape right after it is made, on every way (a residual
    too)."""
    reader, blocks = _Reader(names, state, graph), _blocks(graph, placeholders)
    for edge in graph.edges:
        CHECKS[edge_kind(edge)](edge, reader, blocks)
        reader.reads([var for var in edge.outputs if var in recorded], "a tape", strict=True)


def _statement(edge: Edge, reader: _Reader, blocks: _Blocks) -> None:
    reader.reads(edge.inputs, edge)
    reader.define((edge.output,))


def _results(edge: Edge, reader: _Reader, blocks: _Blocks) -> None:
    """A call with several results: they are assigned by the call."""
    reader.reads(edge.inputs, edge)
    reader.define(blocks.results[edge].values())


# ---- loops --------------------------------------------------------------------------------

def _loop(edge: Edge, reader: _Reader, blocks: _Blocks) -> None:
    """The loop's inputs read, its carried names and tapes set, the body's inputs bound, its
    steps, and its carried results assigned from the carried names."""
    parts = loop_parts(edge)
    reader.reads((parts.start, parts.stop, *parts.carried, *parts.reads), edge)
    reader.define(parts.carried_in)
    results = blocks.results[edge]
    tapes = _tapes(parts, results)
    reader.define(tapes)  # made before the loop, filled by its steps
    outer_aliases = dict(reader.state.aliases)  # the body's invariants go by the outer names
    _bind(parts.invariants, parts.invariant_in, reader, parts.body)
    reader.define((parts.index,))
    _steps(parts, tapes, edge, reader)
    reader.state.aliases = outer_aliases
    for k, var in results.items():
        if k < len(parts.carried):
            reader.reads((parts.carried_in[k],), edge)
            reader.define((var,))


def _tapes(parts: LoopParts, items: dict[int, Var]) -> list[Var]:
    """The loop's results that are tapes (past the carried values)."""
    return [tape for k, tape in items.items() if k >= len(parts.carried)]


def _steps(parts: LoopParts, tapes: list[Var], edge: Edge, reader: _Reader) -> None:
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


def _step(parts: LoopParts, reader: _Reader) -> None:
    """One step of a loop's body: the tapes read back, the body, the carried values passed on
    (at once: a swap is one tuple assignment)."""
    in_body = reader.at(parts.body)
    _read_backs(parts, reader)
    recorded = frozenset(parts.recorded)
    in_body.reads([var for var in (parts.index, *parts.carried_in, *parts.read_in)
                   if var in recorded], "a tape", strict=True)
    _walk(parts.body, reader.names, reader.state, recorded)
    in_body.reads(parts.carried_out, None)
    reader.define(parts.carried_in)


def _read_backs(parts: LoopParts, reader: _Reader) -> None:
    """``v2 = tape_v2[t - 1]``, one value at a time."""
    for tape, var in zip(parts.reads, parts.read_in):
        reader.reads((tape,), None)
        reader.define((var,))


# ---- branches -----------------------------------------------------------------------------

def _branch(edge: Edge, reader: _Reader, blocks: _Blocks) -> None:
    """Each side walked from what holds before the branch; after it, what both leave."""
    parts = cond_parts(edge)
    reader.reads(edge.inputs, edge)
    items = blocks.results[edge]
    ends = [_side(parts, number, items, reader, blocks.placeholders) for number in (0, 1)]
    reader.state.join([end.held for end in ends], ends[0].written | ends[1].written)


def _side(parts: CondParts, number: int, items: dict[int, Var], reader: _Reader,
          placeholders: bool) -> _State:
    """What holds at the end of one side."""
    side, end = (parts.then, parts.orelse)[number], reader.state.copy()
    outer, in_side = reader.at(reader.graph, end), reader.at(side, end)
    _bind(parts.operands, parts.operand_in, outer, side)  # the operands
    _walk(side, reader.names, end, placeholders=placeholders)
    own = [k for k in items if k < parts.results or k in parts.own_outputs(number)]
    in_side.reads([side.outputs[k] for k in own], None)
    outer.define([items[k] for k in own])
    _residuals(parts, items, own, outer, placeholders)
    return end


def _residuals(parts: CondParts, items: dict[int, Var], own: list[int], reader: _Reader,
               placeholders: bool) -> None:
    """With ``placeholders``, the other side's residuals bound to None; else this side's
    residuals held on this way only."""
    if placeholders:
        reader.define([item for k, item in items.items() if k not in own])
        return
    for k in own:
        if k >= parts.results:
            reader.state.hold(reader.names[items[k]], _Residual(items[k]))


def input_bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
                   block: Graph) -> list[tuple[Var, Var]]:
    """The inputs of a block (a body, a side) that emission assigns before it, ``inner =
    outer``: those the block reads whose names are not the names of the nodes they stand for.
    The others go by the enclosing names, with no line."""
    read = {var for edge in block.edges for var in edge.inputs} | set(block.outputs)
    return [(out, var) for out, var in zip(outer, inner)
            if var in read and names[var] != value_operand(out, names)]


def _bind(outer: tuple[Var, ...], inner: tuple[Var, ...], reader: _Reader,
          block: Graph) -> None:
    """A block's inputs: assigned where `input_bindings` says, else the enclosing names."""
    bound = input_bindings(outer, inner, reader.names, block)
    reader.reads([out for out, _ in bound], "a block's input")
    reader.define([var for _, var in bound])
    aliases = reader.state.aliases
    for out, var in zip(outer, inner):
        if (out, var) not in bound:
            aliases[var] = aliases.get(out, out)


def _either(a: Held, b: Held) -> Held:
    """What a name holds after one of two ways: the same node, a residual of one way, or
    nothing that may be read."""
    if a == b:
        return a
    residual_a, residual_b = type(a) is _Residual, type(b) is _Residual
    if residual_a != residual_b:
        return a if residual_a else b
    return _UNKNOWN


def _read(var: Var, names: dict[Var, str], state: _State, graph: Graph,
          edge: Edge | None | str, strict: bool = False) -> None:
    """Check that ``var``'s name holds it (with ``strict``, on every way to this point)."""
    if var.is_const:
        return
    name = operand(var, names)  # as the code prints it
    meant = state.aliases.get(var, var)  # the node it stands for
    if meant.is_const and name == value_operand(meant, names):
        return
    held = state.held.get(name, _UNKNOWN)
    if not _holds(held, var, meant, strict):
        raise NameCollision(f"in {graph.name}, {_where(edge)} reads {meant!r} as '{name}', "
                            f"which holds {_what(held)} at that point", var)


def _holds(held: Held, var: Var, meant: Var, strict: bool) -> bool:
    """Whether a name that holds ``held`` gives ``var`` (or ``meant``, the node it stands
    for); a residual does where the read need not hold on every way."""
    return held is var or held is meant or (not strict and isinstance(held, _Residual)
                                            and held.var in (var, meant))


def _what(held: Held) -> str:
    if held is _UNKNOWN:
        return "nothing"
    return f"{held.var!r} on one way" if isinstance(held, _Residual) else repr(held)


def _where(edge: Edge | None | str) -> str:
    if isinstance(edge, str):
        return edge
    return f"edge {edge.prim}" if edge is not None else "the end of a block"


#: How each kind of edge (`kinds.edge_kind`) is checked.
CHECKS: dict[str, Callable[[Edge, _Reader, _Blocks], None]] = {
    "loop": _loop, "cond": _branch, "results": _results, "statement": _statement}
