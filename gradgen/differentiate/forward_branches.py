"""Differentiation, forward mode of a branch (`tangent_branch`): each side computes its tangents.

The tangent branch takes the same way on the same test (the test has no tangent); each side is
its own tangent program (the side pushed forward one level down), both taking the tangents of
the operands that have one. Its outputs are the results, then the results' tangents, then
each side's residuals (what a recording branch of reverse mode keeps for its reverse) followed
by their tangents: a side gives placeholders for the other side's, as it does for the residuals.
"""

from __future__ import annotations

from gradgen.differentiate.forward_sweep import (
    Tangents,
    tangent_body,
    tangent_inputs,
    tangent_or_zeros,
    tangent_results,
    varied_in,
)
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import CondParts, cond_params, cond_parts


def tangent_branch(level: Tangents, edge: Edge) -> None:
    """Emit ``edge`` as its tangent branch (see the module), and give its results their
    tangents; as it is, if no operand has a tangent."""
    parts = cond_parts(edge)
    targets = tuple(inner for outer, inner in zip(parts.operands, parts.operand_in)
                    if outer in level.tangents)
    groups = _dotted_groups(level, edge, parts, targets)
    if not any(groups):
        level.builder.edges.append(edge)
        return
    dots = tangent_inputs(targets, parts.then.hints)
    sides = [_tangent_side(level, parts, side, number, (targets, dots), groups)
             for number, side in enumerate((parts.then, parts.orelse))]
    outputs, news = _outputs(level, edge, parts, groups)
    operands = tuple(level.tangents[outer] for outer in parts.operands if outer in level.tangents)
    params = cond_params(*sides, parts.results + len(groups[0]),
                         (parts.residuals[0] + len(groups[1]), parts.residuals[1] + len(groups[2])))
    level.builder.edges.append(Edge("cond", (*edge.inputs, *operands), outputs,
                                    as_params(params), edge.origin))
    level.tangents.update(zip((edge.outputs[k] for group in groups for k in group), news))


def _dotted_groups(level: Tangents, edge: Edge, parts: CondParts, targets: tuple[Var, ...]
                   ) -> tuple[tuple[int, ...], ...]:
    """The outputs that get tangents, by position, in three groups: the results, then's
    residuals, orelse's residuals. An output gets one where it is a number on a path to an
    output and depends differentiably on a tangent on a side that computes it."""
    varied = [varied_in(side, targets) for side in (parts.then, parts.orelse)]
    own = [range(parts.results), parts.own_outputs(0), parts.own_outputs(1)]
    sides = [(0, 1), (0,), (1,)]
    return tuple(tuple(k for k in positions if _dotted(edge, parts, k, varied, computing, level))
                 for positions, computing in zip(own, sides))


def _dotted(edge: Edge, parts: CondParts, k: int, varied: list[set[Var]],
            computing: tuple[int, ...], level: Tangents) -> bool:
    """Whether output ``k`` gets a tangent (see `_dotted_groups`)."""
    outputs = (parts.then.outputs, parts.orelse.outputs)
    return (edge.outputs[k] in level.on_path and edge.outputs[k].dtype == "float"
            and any(outputs[side][k] in varied[side] for side in computing))


def _tangent_side(level: Tangents, parts: CondParts, side: Graph, number: int,
                  dotted_inputs: tuple[tuple[Var, ...], tuple[Var, ...]],
                  groups: tuple[tuple[int, ...], ...]) -> Graph:
    """One side of the tangent branch: the side's tangent program, giving its outputs, then
    the results' tangents, then each side's residuals and their tangents (its own computed,
    a placeholder for the other side's). ``dotted_inputs``: the side's inputs that have
    tangents, and the inputs standing for those."""
    targets, dots = dotted_inputs
    own = (*groups[0], *groups[1 + number])
    step = tangent_body(level, side, targets, dots, tuple(side.outputs[k] for k in own))
    placeholder = step.builder.const(0.0)
    dotted = [[tangent_or_zeros(step, side.outputs[k]) if k in own else placeholder
               for k in group] for group in groups]
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
