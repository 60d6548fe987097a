"""Emission: ``del`` after the last use of each array a function makes, so that peak memory is
what a careful hand-written pass needs.

Part of emission (`emit`). The inputs and the results are never deleted; a use of an inlined
view (``W.T``) is a use of the node it views. A block's results follow its kind's freeing rule
(`kinds.BlockEmission.free`): a loop's result is read off the carried name in its body, so the
loop uses its inputs until it ends (`loop_code`); a value one side of a branch records for its
reverse is bound only where that side ran, so it is never deleted (`branch_code`).
"""

from __future__ import annotations

from gradgen.emit.kinds import Emissions
from gradgen.emit.lines import Line, Unit
from gradgen.ir.graph import Edge, Var

#: Each block's results that its code binds, by position (`kinds.block_results`).
Results = dict[Edge, dict[int, Var]]


def freeing(units: list[Unit], edges: list[Edge], names: dict[Var, str], kept: set[str],
            views: dict[Var, Var], results: Results, emissions: Emissions) -> list[Unit]:
    """The lines of each edge (of ``edges``), with ``del`` after the last use of each array
    they make, but the names in ``kept``; ``views``: each inlined view -> the node it views;
    ``results``: the blocks' results the code binds, freed as their kind in ``emissions``
    says."""
    arrays = {names[var] for edge in edges for var in _freeable(edge, results, emissions)
              if var.shape} - kept
    freed = _freed_after(_last_uses(edges, names, views, results, emissions), arrays)
    return [unit + [Line(None, f"del {', '.join(sorted(freed[i]))}")] if i in freed else unit
            for i, unit in enumerate(units)]


def _last_uses(edges: list[Edge], names: dict[Var, str], views: dict[Var, Var],
               results: Results, emissions: Emissions) -> dict[str, int]:
    """The position of the last edge that uses each name."""
    last: dict[str, int] = {}
    for index, edge in enumerate(edges):
        for var in _touched(edge, results, emissions):
            if not var.is_const:
                last[names[views.get(var, var)]] = index
    return last


def _touched(edge: Edge, results: Results, emissions: Emissions) -> tuple[Var, ...]:
    """The nodes an edge reads and binds; a block's results, and what binding each reads."""
    if edge not in results:
        return (*edge.inputs, *edge.outputs)
    bound, reads = results[edge], emissions[edge.prim].free.reads
    return (*edge.inputs, *bound.values(), *(var for k in bound for var in reads(edge, k)))


def _freeable(edge: Edge, results: Results, emissions: Emissions) -> tuple[Var, ...]:
    """The nodes an edge binds that may be deleted (not a value bound on one way only)."""
    if edge not in results:
        return edge.outputs
    kept = emissions[edge.prim].free.kept
    return tuple(var for k, var in results[edge].items() if not kept(edge, k))


def _freed_after(last: dict[str, int], arrays: set[str]) -> dict[int, list[str]]:
    """The arrays freed after each edge: those it uses last."""
    freed: dict[int, list[str]] = {}
    for name, index in last.items():
        if name in arrays:
            freed.setdefault(index, []).append(name)
    return freed


def reads_nothing(block: Edge, index: int) -> tuple[Var, ...]:
    """A freeing rule's ``reads`` for a block whose results are bound by the block alone."""
    return ()


def never_kept(block: Edge, index: int) -> bool:
    """A freeing rule's ``kept`` for a block whose results are bound on every way."""
    return False
