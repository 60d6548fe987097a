"""Emission: ``del`` after the last use of each array a function makes, so that peak memory is
what a careful hand-written pass needs.

Part of emission (`emit`). The inputs and the results are never deleted; a use of an inlined
view (``W.T``) is a use of the node it views. A block's results follow its kind's entry in
`RESULT_RULES`: a loop's result is read off the carried name in its body, so the loop uses its
inputs until it ends; a value one side of a branch records for its reverse is bound only where
that side ran, so it is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from gradgen.emit.lines import Line, Unit
from gradgen.ir.graph import Edge, Var
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import loop_parts

#: Each block's results that its code binds, by position (`kinds.block_results`).
Results = dict[Edge, dict[int, Var]]


def freeing(units: list[Unit], edges: list[Edge], names: dict[Var, str], kept: set[str],
            views: dict[Var, Var], results: Results) -> list[Unit]:
    """The lines of each edge (of ``edges``), with ``del`` after the last use of each array
    they make, but the names in ``kept``; ``views``: each inlined view -> the node it views;
    ``results``: the blocks' results the code binds."""
    arrays = {names[var] for edge in edges for var in _freeable(edge, results)
              if var.shape} - kept
    freed = _freed_after(_last_uses(edges, names, views, results), arrays)
    return [unit + [Line(None, f"del {', '.join(sorted(freed[i]))}")] if i in freed else unit
            for i, unit in enumerate(units)]


def _last_uses(edges: list[Edge], names: dict[Var, str], views: dict[Var, Var],
               results: Results) -> dict[str, int]:
    """The position of the last edge that uses each name."""
    last: dict[str, int] = {}
    for index, edge in enumerate(edges):
        for var in _touched(edge, results):
            if not var.is_const:
                last[names[views.get(var, var)]] = index
    return last


def _touched(edge: Edge, results: Results) -> tuple[Var, ...]:
    """The nodes an edge reads and binds; a block's results, and what binding each reads."""
    if edge not in results:
        return (*edge.inputs, *edge.outputs)
    bound, reads = results[edge], RESULT_RULES[edge.prim].reads
    return (*edge.inputs, *bound.values(), *(var for k in bound for var in reads(edge, k)))


def _freeable(edge: Edge, results: Results) -> tuple[Var, ...]:
    """The nodes an edge binds that may be deleted (not a value bound on one way only)."""
    if edge not in results:
        return edge.outputs
    kept = RESULT_RULES[edge.prim].kept
    return tuple(var for k, var in results[edge].items() if not kept(edge, k))


def _freed_after(last: dict[str, int], arrays: set[str]) -> dict[int, list[str]]:
    """The arrays freed after each edge: those it uses last."""
    freed: dict[int, list[str]] = {}
    for name, index in last.items():
        if name in arrays:
            freed.setdefault(index, []).append(name)
    return freed


class ResultRule(NamedTuple):
    """How a block kind's results are freed: what binding result ``index`` reads in the
    block besides it, and whether that result is never deleted."""

    reads: Callable[[Edge, int], tuple[Var, ...]]
    kept: Callable[[Edge, int], bool]


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
RESULT_RULES = {"loop": ResultRule(_carried_name, _never),
                "cond": ResultRule(_reads_nothing, _recorded_by_a_side),
                "call": ResultRule(_reads_nothing, _never)}
