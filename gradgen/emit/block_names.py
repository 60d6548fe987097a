"""Emission: a Python name for every node of a function with blocks, shared where it reads well.

Part of emission (`emit`). Names follow the source: a carried variable keeps one Python name
before, in and after its loop wherever that is safe (the value before the loop is not needed
after it, the next value is computed after the last use of the current one), and a loop's
invariants are the enclosing names themselves; a branch's result takes the name of the variable
it replaces where both sides allow it. `name_check` then checks every read; a value whose read
collides gets a name of its own (see `program_names`). Each block kind names its nodes by its
entry in `NAMERS`; any other edge's result takes its own name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from gradgen.emit.kinds import block_results
from gradgen.emit.name_check import NameCollision, check_names
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.naming import Namer
from gradgen.ir.primitives.branches import CondParts, cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import value_operand

#: Collisions mended one value at a time before every value gets a name of its own.
RENAMES = 8


def program_names(graph: Graph, reserved: frozenset[str],
                  placeholders: bool = False) -> dict[Var, str]:
    """A Python name for every node of a graph with blocks, bodies included (one scope):
    shared where the code reads well, as long as `name_check` finds no collision (a value
    whose read collides gets a name of its own, a few times over; then every node does).
    ``placeholders``: as in `blocks.branch_lines`, at the top of the graph."""
    shared = _program_names(graph, reserved, share=True)
    names = _mended(graph, shared, reserved, placeholders)
    if names is None:
        names = _program_names(graph, reserved, share=False)
        check_names(graph, names, placeholders)
    return names


def _mended(graph: Graph, names: dict[Var, str], reserved: frozenset[str],
            placeholders: bool) -> dict[Var, str] | None:
    """``names``, with each value whose read collides given a name of its own, up to
    `RENAMES` times; None if collisions go on."""
    namer = Namer(reserved)
    namer.taken.update(names.values())
    for _ in range(RENAMES):
        try:
            check_names(graph, names, placeholders)
            return names
        except NameCollision as collision:  # the value read gets a name of its own
            names[collision.var] = namer.fresh(collision.var.name or "v")
    return None


@dataclass(frozen=True)
class _Naming:
    """What naming one function shares: the names so far, the namer, whether to share."""

    names: dict[Var, str]
    namer: Namer
    share: bool

    def fresh(self, var: Var, hint: str) -> str:
        return self.namer.fresh(var.name or hint)

    def go_by(self, outer: tuple[Var, ...], inner: tuple[Var, ...]) -> None:
        """Each of ``inner`` (a block's inputs) not named yet goes by the enclosing name of
        the node it stands for (in ``outer``)."""
        for out, var in zip(outer, inner):
            self.names.setdefault(var, value_operand(out, self.names))

    def name_new(self, vars_: tuple[Var, ...], hint: str) -> None:
        """A fresh name for each of ``vars_`` not named yet."""
        for var in vars_:
            if var not in self.names:
                self.names[var] = self.fresh(var, hint)


@dataclass(frozen=True)
class _Place:
    """Where an edge stands in its graph: its position, the graph's last read of each node,
    the edge's results by position (a block's), the graph's inputs that go by an enclosing
    graph's names (never reused for a new value) and the values a loop records (read back
    together: never sharing a name)."""

    index: int
    last: dict[Var, int]
    items: dict[int, Var]
    aliased: frozenset[Var]
    recorded: frozenset[Var]


class _Order(NamedTuple):
    """A block's graph in order: the last read of each node, the position of each edge's
    result."""

    last: dict[Var, int]
    position: dict[Var, int]


def _order(graph: Graph, kept_after: dict[Var, int]) -> _Order:
    return _Order(_last_uses(graph.edges, kept_after),
                  {var: k for k, edge in enumerate(graph.edges) for var in edge.outputs})


def _program_names(graph: Graph, reserved: frozenset[str], share: bool) -> dict[Var, str]:
    namer = Namer(reserved)
    names = {var: namer.fresh(var.name or "x") for var in graph.inputs}
    kept = (*graph.inputs, *graph.outputs)  # _finish reads the inputs' shapes at the end
    _name_edges(graph, _Naming(names, namer, share), {var: len(graph.edges) for var in kept})
    return names


def _name_edges(graph: Graph, naming: _Naming, kept_after: dict[Var, int],
                aliased: frozenset[Var] = frozenset(),
                recorded: frozenset[Var] = frozenset()) -> None:
    """Name the nodes ``graph`` makes, each edge by its kind's entry in `NAMERS`."""
    last = _last_uses(graph.edges, kept_after)
    results = block_results(graph)
    for index, edge in enumerate(graph.edges):
        place = _Place(index, last, results.get(edge, {}), aliased, recorded)
        NAMERS.get(edge.prim, _name_values)(edge, place, naming)


def _name_values(edge: Edge, place: _Place, naming: _Naming) -> None:
    """The results of an edge that is neither a loop nor a branch (a call's, those it binds):
    each its own name."""
    for var in place.items.values() if edge.prim == "call" else edge.outputs:
        if var not in naming.names:
            naming.names[var] = (naming.namer.fresh(var.name) if var.name
                                 else naming.namer.temporary("t" if edge.origin else "v"))


# ---- loops --------------------------------------------------------------------------------

def _name_loop(edge: Edge, place: _Place, naming: _Naming) -> None:
    parts = loop_parts(edge)
    _name_loop_inputs(parts, naming)
    body = _order(parts.body, {})
    for k in range(len(parts.carried)):
        _name_carried(parts, k, place, body, naming)
    _name_edges(parts.body, naming, {}, frozenset(parts.invariant_in), frozenset(parts.recorded))
    naming.name_new(tuple(place.items.values()), "tape")


def _name_loop_inputs(parts: LoopParts, naming: _Naming) -> None:
    """The body's invariants go by the enclosing names; its index and reads are new."""
    naming.go_by(parts.invariants, parts.invariant_in)
    naming.name_new((parts.index,), "i")
    naming.name_new(parts.read_in, "r")


def _name_carried(parts: LoopParts, k: int, place: _Place, body: _Order,
                  naming: _Naming) -> None:
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


def _carried_name(init: Var, inner: Var, place: _Place, naming: _Naming) -> str:
    """The name of a carried value in the body: its start's where that is free."""
    free = _init_is_free(init, inner, place, naming)
    return naming.names[init] if free else naming.fresh(inner, "c")


def _init_is_free(init: Var, inner: Var, place: _Place, naming: _Naming) -> bool:
    """Whether the carried value's start can lend the loop its name: not read after the loop,
    of the same source name, and not an enclosing graph's."""
    return (naming.share and not init.is_const and place.last.get(init, -1) <= place.index
            and init in naming.names and init.name == inner.name and init not in place.aliased)


def _next_shares(parts: LoopParts, inner: Var, after: Var, body: _Order,
                 naming: _Naming) -> bool:
    """Whether the next value can take the current one's name: computed after its last read,
    not named yet, and not both read back by the reverse loop."""
    return (naming.share and after in body.position
            and body.position[after] >= body.last.get(inner, -1)
            and after not in naming.names and after not in parts.carried_in
            and not {after, inner} <= set(parts.recorded))


def _final_name(parts: LoopParts, inner: Var, after: Var, final: Var, naming: _Naming) -> str:
    """The carried value after the loop: the carried name, unless a recorded value is read
    back into that name by the reverse."""
    names, recorded = naming.names, parts.recorded
    read_back = inner in recorded or (after in recorded and names.get(after) == names[inner])
    return names[inner] if naming.share and not read_back else naming.fresh(final, "c")


# ---- branches -----------------------------------------------------------------------------

def _name_branch(edge: Edge, place: _Place, naming: _Naming) -> None:
    """Names for a branch: its sides' inputs are the operands' names; a result keeps the name
    of the variable it replaces where both sides compute it after their last use of that
    variable, and each side computes a result under the result's name where it can."""
    parts = cond_parts(edge)
    naming.go_by(edge.inputs[1:], parts.then.inputs)
    orders = _side_orders(parts)
    operand_names = {naming.names[inner] for inner in parts.operand_in}
    for k in range(parts.results):
        if k in place.items:
            _name_result(parts, k, place, orders, operand_names, naming)
    for side in (parts.then, parts.orelse):
        _name_edges(side, naming, {}, frozenset(side.inputs), place.recorded)
    _name_residuals(parts, place.items, naming)


def _side_orders(parts: CondParts) -> list[_Order]:
    """Each side in order, its results read at its end."""
    return [_order(side, dict.fromkeys(side.outputs, len(side.edges)))
            for side in (parts.then, parts.orelse)]


def _name_result(parts: CondParts, k: int, place: _Place, orders: list[_Order],
                 operand_names: set[str], naming: _Naming) -> None:
    """Result ``k`` after the branch, and the sides' values that compute it under its name."""
    item, names = place.items[k], naming.names
    if item not in names:
        names[item] = (_result_name(parts, k, place, orders, naming) if naming.share
                       else naming.fresh(item, "v"))
    elif names[item] in operand_names:
        return  # named by an enclosing branch after a value this one reads
    if naming.share:
        _name_side_results(parts, k, orders, names[item], naming)


def _name_side_results(parts: CondParts, k: int, orders: list[_Order], name: str,
                       naming: _Naming) -> None:
    for side, order in zip((parts.then, parts.orelse), orders):
        out = side.outputs[k]
        if out in order.position and out not in naming.names:
            naming.names[out] = name


def _result_name(parts: CondParts, k: int, place: _Place, orders: list[_Order],
                 naming: _Naming) -> str:
    """The name of a branch's result ``k``: the name of the operand it replaces if nothing
    reads that operand after the branch, and each side either passes it on or computes the
    result after its last use; a fresh name otherwise (or if the operand is kept)."""
    item = place.items[k]
    kept = place.aliased | place.recorded if item in place.recorded else place.aliased
    for outer, inner in zip(parts.operands, parts.operand_in):
        if (_operand_is_free(outer, item, kept, place)
                and all(_side_replaces(side, order, inner, k) for side, order
                        in zip((parts.then, parts.orelse), orders))):
            return naming.names[outer]
    return naming.fresh(item, "v")


def _operand_is_free(outer: Var, item: Var, kept: frozenset[Var], place: _Place) -> bool:
    """Whether the result may take operand ``outer``'s name: of the same source name, not
    kept, and not read after the branch."""
    return not (outer.is_const or outer in kept or outer.name != item.name
                or place.last.get(outer, -1) > place.index)


def _side_replaces(side: Graph, order: _Order, inner: Var, k: int) -> bool:
    """Whether ``side`` passes ``inner`` on as result ``k``, or computes the result after its
    last read of ``inner`` (which its results do not read)."""
    out, used = side.outputs[k], order.last.get(inner, -1)
    return out is inner or (out in order.position and order.position[out] >= used
                            and used < len(side.edges))


def _name_residuals(parts: CondParts, items: dict[int, Var], naming: _Naming) -> None:
    """A recorded value keeps its name in the side that makes it (the reverse side reads it as
    that node, its input); a constant (folded after it was recorded) gets a name of its own,
    which that side assigns."""
    for k, item in items.items():
        if item not in naming.names:
            side = parts.then if k in parts.own_outputs(0) else parts.orelse
            out = side.outputs[k]
            naming.names[item] = (naming.fresh(item, "v") if out.is_const
                                  else naming.names[out])


def _last_uses(edges: tuple[Edge, ...], kept_after: dict[Var, int]) -> dict[Var, int]:
    last = dict(kept_after)
    for index, edge in enumerate(edges):
        for var in edge.inputs:
            last[var] = max(last.get(var, -1), index)
    return last


#: How each block kind names the nodes it makes (its body's, its results).
NAMERS: dict[str, Callable[[Edge, _Place, _Naming], None]] = {
    "loop": _name_loop, "cond": _name_branch}
