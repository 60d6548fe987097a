"""Emission: the check of the names, that every statement of the generated code reads, under
the name it prints, the value it means (the walk over a graph's edges, and what a block kind's
walk is given).

Part of emission (`emit`). The names of a function with blocks are shared where that reads
well (a carried variable keeps one name before, in and after its loop; a branch's result takes
the name of the variable it replaces). This module walks the graph in the order its code runs,
as `blocks` prints it, and keeps for every Python name the node it holds (`State`); a block is
walked by its kind's check (`kinds.BlockEmission.check`): a loop's body twice (`loop_code`: the
second step starts from what the first left, and what holds after it is what holds after no
step or after some), a branch's sides each from what holds before it (`branch_code`: after it,
what both leave). A read of a node whose name holds another node at that point is a collision,
reported with the names involved. `emissions.program_names` then names the function without
sharing, which cannot collide.

A value one side of a branch records for its reverse (a residual) is read back only on the way
that side took, so after the branch its name may hold it on one way and anything on the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gradgen.emit.kinds import Emissions, block_results
from gradgen.errors import InternalError
from gradgen.ir.graph import Edge, Graph, Var
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
class Residual:
    """A name that holds ``var``, recorded by one side of a branch, on that side's way."""

    var: Var


_UNKNOWN = _Unknown()
Held = Var | _Unknown | Residual


@dataclass
class State:
    """What each name holds at one point of the walk, the block inputs that go by an enclosing
    name, and the names assigned since the state was copied (what a block can change)."""

    held: dict[str, Held] = field(default_factory=dict)
    aliases: dict[Var, Var] = field(default_factory=dict)  # a block's input -> the outer node
    written: set[str] = field(default_factory=set)  # the names assigned since the copy

    def copy(self) -> State:
        return State(dict(self.held), dict(self.aliases))

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


def check_program(graph: Graph, names: dict[Var, str], placeholders: bool,
                  emissions: Emissions) -> None:
    """Raise `NameCollision` where the code printed for ``graph`` with ``names`` would read a
    node under a name that holds another at that point, each block walked as its kind in
    ``emissions`` says. ``placeholders``: each side of a branch binds the other side's
    residuals to None (as in a loop's body, always)."""
    reader = Reader(names, State({names[var]: var for var in graph.inputs}), graph, emissions)
    walk(reader, placeholders=placeholders)
    reader.reads(graph.outputs, "a result", strict=True)


@dataclass(frozen=True)
class Reader:
    """Reads and assignments at one point of the walk: the names, what each name holds, the
    graph they are in (named in a collision's message), and how each kind of block is
    walked."""

    names: dict[Var, str]
    state: State
    graph: Graph
    emissions: Emissions

    def reads(self, vars_: Iterable[Var], where: Edge | None | str,
              strict: bool = False) -> None:
        for var in vars_:
            _read(var, self.names, self.state, self.graph, where, strict)

    def define(self, vars_: Iterable[Var]) -> None:
        """Assign the nodes at once (their values were all read before)."""
        for var in list(vars_):
            if var in self.names:
                self.state.hold(self.names[var], var)

    def assign(self, pairs: Iterable[tuple[Var, Var]], where: Edge | None) -> None:
        """``target = value`` for each ``(value, target)``, one at a time."""
        for value, target in pairs:
            self.reads((value,), where)
            self.define((target,))

    def hold_residuals(self, vars_: Iterable[Var]) -> None:
        """Assign the nodes on this way only (a side of a branch records them for its reverse)."""
        for var in vars_:
            self.state.hold(self.names[var], Residual(var))

    def at(self, graph: Graph, state: State | None = None) -> Reader:
        """A reader in ``graph`` (a body, a side), with ``state`` if given."""
        return Reader(self.names, self.state if state is None else state, graph,
                      self.emissions)


@dataclass(frozen=True)
class Level:
    """One level of the walk (a graph, or a body or a side): the results each of its blocks
    binds, by position; and whether each side of a branch binds the other side's residuals
    to None."""

    results: dict[Edge, dict[int, Var]]
    placeholders: bool


def walk(reader: Reader, recorded: frozenset[Var] = frozenset(),
         placeholders: bool = True) -> None:
    """The edges of the reader's graph in the order their code runs, a block as its kind
    walks it; a ``recorded`` node is written to its tape right after it is made, on every way
    (a residual too)."""
    level = Level(block_results(reader.graph), placeholders)
    for edge in reader.graph.edges:
        _check_edge(edge, reader, level)
        reader.reads([var for var in edge.outputs if var in recorded], "a tape", strict=True)


def _check_edge(edge: Edge, reader: Reader, level: Level) -> None:
    emission = reader.emissions.get(edge.prim)
    if emission is None:
        _check_statement(edge, reader)
    else:
        emission.check(edge, reader, level)


def _check_statement(edge: Edge, reader: Reader) -> None:
    reader.reads(edge.inputs, edge)
    reader.define((edge.output,))


def input_bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
                   block: Graph) -> list[tuple[Var, Var]]:
    """The inputs of a block (a body, a side) that emission assigns before it, ``inner =
    outer``: those the block reads whose names are not the names of the nodes they stand for.
    The others go by the enclosing names, with no line."""
    read = {var for edge in block.edges for var in edge.inputs} | set(block.outputs)
    return [(out, var) for out, var in zip(outer, inner)
            if var in read and names[var] != value_operand(out, names)]


def bind(outer: tuple[Var, ...], inner: tuple[Var, ...], reader: Reader,
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
    residual_a, residual_b = type(a) is Residual, type(b) is Residual
    if residual_a != residual_b:
        return a if residual_a else b
    return _UNKNOWN


def _read(var: Var, names: dict[Var, str], state: State, graph: Graph,
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
    return held is var or held is meant or (not strict and isinstance(held, Residual)
                                            and held.var in (var, meant))


def _what(held: Held) -> str:
    if held is _UNKNOWN:
        return "nothing"
    return f"{held.var!r} on one way" if isinstance(held, Residual) else repr(held)


def _where(edge: Edge | None | str) -> str:
    if isinstance(edge, str):
        return edge
    return f"edge {edge.prim}" if edge is not None else "the end of a block"
