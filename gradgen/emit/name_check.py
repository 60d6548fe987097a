"""The check of emission's names: every statement of the generated code reads, under the name
it prints, the value it means.

Part of emission (`emit`). The names of a function with blocks are shared where that reads
well (a carried variable keeps one name before, in and after its loop; a branch's result takes
the name of the variable it replaces). This module walks the graph in the order its code runs,
as `emit_blocks` prints it, and keeps for every Python name the node it holds: a loop's body
is walked twice (the second step starts from what the first left) and what holds after it is
what holds after no step or after some; after a branch, what both sides leave. A read of a
node whose name holds another node at that point is a collision, reported with the names
involved. `emit` then names the function without sharing, which cannot collide.

A value one side of a branch records for its reverse (a residual) is read back only on the way
that side took, so after the branch its name may hold it on one way and anything on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradgen.errors import InternalError
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_items, loop_parts
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
        held = self.held
        for name in written:
            a, b = first.get(name, _UNKNOWN), second.get(name, _UNKNOWN)
            either = a if a is b else _either(a, b)
            if either is _UNKNOWN:
                held.pop(name, None)  # what is not held reads as nothing
            else:
                held[name] = either
        self.written |= written


def check_names(graph: Graph, names: dict[Var, str], placeholders: bool = False) -> None:
    """Raise `NameCollision` where the code printed for ``graph`` with ``names`` would read a
    node under a name that holds another at that point. ``placeholders``: each side of a
    branch binds the other side's residuals to None (as in a loop's body, always)."""
    state = _State({names[var]: var for var in graph.inputs})
    _walk(graph, names, state, placeholders=placeholders)
    for var in graph.outputs:
        _read(var, names, state, graph, "a result", strict=True)


def _walk(graph: Graph, names: dict[Var, str], state: _State,
          recorded: frozenset[Var] = frozenset(), placeholders: bool = True) -> None:
    """The edges in the order their code runs; a ``recorded`` node is written to its tape
    right after it is made, on every way (a residual too)."""
    items = loop_items(graph.edges)
    blocks = {edge.output: edge for edge in graph.edges if edge.prim in ("loop", "cond")}
    for edge in graph.edges:
        if edge.prim == "loop":
            _loop(edge, names, state, items.get(edge.output, {}), graph)
        elif edge.prim == "cond":
            _branch(edge, names, state, items.get(edge.output, {}), graph, placeholders)
        elif edge.prim == "item":
            _item(edge, names, state, blocks.get(edge.inputs[0]), graph)
        elif edge.output.dtype == "tuple":  # a call with several results
            _reads(edge.inputs, names, state, graph, edge)
            _define(items.get(edge.output, {}).values(), names, state)
        else:
            _reads(edge.inputs, names, state, graph, edge)
            _define((edge.output,), names, state)
        if edge.output in recorded:
            _read(edge.output, names, state, graph, "a tape", strict=True)


def _loop(edge: Edge, names: dict[Var, str], state: _State, items: dict[int, Var],
          graph: Graph) -> None:
    parts = loop_parts(edge)
    _reads((parts.start, parts.stop, *parts.carried, *parts.reads), names, state, graph, edge)
    _define(parts.carried_in, names, state)
    tapes = [tape for k, tape in items.items() if k >= len(parts.carried)]
    _define(tapes, names, state)  # made before the loop, filled by its steps
    outer_aliases = dict(state.aliases)  # the body's invariants go by the enclosing names
    _bind(parts.invariants, parts.invariant_in, names, state, parts.body, graph)
    _define((parts.index,), names, state)
    before, outer_written = dict(state.held), state.written
    for _ in range(2):  # the second step starts from what the first left
        state.written = set()
        _step(parts, names, state, graph)
        _reads(tapes, names, state, graph, edge)
        state.join([state.held, before], state.written)  # after no step, or some
    state.written |= outer_written
    state.aliases = outer_aliases


def _step(parts: LoopParts, names: dict[Var, str], state: _State, graph: Graph) -> None:
    """One step of a loop's body: the tapes read back, the body, the carried values passed on
    (at once: a swap is one tuple assignment)."""
    for tape, var in zip(parts.reads, parts.read_in):
        _read(tape, names, state, graph, None)
        _define((var,), names, state)
    recorded = frozenset(parts.recorded)
    for var in (parts.index, *parts.carried_in, *parts.read_in):
        if var in recorded:
            _read(var, names, state, parts.body, "a tape", strict=True)
    _walk(parts.body, names, state, recorded)
    _reads(parts.carried_out, names, state, parts.body, None)
    _define(parts.carried_in, names, state)


def _branch(edge: Edge, names: dict[Var, str], state: _State, items: dict[int, Var],
            graph: Graph, placeholders: bool) -> None:
    parts = cond_parts(edge)
    _reads(edge.inputs, names, state, graph, edge)
    ends = []
    for number, side in enumerate((parts.then, parts.orelse)):
        end = state.copy()
        _bind(parts.operands, parts.operand_in, names, end, side, graph)  # the operands
        _walk(side, names, end, placeholders=placeholders)
        own = [k for k in items if k < parts.results or k in parts.own_outputs(number)]
        _reads([side.outputs[k] for k in own], names, end, side, None)
        _define([items[k] for k in own], names, end)
        if placeholders:  # the other side's residuals, bound to None
            _define([item for k, item in items.items() if k not in own], names, end)
        else:  # bound on this way only
            for k in own:
                if k >= parts.results:
                    end.hold(names[items[k]], _Residual(items[k]))
        ends.append(end)
    state.join([end.held for end in ends], ends[0].written | ends[1].written)


def _item(edge: Edge, names: dict[Var, str], state: _State, block: Edge | None,
          graph: Graph) -> None:
    """A result of a block taken apart: a loop's carried value is assigned after the loop
    from the carried name; a tape, a branch's and a call's results by the block itself."""
    if block is None or block.prim != "loop":
        return
    parts = loop_parts(block)
    index = dict(edge.params)["index"]
    if index < len(parts.carried):
        _read(parts.carried_in[index], names, state, graph, edge)
        _define((edge.output,), names, state)


def input_bindings(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
                   block: Graph) -> list[tuple[Var, Var]]:
    """The inputs of a block (a body, a side) that emission assigns before it, ``inner =
    outer``: those the block reads whose names are not the names of the nodes they stand for.
    The others go by the enclosing names, with no line."""
    read = {var for edge in block.edges for var in edge.inputs} | set(block.outputs)
    return [(out, var) for out, var in zip(outer, inner)
            if var in read and names[var] != value_operand(out, names)]


def _bind(outer: tuple[Var, ...], inner: tuple[Var, ...], names: dict[Var, str],
          state: _State, block: Graph, graph: Graph) -> None:
    """A block's inputs: assigned where `input_bindings` says, else the enclosing names."""
    bound = input_bindings(outer, inner, names, block)
    _reads([out for out, _ in bound], names, state, graph, "a block's input")
    _define([var for _, var in bound], names, state)
    for out, var in zip(outer, inner):
        if (out, var) not in bound:
            state.aliases[var] = state.aliases.get(out, out)


def _either(a: Held, b: Held) -> Held:
    """What a name holds after one of two ways: the same node, a residual of one way, or
    nothing that may be read."""
    if a == b:
        return a
    residual_a, residual_b = type(a) is _Residual, type(b) is _Residual
    if residual_a != residual_b:
        return a if residual_a else b
    return _UNKNOWN


def _reads(vars_: tuple[Var, ...] | list[Var], names: dict[Var, str], state: _State,
           graph: Graph, edge: Edge | None) -> None:
    for var in vars_:
        _read(var, names, state, graph, edge)


def _read(var: Var, names: dict[Var, str], state: _State, graph: Graph,
          edge: Edge | None | str, strict: bool = False) -> None:
    """Check that ``var``'s name holds it (with ``strict``, on every way to this point)."""
    if var.is_const or var.dtype == "tuple":
        return
    name = operand(var, names)  # as the code prints it
    meant = state.aliases.get(var, var)  # the node it stands for
    if meant.is_const and name == value_operand(meant, names):
        return
    held = state.held.get(name, _UNKNOWN)
    if held is var or held is meant or (not strict and isinstance(held, _Residual)
                                        and held.var in (var, meant)):
        return
    what = "nothing" if held is _UNKNOWN else (
        f"{held.var!r} on one way" if isinstance(held, _Residual) else repr(held))
    where = edge if isinstance(edge, str) else (
        f"edge {edge.prim}" if edge is not None else "the end of a block")
    raise NameCollision(f"in {graph.name}, {where} reads {meant!r} as '{name}', which holds "
                        f"{what} at that point", var)


def _define(vars_, names: dict[Var, str], state: _State) -> None:
    """Assign the nodes at once (their values were all read before)."""
    for var in list(vars_):
        if var.dtype != "tuple" and var in names:
            state.hold(names[var], var)
