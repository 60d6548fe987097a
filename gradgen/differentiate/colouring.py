"""Differentiation, second order: the static sparsity pattern of a Hessian, read from its
Hessian-vector-product graph, and a colouring of its columns that shares sweeps.

An ``hvp`` graph (`forward.hvp_graph`) is linear in its tangent inputs: its output ``i`` is
``sum_j H[i][j] * v[j]``. Where output ``i`` does not depend on tangent input ``j`` through the
graph's edges, ``H[i][j]`` is an exact 0. So the pattern is known at compile time from the IR,
without numbers; it is conservative (a block's outputs depend on all its inputs) and made
symmetric, as the Hessian is. Columns that share no row of the pattern (a distance-2 colouring
of the columns, greedy, in order) are seeded together in one sweep, and each entry is read from
its column's sweep (direct recovery): a chained Rosenbrock needs 3 sweeps, not one per input.
"""

from __future__ import annotations

from gradgen.ir.graph import Graph, Var

#: For each input of WRT (a column), the rows where the Hessian may be non-zero.
Pattern = tuple[tuple[int, ...], ...]

_NONE: frozenset[int] = frozenset()


def hessian_pattern(hvp: Graph, count: int) -> Pattern:
    """The rows where each column of the Hessian may be non-zero, from the ``hvp`` graph of
    ``count`` tangent inputs (its last inputs)."""
    reached = _tangents_reached(hvp, hvp.inputs[len(hvp.inputs) - count:])
    pattern = [set(reached.get(output, _NONE)) for output in hvp.outputs]
    for row, columns in enumerate(list(map(frozenset, pattern))):
        for column in columns:  # made symmetric, as the Hessian is
            pattern[column].add(row)
    return tuple(tuple(sorted(rows)) for rows in pattern)


def _tangents_reached(hvp: Graph, tangents: tuple[Var, ...]) -> dict[Var, frozenset[int]]:
    """The positions of the tangent inputs each node depends on (a block: on all its inputs)."""
    reached = {var: frozenset((k,)) for k, var in enumerate(tangents)}
    for edge in hvp.edges:
        found = _NONE.union(*(reached.get(var, _NONE) for var in edge.inputs))
        if found:
            reached.update(dict.fromkeys(edge.outputs, found))
    return reached


def column_colours(pattern: Pattern) -> tuple[tuple[int, ...], ...]:
    """The columns grouped by colour: no two columns of a colour are non-zero in one row."""
    colour_of: dict[int, int] = {}
    for column, rows in enumerate(pattern):
        taken = {colour_of[other] for row in rows for other in pattern[row] if other in colour_of}
        colour_of[column] = next(c for c in range(len(taken) + 1) if c not in taken)
    groups: dict[int, list[int]] = {}
    for column, colour in colour_of.items():
        if pattern[column]:  # a column of zeros needs no sweep
            groups.setdefault(colour, []).append(column)
    return tuple(tuple(columns) for _, columns in sorted(groups.items()))
