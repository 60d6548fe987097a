"""Differentiation, forward mode of a branch (`tangent_branch`): each side computes its tangents.

The tangent branch takes the same way on the same test (the test has no tangent); each side is
its own tangent program (the side pushed forward one level down), both taking the tangents of
the operands that have one. Its outputs are the results, then the results' tangents, then
each side's residuals (what a recording branch of reverse mode keeps for its reverse) followed
by their tangents: a side gives placeholders for the other side's, as it does for the residuals.
"""

from __future__ import annotations

from gradgen.differentiate.forward_sweep import (
    DIFFERENTIABLE,
    Tangents,
    tangent_body,
    tangent_inputs,
    tangent_or_zeros,
    tangent_results,
)
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import CondParts, cond_params, cond_parts


def tangent_branch(level: Tangents, edge: Edge) -> None:
    """Emit ``edge`` as its tangent branch (see the module), and give its results their
    tangents; as it is, if no operand has a tangent or no output gets one."""
    parts = cond_parts(edge)
    targets = tuple(inner for outer, inner in zip(parts.operands, parts.operand_in)
                    if outer in level.tangents)
    if not targets:
        level.builder.edges.append(edge)
        return
    dots = tangent_inputs(targets, parts.then.hints)
    steps = [tangent_body(level, side, targets, dots, _wanted(level, edge, parts, number, side))
             for number, side in enumerate((parts.then, parts.orelse))]
    groups = _dotted_groups(parts, steps)
    if not any(groups):
        level.builder.edges.append(edge)
        return
    sides = [_tangent_side(step, parts, side, number, dots, groups) for number, (step, side)
             in enumerate(zip(steps, (parts.then, parts.orelse)))]
    outputs, news = _outputs(level, edge, parts, groups)
    operands = tuple(level.tangents[outer] for outer in parts.operands if outer in level.tangents)
    params = cond_params(*sides, parts.results + len(groups[0]),
                         (parts.residuals[0] + len(groups[1]), parts.residuals[1] + len(groups[2])))
    level.builder.edges.append(Edge("cond", (*edge.inputs, *operands), outputs,
                                    as_params(params), edge.origin))
    level.tangents.update(zip((edge.outputs[k] for group in groups for k in group), news))
    level.tangents.update((twice, level.tangents[once]) for twice, once
                          in _repeated_residuals(parts, edge) if once in level.tangents)


def _wanted(level: Tangents, edge: Edge, parts: CondParts, number: int, side: Graph
            ) -> tuple[Var, ...]:
    """The outputs of ``side`` (``number`` 0: then, 1: orelse) whose tangents are wanted: its
    results that are numbers and its own residuals (numbers, tapes), on a path to an output."""
    own = (*range(parts.results), *parts.own_outputs(number))
    return tuple(side.outputs[k] for k in own if edge.outputs[k] in level.on_path
                 and edge.outputs[k].dtype in (("float",) if k < parts.results
                                               else DIFFERENTIABLE))


def _dotted_groups(parts: CondParts, steps: list[Tangents]) -> tuple[tuple[int, ...], ...]:
    """The outputs that get tangents, by position, in three groups: the results that have one
    on a side, then's residuals that have one on then, orelse's that have one on orelse (a
    tape with none has no zeros to stand for it)."""
    sides = (parts.then, parts.orelse)
    results = tuple(k for k in range(parts.results)
                    if any(side.outputs[k] in step.tangents for side, step in zip(sides, steps)))
    return results, *(tuple(k for k in _first_residuals(parts, number)
                            if sides[number].outputs[k] in steps[number].tangents)
                      for number in (0, 1))


def _first_residuals(parts: CondParts, number: int) -> list[int]:
    """The positions of a side's own residuals, each value once (its first position): a value
    recorded twice (two tapes merged into one) has one tangent, at that position."""
    side = (parts.then, parts.orelse)[number]
    first = {}
    for k in parts.own_outputs(number):
        first.setdefault(side.outputs[k], k)
    return sorted(first.values())


def _repeated_residuals(parts: CondParts, edge: Edge) -> list[tuple[Var, Var]]:
    """(output, output of its first position) for each residual a side gives twice."""
    pairs = []
    for number, side in enumerate((parts.then, parts.orelse)):
        first = {}
        for k in parts.own_outputs(number):
            k_first = first.setdefault(side.outputs[k], k)
            if k_first != k:
                pairs.append((edge.outputs[k], edge.outputs[k_first]))
    return pairs


def _tangent_side(step: Tangents, parts: CondParts, side: Graph, number: int,
                  dots: tuple[Var, ...], groups: tuple[tuple[int, ...], ...]) -> Graph:
    """One side of the tangent branch, from its tangent program (``step``, taking ``dots``):
    its outputs, then the results' tangents (zeros where it has none), then each side's
    residuals and their tangents (its own computed, a placeholder for the other side's)."""
    placeholder = step.builder.const(0.0)
    own = set(parts.own_outputs(number))
    dotted = [[tangent_or_zeros(step, side.outputs[k]) if k < parts.results or k in own
               else placeholder for k in group] for group in groups]
    r, (a, _) = parts.results, parts.residuals
    outputs = (*side.outputs[:r], *dotted[0], *side.outputs[r:r + a], *dotted[1],
               *side.outputs[r + a:], *dotted[2])
    return side.replace(inputs=(*side.inputs, *dots), edges=tuple(step.builder.edges),
                        outputs=outputs, hints=step.builder.hints)


def _outputs(level: Tangents, edge: Edge, parts: CondParts,
             groups: tuple[tuple[int, ...], ...]) -> tuple[tuple[Var, ...], tuple[Var, ...]]:
    """The tangent branch's outputs (laid out as its sides'), and its new ones in order."""
    news = [tangent_results(level, tuple(edge.outputs[k] for k in group)) for group in groups]
    r, (a, _) = parts.results, parts.residuals
    outputs = (*edge.outputs[:r], *news[0], *edge.outputs[r:r + a], *news[1],
               *edge.outputs[r + a:], *news[2])
    return outputs, (*news[0], *news[1], *news[2])
