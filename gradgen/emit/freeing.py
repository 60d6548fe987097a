"""Emission: ``del`` after the last use of each array a function makes, so that peak memory is
what a careful hand-written pass needs.

Part of emission (`emit`). The inputs and the results are never deleted; a use of an inlined
view (``W.T``) is a use of the node it views. A block's results taken apart (``item`` edges)
follow their block kind's entry in `ITEM_RULES`: a loop's result is read off the carried name
in its body, so the loop uses its inputs until it ends; a value one side of a branch records
for its reverse is bound only where that side ran, so it is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from gradgen.emit.kinds import edge_kind
from gradgen.emit.lines import Line, Unit
from gradgen.ir.graph import BLOCKS, Edge, Var
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import loop_parts


def freeing(units: list[Unit], edges: list[Edge], names: dict[Var, str], kept: set[str],
            views: dict[Var, Var]) -> list[Unit]:
    """The lines of each edge (of ``edges``), with ``del`` after the last use of each array
    they make, but the names in ``kept``; ``views``: each inlined view -> the node it views."""
    blocks = {edge.output: edge for edge in edges if edge.prim in BLOCKS}
    arrays = {names[edge.output] for edge in edges
              if edge.output.shape and not _bound_one_way(edge, blocks)} - kept
    freed = _freed_after(_last_uses(edges, names, views, blocks), arrays)
    return [unit + [Line(None, f"del {', '.join(sorted(freed[i]))}")] if i in freed else unit
            for i, unit in enumerate(units)]


def _last_uses(edges: list[Edge], names: dict[Var, str], views: dict[Var, Var],
               blocks: dict[Var, Edge]) -> dict[str, int]:
    """The position of the last edge that uses each name."""
    last: dict[str, int] = {}
    for index, edge in enumerate(edges):
        for var in (*edge.inputs, edge.output, *_item_reads(edge, blocks)):
            if not var.is_const and var.dtype != "tuple":  # a block's tuple has no name
                last[names[views.get(var, var)]] = index
    return last


def _freed_after(last: dict[str, int], arrays: set[str]) -> dict[int, list[str]]:
    """The arrays freed after each edge: those it uses last."""
    freed: dict[int, list[str]] = {}
    for name, index in last.items():
        if name in arrays:
            freed.setdefault(index, []).append(name)
    return freed


class ItemRule(NamedTuple):
    """How a block kind's results, taken apart, are freed: what reading result ``index``
    reads in the block besides it, and whether that result is never deleted."""

    reads: Callable[[Edge, int], tuple[Var, ...]]
    kept: Callable[[Edge, int], bool]


def _item_rule(edge: Edge, blocks: dict[Var, Edge]) -> tuple[ItemRule, Edge, int] | None:
    """The rule of an ``item`` edge's block, the block and the position; None for any other
    edge."""
    block = blocks.get(edge.inputs[0]) if edge.prim == "item" else None
    if block is None:
        return None
    return ITEM_RULES[edge_kind(block)], block, dict(edge.params)["index"]


def _item_reads(edge: Edge, blocks: dict[Var, Edge]) -> tuple[Var, ...]:
    found = _item_rule(edge, blocks)
    return () if found is None else found[0].reads(found[1], found[2])


def _bound_one_way(edge: Edge, blocks: dict[Var, Edge]) -> bool:
    found = _item_rule(edge, blocks)
    return found is not None and found[0].kept(found[1], found[2])


def _carried_name(loop: Edge, index: int) -> tuple[Var, ...]:
    """A loop's result is read off its name in the body (a tape's has none there)."""
    return loop_parts(loop).carried_in[index:index + 1]


def _recorded_by_a_side(branch: Edge, index: int) -> bool:
    """Whether result ``index`` is a value one side records for its reverse: bound only where
    that side ran."""
    return index >= cond_parts(branch).results


def _reads_nothing(block: Edge, index: int) -> tuple[Var, ...]:
    return ()


def _never(block: Edge, index: int) -> bool:
    return False


#: How each block kind's results are freed.
ITEM_RULES = {"loop": ItemRule(_carried_name, _never),
              "cond": ItemRule(_reads_nothing, _recorded_by_a_side),
              "results": ItemRule(_reads_nothing, _never)}
