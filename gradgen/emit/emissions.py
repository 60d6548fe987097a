"""Emission: the table of block kinds (`EMISSIONS`), one `kinds.BlockEmission` per kind from
the kind's own module, and the names it gives a function with blocks (`program_names`), checked
(`check_names`).

Part of emission (`emit`). Adding a block kind to emission is one module like `loop_code` (its
printer, namer, walk in the name check and freeing rule) and one entry here. Printing
(`blocks.edge_units`) and freeing (`freeing.freeing`) are given the table by `functions`;
naming (`block_names.name_program`) and its check (`name_check.check_program`) are given it
here. The names are shared where the code reads well, as long as the check finds no collision:
a value whose read collides gets a name of its own, a few times over; then every node does.
"""

from __future__ import annotations

from gradgen.emit.block_names import name_program
from gradgen.emit.branch_code import BRANCH_CODE
from gradgen.emit.call_code import CALL_CODE
from gradgen.emit.kinds import Emissions
from gradgen.emit.loop_code import LOOP_CODE
from gradgen.emit.name_check import NameCollision, check_program
from gradgen.ir.graph import Graph, Var, hint_of, nested_hints
from gradgen.ir.naming import Namer

#: What emission does with each kind of block, by primitive.
EMISSIONS: Emissions = {"loop": LOOP_CODE, "cond": BRANCH_CODE, "call": CALL_CODE}

#: Collisions mended one value at a time before every value gets a name of its own.
RENAMES = 8


def program_names(graph: Graph, reserved: frozenset[str],
                  placeholders: bool = False) -> dict[Var, str]:
    """A Python name for every node of a graph with blocks, bodies included (one scope):
    shared where the code reads well, as long as `check_names` finds no collision (a value
    whose read collides gets a name of its own, a few times over; then every node does).
    ``placeholders``: as in `check_names`, at the top of the graph."""
    shared = name_program(graph, reserved, True, EMISSIONS)
    names = _mended(graph, shared, reserved, placeholders)
    if names is None:
        names = name_program(graph, reserved, False, EMISSIONS)
        check_names(graph, names, placeholders)
    return names


def _mended(graph: Graph, names: dict[Var, str], reserved: frozenset[str],
            placeholders: bool) -> dict[Var, str] | None:
    """``names``, with each value whose read collides given a name of its own, up to
    `RENAMES` times; None if collisions go on."""
    namer, hints = Namer(reserved), nested_hints(graph)
    namer.taken.update(names.values())
    for _ in range(RENAMES):
        try:
            check_names(graph, names, placeholders)
            return names
        except NameCollision as collision:  # the value read gets a name of its own
            names[collision.var] = namer.fresh(hint_of(collision.var, hints) or "v")
    return None


def check_names(graph: Graph, names: dict[Var, str], placeholders: bool = False) -> None:
    """Raise `name_check.NameCollision` where the code printed for ``graph`` with ``names``
    would read a node under a name that holds another at that point. ``placeholders``: each
    side of a branch binds the other side's residuals to None (as in a loop's body, always)."""
    check_program(graph, names, placeholders, EMISSIONS)
